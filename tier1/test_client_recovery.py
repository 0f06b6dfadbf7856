"""Tier-1 tests of the look-ups that find an earlier submission after a lost
answer on a stock PHEE: the batch listing in a time window, a batch's rows
compared with ours, and several request ids among the transfers."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from phee.client import PheeClient, PheeConfig
from phee.errors import PheeConfigError, PheeResponseError, PheeValidationError
from phee.signer import generate_key_pair
from phee_sandbox import PheeServer
from tier1.stub_http import StubServer, canned

CSV_HEADER = (
    "id,request_id,payment_mode,payer_identifier_type,payer_identifier,"
    "payee_identifier_type,payee_identifier,amount,currency,note"
)


@pytest.fixture(scope="module")
def key_pair():
    return generate_key_pair()


def config(endpoints, **overrides):
    values = {
        "tenant_id": "gorilla",
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "max_get_retries": 0,
        **{k: v for k, v in endpoints.items() if k != "auth_endpoint_url"},
        **overrides,
    }
    return PheeConfig(**values)


def batch_csv(prefix, n):
    rows = [
        f"{i},{prefix}-{i},mojaloop,msisdn,27710101999,msisdn,2771{i:07d}100,"
        f"{100 + i},USD,cycle"
        for i in range(n)
    ]
    return "\n".join([CSV_HEADER, *rows])


def submit(client, prefix, n=3, **kwargs):
    return client.submit_batch(
        batch_csv(prefix, n),
        correlation_id=f"corr-{prefix}",
        filename=f"{prefix}.csv",
        purpose="G2P",
        **kwargs,
    ).batch_id


def settle(client, batch_id):
    for _ in range(20):
        summary = client.get_batch_summary(batch_id)
        if summary is not None and summary.settled:
            return
    raise AssertionError("the sandbox batch did not settle")


def listing_queries(stub):
    return [r["query"] for r in stub.seen if r["path"] == "/api/v1/batches"]


# -- the listing's dateFrom / dateTo --------------------------------------------


def test_dates_are_sent_as_the_ops_app_parses_them():
    """ops-app DateUtil.getUTCFormat: ``yyyy-MM-dd HH:mm:ss`` in
    ``interface.timezone`` (Asia/Kolkata by default, UTC+05:30)."""
    with StubServer(canned((200, {"totalBatches": 0, "data": []}))) as stub:
        client = PheeClient(config(stub.endpoints))
        since = datetime(2024, 8, 13, 10, 0, 0, 500_000)  # naive: UTC
        until = datetime(2024, 8, 13, 11, 0, 0, 200_000)
        assert list(client.list_batches(since, until)) == []
        [query] = listing_queries(stub)
    assert query == {
        "offset": "0",
        "limit": "200",
        "sort": "-startedAt",
        "dateFrom": "2024-08-13 15:30:00",  # rounded down
        "dateTo": "2024-08-13 16:30:01",  # rounded up: BETWEEN is inclusive
    }


@pytest.mark.parametrize(
    ("zone", "moment", "expected"),
    [
        ("UTC", datetime(2024, 1, 2, 3, 4, 5), "2024-01-02 03:04:05"),
        ("utc", datetime(2024, 1, 2, 3, 4, 5), "2024-01-02 03:04:05"),
        (
            "Asia/Kolkata",
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=ZoneInfo("Europe/Paris")),
            "2024-01-02 07:34:05",
        ),
        ("Africa/Nairobi", datetime(2023, 12, 31, 22, 0), "2024-01-01 01:00:00"),
        (
            "America/New_York",
            datetime(2024, 7, 1, 12, 0, tzinfo=timezone.utc),
            "2024-07-01 08:00:00",
        ),
    ],
)
def test_dates_follow_the_configured_interface_timezone(zone, moment, expected):
    with StubServer(canned((200, {"data": []}))) as stub:
        client = PheeClient(config(stub.endpoints, ops_timezone=zone))
        list(client.list_batches(moment, moment))
        [query] = listing_queries(stub)
    assert query["dateFrom"] == query["dateTo"] == expected


def test_bad_windows_and_zones_are_refused_before_any_call():
    with StubServer(canned((200, {"data": []}))) as stub:
        client = PheeClient(config(stub.endpoints))
        now = datetime(2024, 1, 1)
        with pytest.raises(PheeValidationError):
            list(client.list_batches(now, now - timedelta(seconds=1)))
        with pytest.raises(PheeValidationError):
            list(client.list_batches("2024-01-01", now))
        with pytest.raises(PheeValidationError):
            list(client.list_batches(now, now, page_size=0))
        bad_zone = PheeClient(config(stub.endpoints, ops_timezone="Mars/Olympus"))
        with pytest.raises(PheeConfigError, match="ops_timezone"):
            list(bad_zone.list_batches(now, now))
        assert stub.seen == []
    with pytest.raises(PheeConfigError, match="ops_timezone"):
        PheeClient(config(stub.endpoints, ops_timezone=""))


def test_empty_answer_means_the_dates_were_not_understood():
    """BatchDbServiceImpl returns null (HTTP 200, no body) on a parse failure."""
    with StubServer(canned((200, b""))) as stub:
        client = PheeClient(config(stub.endpoints))
        with pytest.raises(PheeResponseError, match="empty batch list"):
            list(client.list_batches(datetime(2024, 1, 1), datetime(2024, 1, 2)))


def test_listing_pages_by_row_offset_and_filters_institution_exactly():
    def page(ids, total):
        data = [
            {"batchId": b, "registeringInstitutionId": inst, "startedAt": 1}
            for b, inst in ids
        ]
        return {"totalBatches": total, "data": data}

    first = page([("b1", "inst_1"), ("b2", "instX1")], 5)  # LIKE: _ is a wildcard
    second = page([("b3", "inst_1"), ("b4", "inst_1")], 5)
    third = page([("b5", "inst_1")], 5)
    with StubServer(canned((200, first), (200, second), (200, third))) as stub:
        client = PheeClient(config(stub.endpoints))
        found = client.list_batches(
            datetime(2024, 1, 1),
            datetime(2024, 1, 2),
            registering_institution_id="inst_1",
            page_size=2,
        )
        assert [b["batchId"] for b in found] == ["b1", "b3", "b4", "b5"]
        queries = listing_queries(stub)
    assert [q["offset"] for q in queries] == ["0", "2", "4"]
    assert all(q["limit"] == "2" and q["sort"] == "-startedAt" for q in queries)
    assert all(q["registeringInstitutionId"] == "inst_1" for q in queries)


def test_listing_is_bounded_by_max_pages():
    full = {"data": [{"batchId": f"b{i}"} for i in range(2)]}
    pages = [
        (200, {"data": [{"batchId": f"p{p}-{i}"} for i in range(2)]}) for p in range(9)
    ]
    with StubServer(canned(*pages, (200, full))) as stub:
        client = PheeClient(config(stub.endpoints))
        window = (datetime(2024, 1, 1), datetime(2024, 1, 2))
        found = list(client.list_batches(*window, page_size=2, max_pages=3))
        assert len(found) == 6 and len(listing_queries(stub)) == 3


# -- against the sandbox ------------------------------------------------------------


def test_lost_answer_found_by_window_and_rows(key_pair):
    """Stock PHEE overwrites the batch's correlationId; the window and the rows
    still find the batch."""
    private_pem, public_pem = key_pair
    with PheeServer(public_key_pem=public_pem, sub_batch_size=2) as srv:
        client = PheeClient(config(srv.endpoints(), signature_private_key=private_pem))
        before = datetime.now(timezone.utc) - timedelta(seconds=5)
        older = submit(client, "old", 2)
        ours = submit(client, "lost", 5)
        settle(client, older)
        settle(client, ours)
        after = datetime.now(timezone.utc) + timedelta(seconds=5)

        listed = [b["batchId"] for b in client.list_batches(before, after)]
        assert listed == [ours, older]  # newest first, parent batches only
        past = before - timedelta(hours=1)
        assert list(client.list_batches(past, past + timedelta(minutes=5))) == []

        mine = {f"lost-{i}" for i in range(5)}
        rows = client.compare_batch_rows(ours, mine)
        assert rows.only_ours and rows.ours == mine and rows.foreign == 0
        other = client.compare_batch_rows(older, mine)
        assert not other.ours and other.foreign == 2 and not other.only_ours
        some = client.compare_batch_rows(ours, {"lost-0", "lost-1"})
        assert some.ours == {"lost-0", "lost-1"} and some.foreign == 3
        cut = client.compare_batch_rows(ours, mine, limit=3)
        assert not cut.complete and not cut.only_ours and len(cut.ours) == 3
        assert client.compare_batch_rows(ours, mine, limit=5).only_ours
        assert client.compare_batch_rows("unknown-batch", mine).ours == frozenset()


def test_listing_filters_on_the_registering_institution(key_pair):
    private_pem, public_pem = key_pair
    with PheeServer(public_key_pem=public_pem) as srv:
        client = PheeClient(config(srv.endpoints(), signature_private_key=private_pem))
        start = datetime.now(timezone.utc) - timedelta(seconds=5)
        a = submit(client, "a", extra_headers={"X-Registering-Institution-ID": "inst1"})
        submit(client, "b", extra_headers={"X-Registering-Institution-ID": "inst2"})
        end = datetime.now(timezone.utc) + timedelta(seconds=5)
        found = client.list_batches(start, end, registering_institution_id="inst1")
        assert [b["batchId"] for b in found] == [a]


def test_find_transfers_by_either_id(key_pair):
    private_pem, public_pem = key_pair
    with PheeServer(public_key_pem=public_pem, id_field="alternate") as srv:
        client = PheeClient(config(srv.endpoints(), signature_private_key=private_pem))
        batch_id = submit(client, "f", 4)
        settle(client, batch_id)
        wanted = ["f-0", "f-1", "f-3", "f-1", "never-sent", ""]
        before = len(srv.requests)
        found = client.find_transfers(wanted, limit=4)
        calls = [r for r in srv.requests[before:] if r[1] == "/api/v1/transfers"]
    assert set(found) == {"f-0", "f-1", "f-3"}
    for request_id, transfer in found.items():
        assert request_id in (
            transfer["clientCorrelationId"],
            transfer["transactionId"],
        )
    assert len(calls) == 2 * 4  # transactionId and clientCorrelationId per id


def test_find_transfers_refuses_more_ids_than_its_limit():
    with StubServer(canned((200, {"content": []}))) as stub:
        client = PheeClient(config(stub.endpoints))
        with pytest.raises(PheeValidationError, match="more than 3"):
            client.find_transfers([f"r{i}" for i in range(4)], limit=3)
        assert stub.seen == []
        assert client.find_transfers([]) == {}
