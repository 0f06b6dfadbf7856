"""Tier-1 tests of phee.client, over real HTTP on 127.0.0.1.

Most tests talk to ``phee_sandbox.PheeServer``; a tiny canned-reply server covers
answers PheeServer does not produce (error bodies the client cannot provoke,
503 for GET retries).
"""

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from phee.client import PheeClient, PheeConfig, SubmitResult, Token
from phee.csv_render import build_frame, render_csv
from phee.errors import (
    PheeAuthError,
    PheeConfigError,
    PheeConnectionError,
    PheeHTTPError,
    PheeNotFoundError,
    PheeResponseError,
    PheeSignatureError,
    PheeTimeoutError,
    PheeValidationError,
)
from phee.signer import generate_key_pair, verify
from phee.status import match_transfers
from phee_sandbox import PheeServer

PASSWORD = "S3cret-Pa55word"


@pytest.fixture(scope="module")
def key_pair():
    return generate_key_pair()


@pytest.fixture
def server():
    with PheeServer.lenient() as srv:
        yield srv


def config_for(srv, *, auth=False, **overrides):
    endpoints = dict(srv.endpoints() if hasattr(srv, "endpoints") else srv)
    if not auth:
        endpoints.pop("auth_endpoint_url")
    values = {
        "tenant_id": "gorilla",
        "username": "mifos",
        "password": PASSWORD,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "max_get_retries": 0,
        **endpoints,
        **overrides,
    }
    return PheeConfig(**values)


def sample_csv(n=5, prefix="req", failing=(), note="G2P cycle 7"):
    payees = [f"27710{i:06d}" + ("999" if i in failing else "100") for i in range(n)]
    df = build_frame(
        request_ids=[f"{prefix}-{i}" for i in range(n)],
        payee_identifier_types="msisdn",
        payee_identifiers=payees,
        amounts=[100 + i for i in range(n)],
        payment_mode="mojaloop",
        payer_identifier_type="msisdn",
        payer_identifier="27710101999",
        currency="USD",
        note=note,
    )
    return render_csv(df)


def submit(client, csv_text=None, correlation_id="corr-1", **kwargs):
    return client.submit_batch(
        csv_text if csv_text is not None else sample_csv(),
        correlation_id=correlation_id,
        filename=kwargs.pop("filename", "cycle7-b1.csv"),
        purpose=kwargs.pop("purpose", "G2P cycle 7"),
        **kwargs,
    )


def server_log(srv, keep=lambda r: True, *, at_least=0):
    """``(method, path, status)`` the server logged, filtered; waits (2 s at most)
    for ``at_least`` entries, since the server logs just after answering."""
    deadline = time.monotonic() + 2
    while True:
        found = [r for r in srv.requests if keep(r)]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def requests_to(srv, method, path, *, at_least=0):
    return server_log(srv, lambda r: r[:2] == (method, path), at_least=at_least)


