"""PHEE-compatible local server for tests, the demo and manual trials.

One stdlib HTTP server plays the bulk processor (``POST /batchtransactions``)
and the operations app (``/oauth/token``, ``/api/v1/...``). It validates like
the PHEE sources described in the API reference (same order, same odd error
bodies), keeps no batch-level dedup, and moves batches through import and
settlement as the ops app is polled. Faults can be injected per route.

Usage::

    with PheeServer(require_auth=True) as server:
        config = PheeConfig(tenant_id="gorilla", **server.endpoints())
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import email.policy
import hashlib
import hmac
import json
import logging
import re
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .server_state import (
    ALLOWED_COLUMNS,
    ROW_FIELDS,
    OpsError,
    ServerState,
    iso_now,
    java_lines,
)
from .signer import load_public_key

_log = logging.getLogger(__name__)

_MAX_BODY = 16 * 1024 * 1024
_LOOPBACK = frozenset(("127.0.0.1", "localhost", "::1"))
_JAVA_WHITESPACE = "".join(map(chr, range(33)))  # what String#trim() strips
_INT = re.compile(r"[+-]?\d+")
_SIGNED_HEADERS = ("X-BatchID", "X-CorrelationID", "Platform-TenantId")
_REQUIRED_SUBMIT_HEADERS = ("X-CorrelationID", "Purpose", "Type", "Platform-TenantId")
_CALLBACK_ATTEMPTS = 3
_ROUTES = (
    ("POST", "/batchtransactions", "submit", "_submit"),
    ("POST", "/oauth/token", "token", "_token"),
    ("GET", "/api/v1/batch/detail", "detail", "_detail"),
    ("GET", "/api/v1/batch/transactions", "summary", "_transactions"),
    ("GET", "/api/v1/batch/(?P<batch_id>[^/]+)", "summary", "_summary"),
    ("GET", "/api/v1/batch", "summary", "_stored_summary"),
    ("GET", "/api/v1/batches", "batches", "_batches"),
    ("GET", "/api/v1/batches/(?P<batch_id>[^/]+)", "batches", "_batch_and_sub"),
    ("GET", "/api/v1/transfers", "transfers", "_transfers"),
)


# ----------------------------------------------------------------- wire helpers


@dataclasses.dataclass
class Request:
    """What a handler needs from one HTTP request (headers are case-insensitive)."""

    method: str
    path: str
    query: dict
    headers: object  # email.message.Message from http.server
    body: bytes
    params: dict = dataclasses.field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclasses.dataclass
class Reply:
    """An HTTP answer; ``body`` is JSON-encoded unless str/bytes/None."""

    status: int
    body: object = None
    content_type: str | None = None
    headers: dict = dataclasses.field(default_factory=dict)
    reset: bool = False  # close the socket without answering

    def encode(self) -> tuple[bytes, str | None]:
        if self.body is None:
            return b"", self.content_type
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), self.content_type or "text/plain;charset=UTF-8"
        return json.dumps(self.body).encode(), "application/json"


class _Abort(Exception):
    """Raised by helpers to answer at once with ``reply``."""

    def __init__(self, reply: Reply):
        super().__init__(reply.status)
        self.reply = reply


def _spring_error(status: int, message: str, path: str) -> Reply:
    phrase = HTTPStatus(status).phrase
    return Reply(
        status,
        {
            "timestamp": iso_now(),
            "status": status,
            "error": phrase,
            "message": message,
            "path": path,
        },
    )


def _mapper_error(message: str) -> Reply:
    """bulk processor ``GlobalExceptionMapper`` answer for any exception."""
    return Reply(500, {"responseCode": "01", "responseDescription": message})


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


def _unauthorized(code: str, description: str) -> Reply:
    challenge = (
        f'Bearer realm="oauth2-resource", error="{code}", '
        f'error_description="{description}"'
    )
    return Reply(
        401,
        {"error": code, "error_description": description},
        headers={"WWW-Authenticate": challenge},
    )


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
    return "\n".join(content).strip(_JAVA_WHITESPACE)


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


def _lenient_b64decode(text: str) -> bytes | None:
    """Like commons-codec ``decodeBase64``: skips junk, accepts URL-safe letters."""
    cleaned = re.sub(r"[^A-Za-z0-9+/_-]", "", text).translate(str.maketrans("-_", "+/"))
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except ValueError:
        return None


def recover_signed_digest(signature: str | None, public_numbers) -> str | None:
    """Undo PHEE's private-key "encryption"; None where Java's Cipher would throw."""
    raw = _lenient_b64decode(signature) if signature else None
    n, e = public_numbers.n, public_numbers.e
    size = (n.bit_length() + 7) // 8
    if not raw or len(raw) > size or int.from_bytes(raw, "big") >= n:
        return None
    block = pow(int.from_bytes(raw, "big"), e, n).to_bytes(size, "big")
    separator = block.find(b"\x00", 2)
    if block[:2] != b"\x00\x01" or separator < 10 or block[2:separator].strip(b"\xff"):
        return None
    return block[separator + 1 :].decode("utf-8", "replace")


def _java_split(text: str) -> list[str]:
    """``String#split(",")``: trailing empty strings are dropped."""
    if "," not in text:
        return [text]
    parts = text.split(",")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


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
        raise _Abort(_mapper_error(f"JSON parse error: {exc}")) from None
    return "\n".join(lines)


