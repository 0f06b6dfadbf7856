"""The local server with its default options behaves like a stock PHEE.

Each test names the PHEE behaviour it pins; the server modules' docstrings cite
the PHEE source files. Driven with plain ``requests``; signatures come from
``phee.signer`` (the client side), checked by the sandbox's own code.
"""

import datetime
import json
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
import requests

from phee.signer import generate_key_pair, sign
from phee_sandbox import PheeServer
from phee_sandbox.records import Transfer, parse_row

TENANT = "gorilla"
HEADER = (
    "id,request_id,payment_mode,payer_identifier_type,payer_identifier,"
    "payee_identifier_type,payee_identifier,amount,currency,note"
)
JOB_KEY_DIGITS = 16  # Zeebe keys of partition 1: 2251799813685248 + n


def make_csv(*rows, kind="msisdn"):
    """Rows given as (request_id, payee, amount) -> standard 10-column CSV."""
    lines = [HEADER] + [
        f"{i},{rid},mojaloop,msisdn,27710100000,{kind},{payee},{amount},USD,Cycle 7"
        for i, (rid, payee, amount) in enumerate(rows)
    ]
    return "\n".join(lines)


def rows(n, prefix="r", payee=lambda i: f"2771010{i:04d}"):
    return [(f"{prefix}-{i}", payee(i), 100 + i) for i in range(n)]


CSV = make_csv(("r-1", "27710100011", 500), ("r-2", "27710100022", 700))


@pytest.fixture(scope="module")
def keys():
    return generate_key_pair()


@pytest.fixture
def start(keys):
    """Stock servers; the tenant's public key is ours unless told otherwise."""
    servers = []

    def _start(**kw):
        kw.setdefault("public_key_pem", keys[1])
        server = PheeServer(**kw).start()
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


def submit(server, csv_text=CSV, *, key=None, signed=True, **headers):
    """POST a CSV with the headers PHEE needs, signed with ``key``."""
    values = {
        "Platform-TenantId": TENANT,
        "X-CorrelationID": "corr-1",
        "Purpose": "G2P cycle 7",
        "Type": "csv",
        "filename": "cycle7.csv",
        **headers,
    }
    if signed:
        values["X-SIGNATURE"] = sign(
            csv_text,
            key or server.test_private_key,
            correlation_id=values["X-CorrelationID"],
            tenant_id=values["Platform-TenantId"],
        )
    return requests.post(
        f"{server.base_url}/batchtransactions",
        headers={k: v for k, v in values.items() if v is not None},
        files={"data": ("cycle7.csv", csv_text.encode(), "text/csv")},
        timeout=10,
    )


@pytest.fixture(autouse=True)
def _private_key(monkeypatch, keys):
    monkeypatch.setattr(PheeServer, "test_private_key", keys[0], raising=False)


def batch_id_of(response):
    assert response.status_code == 202, response.text
    return response.json()["PollingPath"].rsplit("/", 1)[1]


def ops(server, path, *, tenant=TENANT, headers=None, **params):
    headers = {**({"Platform-TenantId": tenant} if tenant else {}), **(headers or {})}
    return requests.get(
        f"{server.base_url}{path}", headers=headers, params=params, timeout=10
    )


def detail(server, batch_id, **params):
    params.setdefault("pageSize", 100)
    return ops(server, "/api/v1/batch/detail", batchId=batch_id, **params).json()[
        "content"
    ]


def listing(server, **params):
    return ops(server, "/api/v1/batches", **params).json()


def summary(server, batch_id):
    return ops(server, f"/api/v1/batch/{batch_id}").json()


# ------------------------------------------------------------------------- JWS


def test_jws_is_required_by_default_and_unsigned_files_are_refused(start, keys):
    server = start()
    response = submit(server, signed=False)
    assert response.status_code == 400
    # connector-common WebSignatureInterceptor + JWSUtil.writeErrorResponse:
    # NON_NULL, so no errorParameters; developerMessage "Certificate" + cert
    assert response.json() == {
        "errorCategory": "Validation",
        "errorCode": "InvalidPublicKeyConfigured",
        "errorDescription": "The public key configured is invalid",
        "developerMessage": f"Certificate{keys[1]}",
        "defaultUserMessage": "",
    }
    assert server.batches == []


