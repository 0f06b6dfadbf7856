"""``POST /batchtransactions``: the bulk processor's submission checks.

In the processor's order: the JWS interceptor (``X-SIGNATURE``), required
headers, request kind, the multipart file or ``Type: raw`` JSON, then the file
name, size and header row; each failure answers with PHEE's own body. Mixed
into ``PheeServer``: uses its ``state``, ``tenants``, ``csv_max_bytes``, ``jws``
and ``tenant_key``.
"""

from __future__ import annotations

import email.policy
import hashlib
import hmac
import json
import logging
import uuid
from email.parser import BytesParser

from .http import Abort, Reply, Request, mapper_error
from .java import JAVA_WHITESPACE, java_lines, java_split
from .jws import recover_signed_digest
from .records import ALLOWED_COLUMNS, ROW_FIELDS

_log = logging.getLogger(__package__)

_SIGNED_HEADERS = ("X-BatchID", "X-CorrelationID", "Platform-TenantId")
_REQUIRED_SUBMIT_HEADERS = ("X-CorrelationID", "Purpose", "Type", "Platform-TenantId")


def _file_not_uploaded() -> Reply:
    # The controller always sends this text, whatever the actual check was.
    return Reply(
        400,
        {
            "errorInformation": "File not uploaded",
            "errorDescription": "There was no fie uploaded with the request. "
            "Please upload a file and try again.",
            "errorCode": 400,
        },
    )


def _broken_file(info: str, description: str) -> Reply:
    return Reply(
        400, {"Error Information: ": info, "Error Description : ": description}
    )


def _ph_error(status, code, description, developer, parameters=None) -> Reply:
    """connector-common PhErrorDTO as JWSUtil.writeErrorResponse writes it:
    ``NON_NULL`` inclusion, so no ``errorParameters`` unless there are some and
    never ``errors``; 500 for the System category, else 400."""
    category = "System" if status >= 500 else "Validation"
    body = {
        "errorCategory": category,
        "errorCode": code,
        "errorDescription": description,
        "developerMessage": developer,
        "defaultUserMessage": "",
    }
    if parameters:
        body["errorParameters"] = parameters
    return Reply(status, body)


def form_data_text(body: bytes, content_type: str) -> str:
    """The multipart payload as PHEE's ``JWSUtil.parseFormData`` rebuilds it.

    Parts' lines are joined with ``\\n``, each part ends at its first empty line,
    the result is trimmed. This is the signed payload and the stored CSV file.
    """
    after = content_type.split("boundary=")
    boundary = after[1].strip().split(";")[0].strip() if len(after) > 1 else ""
    lines = iter(java_lines(body.decode("utf-8", "replace")))
    content = []
    for line in lines:
        if boundary not in line:
            continue
        for header in lines:  # the part's headers, up to the blank line
            if header == "":
                break
        for data in lines:
            if boundary in data or data == "":
                break
            content.append(data)
    return "\n".join(content).strip(JAVA_WHITESPACE)


def has_file_part(body: bytes, content_type: str) -> bool:
    """Well-formed multipart with a part named ``data`` or a single file part."""
    head = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return False
    parts = list(message.iter_parts())
    named = [
        p for p in parts if p.get_param("name", header="content-disposition") == "data"
    ]
    files = [p for p in parts if p.get_filename() is not None]
    return bool(named) or len(files) == 1


def _raw_to_csv(body: bytes) -> str:
    """``Type: raw`` JSON array -> the CSV the bulk processor writes for it."""
    try:
        items = json.loads(body)
        if not isinstance(items, list):
            raise ValueError("Cannot deserialize value of type `java.util.ArrayList`")
        lines = [",".join(ROW_FIELDS)]
        for index, item in enumerate(items):
            credit, debit = item["creditParty"][0], item["debitParty"][0]
            values = (
                index,
                item.get("requestId") or uuid.uuid4(),
                item.get("paymentMode"),
                debit["key"],
                debit["value"],
                credit["key"],
                credit["value"],
                item.get("amount"),
                item.get("currency"),
                item.get("descriptionText"),
                "",
                "",
                "",
            )
            lines.append(",".join("" if v is None else str(v) for v in values))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise Abort(mapper_error(f"JSON parse error: {exc}")) from None
    return "\n".join(lines)