class RecordingSession(requests.Session):
    """A real session that remembers the arguments of every request."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        return super().request(method, url, **kwargs)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- canned-reply server ---------------------------------------------------------


class _CannedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append((self.command, self.path))
        replies = self.server.replies
        status, body, ctype = replies.pop(0) if len(replies) > 1 else replies[0]
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _reply

    def log_message(self, *args):
        pass


@pytest.fixture
def canned():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _CannedHandler)
    httpd.daemon_threads = True
    httpd.replies, httpd.seen = [], []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.endpoints = {
        "payment_endpoint_url": f"{base}/batchtransactions",
        "status_endpoint_url": f"{base}/api/v1/batch",
        "details_endpoint_url": f"{base}/api/v1/batch/detail",
        "batches_endpoint_url": f"{base}/api/v1/batches",
        "auth_endpoint_url": f"{base}/oauth/token",
    }
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def set_replies(httpd, *replies):
    httpd.replies[:] = [
        (
            status,
            body,
            "application/json" if not isinstance(body, str) else "text/plain",
        )
        for status, body in replies
    ]


# -- configuration ------------------------------------------------------------------


def test_config_defaults_and_repr_hide_secrets(server, key_pair):
    config = config_for(server, auth=True, signature_private_key=key_pair[0])
    assert config.verify is True
    assert config.auth_enabled
    text = repr(config)
    assert PASSWORD not in text and "PRIVATE KEY" not in text
    assert "Y2xpZW50Og" not in text
    token = Token("abc.def.ghi", time.time() + 100)
    assert "abc.def.ghi" not in repr(token) and token.valid()
    assert not Token("abc", time.time() + 10).valid()
    assert not Token("", time.time() + 1000).valid()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tenant_id": ""}, "tenant_id"),
        ({"tenant_id": "gor illa"}, "tenant_id"),
        ({"payment_endpoint_url": "ftp://x/batchtransactions"}, "payment_endpoint_url"),
        (
            {"status_endpoint_url": "ph-ee-operations-app/api/v1/batch"},
            "status_endpoint_url",
        ),
        ({"auth_endpoint_url": "file:///etc/passwd"}, "auth_endpoint_url"),
        ({"auth_endpoint_url": "http://x/oauth/token", "username": ""}, "username"),
        ({"verify": "/nonexistent/ca.pem"}, "verify"),
        ({"verify": 1.5}, "verify"),
        ({"read_timeout": 0}, "read_timeout"),
        ({"max_get_retries": -1}, "max_get_retries"),
        ({"total_timeout": -1}, "total_timeout"),
        ({"max_response_bytes": 0}, "max_response_bytes"),
        ({"ops_timezone": ""}, "ops_timezone"),
        ({"signature_private_key": "MIIEvQIB not base64!"}, "signature_private_key"),
        (
            {"signature_private_key": "-----BEGIN PRIVATE KEY-----\nxx"},
            "signature_private_key",
        ),
    ],
)
def test_config_validation(server, overrides, field):
    config = config_for(server, **overrides)
    with pytest.raises(PheeConfigError) as info:
        config.validate()
    assert str(info.value).startswith(field)
    assert "BEGIN PRIVATE KEY" not in str(info.value)
    with pytest.raises(PheeConfigError):
        PheeClient(config)


def test_tls_verify_and_timeouts_pass_through(server, tmp_path):
    session = RecordingSession()
    with PheeClient(config_for(server), session=session) as client:
        client.get_batch_summary("nope")
    assert session.calls[-1][2]["verify"] is True
    assert session.calls[-1][2]["timeout"] == (2.0, 5.0)

    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    for verify_value in (str(bundle), False):
        session = RecordingSession()
        client = PheeClient(config_for(server, verify=verify_value), session=session)
        submit(client)
        client.get_batch_summary("nope")
        assert [c[2]["verify"] for c in session.calls] == [verify_value] * 2


# -- submission ---------------------------------------------------------------------


def test_submit_returns_batch_id_and_sends_headers(server):
    csv_text = sample_csv(3)
    with PheeClient(config_for(server)) as client:
        result = submit(
            client,
            csv_text,
            purpose="G2P cycle 7\nline two",
            callback_url="http://127.0.0.1:9/cb",
            extra_headers={"X-Program-ID": "prog-1", "type": "ignored"},
        )
    [batch] = server.batches
    assert isinstance(result, SubmitResult)
    assert result.batch_id == batch["batch_id"]
    assert result.polling_path == f"/batch/Summary/{batch['batch_id']}"
    assert result.suggested_callback_seconds == 120
    headers = batch["headers"]
    assert headers["platform-tenantid"] == "gorilla"
    assert headers["x-correlationid"] == "corr-1"
    assert headers["purpose"] == "G2P cycle 7 line two"
    assert headers["type"] == "csv"
    assert headers["filename"] == "cycle7-b1.csv"
    assert headers["x-callbackurl"] == "http://127.0.0.1:9/cb"
    assert headers["x-program-id"] == "prog-1"
    assert "x-signature" not in headers
    assert batch["correlation_id"] == "corr-1"
    assert [r["request_id"] for r in batch["rows"]] == ["req-0", "req-1", "req-2"]
    assert len(requests_to(server, "POST", "/batchtransactions", at_least=1)) == 1


def test_signature_verifies_on_server(key_pair):
    private_pem, public_pem = key_pair
    csv_text = sample_csv(4)
    with PheeServer.lenient(public_key_pem=public_pem) as srv:
        with PheeClient(config_for(srv, signature_private_key=private_pem)) as client:
            result = submit(client, csv_text + "\n", correlation_id="sig-1")
        [batch] = srv.batches
    assert batch["batch_id"] == result.batch_id
    signature = batch["headers"]["x-signature"]
    assert verify(
        signature, csv_text, public_pem, correlation_id="sig-1", tenant_id="gorilla"
    )


def test_raw_json_batch(key_pair):
    private_pem, public_pem = key_pair
    body = json.dumps(
        [
            {
                "requestId": "raw-1",
                "paymentMode": "mojaloop",
                "amount": "10",
                "currency": "USD",
                "descriptionText": "x",
                "creditParty": [{"key": "msisdn", "value": "27710000100"}],
                "debitParty": [{"key": "msisdn", "value": "27710101999"}],
            }
        ]
    )
    with PheeServer.lenient(public_key_pem=public_pem) as srv:
        with PheeClient(config_for(srv, signature_private_key=private_pem)) as client:
            result = client.submit_batch(
                body, correlation_id="raw-c", filename="", purpose="p", batch_type="raw"
            )
        assert srv.batches[0]["batch_id"] == result.batch_id
        assert srv.batches[0]["rows"][0]["request_id"] == "raw-1"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"filename": "batch.txt"}, "filename"),
        ({"filename": "../x.csv"}, "filename"),
        ({"filename": "a\\b.csv"}, "filename"),
        ({"filename": "cycle\n7.csv"}, "filename"),
        ({"correlation_id": ""}, "correlation_id"),
        ({"correlation_id": "a b"}, "correlation_id"),
        ({"batch_type": "xml"}, "batch_type"),
        ({"csv_text": "id,request_id\n\n0,a"}, "file"),
        ({"callback_url": "http://x/\u2713"}, "X-CallbackURL"),
        ({"extra_headers": {"X-Program-ID": "a\tb"}}, "X-Program-ID"),
    ],
)
def test_submit_validates_before_sending(server, kwargs, field):
    with PheeClient(config_for(server)) as client:
        with pytest.raises(PheeValidationError) as info:
            submit(client, **kwargs)
    assert info.value.problems[0].field == field
    assert server.requests == []


# -- error mapping ------------------------------------------------------------------


@pytest.mark.parametrize("signed", [True, False])
def test_wrong_or_missing_signature_says_what_to_fix(key_pair, signed):
    other_private, _ = generate_key_pair()
    key = other_private if signed else ""
    with PheeServer.lenient(public_key_pem=key_pair[1]) as srv:
        client = PheeClient(config_for(srv, signature_private_key=key))
        with pytest.raises(PheeSignatureError) as info:
            submit(client)
        assert srv.batches == []
    err = info.value
    # a signature made with another key does not decrypt: same code as none
    assert isinstance(err, PheeHTTPError)
    assert (err.code, err.http_status, err.remote_code) == (
        "signature",
        400,
        "InvalidPublicKeyConfigured",
    )
    assert str(err).startswith(
        "PHEE refused the batch signature (InvalidPublicKeyConfigured): "
    )
    assert "matching the public key PHEE has for the tenant" in str(err)
    expected = "not the one PHEE expects" if signed else "no signing key is set"
    assert expected in str(err)
    assert not err.retryable and not err.outcome_unknown


def test_signature_over_other_content_is_signature_error(canned):
    body = {
        "errorCategory": "Validation",
        "errorCode": "InvalidJsonWebSignature",
        "errorDescription": "The JWS passed is not valid",
        "errorParameters": [{"key": "X-SIGNATURE", "value": "abc"}],
    }
    set_replies(canned, (400, body))
    with pytest.raises(PheeSignatureError) as info:
        submit(PheeClient(config_for(canned.endpoints)))
    err = info.value
    assert (err.http_status, err.remote_code) == (400, "InvalidJsonWebSignature")
    assert "key PHEE has for tenant gorilla" in str(err)
    assert "changed the request" in str(err)
    assert not err.retryable and not err.outcome_unknown


def test_tenant_without_workflow_is_412():
    with PheeServer.lenient(tenants=("gorilla", "rhino")) as srv:
        config = config_for(srv, tenant_id="rhino")
        srv.tenants = frozenset({"gorilla"})  # rhino's workflow is not deployed
        with pytest.raises(PheeHTTPError) as info:
            submit(PheeClient(config))
    assert (info.value.http_status, info.value.remote_code) == (412, "01")
    assert "Process definition not found" in str(info.value)
    assert not info.value.retryable


@pytest.mark.parametrize(
    ("csv_text", "remote_code"),
    [
        (
            "id,request_id\n" + "\n".join(f"{i},r{i}" for i in range(12_000)),
            "File too big",
        ),
        ("id,request_id,colour\n0,a,red", "Invalid file structure"),
    ],
)
def test_file_errors_with_odd_keys(server, csv_text, remote_code):
    with pytest.raises(PheeHTTPError) as info:
        submit(PheeClient(config_for(server)), csv_text)
    assert (info.value.http_status, info.value.remote_code) == (400, remote_code)


CANNED_ERRORS = [
    pytest.param(
        500,
        {
            "errorCategory": "Technical",
            "errorCode": "JWSVerificationServerError",
            "errorDescription": "Internal server error while verifying JWS",
        },
        PheeHTTPError,
        "JWSVerificationServerError",
        "Internal server error while verifying JWS",
        id="jws-500",
    ),
    pytest.param(
        500,
        {
            "responseCode": "01",
            "responseDescription": "Required request header 'Purpose' is not present",
        },
        PheeHTTPError,
        "01",
        "Required request header 'Purpose' is not present",
        id="missing-header-500",
    ),
    pytest.param(
        400,
        {
            "errorInformation": "File not uploaded",
            "errorDescription": "There was no fie uploaded with the request",
            "errorCode": 400,
        },
        PheeHTTPError,
        "File not uploaded",
        "There was no fie uploaded with the request",
        id="file-not-uploaded",
    ),
    pytest.param(
        400,
        {"Error Information: ": "Broken file", "Error Description : ": "Not a csv"},
        PheeHTTPError,
        "Broken file",
        "Not a csv",
        id="broken-file",
    ),
    pytest.param(
        403,
        {"error": "access_denied", "error_description": "Access is denied"},
        PheeAuthError,
        "access_denied",
        "Access is denied",
        id="403",
    ),
    pytest.param(
        502,
        "<html>Bad Gateway</html>",
        PheeHTTPError,
        None,
        "<html>Bad Gateway</html>",
        id="proxy-502",
    ),
]


@pytest.mark.parametrize(("status", "body", "cls", "code", "message"), CANNED_ERRORS)
def test_error_bodies_become_typed_errors(canned, status, body, cls, code, message):
    set_replies(canned, (status, body))
    with pytest.raises(cls) as info:
        submit(PheeClient(config_for(canned.endpoints)))
    err = info.value
    assert type(err) is cls
    assert (err.http_status, err.remote_code) == (status, code)
    assert str(err).endswith(message)
    assert err.outcome_unknown is (status >= 500)


def test_token_error_shapes(canned):
    config = config_for(canned.endpoints, auth=True)
    set_replies(canned, (400, {"error": "Missing grant type"}))
    with pytest.raises(PheeAuthError) as info:
        PheeClient(config).fetch_token()
    assert (info.value.http_status, info.value.remote_code) == (400, None)
    assert str(info.value).endswith("Missing grant type")


def test_connection_refused():
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    endpoints = {
        "payment_endpoint_url": f"{base}/batchtransactions",
        "status_endpoint_url": f"{base}/api/v1/batch",
        "details_endpoint_url": f"{base}/api/v1/batch/detail",
        "batches_endpoint_url": f"{base}/api/v1/batches",
        "auth_endpoint_url": f"{base}/oauth/token",
    }
    client = PheeClient(
        config_for(endpoints, auth=True, max_get_retries=2, backoff_factor=0)
    )
    for call in (
        lambda: submit(client),
        lambda: client.get_batch_summary("b1"),
        client.fetch_token,
    ):
        with pytest.raises(PheeConnectionError) as info:
            call()
        assert info.value.code == "connection"
        assert info.value.retryable and not info.value.outcome_unknown
        assert PASSWORD not in str(info.value)


def test_read_timeout_after_accept(server):
    server.inject("submit", "accept_then_hang", seconds=3)
    client = PheeClient(config_for(server, read_timeout=0.5))
    started = time.monotonic()
    with pytest.raises(PheeTimeoutError) as info:
        submit(client, correlation_id="hang-1")
    assert time.monotonic() - started < 2.5
    assert info.value.outcome_unknown and info.value.retryable
    assert len(server.batches_with_correlation_id("hang-1")) == 1
    # the documented recovery: look the batch up before resending
    found = client.find_batch_by_correlation_id("hang-1")
    assert found["batchId"] == server.batches[0]["batch_id"]


def test_connection_reset_after_sending(server):
    server.inject("submit", "reset")
    with pytest.raises(PheeTimeoutError) as info:
        submit(PheeClient(config_for(server, max_get_retries=3)), correlation_id="r-1")
    assert info.value.outcome_unknown
    assert len(server.batches_with_correlation_id("r-1")) == 1
    assert len(requests_to(server, "POST", "/batchtransactions", at_least=1)) == 1


@pytest.mark.parametrize(
    ("fault", "recorded"), [("http_500", 0), ("accept_then_500", 1)]
)
def test_submit_500(server, fault, recorded):
    server.inject("submit", fault)
    with pytest.raises(PheeHTTPError) as info:
        submit(PheeClient(config_for(server, max_get_retries=3)))
    err = info.value
    assert err.http_status == 500 and err.retryable and err.outcome_unknown
    assert len(server.batches) == recorded
    assert len(requests_to(server, "POST", "/batchtransactions", at_least=1)) == 1


def test_get_retries_on_503_but_post_does_not(canned):
    summary = {"batchId": "b1", "total": 1, "ongoing": 0, "successful": 1}
    set_replies(canned, (503, "busy"), (503, "busy"), (200, summary))
    client = PheeClient(
        config_for(canned.endpoints, max_get_retries=3, backoff_factor=0)
    )
    assert client.get_batch_summary("b1").settled
    assert len(canned.seen) == 3
    canned.seen.clear()
    set_replies(canned, (503, "busy"), (202, {"PollingPath": "/batch/Summary/x"}))
    with pytest.raises(PheeHTTPError) as info:
        submit(client)
    assert info.value.http_status == 503 and len(canned.seen) == 1


@pytest.mark.parametrize("fault", ["malformed", "no_polling_path"])
def test_malformed_submit_answer(server, fault):
    server.inject("submit", fault)
    with pytest.raises(PheeResponseError) as info:
        submit(PheeClient(config_for(server)), correlation_id="m-1")
    assert info.value.outcome_unknown
    assert len(server.batches_with_correlation_id("m-1")) == 1


@pytest.mark.parametrize("route", ["summary", "detail", "batches", "transfers"])
def test_malformed_ops_answers(server, route):
    client = PheeClient(config_for(server))
    result = submit(client)
    server.inject(route, "malformed")
    call = {
        "summary": lambda: client.get_batch_summary(result.batch_id),
        "detail": lambda: list(client.iter_transfers(result.batch_id)),
        "batches": lambda: client.find_batch_by_correlation_id("corr-1"),
        "transfers": lambda: client.find_transfer("req-0"),
    }[route]
    with pytest.raises(PheeResponseError):
        call()


@pytest.mark.parametrize(
    "body",
    [
        {"content": "nope"},
        {"content": [1, 2]},
        {"data": None},
    ],
)
def test_wrong_json_shapes(canned, body):
    set_replies(canned, (200, body))
    client = PheeClient(config_for(canned.endpoints))
    with pytest.raises(PheeResponseError):
        if "data" in body:
            client.find_batch_by_correlation_id("x")
        else:
            list(client.iter_transfers("b1"))


def test_unknown_route_404_is_raised(canned):
    set_replies(canned, (404, {"status": 404, "error": "Not Found", "path": "/x"}))
    client = PheeClient(config_for(canned.endpoints))
    for call in (
        lambda: client.get_batch_summary("b1"),
        lambda: list(client.iter_transfers("b1")),
    ):
        with pytest.raises(PheeNotFoundError) as info:
            call()
        assert info.value.code == "not_found" and info.value.http_status == 404
        assert str(info.value) == "PHEE answered HTTP 404: Not Found"


# -- authentication -----------------------------------------------------------------


def auth_server(**kwargs):
    return PheeServer.lenient(require_auth=True, password=PASSWORD, **kwargs)


def test_token_fetch_and_bearer_on_ops_calls():
    tokens = []
    with auth_server() as srv:
        session = RecordingSession()
        client = PheeClient(
            config_for(srv, auth=True), on_token=tokens.append, session=session
        )
        result = submit(client)
        assert client.get_batch_summary(result.batch_id) is not None
        list(client.iter_transfers(result.batch_id))
    assert len(tokens) == 1 and client.token is tokens[0]
    token_call, *ops_calls = [
        c for c in session.calls if c[0] == "GET" or "oauth" in c[1]
    ]
    assert token_call[2]["params"] == {
        "username": "mifos",
        "password": PASSWORD,
        "grant_type": "password",
    }
    assert token_call[2]["headers"] == {
        "Platform-TenantId": "gorilla",
        "Authorization": "Basic Y2xpZW50Og==",
    }
    assert token_call[2]["json"] == {}
    for _, _, kwargs in ops_calls:
        assert kwargs["headers"]["Authorization"] == f"Bearer {tokens[0].access_token}"
        assert kwargs["headers"]["Platform-TenantId"] == "gorilla"
    submit_headers = next(
        c for c in session.calls if c[0] == "POST" and "batch" in c[1]
    )
    assert "Authorization" not in submit_headers[2]["headers"]  # no OAuth on bulk


def test_token_refreshed_before_expiry():
    tokens = []
    with auth_server() as srv:
        client = PheeClient(config_for(srv, auth=True), on_token=tokens.append)
        client.test_connection()
        client.token = Token(tokens[0].access_token, time.time() + 10)  # expiring
        client.get_batch_summary("b-unknown")
        assert len(tokens) == 2
        assert len(requests_to(srv, "POST", "/oauth/token", at_least=2)) == 2
        assert not any(r[2] == 401 for r in server_log(srv, at_least=4))


def test_token_refreshed_once_on_401():
    tokens = []
    with auth_server() as srv:
        client = PheeClient(config_for(srv, auth=True), on_token=tokens.append)
        result = submit(client)
        client.get_batch_summary(result.batch_id)
        srv.inject("summary", "expire_tokens")
        assert client.get_batch_summary(result.batch_id) is not None
        assert len(tokens) == 2
        summaries = server_log(
            srv, lambda r: r[1].startswith("/api/v1/batch/"), at_least=3
        )
        statuses = [r[2] for r in summaries]
        assert statuses == [200, 401, 200]

        srv.inject("summary", "http_401", count=2)
        with pytest.raises(PheeAuthError) as info:
            client.get_batch_summary(result.batch_id)
        assert (info.value.http_status, info.value.remote_code) == (
            401,
            "invalid_token",
        )
        assert len(tokens) == 3  # exactly one refresh per call


def test_given_token_is_used_without_fetching():
    with auth_server() as srv:
        first = PheeClient(config_for(srv, auth=True)).fetch_token()
        client = PheeClient(config_for(srv, auth=True), token=first)
        assert client.test_connection() == {"auth": True, "ops": True}
        tokens = requests_to(srv, "POST", "/oauth/token", at_least=2)
        assert len(tokens) == 2  # fetch_token + test_connection
        client.get_batch_summary("nope")
        assert len(requests_to(srv, "POST", "/oauth/token", at_least=2)) == 2


def test_bad_credentials_and_token_endpoint_failures():
    with auth_server() as srv:
        bad = PheeClient(config_for(srv, auth=True, password="wrong"))
        with pytest.raises(PheeAuthError) as info:
            bad.get_batch_summary("b1")
        assert (info.value.http_status, info.value.remote_code) == (401, "Unauthorized")
        assert "Invalid credentials" in str(info.value)
        assert "wrong" not in str(info.value)

        good = PheeClient(config_for(srv, auth=True))
        srv.inject("token", "http_500")
        with pytest.raises(PheeAuthError) as info:
            good.fetch_token()
        assert info.value.http_status == 500 and info.value.retryable
        srv.inject("token", "malformed")
        with pytest.raises(PheeResponseError):
            good.fetch_token()


def test_auth_off_sends_no_token(server):
    session = RecordingSession()
    client = PheeClient(config_for(server), session=session)
    assert client.test_connection() == {"auth": False, "ops": True}
    result = submit(client)
    client.get_batch_summary(result.batch_id)
    assert client.token is None
    assert all("Authorization" not in c[2]["headers"] for c in session.calls)
    assert requests_to(server, "POST", "/oauth/token") == []
    with pytest.raises(PheeConfigError):
        client.fetch_token()


def test_ops_401_without_auth_configured_is_auth_error():
    with auth_server() as srv:
        with pytest.raises(PheeAuthError) as info:
            PheeClient(config_for(srv)).get_batch_summary("b1")
    assert info.value.http_status == 401


# -- status tracking ----------------------------------------------------------------


def test_summary_is_none_until_imported():
    with PheeServer.lenient(import_delay_polls=2) as srv:
        client = PheeClient(config_for(srv))
        result = submit(client)
        assert client.get_batch_summary(result.batch_id) is None
        assert list(client.iter_transfers(result.batch_id)) == []
        summary = client.get_batch_summary(result.batch_id)
        assert summary is not None and summary.batch_id == result.batch_id
        assert summary.total == 5


@pytest.mark.parametrize(
    ("page_size", "cap", "id_field"),
    [
        (2, None, "client"),
        (3, None, "transaction"),
        (5, 2, "alternate"),
        (1000, None, "client"),
    ],
)
def test_detail_paging_collects_every_transfer(page_size, cap, id_field):
    n = 7
    with PheeServer.lenient(page_size_cap=cap, id_field=id_field) as srv:
        client = PheeClient(config_for(srv))
        result = submit(client, sample_csv(n, failing=(2, 5)))
        while not (summary := client.get_batch_summary(result.batch_id)).settled:
            pass
        transfers = list(client.iter_transfers(result.batch_id, page_size=page_size))
        expected_pages = -(-n // min(page_size, cap or page_size))
        pages = len(
            requests_to(srv, "GET", "/api/v1/batch/detail", at_least=expected_pages)
        )
        outcomes = match_transfers([f"req-{i}" for i in range(n)], transfers)
    assert len(transfers) == n
    assert pages == expected_pages
    assert set(outcomes) == {f"req-{i}" for i in range(n)}
    assert summary.settled and (summary.successful, summary.failed) == (5, 2)
    assert {r for r, o in outcomes.items() if o.status == "failed"} == {
        "req-2",
        "req-5",
    }
    assert outcomes["req-2"].reason == "Payee account not found"


def test_detail_paging_stops_when_server_repeats_a_page(canned):
    page = {"content": [{"id": 1, "transactionId": "t1"}], "last": False}
    set_replies(canned, (200, page))
    client = PheeClient(config_for(canned.endpoints))
    assert len(list(client.iter_transfers("b1", page_size=1))) == 1
    assert len(canned.seen) == 2


def test_detail_paging_without_page_info_stops_on_short_page(canned):
    full = {"content": [{"id": 1}, {"id": 2}]}
    short = {"content": [{"id": 3}]}
    set_replies(canned, (200, full), (200, short))
    client = PheeClient(config_for(canned.endpoints))
    assert [t["id"] for t in client.iter_transfers("b1", page_size=2)] == [1, 2, 3]


def test_find_batch_by_correlation_id_among_many(server):
    client = PheeClient(config_for(server))
    ids = {}
    for i in range(23):
        ids[f"c-{i}"] = submit(client, sample_csv(1, prefix=f"b{i}"), f"c-{i}").batch_id
    duplicate = submit(client, sample_csv(1, prefix="dup"), "c-3").batch_id

    found = client.find_batch_by_correlation_id("c-0", page_size=4)
    assert found["batchId"] == ids["c-0"] and found["correlationId"] == "c-0"
    assert client.find_batch_by_correlation_id("c-3")["batchId"] == duplicate  # newest
    assert client.find_batch_by_correlation_id("missing", page_size=4) is None
    # the oldest batch is beyond the page budget
    assert client.find_batch_by_correlation_id("c-0", page_size=2, max_pages=3) is None

    calls = requests_to(server, "GET", "/api/v1/batches", at_least=1)
    assert calls and all(status == 200 for *_, status in calls)


def test_find_batch_paging_uses_row_offsets(canned):
    def page(start, count, total=10):
        data = [
            {"batchId": f"b{i}", "correlationId": f"c{i}"}
            for i in range(start, start + count)
        ]
        return {"totalBatches": total, "data": data}

    set_replies(canned, (200, page(0, 4)), (200, page(4, 4)), (200, page(8, 2)))
    client = PheeClient(config_for(canned.endpoints))
    assert client.find_batch_by_correlation_id("c9", page_size=4)["batchId"] == "b9"
    offsets = [path.split("offset=")[1].split("&")[0] for _, path in canned.seen]
    assert offsets == ["0", "4", "8"]
    assert all(
        "limit=4" in path and "sort=-startedAt" in path for _, path in canned.seen
    )


def test_find_batch_stops_when_server_ignores_offset(canned):
    same = {"data": [{"batchId": "b1", "correlationId": "c1"}] * 2}
    set_replies(canned, (200, same))
    client = PheeClient(config_for(canned.endpoints))
    assert client.find_batch_by_correlation_id("zz", page_size=2, max_pages=50) is None
    assert len(canned.seen) == 2


def test_find_transfer_by_both_ids():
    with PheeServer.lenient(id_field="alternate") as srv:
        client = PheeClient(config_for(srv))
        csv_text = sample_csv(4)
        result = submit(client, csv_text)
        client.get_batch_summary(result.batch_id)
        client.get_batch_summary(result.batch_id)  # settle
        for i in range(4):
            transfer = client.find_transfer(f"req-{i}")
            assert transfer is not None and transfer["status"] == "COMPLETED"
            assert f"req-{i}" in (
                transfer["clientCorrelationId"],
                transfer["transactionId"],
            )
        assert client.find_transfer("never-sent") is None
        paths = {p for _, p, _ in server_log(srv, at_least=1)}
        assert "/api/v1/transfers" in paths


def test_in_file_duplicates_fail_with_request_id_as_transaction_id(server):
    # written by hand: render_csv refuses a file PHEE would deduplicate
    row = "mojaloop,msisdn,27710101999,msisdn,27710000100,50,USD,dup"
    csv_text = "\n".join(
        [
            "id,request_id,payment_mode,payer_identifier_type,payer_identifier,"
            "payee_identifier_type,payee_identifier,amount,currency,note",
            f"0,d-1,{row}",
            f"1,d-2,{row}",
        ]
    )
    client = PheeClient(config_for(server))
    result = submit(client, csv_text)
    client.get_batch_summary(result.batch_id)
    outcomes = match_transfers(["d-1", "d-2"], client.iter_transfers(result.batch_id))
    assert outcomes["d-1"].status == "paid"
    assert outcomes["d-2"].status == "failed"
    assert outcomes["d-2"].reason == "Duplicate transaction."
    assert client.find_transfer("d-2")["transactionId"] == "d-2"


# -- logging ------------------------------------------------------------------------


def test_no_secret_in_logs_during_full_flow(caplog, key_pair):
    private_pem, public_pem = key_pair
    caplog.set_level(logging.DEBUG)
    tokens = []
    with auth_server(public_key_pem=public_pem, import_delay_polls=1) as srv:
        config = config_for(srv, auth=True, signature_private_key=private_pem)
        with PheeClient(config, on_token=tokens.append) as client:
            result = submit(client, sample_csv(3, failing=(1,)))
            while (summary := client.get_batch_summary(result.batch_id)) is None:
                pass
            srv.inject("detail", "expire_tokens")
            while not summary.settled:
                summary = client.get_batch_summary(result.batch_id)
            transfers = list(client.iter_transfers(result.batch_id, page_size=2))
            client.find_batch_by_correlation_id("corr-1")
            client.find_transfer("req-0")
        signature = srv.batches[0]["headers"]["x-signature"]
    assert len(transfers) == 3 and len(tokens) == 2
    secrets = [PASSWORD, signature, "Y2xpZW50Og", "PRIVATE KEY", "27710000001999"]
    secrets += [t.access_token for t in tokens]
    secrets += [t.access_token.split(".")[2] for t in tokens]
    records = caplog.records
    text = "\n".join(r.getMessage() for r in records)
    assert any(r.name.startswith("urllib3") for r in records)  # the URLs were logged
    assert "/oauth/token" in text and "password=***" in text
    assert result.batch_id in text
    for secret in secrets:
        assert secret not in text