def test_without_a_tenant_key_every_submission_is_invalid_public_key(keys):
    with PheeServer() as server:  # every default: JWS on, no key
        for signed in (False, True):
            response = submit(server, signed=signed)
            assert response.status_code == 400
            body = response.json()
            assert body["errorCode"] == "InvalidPublicKeyConfigured"
            assert body["developerMessage"] == "Certificatenull"
        assert server.batches == []


def test_wrong_signature_is_invalid_json_web_signature(start, keys):
    server = start()
    signature = sign(CSV + "x", keys[0], correlation_id="corr-1", tenant_id=TENANT)
    response = submit(server, signed=False, **{"X-SIGNATURE": signature})
    assert response.status_code == 400
    assert response.json() == {
        "errorCategory": "Validation",
        "errorCode": "InvalidJsonWebSignature",
        "errorDescription": "The JWS passed is not valid",
        "developerMessage": "Pass the valid header value for X-SIGNATURE",
        "defaultUserMessage": "",
        "errorParameters": [{"key": "X-SIGNATURE", "value": signature}],
    }


def test_a_signature_with_another_key_does_not_decrypt(start):
    server = start()
    other = generate_key_pair()[0]
    response = submit(server, key=other)
    assert response.json()["errorCode"] == "InvalidPublicKeyConfigured"


def test_signed_file_is_accepted_and_jws_can_be_turned_off(start):
    assert submit(start()).status_code == 202
    assert submit(start(jws=False, public_key_pem=None), signed=False).ok


def test_tenant_keys_by_name_else_default(start, keys):
    other_private, other_public = generate_key_pair()
    server = start(
        tenants=("gorilla", "rhino"),
        public_key_pem={"GORILLA": keys[1], "default": other_public},
    )
    assert submit(server).status_code == 202  # name matched ignoring case
    rhino = {"Platform-TenantId": "rhino"}
    assert submit(server, key=other_private, **rhino).status_code == 202
    assert submit(server, **rhino).status_code == 400


def test_lenient_preset_checks_jws_only_with_a_key(keys):
    with PheeServer.lenient() as server:
        assert submit(server, signed=False).status_code == 202
    with PheeServer.lenient(public_key_pem=keys[1]) as server:
        assert submit(server, signed=False).status_code == 400


# -------------------------------------------------------------- correlationId


def test_correlation_id_is_the_job_key_once_imported(start):
    server = start(settle_polls=0)
    batch_id = batch_id_of(submit(server, **{"X-CorrelationID": "cycle-7-b1"}))
    (listed,) = listing(server)["data"]
    # AuthorizationWorker: clientCorrelationId = Long.toString(job.getKey())
    assert listed["correlationId"] != "cycle-7-b1"
    assert listed["correlationId"].isdigit()
    assert len(listed["correlationId"]) == JOB_KEY_DIGITS
    assert summary(server, batch_id)["correlationId"] == listed["correlationId"]
    (batch,) = server.batches
    assert batch["correlation_id"] == "cycle-7-b1"  # what the client sent
    assert batch["listed_correlation_id"] == batch["job_key"]
    assert batch["job_key"] == listed["correlationId"]
    assert server.batches_with_correlation_id("cycle-7-b1")


def test_keep_correlation_id_lists_the_x_correlation_id(start):
    server = start(settle_polls=0, keep_correlation_id=True)
    batch_id = batch_id_of(submit(server, **{"X-CorrelationID": "cycle-7-b1"}))
    assert listing(server)["data"][0]["correlationId"] == "cycle-7-b1"
    assert summary(server, batch_id)["correlationId"] == "cycle-7-b1"


@pytest.fixture
def receiver():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/cb", received
    httpd.shutdown()
    httpd.server_close()


def wait_for(items, seconds=5):
    deadline = time.monotonic() + seconds
    while not items and time.monotonic() < deadline:
        time.sleep(0.02)
    return items


@pytest.mark.parametrize("keep", [False, True])
def test_callback_echoes_the_workflow_client_correlation_id(start, receiver, keep):
    """SendCallbackRoute puts the workflow variable clientCorrelationId in the
    body, which AuthorizationWorker replaced by the job key."""
    url, received = receiver
    server = start(send_callbacks=True, settle_polls=0, keep_correlation_id=keep)
    headers = {"X-CallbackURL": url, "X-CorrelationID": "cycle-7-b1"}
    batch_id = batch_id_of(submit(server, **headers))
    (body,) = wait_for(received)
    expected = "cycle-7-b1" if keep else server.batches[0]["job_key"]
    assert body == {
        "clientCorrelationId": expected,
        "batchId": batch_id,
        "message": "The Batch Aggregation API was complete with : 100",
    }


