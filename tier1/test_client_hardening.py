"""Fault tests of phee.client against hostile answers: a total deadline per call,
a cap on answer size, bounded numbers and answer shapes. Loopback stubs only;
every time assertion is generous (a fault test, not a benchmark)."""

import time

import pytest
import requests

from phee.client import PheeClient, PheeConfig
from phee.errors import (
    PheeHTTPError,
    PheeResponseError,
    PheeTimeoutError,
)
from tier1.stub_http import StubServer, canned, reply

DEADLINE = 1.5
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


def client_for(stub, **overrides):
    values = {
        "tenant_id": "gorilla",
        "username": "mifos",
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "total_timeout": DEADLINE,
        "max_get_retries": 0,
        **{k: v for k, v in stub.endpoints.items() if k != "auth_endpoint_url"},
        **overrides,
    }
    return PheeClient(PheeConfig(**values))


def submit(client):
    return client.submit_batch(
        "id,request_id\n0,a", correlation_id="c1", filename="b.csv", purpose="p"
    )


def timed(call):
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        call()
    return info.value, time.monotonic() - started


# -- a total deadline per call ------------------------------------------------------


def drip_body(request):
    """Headers at once, then a JSON body one byte every 0.3 s (each read returns
    well within the 1 s read timeout)."""

    def script(w):
        body = b'{"batchId": "b1", "total": 1}' + b" " * 200
        w.send(HEAD + f"Content-Length: {len(body)}\r\n\r\n".encode())
        w.drip(body, 0.3)

    return script


def drip_headers(request):
    def script(w):
        w.send(b"HTTP/1.1 200 OK\r\n")
        w.drip(b"X-Slow: " + b"a" * 200 + b"\r\n\r\n{}", 0.3)

    return script


@pytest.mark.parametrize("script", [drip_body, drip_headers])
@pytest.mark.parametrize("call", ["summary", "submit"])
def test_dripping_server_is_cut_at_the_deadline(script, call):
    with StubServer(script) as stub:
        client = client_for(stub)
        do = {
            "summary": lambda: client.get_batch_summary("b1"),
            "submit": lambda: submit(client),
        }[call]
        err, elapsed = timed(do)
    assert isinstance(err, PheeTimeoutError), err
    assert f"within {DEADLINE:g} s" in str(err)
    assert err.outcome_unknown  # a POST may have been acted on
    assert DEADLINE * 0.8 < elapsed < 3 * DEADLINE


def test_deadline_holds_for_a_session_passed_in():
    with StubServer(drip_body) as stub:
        client = PheeClient(client_for(stub).config, session=requests.Session())
        err, elapsed = timed(lambda: client.get_batch_summary("b1"))
    assert isinstance(err, PheeTimeoutError)
    assert elapsed < 3 * DEADLINE


def test_default_deadline_is_connect_plus_twice_read():
    with StubServer(drip_body) as stub:
        client = client_for(
            stub, total_timeout=0, connect_timeout=0.3, read_timeout=0.6
        )
        assert client.config.deadline == pytest.approx(1.5)
        err, elapsed = timed(lambda: client.get_batch_summary("b1"))
    assert isinstance(err, PheeTimeoutError)
    assert elapsed < 3 * 1.5


def test_retries_stop_at_the_deadline():
    with StubServer(canned((503, {"error": "busy"}))) as stub:
        client = client_for(stub, max_get_retries=20, backoff_factor=0.2)
        err, elapsed = timed(lambda: client.get_batch_summary("b1"))
        tries = len(stub.seen)
    # pauses 0, 0.2, 0.4, 0.8: the next one (1.6 s) would pass the deadline
    assert isinstance(err, PheeHTTPError) and err.http_status == 503
    assert 2 <= tries <= 5
    assert elapsed < 3 * DEADLINE


