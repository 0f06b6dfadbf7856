"""``PheeServer``: life cycle, endpoint URLs, inspection, routing and faults.

The routes come from ``BulkRoutes`` and ``OpsRoutes``, what the server keeps
from ``ServerState``, and the HTTP side from ``LocalHTTPServer``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.error
import urllib.request
from urllib.parse import unquote, urlsplit

from .bulk import BulkRoutes
from .http import (
    Abort,
    LocalHTTPServer,
    Reply,
    Request,
    mapper_error,
    spring_error,
    unauthorized,
)
from .java import zone
from .jws import load_tenant_key
from .ops import OpsRoutes
from .state import ServerState

_log = logging.getLogger(__package__)

_LOOPBACK = frozenset(("127.0.0.1", "localhost", "::1"))
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
    ("GET", "/files/(?P<batch_id>[^/]+)/(?P<name>[^/]+)", "files", "_result_file"),
)


# Today's lenient behaviour (before the sandbox followed stock PHEE): see
# ``PheeServer.lenient``.
LENIENT = {
    "keep_correlation_id": True,
    "sub_batch_size": 0,
    "error_format": "text",
}


def endpoint_urls(base: str) -> dict:
    """The five endpoint URLs of a local server at ``base``, keyed like
    ``PheeConfig`` fields."""
    return {
        "payment_endpoint_url": f"{base}/batchtransactions",
        "status_endpoint_url": f"{base}/api/v1/batch",
        "details_endpoint_url": f"{base}/api/v1/batch/detail",
        "batches_endpoint_url": f"{base}/api/v1/batches",
        "auth_endpoint_url": f"{base}/oauth/token",
    }


def _tenant_keys(keys) -> dict:
    """``{tenant in lower case or "default": (public numbers, text)}``."""
    if not keys:
        return {}
    if isinstance(keys, (str, bytes)):
        keys = {"default": keys}
    result = {}
    for tenant, text in dict(keys).items():
        shown = text.decode("ascii", "replace") if isinstance(text, bytes) else text
        result[str(tenant).lower()] = (load_tenant_key(text), shown)
    return result


class PheeServer(BulkRoutes, OpsRoutes):
    """Local PHEE (bulk processor + operations app) on a background thread.

    By default it behaves like a stock PHEE deployment (the class and module
    docstrings name the PHEE source of each behaviour):

    - JWS is required (``jws=True``, connector-common ``security.jws.enable``):
      a submission without a valid ``X-SIGNATURE``, or to a tenant with no
      public key here, gets 400 ``InvalidPublicKeyConfigured``; a signature of
      other content 400 ``InvalidJsonWebSignature``;
    - once imported, a batch's ``correlationId`` (listing, BatchDTO, callback)
      is the authorization job's key, a long number, not the X-CorrelationID;
    - more than ``sub_batch_size`` (5) rows after de-duplication are split into
      sub-batches: their transfers carry the sub-batch ids, the batch table has
      a parent row and one row per sub-batch, ``/batch/detail`` with
      ``status=ALL`` lists the sub-batches' transfers only (not duplicates
      stored under the parent) and a status filter looks at the parent id only;
    - a failed row's errorInformation is the JSON text of the nested Mojaloop
      shape; ``/api/v1/transfers`` returns null for it;
    - in-file duplicates (same payee, type, amount, currency) are FAILED rows
      ``Duplicate transaction.`` under the parent id;
    - ops calls without ``Platform-TenantId`` get 500 with no body; the 202's
      PollingPath is not a served route; a summary reads ``Failed`` while
      transfers are ongoing.

    Options (keyword only, defaults in brackets):

    :param tenants: tenants whose workflow is deployed; others get 412/500
        [``("gorilla",)``].
    :param require_auth: ops ``/api/v1/**`` needs a Bearer token [False, as the
        ops app's ``rest.authorization.enabled``].
    :param username, password: the ops app user [``mifos``/``password``].
    :param jws: check ``X-SIGNATURE`` on submissions [True].
    :param public_key_pem: the tenants' public key or certificate (PEM or bare
        Base64 DER), or a mapping tenant -> key (``"default"`` for the others)
        [None: no key, so every signed submission is refused]. ``ValueError``
        if unusable.
    :param keep_correlation_id: keep the X-CorrelationID as the batch's
        ``correlationId`` (as with the processor's authorization off) [False].
    :param sub_batch_size: rows per sub-batch; 0 = never split [5].
    :param error_format: ``mojaloop`` (nested JSON text) or ``text`` (plain
        reason) for failed rows' errorInformation [``mojaloop``].
    :param fail_payee_suffixes: payee identifiers ending so fail, party not
        found [``("999",)``].
    :param exception_payee_suffixes: payees ending so show EXCEPTION (an open
        incident) for ``exception_polls`` ops calls, then COMPLETED [()].
    :param exception_polls: how many ops calls see EXCEPTION [3].
    :param stuck_payee_suffixes: payees ending so stay IN_PROGRESS forever,
        without completedAt, so the batch keeps ``ongoing > 0`` [()].
    :param never_start: batches answered 202 whose workflow never starts (404
        forever, never listed): None, an int N (the Nth accepted submission),
        a correlation id or collection of them, or a callable taking the
        correlation id [None].
    :param budget_accounts: ``budget-account`` configuration, ``{institution:
        {program: (identifier type, identifier value)}}``: a submission with
        both matching headers has every row's payer replaced [None].
    :param lookup_tenants: tenants running the account-lookup workflow [()].
    :param mapper_payees: what the identity account mapper knows, ``{institution:
        {functional id: (financial address, DFSP id)}}``; other payees of a
        look-up tenant fail "Payee Identifier not found" [None].
    :param reject_budget: batches whose budget authorization is refused
        (approved 0, no payment runs), chosen like ``never_start`` [None].
    :param approvals_in_view: ``/api/v1/batches/{id}`` reports the approvals
        PHEE recorded for the batch, not the sums of its sub-batch rows (0 on a
        stock PHEE) [False].
    :param interface_timezone: the ops app's ``interface.timezone``, in which
        ``dateFrom``/``dateTo`` are read [``Asia/Kolkata``].
    :param token_ttl: access token lifetime in seconds [600].
    :param import_delay_polls: ops calls about a batch answered "does not
        exist" before the importer has it [0].
    :param settle_polls: ops calls after the import that still see IN_PROGRESS
        [1].
    :param page_size_cap: largest page the detail endpoint returns [None].
    :param id_field: where transfers carry ``request_id``: ``client``
        (clientCorrelationId), ``transaction`` (transactionId) or
        ``alternate`` [``client``].
    :param csv_max_bytes: the processor's ``csv.size`` [100000].
    :param send_callbacks: POST the callback to loopback X-CallbackURLs [False].
    :param channel_dedup: mojaloop rows reusing a request_id of an earlier batch
        of the tenant get no transfer (the channel rejects the X-CorrelationID)
        [False].
    :param max_sleep: longest injected hang, seconds [30].

    ``PheeServer.lenient(**kw)`` gives the sandbox's earlier behaviour.
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
        jws=True,
        public_key_pem=None,
        keep_correlation_id=False,
        sub_batch_size=5,
        error_format="mojaloop",
        fail_payee_suffixes=("999",),
        exception_payee_suffixes=(),
        exception_polls=3,
        stuck_payee_suffixes=(),
        never_start=None,
        budget_accounts=None,
        lookup_tenants=(),
        mapper_payees=None,
        reject_budget=None,
        approvals_in_view=False,
        interface_timezone="Asia/Kolkata",
        token_ttl=600,
        import_delay_polls=0,
        settle_polls=1,
        page_size_cap=None,
        id_field="client",
        csv_max_bytes=100_000,
        send_callbacks=False,
        channel_dedup=False,
        max_sleep=30.0,
    ):
        self.host, self.port = host, port
        self.tenants = frozenset(tenants)
        self.require_auth = require_auth
        self._credentials = (username, password)
        self.jws = jws
        self._tenant_keys = _tenant_keys(public_key_pem)
        self.interface_tz = zone(interface_timezone)
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
            keep_correlation_id=keep_correlation_id,
            sub_batch_size=sub_batch_size,
            error_format=error_format,
            exception_payee_suffixes=exception_payee_suffixes,
            exception_polls=exception_polls,
            stuck_payee_suffixes=stuck_payee_suffixes,
            never_start=never_start,
            budget_accounts=budget_accounts,
            lookup_tenants=lookup_tenants,
            mapper_payees=mapper_payees,
            reject_budget=reject_budget,
            approvals_in_view=approvals_in_view,
        )
        self._stopping = threading.Event()
        self._httpd: LocalHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def lenient(cls, host="127.0.0.1", port=0, **kw) -> PheeServer:
        """The sandbox as it was before it followed stock PHEE: JWS checked only
        when a public key is given, the X-CorrelationID kept as correlationId,
        no sub-batches, plain-text failure reasons. Any option may be passed
        (``lenient(jws=True)``, ``lenient(sub_batch_size=5)``)."""
        options = {**LENIENT, **kw}
        options.setdefault("jws", bool(kw.get("public_key_pem")))
        return cls(host, port, **options)

    def tenant_key(self, tenant: str | None):
        """``(RSA public numbers or None, certificate text or "null")`` used to
        verify a tenant's signatures: its own key, else ``default``."""
        keys = self._tenant_keys
        wanted = (tenant or "").lower()
        found = keys.get(wanted) if tenant is not None else None
        found = found or keys.get("default")
        return found if found else (None, "null")

    # --------------------------------------------------------- life cycle

    def start(self) -> PheeServer:
        """Bind and serve on a daemon thread; returns self."""
        self._httpd = LocalHTTPServer((self.host, self.port), self)
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
        return endpoint_urls(self.base_url)

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
            if route == "files":  # object storage: no tenant, no token
                return handler(req)
            self._ops_guard(req, route)
            return handler(req)
        except Abort as abort:
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
            raise Abort(spring_error(405, message, req.path))
        raise Abort(spring_error(404, "No message available", req.path))

    def _sleep(self, seconds) -> None:
        self._stopping.wait(min(max(float(seconds), 0.0), self.max_sleep))

    def _pre_fault(self, fault, req: Request, route: str) -> Reply | None:
        name, kw = fault or (None, {})
        if name == "hang":
            self._sleep(kw.get("seconds", 5))
            return Reply(0, reset=True) if self.stopping else None
        if name == "http_500":
            return spring_error(500, "Injected failure", req.path)
        if name == "http_401" and route == "token":
            return self._bad_credentials()
        if name == "http_401":
            return unauthorized("invalid_token", "Invalid access token")
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
        except Abort as abort:
            reply = abort.reply
        if name == "reset":
            return Reply(0, reset=True)
        if reply.status != 202 or name is None:
            return reply
        if name == "accept_then_500":
            return mapper_error("Injected failure after accepting the batch")
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