# ---------------------------------------------------------------- sub-batches


def thirteen_rows_one_duplicate():
    """12 distinct payments and one duplicate of row 0 (3 sub-batches: 5+5+2)."""
    data = rows(12)
    data.insert(7, ("dup-0", data[0][1], data[0][2]))
    return make_csv(*data)


def test_rows_run_in_sub_batches_of_five(start):
    server = start(settle_polls=0)
    batch_id = batch_id_of(submit(server, thirteen_rows_one_duplicate()))
    (batch,) = server.batches
    subs = batch["sub_batches"]
    assert [s["rows"] for s in subs] == [5, 5, 2]
    sub_ids = [s["sub_batch_id"] for s in subs]
    assert len(set(sub_ids)) == 3 and batch_id not in sub_ids
    by_batch = {}
    for transfer in batch["transfers"]:
        by_batch.setdefault(transfer["batchId"], []).append(transfer)
    assert [len(by_batch[s]) for s in sub_ids] == [5, 5, 2]
    (duplicate,) = by_batch[batch_id]  # the importer's row, under the parent
    assert (duplicate["transactionId"], duplicate["status"]) == ("dup-0", "FAILED")


def test_detail_all_lists_sub_batch_transfers_and_filters_the_parent_only(start):
    server = start(settle_polls=0)
    batch_id = batch_id_of(submit(server, thirteen_rows_one_duplicate()))
    everything = detail(server, batch_id, status="ALL")
    assert len(everything) == 12  # the duplicate, under the parent, is left out
    assert "dup-0" not in {t["transactionId"] for t in everything}
    assert {t["batchId"] for t in everything} == {
        s["sub_batch_id"] for s in server.batches[0]["sub_batches"]
    }
    # findAllByBatchIdAndStatus: the parent id only
    (failed,) = detail(server, batch_id, status="FAILED")
    assert failed["transactionId"] == "dup-0"
    assert detail(server, batch_id, status="completed") == []
    statuses = ops(server, "/api/v1/batch/transactions", batchId=batch_id).json()
    assert statuses == {"dup-0": "FAILED"}


def test_summary_of_a_split_batch_sums_the_sub_batches(start):
    server = start(settle_polls=0)
    batch_id = batch_id_of(submit(server, thirteen_rows_one_duplicate()))
    body = summary(server, batch_id)
    # getParentBatchSummary adds up the sub-batch rows: the duplicate is not in
    assert (body["total"], body["successful"], body["failed"]) == (12, 12, 0)
    assert body["status"] == "COMPLETED"
    assert body["modes"] == "mojaloop"
    assert body["requestId"] is None  # importer maps it from an unset variable
    assert body["payerFsp"] == TENANT


def test_batch_table_lists_the_parent_with_the_last_sub_batch_file(start):
    server = start(settle_polls=0)
    batch_id = batch_id_of(submit(server, thirteen_rows_one_duplicate()))
    body = listing(server)
    assert body["totalBatches"] == 1
    (parent,) = body["data"]
    assert (parent["batchId"], parent["subBatchId"]) == (batch_id, None)
    # InitSubBatchRoute rewrites the filename variable to each sub-batch file
    last = server.batches[0]["sub_batches"][-1]["request_file"]
    assert parent["requestFile"] == last
    assert last.endswith("_sub-batch-3.csv")
    assert parent["paymentMode"] is None
    assert isinstance(parent["workflowInstanceKey"], int)


def test_batch_and_sub_batch_summary(start):
    server = start(settle_polls=0)
    batch_id = batch_id_of(
        submit(server, thirteen_rows_one_duplicate(), **{"X-CorrelationID": "c-13"})
    )
    summary(server, batch_id)  # the aggregate that saves every row
    body = ops(
        server, f"/api/v1/batches/{batch_id}", headers={"X-Correlation-ID": "x"}
    ).json()
    assert body["totalSubBatches"] == 3
    assert body["total"] == 12
    assert body["totalInstructionCount"] == 1  # transfers under the parent id
    subs = body["subBatchSummaryList"]
    assert [s["total"] for s in subs] == [5, 5, 2]
    assert {s["batchId"] for s in subs} == {batch_id}
    assert [s["file"].rsplit("_", 1)[1] for s in subs] == [
        "sub-batch-1.csv",
        "sub-batch-2.csv",
        "sub-batch-3.csv",
    ]
    assert {s["requestId"] for s in subs} == {"c-13"}
    assert {s["modes"] for s in subs} == {"mojaloop"}
    assert {s["status"] for s in subs} == {"COMPLETED"}
    assert subs[0]["successPercentage"] == "100"