def test_retries_within_the_deadline_still_happen():
    summary = {"batchId": "b1", "total": 1, "ongoing": 0, "successful": 1}
    with StubServer(canned((503, "busy"), (502, "x"), (200, summary))) as stub:
        client = client_for(stub, max_get_retries=3, backoff_factor=0.05)
        assert client.get_batch_summary("b1").settled
        assert len(stub.seen) == 3


def test_submission_is_never_retried():
    with StubServer(canned((503, "busy"), (202, {"PollingPath": "/x/b"}))) as stub:
        client = client_for(stub, max_get_retries=3, backoff_factor=0)
        with pytest.raises(PheeHTTPError):
            submit(client)
        assert len(stub.seen) == 1


def test_answer_within_the_deadline_keeps_the_connection():
    summary = {"batchId": "b1", "total": 1, "ongoing": 0, "successful": 1}
    with StubServer(canned((200, summary))) as stub:
        client = client_for(stub)
        for _ in range(3):
            assert client.get_batch_summary("b1").total == 1
        time.sleep(DEADLINE + 0.3)  # a cancelled watchdog must not fire later
        assert client.get_batch_summary("b1").total == 1
        assert len(stub.seen) == 4


# -- a cap on answer size -----------------------------------------------------------


def declared_huge(request):
    def script(w):
        w.send(HEAD + b"Content-Length: 300000000\r\n\r\n{")

    return script


def endless(request):
    """A body with no length, 1 MB at a time, until the client hangs up (64 MB
    at most)."""

    def script(w):
        w.send(HEAD + b"Connection: close\r\n\r\n")
        w.send(b'{"content": ["')
        while w.sent < 64 * 1024 * 1024 and not w.stopped.is_set():
            w.send(b"x" * (1024 * 1024))

    script.writers = []
    return script


def test_declared_oversized_answer_is_refused_unread():
    with StubServer(declared_huge) as stub:
        client = client_for(stub, max_response_bytes=1024 * 1024)
        err, elapsed = timed(lambda: client.get_batch_summary("b1"))
    assert isinstance(err, PheeResponseError)
    assert "larger than 1048576 bytes" in str(err)
    assert elapsed < DEADLINE


def test_streamed_oversized_answer_is_cut():
    sent = []

    def script(request):
        inner = endless(request)

        def run(w):
            try:
                inner(w)
            finally:
                sent.append(w.sent)

        return run

    with StubServer(script) as stub:
        client = client_for(stub, max_response_bytes=2 * 1024 * 1024, total_timeout=10)
        err, elapsed = timed(lambda: list(client.iter_transfers("b1")))
        deadline = time.monotonic() + 5
        while not sent and time.monotonic() < deadline:
            time.sleep(0.05)
    assert isinstance(err, PheeResponseError)
    assert "larger than 2097152 bytes" in str(err)
    assert sent and sent[0] < 32 * 1024 * 1024  # the client stopped reading


def test_default_cap_is_twenty_megabytes():
    with StubServer(canned((200, {}))) as stub:
        assert client_for(stub).config.max_response_bytes == 20 * 1024 * 1024


def test_huge_error_answer_is_read_only_for_its_message():
    body = b"<html>" + b"e" * (5 * 1024 * 1024) + b"</html>"
    with StubServer(canned((500, body))) as stub:
        err, _ = timed(lambda: client_for(stub).get_batch_summary("b1"))
    assert isinstance(err, PheeHTTPError) and err.http_status == 500
    assert len(str(err)) < 600