class BulkRoutes:
    """The bulk processor's ``/batchtransactions`` route of ``PheeServer``."""

    def _submit(self, req: Request) -> Reply:
        """``POST /batchtransactions`` in the bulk processor's check order."""
        content_type = req.header("Content-Type")
        multipart = content_type is not None and "multipart/form-data" in content_type
        self._check_signature(req, content_type, multipart)
        for name in _REQUIRED_SUBMIT_HEADERS:
            if req.header(name) is None:
                raise Abort(
                    mapper_error(
                        f"Required request header '{name}' for method parameter type "
                        "String is not present"
                    )
                )
        self._check_request_kind(req, content_type, multipart)
        if multipart:
            if not has_file_part(req.body, content_type):
                raise Abort(_file_not_uploaded())
            csv_text = form_data_text(req.body, content_type)
            filename = req.header("filename")
            if "/" in filename or "\x00" in filename:
                raise Abort(mapper_error(f"Failed to save file: {filename}"))
        else:
            csv_text, filename = _raw_to_csv(req.body), f"{uuid.uuid4()}.csv"
        self._check_file(csv_text, filename)
        tenant = req.header("Platform-TenantId")
        if tenant not in self.tenants:
            return Reply(
                412,
                {
                    "responseCode": "01",
                    "responseDescription": "Process definition not found",
                },
            )
        record = self.state.add_batch(
            tenant=tenant,
            correlation_id=req.header("X-CorrelationID"),
            headers={k.lower(): v for k, v in req.headers.items()},
            csv_text=csv_text,
            filename=filename,
            request_file=f"{uuid.uuid4()}_{filename}",
            callback_url=req.header("X-CallbackURL"),
        )
        _log.info(
            "accepted batch %s (correlation id %s, %d rows)",
            record.batch_id,
            record.correlation_id,
            len(record.rows),
        )
        return Reply(
            202,
            {
                "PollingPath": f"/batch/Summary/{record.batch_id}",
                "SuggestedCallbackSeconds": "120",
            },
        )

    def _check_signature(self, req: Request, content_type, multipart) -> None:
        """connector-common WebSignatureInterceptor.preHandle, which runs before
        the controller's checks (``security.jws.enable: true`` in the stock
        bulk processor).

        The body is read first (JWSVerificationServerError, 500, when it
        cannot be); then ``verifyForTenant`` with the tenant's certificate
        (TenantKeysProperties: the tenant by name, ignoring case, else
        ``default``). Any exception there, a missing or undecodable
        X-SIGNATURE, a key that cannot decrypt it or no key at all, answers
        400 InvalidPublicKeyConfigured with developerMessage ``"Certificate" +
        certificate`` (``Certificatenull`` without one); a signature that
        decrypts to another hash answers 400 InvalidJsonWebSignature naming
        the signature.
        """
        if not self.jws:
            return
        if content_type is None:
            raise Abort(
                _ph_error(
                    500,
                    "JWSVerificationServerError",
                    "Internal server error while verifying JWS",
                    "Make sure to pass valid payload and header along with signature",
                )
            )
        if multipart:
            payload = form_data_text(req.body, content_type)
        else:
            payload = req.body.decode("utf-8", "replace")
        prefix = "".join(
            f"{v}:" for v in map(req.header, _SIGNED_HEADERS) if v is not None
        )
        data = prefix + payload if payload else prefix[:-1]
        signature = req.header("X-SIGNATURE")
        numbers, certificate = self.tenant_key(req.header("Platform-TenantId"))
        recovered = None
        if numbers is not None:
            recovered = recover_signed_digest(signature, numbers)
        if recovered is None:
            raise Abort(
                _ph_error(
                    400,
                    "InvalidPublicKeyConfigured",
                    "The public key configured is invalid",
                    f"Certificate{certificate}",
                )
            )
        digest = hashlib.sha3_256(data.encode("utf-8")).hexdigest()
        if not hmac.compare_digest(recovered.encode(), digest.encode()):
            raise Abort(
                _ph_error(
                    400,
                    "InvalidJsonWebSignature",
                    "The JWS passed is not valid",
                    "Pass the valid header value for X-SIGNATURE",
                    [{"key": "X-SIGNATURE", "value": signature}],
                )
            )

    @staticmethod
    def _check_request_kind(req: Request, content_type, multipart) -> None:
        """``isValidRequest``: Type vs content type, empty filename, Type value."""
        if content_type is None:
            raise Abort(
                mapper_error(
                    'Cannot invoke "String.contains(java.lang.CharSequence)" because '
                    'the return value of "HttpServletRequest.getHeader(String)" is null'
                )
            )
        kind, filename = req.header("Type").lower(), req.header("filename")
        invalid = kind != ("csv" if multipart else "raw")
        if multipart and filename is None:
            raise Abort(
                mapper_error(
                    'Cannot invoke "String.isEmpty()" because "fileName" is null'
                )
            )
        if (multipart and filename == "") or kind not in ("csv", "raw"):
            invalid = True
        if invalid:
            raise Abort(_file_not_uploaded())

    def _check_file(self, csv_text: str, filename: str) -> None:
        """File name, size and header row, as the Camel validation routes do."""
        if not filename.lower().endswith(".csv"):
            raise Abort(
                _broken_file(
                    "Broken file",
                    "The file uploaded is broken as it has a different "
                    "extension. Please upload a csv file and try again.",
                )
            )
        if len(csv_text.encode("utf-8")) > self.csv_max_bytes:
            raise Abort(
                _broken_file(
                    "File too big",
                    "The file uploaded is too big. Please upload a file and try again.",
                )
            )
        header = java_lines(csv_text)[0] if csv_text else None
        if header is not None and not set(java_split(header)) <= ALLOWED_COLUMNS:
            raise Abort(
                _broken_file(
                    "Invalid file structure",
                    "The file uploaded contains wrong structure. "
                    "Please upload correct file columns and try again.",
                )
            )