@pytest.mark.parametrize(("count", "size"), [(5, 5), (13, 0)])
def test_no_sub_batch_at_or_below_the_size_or_when_off(start, count, size):
    server = start(settle_polls=0, sub_batch_size=size)
    batch_id = batch_id_of(submit(server, make_csv(*rows(count))))
    assert server.batches[0]["sub_batches"] == []
    assert {t["batchId"] for t in detail(server, batch_id)} == {batch_id}
    assert listing(server)["data"][0]["requestFile"].endswith("_cycle7.csv")


def test_sub_batch_size_is_configurable(start):
    server = start(settle_polls=0, sub_batch_size=2)
    submit(server, make_csv(*rows(5)))
    assert [s["rows"] for s in server.batches[0]["sub_batches"]] == [2, 2, 1]


# --------------------------------------------------------- listing and filters


def kolkata_now(delta_minutes=0):
    """Wall-clock time in Asia/Kolkata (UTC+05:30, no DST), ops-app format."""
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        hours=5, minutes=30 + delta_minutes
    )
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def utc_now(delta_minutes=0):
    moment = datetime.datetime.now(datetime.timezone.utc)
    return (moment + datetime.timedelta(minutes=delta_minutes)).strftime(
        "%Y-%m-%d %H:%M:%S"
    )


def test_date_filters_are_wall_clock_times_of_the_interface_zone(start):
    server = start(settle_polls=0)
    batch_id = batch_id_of(submit(server))

    def listed(**params):
        return [b["batchId"] for b in listing(server, **params)["data"]]

    assert listed(dateFrom=kolkata_now(-2)) == [batch_id]
    assert listed(dateFrom=kolkata_now(+2)) == []
    assert listed(dateFrom=kolkata_now(-2), dateTo=kolkata_now(+2)) == [batch_id]
    assert listed(dateTo=kolkata_now(+2)) == [batch_id]
    # UTC wall clock read as Kolkata time is 5.5 hours earlier: too early
    assert listed(dateTo=utc_now(+2)) == []
    body = listing(server, dateFrom=kolkata_now(+2))
    assert (body["totalBatches"], body["totalTransactions"]) == (0, 0)


def test_date_filters_in_another_interface_zone(start):
    server = start(settle_polls=0, interface_timezone="UTC")
    batch_id = batch_id_of(submit(server))
    listed = listing(server, dateFrom=utc_now(-2), dateTo=utc_now(+2))["data"]
    assert [b["batchId"] for b in listed] == [batch_id]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024-05-01T10:00:00", "could not be parsed at index 10"),
        ("2024-05-01", "could not be parsed at index 10"),
        ("1714557600000", "could not be parsed at index 4"),
        ("2024-5-01 10:00:00", "could not be parsed at index 5"),
        ("2024-05-01 10:00:00.000", "unparsed text found at index 19"),
        ("2024-13-01 10:00:00", "Invalid value for MonthOfYear"),
    ],
)
def test_dates_in_another_format_are_a_500(start, text, message):
    server = start()
    response = ops(server, "/api/v1/batches", dateFrom=text)
    assert response.status_code == 500
    assert message in response.json()["message"]
    assert response.json()["message"].startswith(f"Text '{text}'")


def test_smart_resolver_clamps_the_day_and_reads_midnight_24(start):
    server = start(settle_polls=0)
    submit(server)
    assert listing(server, dateFrom="2024-02-30 00:00:00")["totalBatches"] == 1
    assert listing(server, dateTo="2024-02-28 24:00:00")["totalBatches"] == 0


