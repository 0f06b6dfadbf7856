"""HTTP client for the PHEE bulk processor and operations app.

Every request goes through ``PheeClient._request``, which maps transport
failures and HTTP statuses to the typed errors of :mod:`.errors`. Logs carry
the method, URL path, status and timing only: never headers, bodies or query
strings (the token call sends the password in its query string).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from . import safe_json
from .batch_view import BatchViews
from .const import DEFAULT_BASIC_AUTHORIZATION
from .errors import (
    PheeAuthError,
    PheeConfigError,
    PheeConnectionError,
    PheeError,
    PheeHTTPError,
    PheeNotFoundError,
    PheeResponseError,
    PheeTimeoutError,
    batch_problem,
    describe_error_body,
    signature_error,
)
from .lookups import BatchLookups
from .signer import load_private_key, sign
from .status import BatchSummary, batch_id_from_polling_path, transfer_ids
from .transport import (
    Answer,
    GuardedAdapter,
    TooLarge,
    Watchdog,
    read_body,
    transport_error,
)

_logger = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"[A-Za-z0-9._-]+")  # tenant and correlation ids
_FILENAME = re.compile(r"[^/\\]+\.csv")  # no path; ".csv" is how PHEE sees a CSV
_MAX_DETAIL_PAGES = 100_000  # guard against a server that never says "last"
_MAX_ERROR_BODY = 64 * 1024  # of an error answer, only the message is needed
_RETRY_STATUSES = (502, 503, 504)
_SECRET_QUERY = re.compile(
    r"\b((?:password|username|access_token|refresh_token)=)[^&\s\"']*", re.IGNORECASE
)


class _RedactQuery(logging.Filter):
    """Mask credentials in the request URLs that urllib3 logs at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _SECRET_QUERY.sub(r"\1***", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_QUERY.sub(r"\1***", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


_urllib3_logger = logging.getLogger("urllib3.connectionpool")
if not any(type(f).__name__ == "_RedactQuery" for f in _urllib3_logger.filters):
    _urllib3_logger.addFilter(_RedactQuery())


@dataclass(frozen=True)
class PheeConfig:
    """Connection settings; secrets are left out of ``repr``."""

    tenant_id: str
    payment_endpoint_url: str
    status_endpoint_url: str
    details_endpoint_url: str
    batches_endpoint_url: str
    auth_endpoint_url: str = ""  # empty: the ops app is called without a token
    username: str = ""
    password: str = field(default="", repr=False)
    grant_type: str = "password"
    authorization: str = field(default=DEFAULT_BASIC_AUTHORIZATION, repr=False)
    verify: bool | str = True  # True, False or a CA bundle path
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    total_timeout: float = 0.0  # per call, retries included; 0: connect + 2 x read
    max_response_bytes: int = 20 * 1024 * 1024
    # PEM or PHEE's bare Base64 PKCS#8; empty: no X-SIGNATURE
    signature_private_key: str = field(default="", repr=False)
    max_get_retries: int = 3
    backoff_factor: float = 0.5
    # the ops app's ``interface.timezone``: how it reads dateFrom/dateTo
    ops_timezone: str = "Asia/Kolkata"

    @property
    def auth_enabled(self) -> bool:
        return bool(self.auth_endpoint_url)

    @property
    def deadline(self) -> float:
        """Seconds one call may take in all, retries and pauses included."""
        return self.total_timeout or self.connect_timeout + 2 * self.read_timeout

    def validate(self) -> None:
        """Raise PheeConfigError naming the first bad field."""
        if not _SAFE_ID.fullmatch(self.tenant_id or ""):
            raise PheeConfigError("tenant_id: a PHEE tenant (letters, digits, ._-)")
        self._validate_urls()
        if self.auth_enabled and not self.username:
            raise PheeConfigError("username: required when auth_endpoint_url is set")
        if not (self.authorization.isascii() and self.authorization.isprintable()):
            raise PheeConfigError("authorization: not a valid header value")
        if not isinstance(self.verify, (bool, str)):
            raise PheeConfigError("verify: True, False or a CA bundle path")
        if isinstance(self.verify, str) and not os.path.exists(self.verify):
            raise PheeConfigError("verify: CA bundle file not found")
        for name in ("connect_timeout", "read_timeout", "max_response_bytes"):
            if not getattr(self, name) > 0:
                raise PheeConfigError(f"{name}: must be positive")
        for name in ("max_get_retries", "backoff_factor", "total_timeout"):
            if not getattr(self, name) >= 0:
                raise PheeConfigError(f"{name}: must not be negative")
        if not isinstance(self.ops_timezone, str) or not self.ops_timezone:
            raise PheeConfigError("ops_timezone: a time zone name such as UTC")
        if self.signature_private_key:
            try:
                load_private_key(self.signature_private_key)
            except PheeConfigError as exc:
                raise PheeConfigError(f"signature_private_key: {exc}") from None

    def _validate_urls(self) -> None:
        for name in (
            "payment_endpoint_url",
            "status_endpoint_url",
            "details_endpoint_url",
            "batches_endpoint_url",
            "auth_endpoint_url",
        ):
            url = getattr(self, name)
            if name == "auth_endpoint_url" and not url:
                continue
            parts = urlsplit(url or "")
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise PheeConfigError(f"{name}: not an http(s) URL")


@dataclass
class Token:
    """An ops-app access token."""

    access_token: str
    expires_at: float  # epoch seconds

    def valid(self, margin: float = 30) -> bool:
        """True if the token is still good for at least ``margin`` seconds."""
        return bool(self.access_token) and time.time() + margin < self.expires_at

    def __repr__(self) -> str:
        return f"Token(access_token='***', expires_at={self.expires_at!r})"


@dataclass(frozen=True)
class SubmitResult:
    """The 202 answer to a batch submission."""

    batch_id: str
    polling_path: str
    suggested_callback_seconds: int | None


def _header_text(value) -> str:
    """One-line, latin-1 safe header value."""
    text = " ".join(str(value or "").split())
    return text.encode("latin-1", "replace").decode("latin-1")


def _optional_int(value) -> int | None:
    text = str(value).strip()
    if isinstance(value, (bool, dict, list)) or len(text) > 18:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _check_headers(headers) -> None:
    for name, value in headers.items():
        if not value.isprintable():
            raise batch_problem(name, "header value has control characters")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise batch_problem(name, "header value is not latin-1") from None


def _last_page(body: dict, page: int, count: int, page_size: int) -> bool:
    """Whether a Spring Page answer is the last one."""
    last, total_pages = body.get("last"), body.get("totalPages")
    if isinstance(last, bool):
        return last
    if isinstance(total_pages, int) and not isinstance(total_pages, bool):
        return page + 1 >= total_pages
    return count < page_size


class PheeClient(BatchLookups, BatchViews):
    """Client for one PHEE tenant; use it as a context manager or call ``close()``.

    A ``session`` passed in is used as is and ``close()`` leaves it open; its
    adapters are not guarded, so the deadline then covers reading answer bodies
    but not waiting for their headers.
    """

    def __init__(
        self,
        config: PheeConfig,
        *,
        token: Token | None = None,
        on_token: Callable[[Token], None] | None = None,
        session: requests.Session | None = None,
    ):
        config.validate()
        self.config = config
        self.token = token
        self._on_token = on_token
        self._private_key = (
            load_private_key(config.signature_private_key)
            if config.signature_private_key
            else None
        )
        self._owns_session = session is None
        self._session = session if session is not None else self._new_session()

    @staticmethod
    def _new_session() -> requests.Session:
        session = requests.Session()
        session.mount("http://", GuardedAdapter())
        session.mount("https://", GuardedAdapter())
        return session

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> PheeClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- transport -------------------------------------------------------------

    def _request(
        self, method: str, url: str, *, expected=(200,), retries=None, **kwargs
    ) -> Answer:
        """Send one call; return the answer if its status is expected.

        The whole call, retries and pauses included, ends at ``config.deadline``.
        Undelivered requests are retried up to ``retries`` times (default
        ``max_get_retries``), and GETs also on 502/503/504.
        """
        c = self.config
        retries = c.max_get_retries if retries is None else retries
        parts = urlsplit(url)  # never log the query: it may hold the password
        port = f":{parts.port}" if parts.port else ""
        where = f"{method} {parts.hostname}{port}{parts.path}"
        started = time.monotonic()
        with Watchdog(c.deadline) as watchdog:
            for attempt in range(retries + 1):
                try:
                    answer = self._attempt(method, url, where, watchdog, kwargs)
                except PheeError as exc:
                    if not (isinstance(exc, PheeConnectionError) and attempt < retries):
                        raise
                    error = exc
                else:
                    if answer.status_code in expected:
                        break
                    error = self._status_error(answer, where)
                    retry = method == "GET" and answer.status_code in _RETRY_STATUSES
                    if not (retry and attempt < retries):
                        raise error
                pause = c.backoff_factor * 2 ** (attempt - 1) if attempt else 0.0
                if pause >= watchdog.remaining():
                    raise error
                time.sleep(pause)
        _logger.debug(
            "PHEE %s -> HTTP %s in %.0f ms",
            where,
            answer.status_code,
            (time.monotonic() - started) * 1000,
        )
        return answer

    def _attempt(self, method, url, where, watchdog, kwargs) -> Answer:
        """One HTTP exchange, its body read within the deadline and size cap; an
        error answer is read only as far as its message needs."""
        c = self.config
        late = PheeTimeoutError(
            f"PHEE did not answer within {c.deadline:g} s ({where})"
        )
        remaining = watchdog.remaining()
        if remaining <= 0:
            raise late
        timeout = (min(c.connect_timeout, remaining), min(c.read_timeout, remaining))
        try:
            resp = self._session.request(
                method, url, timeout=timeout, verify=c.verify, stream=True, **kwargs
            )
            try:
                ok = 200 <= resp.status_code < 300
                limit = c.max_response_bytes if ok else _MAX_ERROR_BODY
                body = read_body(resp, limit, truncate=not ok)
            finally:
                resp.close()
        except TooLarge:
            raise PheeResponseError(
                f"PHEE sent an answer larger than {c.max_response_bytes} bytes "
                f"({where})"
            ) from None
        except (requests.exceptions.RequestException, OSError) as exc:
            raise (late if watchdog.fired else transport_error(exc, where)) from None
        if watchdog.fired:  # the body may have been cut short
            raise late
        return Answer(resp.status_code, body, resp.headers.get("Location"))

    @staticmethod
    def _status_error(answer: Answer, where: str) -> PheeError:
        status = answer.status_code
        if 200 <= status < 300:
            return PheeResponseError(
                f"PHEE answered HTTP {status}, which was not expected ({where})",
                http_status=status,
            )
        code, message = describe_error_body(status, answer.text)
        text = f"PHEE answered HTTP {status}"
        if code:
            text += f" ({code})"
        if message and message != code:
            text += f": {message}"
        cls = PheeHTTPError
        if status in (401, 403):
            cls = PheeAuthError
        elif status == 404:
            cls = PheeNotFoundError
        return cls(text, http_status=status, remote_code=code)

    @staticmethod
    def _json(answer: Answer, what: str) -> dict:
        try:
            body = safe_json.loads(answer.content)
        except safe_json.UnsafeJSONError as exc:
            raise PheeResponseError(f"PHEE sent an unreadable {what} ({exc})") from None
        if not isinstance(body, dict):
            raise PheeResponseError(f"PHEE sent an unreadable {what}")
        return body

    # -- authentication --------------------------------------------------------

    def fetch_token(self) -> Token:
        """Get a new ops-app token (password grant) and pass it to ``on_token``."""
        c = self.config
        if not c.auth_enabled:
            raise PheeConfigError("auth_endpoint_url: authentication is not configured")
        try:
            resp = self._request(
                "POST",
                c.auth_endpoint_url,
                params={
                    "username": c.username,
                    "password": c.password,
                    "grant_type": c.grant_type,
                },
                headers={
                    "Platform-TenantId": c.tenant_id,
                    "Authorization": c.authorization,
                },
                json={},
                allow_redirects=False,
            )
        except PheeHTTPError as exc:
            if isinstance(exc, PheeAuthError):
                raise
            raise PheeAuthError(
                f"PHEE token request failed: {exc.message}",
                http_status=exc.http_status,
                remote_code=exc.remote_code,
            ) from None
        body = self._json(resp, "token answer")
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise PheeResponseError("PHEE token answer has no access_token")
        expires_in = _optional_int(body.get("expires_in"))
        if expires_in is None or expires_in <= 0:
            expires_in = 300
        self.token = Token(access_token, time.time() + expires_in)
        _logger.info(
            "PHEE token obtained for tenant %s (%d s)", c.tenant_id, expires_in
        )
        if self._on_token is not None:
            self._on_token(self.token)
        return self.token

    def _ops_headers(self) -> dict:
        headers = {"Platform-TenantId": self.config.tenant_id}
        if self.config.auth_enabled:
            if self.token is None or not self.token.valid():
                self.fetch_token()
            headers["Authorization"] = f"Bearer {self.token.access_token}"
        return headers

    def _ops_get(self, url: str, *, headers: dict | None = None, **kwargs) -> Answer:
        """GET on the ops app with tenant and bearer token (and ``headers``);
        one retry on 401."""
        try:
            return self._request(
                "GET", url, headers={**self._ops_headers(), **(headers or {})}, **kwargs
            )
        except PheeAuthError as exc:
            if exc.http_status != 401 or not self.config.auth_enabled:
                raise
        _logger.info("PHEE rejected the token; fetching a new one")
        self.token = None
        return self._request(
            "GET", url, headers={**self._ops_headers(), **(headers or {})}, **kwargs
        )

    def _ops_base(self) -> str:
        url = self.config.status_endpoint_url.rstrip("/")
        if url.endswith("/batch"):
            return url[: -len("/batch")]
        return url.rsplit("/", 1)[0]

    # -- submission ------------------------------------------------------------

    def submit_batch(
        self,
        csv_text: str,
        *,
        correlation_id: str,
        filename: str,
        purpose: str,
        batch_type: str = "csv",
        callback_url: str | None = None,
        registering_institution_id: str | None = None,
        program_id: str | None = None,
        extra_headers: dict | None = None,
    ) -> SubmitResult:
        """POST the batch file; return the batch id of the 202 answer.

        With both ``registering_institution_id`` and ``program_id`` (headers
        ``X-Registering-Institution-ID`` and ``X-Program-ID``), PHEE replaces
        every row's payer by the program's budget account when its
        ``budget-account`` configuration lists them (bulk processor
        ProcessorStartRouteService ``updateIncomingData``).

        Never retried here: after a PheeTimeoutError or any error with
        ``outcome_unknown``, look the batch up by correlation id before resending.
        """
        c = self.config
        kind = (batch_type or "").lower()
        if kind not in ("csv", "raw"):
            raise batch_problem("batch_type", "must be csv or raw")
        if not _SAFE_ID.fullmatch(correlation_id or ""):
            raise batch_problem("correlation_id", "is missing or has unsafe characters")
        if kind == "csv" and not _FILENAME.fullmatch(filename or ""):
            raise batch_problem("filename", "must be a file name ending with .csv")
        # PHEE reads the CSV part line by line (CR, LF or CRLF), rejoins with LF
        # and trims; a blank line would end the part early. Sign and send exactly
        # what PHEE rebuilds.
        payload = csv_text
        if kind == "csv":
            payload = csv_text.replace("\r\n", "\n").replace("\r", "\n").strip()
            if "\n\n" in payload:
                raise batch_problem("file", "contains an empty line")
        headers = CaseInsensitiveDict(
            {k: str(v) for k, v in (extra_headers or {}).items()}
        )
        headers.update(
            {
                "Platform-TenantId": c.tenant_id,
                "X-CorrelationID": correlation_id,
                "Purpose": _header_text(purpose),
                "Type": kind,
            }
        )
        if kind == "csv":
            headers["filename"] = filename
        if callback_url:
            headers["X-CallbackURL"] = callback_url
        for name, value in (
            ("X-Registering-Institution-ID", registering_institution_id),
            ("X-Program-ID", program_id),
        ):
            if value:
                if not _SAFE_ID.fullmatch(value):
                    raise batch_problem(name, "has unsafe characters")
                headers[name] = value
        if self._private_key is not None:
            headers["X-SIGNATURE"] = sign(
                payload,
                self._private_key,
                batch_id=headers.get("X-BatchID"),
                correlation_id=correlation_id,
                tenant_id=c.tenant_id,
            )
        _check_headers(headers)
        body = payload.encode("utf-8")
        if kind == "csv":
            send = {"files": {"data": (filename, body, "text/csv")}}
        else:
            headers["Content-Type"] = "application/json"
            send = {"data": body}
        try:
            resp = self._request(
                "POST",
                c.payment_endpoint_url,
                expected=(200, 202),
                retries=0,
                headers=dict(headers),
                allow_redirects=False,
                **send,
            )
        except PheeHTTPError as exc:
            refused = signature_error(
                exc.remote_code,
                tenant_id=c.tenant_id,
                signed="X-SIGNATURE" in headers,
                http_status=exc.http_status,
            )
            if refused is None:
                raise
            raise refused from None
        answer = self._json(resp, "submission answer")
        polling_path = answer.get("PollingPath")
        result = SubmitResult(
            batch_id=batch_id_from_polling_path(polling_path),
            polling_path=polling_path,
            suggested_callback_seconds=_optional_int(
                answer.get("SuggestedCallbackSeconds")
            ),
        )
        _logger.info(
            "PHEE accepted batch %s (correlation id %s)",
            result.batch_id,
            correlation_id,
        )
        return result

    # -- status ----------------------------------------------------------------

    def _imported(self, answer: Answer) -> bool:
        """False for the ops app's plain-text 404 ("Batch corresponding to batchId:
        ... does not exist.") sent until the importer has caught up. A JSON 404
        (Spring "Not Found": a wrong URL) is raised as PheeNotFoundError."""
        if answer.status_code != 404:
            return True
        try:
            safe_json.loads(answer.content)
        except safe_json.UnsafeJSONError:
            return False
        raise self._status_error(answer, "GET")

    def get_batch_summary(self, batch_id: str) -> BatchSummary | None:
        """Recomputed summary (``GET {status}/{batchId}``); None if not imported yet."""
        if not batch_id:
            raise batch_problem("batch_id", "is missing")
        base = self.config.status_endpoint_url.rstrip("/")
        url = f"{base}/{quote(batch_id, safe='')}"
        answer = self._ops_get(url, expected=(200, 404))
        if not self._imported(answer):
            return None
        return BatchSummary.from_json(self._json(answer, "batch summary"))

    def iter_transfers(
        self, batch_id: str, *, page_size: int = 1000, status: str = "ALL"
    ) -> Iterator[dict]:
        """Every transfer of the batch, page by page (``/batch/detail``)."""
        if not batch_id:
            raise batch_problem("batch_id", "is missing")
        previous = None
        for page in range(_MAX_DETAIL_PAGES):
            params = {
                "batchId": batch_id,
                "pageNo": page,
                "pageSize": page_size,
                "status": status,
            }
            answer = self._ops_get(
                self.config.details_endpoint_url, params=params, expected=(200, 404)
            )
            if not self._imported(answer):
                return
            body = self._json(answer, "batch detail page")
            content = body.get("content")
            if not isinstance(content, list) or not all(
                isinstance(t, dict) for t in content
            ):
                raise PheeResponseError("PHEE batch detail page has no transfer list")
            for transfer in content:
                transfer_ids(transfer)  # raises on a list or object as an id
            if not content:
                return
            keys = [(t.get("id"), t.get("transactionId")) for t in content]
            if keys == previous:
                _logger.warning(
                    "PHEE repeated detail page %d of batch %s", page, batch_id
                )
                return
            previous = keys
            yield from content
            if _last_page(body, page, len(content), page_size):
                return

    def test_connection(self) -> dict:
        """Fetch a token (if configured) and make one cheap ops call."""
        auth = False
        if self.config.auth_enabled:
            self.fetch_token()
            auth = True
        self._ops_get(
            self.config.batches_endpoint_url, params={"offset": 0, "limit": 1}
        )
        return {"auth": auth, "ops": True}