# -- bounded numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("summary", b'{"batchId": "b1", "total": 1e1000000}'),
        ("summary", b'{"batchId": "b1", "totalAmount": "1e1000000"}'),
        ("summary", b'{"batchId": "b1", "total": ' + b"9" * 200_000 + b"}"),
        ("summary", b'{"batchId": "b1", "total": NaN}'),
        ("summary", b'{"total": 1, "failedAmount": 10000000000000000}'),
        ("detail", b'{"content": [{"id": 1, "amount": 1e1000000}], "last": true}'),
        ("batches", b'{"totalBatches": ' + b"1" * 50 + b', "data": []}'),
        ("submit", b'{"PollingPath": "/batch/Summary/b1", "x": -1e999999}'),
        ("summary", b"[" * 100_000 + b"]" * 100_000),
    ],
)
def test_absurd_numbers_are_refused_fast(route, body):
    status = 202 if route == "submit" else 200
    with StubServer(canned((status, body))) as stub:
        client = client_for(stub, total_timeout=10)
        call = {
            "summary": lambda: client.get_batch_summary("b1"),
            "detail": lambda: list(client.iter_transfers("b1")),
            "batches": lambda: client.find_batch_by_correlation_id("c1"),
            "submit": lambda: submit(client),
        }[route]
        err, elapsed = timed(call)
    assert isinstance(err, PheeResponseError), err
    assert elapsed < 2


def test_transfer_with_absurd_amount_is_refused_when_matched():
    body = {
        "content": [{"id": 1, "clientCorrelationId": "r1", "amount": "1e1000000"}],
        "last": True,
    }
    with StubServer(canned((200, body))) as stub:
        client = client_for(stub)
        started = time.monotonic()
        with pytest.raises(PheeResponseError):
            client.find_transfer("r1")
    assert time.monotonic() - started < 2


# -- answer shapes ------------------------------------------------------------------

WRONG_SHAPES = [
    ("submit", 202, {"PollingPath": ["/batch/Summary/b1"]}),
    ("submit", 202, []),
    ("summary", 200, {"batchId": ["b1"], "total": 1}),
    ("summary", 200, {"batchId": "b1", "status": {"x": 1}}),
    ("detail", 200, {"content": [{"id": 1, "transactionId": ["t"]}], "last": True}),
    ("detail", 200, {"content": {"id": 1}}),
    ("batches", 200, {"data": [{"batchId": ["b1"], "correlationId": "c1"}]}),
    ("batches", 200, {"data": [{"batchId": {"id": 1}}]}),
    ("batches", 200, {"data": "b1"}),
    ("transfers", 200, {"content": [{"clientCorrelationId": ["r1"]}]}),
    ("transfers", 200, {"content": [{"clientCorrelationId": "r1", "status": [1]}]}),
    ("transfers", 200, {"content": None}),
    ("token", 200, {"access_token": ["t"]}),
    ("summary", 200, b"\xff\xfe not utf-8"),
]


@pytest.mark.parametrize(("route", "status", "body"), WRONG_SHAPES)
def test_wrong_shapes_are_response_errors(route, status, body):
    with StubServer(canned((status, body))) as stub:
        auth = stub.endpoints["auth_endpoint_url"] if route == "token" else ""
        client = client_for(stub, auth_endpoint_url=auth)
        call = {
            "submit": lambda: submit(client),
            "summary": lambda: client.get_batch_summary("b1"),
            "detail": lambda: list(client.iter_transfers("b1")),
            "batches": lambda: client.find_batch_by_correlation_id("c1"),
            "transfers": lambda: client.find_transfer("r1"),
            "token": client.fetch_token,
        }[route]
        with pytest.raises(PheeResponseError):
            call()


def test_odd_optional_values_are_tolerated():
    answer = {"PollingPath": "/batch/Summary/b1", "SuggestedCallbackSeconds": ["x"]}
    with StubServer(canned((202, answer))) as stub:
        result = submit(client_for(stub))
    assert result.batch_id == "b1" and result.suggested_callback_seconds is None
    token = {"access_token": "t", "expires_in": "9" * 5000}
    with StubServer(canned((200, token))) as stub:
        client = client_for(stub, auth_endpoint_url=stub.endpoints["auth_endpoint_url"])
        assert client.fetch_token().valid()


def test_stub_served_answer_via_reply_helper():
    assert reply(200, {"a": 1}).startswith(b"HTTP/1.1 200 X\r\nContent-Length: 8\r\n")