def test_registering_institution_and_program_headers(start):
    server = start(settle_polls=0)
    headers = {"X-Registering-Institution-ID": "inst-1", "X-Program-ID": "prog-1"}
    with_header = batch_id_of(submit(server, **headers))
    time.sleep(0.002)
    without = batch_id_of(submit(server, **{"X-CorrelationID": "c-2"}))
    first, second = server.batches
    assert (first["registering_institution_id"], first["program_id"]) == (
        "inst-1",
        "prog-1",
    )
    assert second["registering_institution_id"] is None

    def listed(**params):
        return [b["batchId"] for b in listing(server, **params)["data"]]

    assert listed(registeringInstitutionId="inst-1") == [with_header]
    assert listed(registeringInstitutionId="inst%") == [with_header]
    # a null Zeebe variable reaches the importer as the JSON text "null"
    assert listed(registeringInstitutionId="null") == [without]
    assert set(listed()) == {with_header, without}  # "%" matches both
    assert listed(payerFsp=TENANT, sort="+startedAt") == [with_header, without]
    assert listed(payerFsp="rhino") == []
    assert listed(batchId=with_header[:8] + "%") == [with_header]
    assert summary(server, with_header)["registeringInstitutionId"] == "inst-1"
    assert summary(server, without)["registeringInstitutionId"] == "null"


def test_paging_and_sort_of_the_listing(start):
    server = start(settle_polls=0)
    ids = []
    for i in range(5):
        ids.append(batch_id_of(submit(server, **{"X-CorrelationID": f"c-{i}"})))
        time.sleep(0.002)

    def listed(**params):
        return [b["batchId"] for b in listing(server, **params)["data"]]

    assert listed(offset=0, limit=2) == ids[::-1][:2]
    assert listed(offset=3, limit=2) == ids[::-1][2:4]  # floorDiv(3, 2) = page 1
    assert listed(sort="+startedAt", limit=3) == ids[:3]
    assert listed(sort="startedAt", limit=3) == ids[:3]  # no sign: ascending
    body = listing(server)
    assert (body["totalBatches"], body["totalSubBatchesCreated"]) == (5, 10)


def test_failing_query_is_400_without_dates_and_empty_200_with_them(start):
    server = start()
    response = ops(server, "/api/v1/batches", sort="-nope")
    assert (response.status_code, response.content) == (400, b"")
    dated = ops(server, "/api/v1/batches", sort="-nope", dateFrom=kolkata_now())
    assert (dated.status_code, dated.content) == (200, b"")


# ------------------------------------------------------------ errorInformation


PARTY_NOT_FOUND = (
    '{"errorInformation":{"errorCode":"3204","errorDescription":"Party not found"}}'
)


def test_channel_failures_are_the_nested_mojaloop_json_text(start):
    server = start(settle_polls=0)
    csv_text = make_csv(
        ("ok", "27710100011", 500),
        ("gone", "27710100999", 500),
        ("dup", "27710100011", 500),
    )
    batch_id = batch_id_of(submit(server, csv_text))
    found = {t["clientCorrelationId"]: t for t in detail(server, batch_id)}
    assert found["gone"]["status"] == "FAILED"
    assert found["gone"]["errorInformation"] == PARTY_NOT_FOUND
    assert json.loads(found["gone"]["errorInformation"])["errorInformation"]
    (duplicate,) = [t for t in found.values() if t["transactionId"] == "dup"]
    assert duplicate["errorInformation"] == "Duplicate transaction."
    # /api/v1/transfers: the strict PhErrorDTO re-parse fails for both
    for key, value in (("clientCorrelationId", "gone"), ("transactionId", "dup")):
        (transfer,) = ops(server, "/api/v1/transfers", **{key: value}).json()["content"]
        assert transfer["errorInformation"] is None
        assert isinstance(transfer["workflowInstanceKey"], int)


def test_text_error_format_is_the_plain_reason(start):
    server = start(settle_polls=0, error_format="text")
    batch_id = batch_id_of(submit(server, make_csv(("gone", "27710100999", 5))))
    (transfer,) = detail(server, batch_id)
    assert transfer["errorInformation"] == "Payee account not found"


