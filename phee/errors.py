"""Typed errors raised by the PHEE package, and a parser for PHEE error bodies."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import safe_json

_MAX_REMOTE_MESSAGE = 500


@dataclass(frozen=True)
class RowProblem:
    """One validation problem: ``row`` is the positional index (-1: whole batch)."""

    row: int
    ref: str
    field: str
    reason: str

    def __str__(self) -> str:
        where = "batch" if self.row < 0 else f"row {self.row} ({self.ref})"
        return f"{where}: {self.field} {self.reason}"


class PheeError(Exception):
    """Base class; ``str(exc)`` is a message that is safe to show to users."""

    code = "error"
    retryable = False
    outcome_unknown = False

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        remote_code: str | None = None,
        retryable: bool | None = None,
        outcome_unknown: bool | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.remote_code = remote_code
        if retryable is not None:
            self.retryable = retryable
        if outcome_unknown is not None:
            self.outcome_unknown = outcome_unknown

    def __str__(self) -> str:
        return self.message


class PheeConfigError(PheeError):
    """Invalid configuration (URL, tenant, key, ...)."""

    code = "config"


class PheeValidationError(PheeError):
    """The payment data cannot be sent; ``problems`` lists every problem found."""

    code = "validation"

    def __init__(self, problems: list[RowProblem], message: str | None = None):
        self.problems = list(problems)
        if message is None:
            shown = "; ".join(str(p) for p in self.problems[:5])
            more = len(self.problems) - 5
            message = f"{len(self.problems)} problem(s) in the payment batch: {shown}"
            if more > 0:
                message += f"; and {more} more"
        super().__init__(message)


def batch_problem(field_name: str, reason: str) -> PheeValidationError:
    """A PheeValidationError about one argument or the whole batch."""
    return PheeValidationError([RowProblem(-1, "", field_name, reason)])


class PheeFileTooBigError(PheeValidationError):
    """The rendered file is larger than the PHEE upload limit."""

    code = "file_too_big"

    def __init__(self, size: int, max_bytes: int):
        self.size = size
        self.max_bytes = max_bytes
        super().__init__(
            [],
            f"The payment file has {size} bytes; PHEE accepts at most {max_bytes}.",
        )


class PheeConnectionError(PheeError):
    """The request was not delivered (refused, DNS, connect timeout, TLS)."""

    code = "connection"
    retryable = True


class PheeTimeoutError(PheeError):
    """No answer after the request was sent: PHEE may have acted on it."""

    code = "timeout"
    retryable = True
    outcome_unknown = True


class PheeHTTPError(PheeError):
    """PHEE answered with an unexpected HTTP status."""

    code = "http"

    def __init__(self, message: str, *, http_status: int, **kwargs):
        kwargs.setdefault("retryable", http_status == 429 or http_status >= 500)
        kwargs.setdefault("outcome_unknown", http_status >= 500)
        super().__init__(message, http_status=http_status, **kwargs)


class PheeAuthError(PheeHTTPError):
    """Authentication failed (401/403 or the token endpoint failed)."""

    code = "auth"


class PheeNotFoundError(PheeHTTPError):
    """HTTP 404."""

    code = "not_found"


class PheeSignatureError(PheeHTTPError):
    """PHEE refused the batch's ``X-SIGNATURE``: a key to fix, not to retry."""

    code = "signature"

    def __init__(self, message: str, *, http_status: int, **kwargs):
        kwargs.setdefault("retryable", False)
        kwargs.setdefault("outcome_unknown", False)
        super().__init__(message, http_status=http_status, **kwargs)


_SET_KEY = (
    "set the tenant's signing private key on the payment manager (Settings or "
    "manager › Credentials), matching the public key PHEE has for the tenant"
)


def signature_error(
    remote_code, *, tenant_id: str, signed: bool, http_status: int
) -> PheeSignatureError | None:
    """The officer-readable error for PHEE's JWS refusals, None for other codes.

    PHEE's connector-common WebSignatureInterceptor answers
    ``InvalidPublicKeyConfigured`` when the signature is missing or does not
    decrypt with the tenant's certificate (another key), and
    ``InvalidJsonWebSignature`` when it decrypts but the digest differs from the
    one of the headers and file PHEE received.
    """
    prefix = f"PHEE refused the batch signature ({remote_code}): "
    if remote_code == "InvalidPublicKeyConfigured":
        if signed:
            why = (
                f"PHEE could not verify X-SIGNATURE with its public key for tenant "
                f"{tenant_id}, so the signing key is not the one PHEE expects; "
            )
        else:
            why = (
                "PHEE's bulk processor verifies X-SIGNATURE by default and no "
                "signing key is set; "
            )
        message = prefix + why + _SET_KEY + "."
    elif remote_code == "InvalidJsonWebSignature":
        message = prefix + (
            f"the signature was made with the key PHEE has for tenant {tenant_id} "
            "but not over the file and headers PHEE received: something between "
            "Odoo and PHEE changed the request (a proxy rewriting the body or the "
            "X-CorrelationID / Platform-TenantId headers), or PHEE signs other "
            "headers than X-BatchID, X-CorrelationID, Platform-TenantId "
            "(jws.header.order). Ask PHEE's operators to check."
        )
    else:
        return None
    return PheeSignatureError(message, http_status=http_status, remote_code=remote_code)


class PheeResponseError(PheeError):
    """A 2xx answer that cannot be understood; PHEE may have acted."""

    code = "response"
    outcome_unknown = True


def _norm_key(key: str) -> str:
    # "Error Information: " -> "errorinformation", "errorCode" -> "errorcode"
    return re.sub(r"[\s:_]", "", str(key)).lower()


def _text(value) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = " ".join(str(value).split())
    return text[:_MAX_REMOTE_MESSAGE] or None


def _describe_dict(body: dict) -> tuple[str | None, str | None]:
    d = {_norm_key(k): v for k, v in body.items()}
    if "responsecode" in d or "responsedescription" in d:
        return _text(d.get("responsecode")), _text(d.get("responsedescription"))
    if isinstance(d.get("errorinformation"), str):
        # {"errorInformation": "File not uploaded", ...} and the odd
        # {"Error Information: ": "File too big", "Error Description : ": ...}
        return _text(d["errorinformation"]), _text(d.get("errordescription"))
    if "errorcode" in d:  # PhErrorDTO
        for key in ("errordescription", "defaultusermessage", "developermessage"):
            message = _text(d.get(key))
            if message:
                return _text(d["errorcode"]), message
        return _text(d["errorcode"]), None
    if "error" in d:  # OAuth {"error","error_description"}, Spring, {"error": msg}
        message = _text(d.get("errordescription")) or _text(d.get("message"))
        if message:
            return _text(d["error"]), message
        return None, _text(d["error"])
    return None, _text(d.get("message"))


def describe_error_body(status, body_text) -> tuple[str | None, str | None]:
    """``(remote_code, remote_message)`` of any PHEE error body; never raises."""
    try:
        text = (body_text or "").strip()
        if not text:
            return None, None
        try:
            body = safe_json.loads(text)
        except safe_json.UnsafeJSONError:
            return None, _text(text)
        if isinstance(body, dict):
            return _describe_dict(body)
        return None, _text(text)
    except Exception:  # must never raise
        return None, None