def _int_param(req: Request, name: str, default: int | None) -> int | None:
    raw = (req.query.get(name) or "").strip()
    if not raw:
        return default
    if not _INT.fullmatch(raw):
        message = (
            f"Failed to convert value of type 'java.lang.String' to required "
            f"type 'java.lang.Integer'; For input string: \"{raw}\""
        )
        raise _Abort(_spring_error(400, message, req.path))
    return int(raw)


def _page_args(req: Request, page: int | None, size: int | None) -> None:
    if size is not None and size < 1:
        raise _Abort(
            _spring_error(500, "Page size must not be less than one!", req.path)
        )
    if page is not None and page < 0:
        raise _Abort(
            _spring_error(500, "Page index must not be less than zero!", req.path)
        )


def _date_ms(req: Request, name: str) -> int | None:
    raw = req.query.get(name)
    if raw is None:
        return None
    try:
        parsed = datetime.strptime(raw, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        message = f"Text '{raw}' could not be parsed at index 0"
        raise _Abort(_spring_error(500, message, req.path)) from None
    return int(parsed.replace(tzinfo=timezone.utc).timestamp() * 1000)


def _sort_arg(sort: str) -> tuple[str, bool]:
    """ops app ``getSortObject``: ``-field`` descending, ``+field``/``field`` asc."""
    descending = False
    if "+" in sort and len(sort.split("+")) == 2:
        sort = sort.split("+")[1]
    elif "-" in sort and len(sort.split("-")) == 2:
        sort, descending = sort.split("-")[1], True
    return sort.replace(" ", ""), descending


# ----------------------------------------------------------------------- server


class PheeServer:
    """Local PHEE (bulk processor + operations app) on a background thread.

    :param tenants: tenants whose workflow is deployed; others get 412/500.
    :param require_auth: ops ``/api/v1/**`` needs a Bearer token.
    :param public_key_pem: PEM public key or certificate; enables JWS checks.
    :param import_delay_polls: ops calls about a batch answered "does not exist".
    :param settle_polls: ops calls after the import that still see IN_PROGRESS.
    :param page_size_cap: largest page the detail endpoint returns.
    :param id_field: where transfers carry ``request_id``: ``client``
        (clientCorrelationId), ``transaction`` (transactionId) or ``alternate``.
    :param fail_payee_suffixes: payee identifiers ending so fail (not found).
    :param send_callbacks: POST the §4.5 callback to loopback X-CallbackURLs.
    :param channel_dedup: mojaloop rows reusing a request_id of an earlier batch
        of the tenant get no transfer (the channel rejects the X-CorrelationID).
    """

    def __init__(
        self,
        host="127.0.0.1",
        port=0,
        *,
        tenants=("gorilla",),
        require_auth=False,
        username="mifos",
        password="password",
        public_key_pem=None,
        token_ttl=600,
        import_delay_polls=0,
        settle_polls=1,
        page_size_cap=None,
        id_field="client",
        fail_payee_suffixes=("999",),
        csv_max_bytes=100_000,
        send_callbacks=False,
        channel_dedup=False,
        max_sleep=30.0,
    ):
        self.host, self.port = host, port
        self.tenants = frozenset(tenants)
        self.require_auth = require_auth
        self._credentials = (username, password)
        self._public_numbers = None
        if public_key_pem:
            self._public_numbers = load_public_key(public_key_pem).public_numbers()
        self.page_size_cap = page_size_cap
        self.csv_max_bytes = csv_max_bytes
        self.send_callbacks = send_callbacks
        self.max_sleep = max_sleep
        self.state = ServerState(
            import_delay_polls=import_delay_polls,
            settle_polls=settle_polls,
            id_field=id_field,
            fail_payee_suffixes=fail_payee_suffixes,
            token_ttl=token_ttl,
            queue_callbacks=send_callbacks,
            channel_dedup=channel_dedup,
        )
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --------------------------------------------------------- life cycle

    def start(self) -> PheeServer:
        """Bind and serve on a daemon thread; returns self."""
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"phee-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        _log.info("PHEE local server listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop at once: wake sleeping handlers and drop open connections."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.drop_connections()
        self._httpd.server_close()
        self._thread.join(timeout=2)
        self._httpd = None

    def __enter__(self) -> PheeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    def endpoints(self) -> dict:
        """The five endpoint URLs, keyed like ``PheeConfig`` fields."""
        base = self.base_url
        return {
            "payment_endpoint_url": f"{base}/batchtransactions",
            "status_endpoint_url": f"{base}/api/v1/batch",
            "details_endpoint_url": f"{base}/api/v1/batch/detail",
            "batches_endpoint_url": f"{base}/api/v1/batches",
            "auth_endpoint_url": f"{base}/oauth/token",
        }

    # --------------------------------------------------------- inspection

    def inject(self, route: str, fault: str, count: int = 1, **kw) -> None:
        """Make the next ``count`` requests of ``route`` fail with ``fault``.

        Routes: submit, token, summary, detail, batches, transfers. Faults:
        http_500, accept_then_500, accept_then_hang(seconds), hang(seconds),
        malformed, no_polling_path, reset, http_401, expire_tokens (immediate).
        """
        self.state.add_fault(route, fault, count, kw)

    @property
    def batches(self) -> list[dict]:
        """Accepted batches (copies), oldest first."""
        return self.state.batches()

    def batches_with_correlation_id(self, correlation_id: str) -> list[dict]:
        return [b for b in self.batches if b["correlation_id"] == correlation_id]

    def request_id_counts(self):
        """``collections.Counter`` of request_id over all accepted batches."""
        return self.state.request_id_counts()

    @property
    def requests(self) -> list[tuple]:
        """``(method, path without query, status or None if reset)`` log."""
        return self.state.requests()

    @property
    def callbacks(self) -> list[dict]:
        """Callbacks attempted: ``{"url", "body", "status"}`` (status None: failed)."""
        return self.state.sent_callbacks()

    # ----------------------------------------------------------- dispatch

    def dispatch(self, req: Request) -> Reply:
        """Route one request, applying any injected fault."""
        try:
            route, handler = self._route(req)
            fault = self.state.take_fault(route)
            reply = self._pre_fault(fault, req, route)
            if reply is not None:
                return reply
            if route == "submit":
                return self._submit_with_fault(req, fault)
            self._ops_guard(req, route)
            return handler(req)
        except _Abort as abort:
            return abort.reply

    def _route(self, req: Request):
        path = req.path.rstrip("/") or "/"
        allowed = False
        for method, pattern, route, handler in _ROUTES:
            match = re.fullmatch(pattern, path)
            if match and method == req.method:
                req.params = {k: unquote(v) for k, v in match.groupdict().items()}
                return route, getattr(self, handler)
            allowed = allowed or bool(match)
        if allowed:
            message = f"Request method '{req.method}' not supported"
            raise _Abort(_spring_error(405, message, req.path))
        raise _Abort(_spring_error(404, "No message available", req.path))

    def _sleep(self, seconds) -> None:
        self._stopping.wait(min(max(float(seconds), 0.0), self.max_sleep))

    def _pre_fault(self, fault, req: Request, route: str) -> Reply | None:
        name, kw = fault or (None, {})
        if name == "hang":
            self._sleep(kw.get("seconds", 5))
            return Reply(0, reset=True) if self.stopping else None
        if name == "http_500":
            return _spring_error(500, "Injected failure", req.path)
        if name == "http_401" and route == "token":
            return self._bad_credentials()
        if name == "http_401":
            return _unauthorized("invalid_token", "Invalid access token")
        if route != "submit" and name == "reset":
            return Reply(0, reset=True)
        if route != "submit" and name == "malformed":
            return Reply(
                200,
                "<html><body>Gateway says hello</body></html>",
                content_type="text/html",
            )
        return None

    def _submit_with_fault(self, req: Request, fault) -> Reply:
        name, kw = fault or (None, {})
        try:
            reply = self._submit(req)
        except _Abort as abort:
            reply = abort.reply
        if name == "reset":
            return Reply(0, reset=True)
        if reply.status != 202 or name is None:
            return reply
        if name == "accept_then_500":
            return _mapper_error("Injected failure after accepting the batch")
        if name == "accept_then_hang":
            self._sleep(kw.get("seconds", 5))
            return Reply(0, reset=True) if self.stopping else reply
        if name == "malformed":
            return Reply(
                202, "<html><body>Accepted</body></html>", content_type="text/html"
            )
        if name == "no_polling_path":
            return Reply(202, {})
        return reply

    # ------------------------------------------------------------- submit

    def _submit(self, req: Request) -> Reply:
        """``POST /batchtransactions`` in the bulk processor's check order."""
        content_type = req.header("Content-Type")
        multipart = content_type is not None and "multipart/form-data" in content_type
        self._check_signature(req, content_type, multipart)
        for name in _REQUIRED_SUBMIT_HEADERS:
            if req.header(name) is None:
                raise _Abort(
                    _mapper_error(
                        f"Required request header '{name}' for method parameter type "
                        "String is not present"
                    )
                )
        self._check_request_kind(req, content_type, multipart)
        if multipart:
            if not has_file_part(req.body, content_type):
                raise _Abort(_file_not_uploaded())
            csv_text = form_data_text(req.body, content_type)
            filename = req.header("filename")
            if "/" in filename or "\x00" in filename:
                raise _Abort(_mapper_error(f"Failed to save file: {filename}"))
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
        """The JWS interceptor, which runs before the controller's checks."""
        if self._public_numbers is None:
            return
        if content_type is None:
            raise _Abort(
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
        recovered = recover_signed_digest(signature, self._public_numbers)
        if recovered is None:
            raise _Abort(
                _ph_error(
                    400,
                    "InvalidPublicKeyConfigured",
                    "The public key configured is invalid",
                    "Certificate of the tenant",
                )
            )
        digest = hashlib.sha3_256(data.encode("utf-8")).hexdigest()
        if not hmac.compare_digest(recovered, digest):
            raise _Abort(
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
            raise _Abort(
                _mapper_error(
                    'Cannot invoke "String.contains(java.lang.CharSequence)" because '
                    'the return value of "HttpServletRequest.getHeader(String)" is null'
                )
            )
        kind, filename = req.header("Type").lower(), req.header("filename")
        invalid = kind != ("csv" if multipart else "raw")
        if multipart and filename is None:
            raise _Abort(
                _mapper_error(
                    'Cannot invoke "String.isEmpty()" because "fileName" is null'
                )
            )
        if (multipart and filename == "") or kind not in ("csv", "raw"):
            invalid = True
        if invalid:
            raise _Abort(_file_not_uploaded())

    def _check_file(self, csv_text: str, filename: str) -> None:
        """File name, size and header row, as the Camel validation routes do."""
        if not filename.lower().endswith(".csv"):
            raise _Abort(
                _broken_file(
                    "Broken file",
                    "The file uploaded is broken as it has a different "
                    "extension. Please upload a csv file and try again.",
                )
            )
        if len(csv_text.encode("utf-8")) > self.csv_max_bytes:
            raise _Abort(
                _broken_file(
                    "File too big",
                    "The file uploaded is too big. Please upload a file and try again.",
                )
            )
        header = java_lines(csv_text)[0] if csv_text else None
        if header is not None and not set(_java_split(header)) <= ALLOWED_COLUMNS:
            raise _Abort(
                _broken_file(
                    "Invalid file structure",
                    "The file uploaded contains wrong structure. "
                    "Please upload correct file columns and try again.",
                )
            )

    # ------------------------------------------------------------ ops app

    def _ops_guard(self, req: Request, route: str) -> None:
        """Tenant filter (500, empty body) then Bearer check for /api/v1/**."""
        if self._tenant(req) not in self.tenants:
            raise _Abort(Reply(500))
        if route == "token":
            return
        scheme, _, token = (req.header("Authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            if self.require_auth:
                raise _Abort(
                    _unauthorized(
                        "unauthorized",
                        "Full authentication is required to access this resource",
                    )
                )
            return
        status = self.state.token_status(token)
        if status != "valid":
            description = {"expired": "Access token expired"}.get(
                status, "Invalid access token"
            )
            raise _Abort(_unauthorized("invalid_token", description))

    @staticmethod
    def _tenant(req: Request) -> str:
        return req.header("Platform-TenantId") or req.query.get("tenantIdentifier")

    @staticmethod
    def _bad_credentials() -> Reply:
        return Reply(
            401,
            {
                "timestamp": int(time.time() * 1000),
                "status": "401",
                "error": "Unauthorized",
                "message": "Invalid credentials",
                "path": "/oauth/token",
            },
        )

    def _token(self, req: Request) -> Reply:
        """``POST /oauth/token`` (password and refresh_token grants)."""
        scheme, _, encoded = (req.header("Authorization") or "").partition(" ")
        client = _lenient_b64decode(encoded) if scheme.lower() == "basic" else None
        if client != b"client:":
            return _spring_error(401, "Unauthorized", req.path)
        params = dict(req.query)
        if "x-www-form-urlencoded" in (req.header("Content-Type") or ""):
            params = {**_first_values(req.body.decode("utf-8", "replace")), **params}
        grant = params.get("grant_type")
        reply = None
        if not grant:
            reply = Reply(400, {"error": "Missing grant type"})
        elif grant == "password":
            given = (params.get("username") or "", params.get("password") or "")
            valid = all(
                hmac.compare_digest(a.encode(), b.encode())
                for a, b in zip(given, self._credentials, strict=True)
            )
            reply = None if valid else self._bad_credentials()
        elif grant == "refresh_token":
            if not self.state.use_refresh_token(params.get("refresh_token") or ""):
                reply = Reply(400, {"error": "Invalid refresh token"})
        else:
            reply = Reply(400, {"error": f"Unsupported grant type: {grant}"})
        if reply is not None:
            return reply
        return Reply(
            200,
            self.state.issue_token(self._credentials[0]),
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _not_imported(self, batch_id) -> Reply:
        return Reply(404, f"Batch corresponding to batchId: {batch_id} does not exist.")

    def _summary(self, req: Request) -> Reply:
        """``GET /api/v1/batch/{id}``: recompute and return the BatchDTO."""
        batch_id = req.params["batch_id"]
        record = self.state.poll(self._tenant(req), batch_id)
        if record is None:
            return self._not_imported(batch_id)
        return Reply(200, self.state.summary(record))

    def _stored_summary(self, req: Request) -> Reply:
        """``GET /api/v1/batch?batchId=``: the stored BatchDTO, no recompute."""
        batch_id = req.query.get("batchId")
        record = self.state.poll(self._tenant(req), batch_id)
        if record is None:
            return self._not_imported(batch_id)
        return Reply(200, self.state.stored_summary(record))

    def _required(self, req: Request, name: str) -> str:
        value = req.query.get(name)
        if value is None:
            message = f"Required String parameter '{name}' is not present"
            raise _Abort(_spring_error(400, message, req.path))
        return value

    def _detail(self, req: Request) -> Reply:
        """``GET /api/v1/batch/detail``: a Spring Page of the batch's transfers."""
        batch_id = self._required(req, "batchId")
        page, size = _int_param(req, "pageNo", 0), _int_param(req, "pageSize", 10)
        _page_args(req, page, size)
        if self.page_size_cap:
            size = min(size, self.page_size_cap)
        record = self.state.poll(self._tenant(req), batch_id)
        if (req.query.get("command") or "").lower() == "download":
            if record is None or not record.stored.get("file"):
                return Reply(404)
            return Reply(302, headers={"Location": record.stored["file"]})
        status = req.query.get("status") or "ALL"
        return Reply(200, self.state.detail_page(record, status, page, size))

    def _transactions(self, req: Request) -> Reply:
        """``GET /api/v1/batch/transactions``: transactionId -> status."""
        record = self.state.poll(self._tenant(req), self._required(req, "batchId"))
        if record is None:
            return Reply(200)
        return Reply(200, self.state.transaction_statuses(record))

    def _batches(self, req: Request) -> Reply:
        """``GET /api/v1/batches``: ``offset`` is a row offset floored to a page."""
        offset, limit = _int_param(req, "offset", 0), _int_param(req, "limit", 10)
        if limit == 0:
            raise _Abort(_spring_error(500, "/ by zero", req.path))
        page = offset // limit  # Math.floorDiv(offset, limit)
        _page_args(req, page, limit)
        date_from, date_to = _date_ms(req, "dateFrom"), _date_ms(req, "dateTo")
        like = {
            key: req.query.get(key) or "%"
            for key in ("batchId", "registeringInstitutionId", "payerFsp")
        }
        try:
            body = self.state.list_batches(
                self._tenant(req),
                page=page,
                limit=limit,
                sort=_sort_arg(req.query.get("sort") or "-startedAt"),
                date_from=date_from,
                date_to=date_to,
                like=like,
            )
        except OpsError:
            return Reply(400)
        return Reply(200, body)

    def _batch_and_sub(self, req: Request) -> Reply:
        """``GET /api/v1/batches/{id}`` (header X-Correlation-ID required)."""
        if req.header("X-Correlation-ID") is None:
            message = (
                "Required request header 'X-Correlation-ID' for method "
                "parameter type String is not present"
            )
            return _spring_error(400, message, req.path)
        record = self.state.poll(self._tenant(req), req.params["batch_id"])
        if record is None:
            return Reply(404)
        return Reply(200, self.state.batch_and_sub_batches(record))

    def _transfers(self, req: Request) -> Reply:
        """``GET /api/v1/transfers``: exact filters, newest first by default."""
        page, size = _int_param(req, "page", 0), _int_param(req, "size", 1)
        _page_args(req, page, size)
        order = (req.query.get("sortedOrder") or "DESC").upper()
        if order not in ("ASC", "DESC"):
            message = f"Invalid value '{order}' for orders given"
            return _spring_error(500, message, req.path)
        keys = (
            "transactionId",
            "clientCorrelationId",
            "payeePartyId",
            "payerPartyId",
            "currency",
            "status",
        )
        filters = {k: req.query[k] for k in keys if req.query.get(k) is not None}
        if filters.get("status", "").upper() not in (
            "COMPLETED",
            "FAILED",
            "IN_PROGRESS",
        ):
            filters.pop("status", None)  # parseStatus() ignores unknown values
        body = self.state.find_transfers(
            self._tenant(req), filters, page=page, size=size, descending=order == "DESC"
        )
        return Reply(200, body)

    # ---------------------------------------------------------- callbacks

    def deliver_callbacks(self) -> None:
        """Send queued §4.5 callbacks, each on its own daemon thread."""
        for url, body in self.state.pop_callbacks():
            threading.Thread(
                target=self._post_callback,
                args=(url, body),
                name="phee-callback",
                daemon=True,
            ).start()

    def _post_callback(self, url: str, body: dict) -> None:
        status = None
        if urlsplit(url).hostname not in _LOOPBACK:
            _log.warning(
                "callback for batch %s not sent: not a loopback URL", body["batchId"]
            )
        else:
            data = json.dumps(body).encode()
            for _attempt in range(_CALLBACK_ATTEMPTS):
                request = urllib.request.Request(
                    url,
                    data=data,
                    method="POST",
                    headers={"Content-Type": "application/json"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=5) as response:
                        status = response.status
                except urllib.error.HTTPError as exc:
                    status = exc.code
                except (urllib.error.URLError, OSError):
                    status = None
                if (status and 200 <= status < 300) or self._stopping.wait(0.2):
                    break
        self.state.record_callback(url, body, status)


def _first_values(query: str) -> dict:
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


class _HTTPServer(ThreadingHTTPServer):
    """Threading server that can drop its open connections on stop."""

    daemon_threads = True

    def __init__(self, address, app: PheeServer):
        self.app = app
        self._open: set = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle and
    # delayed ACKs add about 40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server_version = "phee-local"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are closed after this

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def log_request(self, code="-", size="-"):
        """Silenced: the request line carries the token call's password."""

    def log_message(self, fmt, *args):
        """Only the message template: arguments may hold the request line."""
        _log.debug("http.server: %s", fmt)

    def _serve(self, method: str) -> None:
        app: PheeServer = self.server.app
        url = urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self.send_error(413 if length > 0 else 400)
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        req = Request(method, url.path, _first_values(url.query), self.headers, body)
        try:
            reply = app.dispatch(req)
        except Exception:
            _log.exception("local PHEE server failed on %s %s", method, url.path)
            reply = _spring_error(500, "Internal Server Error", url.path)
        if reply.reset or app.stopping:
            self._reset()
            status = None
        else:
            self._write(reply)
            status = reply.status
        app.state.log_request(method, url.path, status)
        _log.debug("%s %s -> %s", method, url.path, status)
        app.deliver_callbacks()

    def _write(self, reply: Reply) -> None:
        data, content_type = reply.encode()
        try:
            self.send_response(reply.status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _reset(self) -> None:
        """Close with SO_LINGER 0 so the client sees a connection reset."""
        self.close_connection = True
        try:
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        except OSError:
            pass
        self.connection.close()
        self.rfile.close()


def main(argv=None) -> int:
    """CLI: serve until Ctrl-C, printing the endpoint URLs."""
    parser = argparse.ArgumentParser(
        prog="python -m phee.server", description="Local PHEE-compatible server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--require-auth", action="store_true")
    parser.add_argument(
        "--public-key",
        metavar="FILE",
        help="PEM public key or certificate; enables JWS checks",
    )
    parser.add_argument("--import-delay", type=int, default=0, metavar="N")
    parser.add_argument("--settle-polls", type=int, default=1, metavar="N")
    parser.add_argument("--tenant", action="append", dest="tenants", metavar="T")
    parser.add_argument(
        "--id-field", choices=("client", "transaction", "alternate"), default="client"
    )
    args = parser.parse_args(argv)
    public_key = None
    if args.public_key:
        with open(args.public_key, encoding="ascii") as handle:
            public_key = handle.read()
    server = PheeServer(
        args.host,
        args.port,
        tenants=tuple(args.tenants or ("gorilla",)),
        require_auth=args.require_auth,
        public_key_pem=public_key,
        import_delay_polls=args.import_delay,
        settle_polls=args.settle_polls,
        id_field=args.id_field,
    ).start()
    print(
        f"PHEE local server on {server.base_url} (tenants: "
        f"{', '.join(sorted(server.tenants))}); Ctrl-C to stop"
    )
    for name, url in server.endpoints().items():
        print(f"  {name} = {url}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