def test_a_flat_error_survives_the_transfers_re_parse():
    transfer = Transfer(
        id=1,
        workflow_instance_key="2251799813685249",
        transaction_id="t",
        client_correlation_id="c",
        batch_id="b",
        tenant=TENANT,
        row=parse_row("0,t,mojaloop,msisdn,1,msisdn,2,5,USD,x"),
        started_at=0,
        outcome=("FAILED", None),
        error_information='{"errorCode": 3204, "errorDescription": "Party"}',
    )
    info = transfer.to_response_json()["errorInformation"]
    assert info == {
        "errorCategory": None,
        "errorCode": "3204",
        "errorDescription": "Party",
        "developerMessage": None,
        "defaultUserMessage": None,
        "errorParameters": None,
        "errors": None,
    }
    transfer.error_information = '{\\"errorCode\\":\\"1\\"}'  # unescapeJava, then
    assert transfer.to_response_json()["errorInformation"]["errorCode"] == "1"


def test_transfers_default_to_one_newest_first_with_pageimpl_totals(start):
    server = start(settle_polls=0)
    for i in range(3):
        submit(server, make_csv((f"same-{i}", "27710100011", 5)))
        time.sleep(0.002)
    newest = ops(server, "/api/v1/transfers", payeePartyId="27710100011").json()
    (only,) = newest["content"]
    assert only["clientCorrelationId"] == "same-2"
    first = ops(server, "/api/v1/transfers", payeePartyId="27710100011", size=2)
    # new PageImpl<>(content, pageable, totalPages): 2 pages passed as the total
    assert first.json()["totalElements"] == 2
    last = ops(
        server, "/api/v1/transfers", payeePartyId="27710100011", size=2, page=1
    ).json()
    assert (last["totalElements"], len(last["content"])) == (3, 1)


# ------------------------------------------------------------------ EXCEPTION


def test_exception_rows_show_exception_for_some_polls_then_complete(start):
    server = start(settle_polls=0, exception_payee_suffixes=("777",), exception_polls=2)
    csv_text = make_csv(("ok", "27710100011", 500), ("held", "27710100777", 300))
    batch_id = batch_id_of(submit(server, csv_text))

    def held():
        (transfer,) = [
            t
            for t in server.batches[0]["transfers"]
            if t["clientCorrelationId"] == "held"
        ]
        return transfer

    before = held()
    for _ in range(2):
        body = summary(server, batch_id)
        # EXCEPTION is in the total only: successful + failed never reaches it
        assert (body["total"], body["successful"], body["failed"]) == (2, 1, 0)
        assert body["ongoing"] == 0 and body["status"] == "Failed"
        assert held()["status"] == "EXCEPTION"
        assert held()["completedAt"] is not None
    body = summary(server, batch_id)
    assert (body["successful"], body["status"]) == (2, "COMPLETED")
    after = held()
    assert after["status"] == "COMPLETED"
    assert (after["id"], after["transactionId"]) == (
        before["id"],
        before["transactionId"],
    )


# ---------------------------------------------------------- in-file dedup


def test_dedup_keeps_the_first_of_same_payee_type_amount_currency(start):
    server = start(settle_polls=0)
    csv_text = make_csv(
        ("a", "27710100011", 500),
        ("b", "27710100011", 600),  # another amount: a payment of its own
        ("c", "27710100011", 500),
    )
    batch_id = batch_id_of(submit(server, csv_text))
    transfers = detail(server, batch_id)
    (duplicate,) = [t for t in transfers if t["status"] == "FAILED"]
    assert duplicate["transactionId"] == "c"
    assert duplicate["batchId"] == batch_id
    uuid.UUID(duplicate["clientCorrelationId"])
    kept = {t["clientCorrelationId"] for t in transfers if t["status"] == "COMPLETED"}
    assert kept == {"a", "b"}


def test_dedup_key_is_the_four_fields_concatenated_without_separator(start):
    """DeDuplicationRoute.fetchPayeeDetail: String.format("%s%s%s%s", payee,
    type, amount, currency), so different rows can make the same key."""
    server = start(settle_polls=0)
    collide = "\n".join(
        [
            HEADER,
            "0,a,mojaloop,msisdn,1,msisdn1,2771,50,USD,x",  # 2771msisdn150USD
            "1,b,mojaloop,msisdn,1,msisdn,2771,150,USD,x",  # 2771msisdn150USD
            "2,c,mojaloop,msisdn,1,msisdn,27711,50,USD,x",  # 27711msisdn50USD
        ]
    )
    batch_id = batch_id_of(submit(server, collide))
    (duplicate,) = [t for t in detail(server, batch_id) if t["status"] == "FAILED"]
    assert duplicate["transactionId"] == "b"
    assert duplicate["errorInformation"] == "Duplicate transaction."


# ------------------------------------------------- batches that never settle


@pytest.mark.parametrize(
    "rule",
    [2, {"c-1"}, "c-1", lambda correlation_id: correlation_id.endswith("1")],
    ids=["nth", "set", "one", "callable"],
)
def test_never_started_batches_are_accepted_then_404_forever(start, rule):
    server = start(settle_polls=0, never_start=rule)
    ids = [
        batch_id_of(submit(server, **{"X-CorrelationID": f"c-{i}"})) for i in range(3)
    ]
    for _ in range(5):
        response = ops(server, f"/api/v1/batch/{ids[1]}")
        assert response.status_code == 404
        assert response.text.endswith("does not exist.")
    assert ops(server, f"/api/v1/batch/{ids[0]}").status_code == 200
    assert detail(server, ids[1]) == []
    assert {b["batchId"] for b in listing(server)["data"]} == {ids[0], ids[2]}
    assert [b["started"] for b in server.batches] == [True, False, True]
    assert server.request_id_counts() == {"r-1": 3, "r-2": 3}


def test_stuck_rows_stay_in_progress_without_completed_at(start):
    server = start(settle_polls=0, stuck_payee_suffixes=("555",))
    csv_text = make_csv(("ok", "27710100011", 500), ("stuck", "27710100555", 300))
    batch_id = batch_id_of(submit(server, csv_text))
    for _ in range(4):
        body = summary(server, batch_id)
    assert (body["ongoing"], body["successful"], body["pendingAmount"]) == (1, 1, 300)
    assert body["status"] == "Failed"  # the recompute stamped completedAt
    (stuck,) = [
        t for t in detail(server, batch_id) if t["clientCorrelationId"] == "stuck"
    ]
    assert (stuck["status"], stuck["completedAt"]) == ("IN_PROGRESS", None)
    # createDetailsFile fails on the null completedAt: no result file
    download = ops(server, "/api/v1/batch/detail", batchId=batch_id, command="download")
    assert download.status_code == 404


# -------------------------------------------------------------- other quirks


def test_polling_path_is_not_served_and_ops_need_a_tenant(start):
    server = start()
    polling_path = submit(server).json()["PollingPath"]
    assert requests.get(server.base_url + polling_path, timeout=10).status_code == 404
    response = ops(server, "/api/v1/batches", tenant=None)
    assert (response.status_code, response.content) == (500, b"")


def test_stored_summary_of_a_missing_batch_names_null(start):
    response = ops(start(), "/api/v1/batch")
    assert response.text == "Batch corresponding to batchId: null does not exist."


def test_options_are_validated():
    for bad in (
        {"error_format": "xml"},
        {"sub_batch_size": -1},
        {"never_start": True},
        {"never_start": 2.5},
        {"interface_timezone": "Mars/Olympus"},
    ):
        with pytest.raises(ValueError):
            PheeServer(**bad)


def test_batch_ids_are_uuids(start):
    uuid.UUID(batch_id_of(submit(start())))


def test_cli_flags_map_to_server_options():
    from phee_sandbox.cli import build_parser, server_options

    stock = server_options(build_parser().parse_args([]))
    assert (stock["jws"], stock["keep_correlation_id"]) == (True, False)
    assert (stock["sub_batch_size"], stock["error_format"]) == (5, "mojaloop")
    assert stock["interface_timezone"] == "Asia/Kolkata"
    args = build_parser().parse_args(
        [
            "--no-jws",
            "--keep-correlation-id",
            "--sub-batch-size=0",
            "--exception-payee-suffix=777",
            "--stuck-payee-suffix=555",
            "--never-start=3",
        ]
    )
    options = server_options(args)
    assert options["jws"] is False and options["keep_correlation_id"] is True
    assert options["exception_payee_suffixes"] == ("777",)
    assert options["stuck_payee_suffixes"] == ("555",)
    assert options["never_start"] == 3
    ids = server_options(build_parser().parse_args(["--never-start=a, b"]))
    assert ids["never_start"] == {"a", "b"}
    lenient = server_options(build_parser().parse_args(["--lenient"]))
    assert (lenient["jws"], lenient["sub_batch_size"]) == (False, 0)
    PheeServer(**options)  # every option is a constructor keyword
