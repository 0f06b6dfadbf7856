"""Budget accounts, payee DFSPs and PHEE's batch view, client and local server.

The PHEE behaviours pinned here, from its sources: the payer replaced when both
budget headers match (bulk processor ProcessorStartRouteService
``updateIncomingData``), ``payee_dfsp_id`` re-read by position only from lines
of more than 13 fields (utility/TransactionParser.java), the account-lookup
failure (AccountLookupCallbackRoute), ``/api/v1/batches/{id}`` needing
``X-Correlation-ID`` and reporting sub-batch sums of approvals, and the 302 of
``command=download`` (ops-app BatchApi, BatchServiceImpl).
"""

import pytest
import requests

from phee import PheeClient, PheeConfig, PheeNotFoundError, csv_render
from phee.batch_view import BatchView, instruction_reasons
from phee.signer import generate_key_pair
from phee_sandbox import PheeServer

BUDGET = {"123": {"SocialWelfare": ("ACCOUNT", "123456789")}}


def frame(n=2, dfsp=None, budget=False, payer="27710101999"):
    df = csv_render.build_frame(
        request_ids=[f"r-{i}" for i in range(n)],
        payee_identifier_types="msisdn",
        payee_identifiers=[f"2771020{i:04d}" for i in range(n)],
        amounts=[100 + i for i in range(n)],
        payment_mode="mojaloop",
        payer_identifier_type="msisdn",
        payer_identifier=payer,
        currency="USD",
        note="Cycle 7",
    )
    if dfsp is not None:
        df = csv_render.with_payee_dfsp(df, dfsp)
    return csv_render.for_budget_account(df) if budget else df


# -- the file ------------------------------------------------------------------


def test_payer_is_required_unless_the_frame_is_for_a_budget_account():
    problems = csv_render.find_problems(frame(payer=""))
    assert [(p.row, p.field) for p in problems] == [(-1, "payer_identifier")]
    budget = frame(budget=True)
    assert csv_render.is_budget_account(budget)
    assert csv_render.find_problems(budget) == []
    line = csv_render.render_csv(budget).split("\n")[1]
    assert line.split(",")[3:5] == ["", ""]


def test_dfsp_layout_is_read_by_phees_positional_parser():
    text = csv_render.render_csv(frame(dfsp=["dfsp-a", "dfsp-b"]))
    header, *lines = text.split("\n")
    assert header.split(",")[12] == "payee_dfsp_id"
    for line, dfsp in zip(lines, ("dfsp-a", "dfsp-b"), strict=True):
        parts = line.split(",")
        # TransactionParser: setPayeeDfspId(parts[12]) only if parts.length > 13
        assert len(parts) == 14 and parts[12] == dfsp


def test_without_dfsp_the_ten_columns_stay():
    text = csv_render.render_csv(frame())
    assert text.split("\n")[0] == csv_render.HEADER
    assert len(text.split("\n")[1].split(",")) == 10


def test_a_missing_dfsp_is_a_row_problem_and_slices_keep_the_layout():
    df = frame(3, dfsp=["dfsp-a", None, "dfsp-c"], budget=True)
    problems = csv_render.find_problems(df)
    assert [(p.row, p.field, p.reason) for p in problems] == [
        (1, "payee_dfsp_id", "is missing")
    ]
    part = df.iloc[[0, 2]]
    assert csv_render.is_budget_account(part)
    text = csv_render.render_csv(part)
    assert text.startswith(csv_render.DFSP_HEADER)
    assert csv_render.split_to_fit(part, max_bytes=len(text)) == [(0, 2)]
    assert csv_render.split_to_fit(part, max_bytes=len(text) - 1) == [(0, 1), (1, 2)]


# -- the client against the local PHEE -------------------------------------------


@pytest.fixture(scope="module")
def keys():
    return generate_key_pair()


@pytest.fixture
def phee(keys):
    servers = []

    def _start(**kw):
        server = PheeServer(public_key_pem=keys[1], **kw).start()
        servers.append(server)
        config = PheeConfig(
            tenant_id=kw.get("tenants", ("gorilla",))[0],
            username="mifos",
            password="password",
            signature_private_key=keys[0],
            **server.endpoints(),
        )
        return server, PheeClient(config)

    yield _start
    for server in servers:
        server.stop()


def submit(client, text, correlation_id="c-1", **kw):
    return client.submit_batch(
        text,
        correlation_id=correlation_id,
        filename=f"{correlation_id}.csv",
        purpose="G2P",
        **kw,
    )


def test_budget_headers_replace_the_payer(phee):
    server, client = phee(budget_accounts=BUDGET)
    text = csv_render.render_csv(frame(budget=True))
    submit(client, text, registering_institution_id="123", program_id="SocialWelfare")
    submit(client, text, "c-2", registering_institution_id="123", program_id="Other")
    matched, unmatched = server.batches
    assert matched["headers"]["x-registering-institution-id"] == "123"
    assert matched["headers"]["x-program-id"] == "SocialWelfare"
    assert {
        (r["payer_identifier_type"], r["payer_identifier"]) for r in matched["rows"]
    } == {("ACCOUNT", "123456789")}
    assert {r["payer_identifier"] for r in unmatched["rows"]} == {""}


def test_unsafe_budget_header_values_are_refused(phee):
    _server, client = phee()
    with pytest.raises(Exception, match="X-Program-ID"):
        submit(client, csv_render.render_csv(frame()), program_id="a b")


@pytest.mark.parametrize(("columns", "kept"), [(14, True), (13, False)])
def test_split_batches_keep_the_dfsp_only_from_long_lines(phee, columns, kept):
    server, client = phee()
    text = csv_render.render_csv(frame(7, dfsp="dfsp-x"))
    if columns == 13:  # the 13-column extended layout, no trailing column
        text = "\n".join(line.rsplit(",", 1)[0] for line in text.split("\n"))
    batch_id = submit(client, text).batch_id
    client.get_batch_summary(batch_id)
    dfsps = {t["payeeDfspId"] for t in client.iter_transfers(batch_id)}
    assert dfsps == ({"dfsp-x"} if kept else {None})


def test_account_lookup_fails_unknown_functional_ids(phee):
    server, client = phee(
        tenants=("rhino",),
        budget_accounts=BUDGET,
        lookup_tenants=("rhino",),
        mapper_payees={"123": {"27710200000": ("ACC-1", "dfsp-a")}},
        approvals_in_view=True,
    )
    text = csv_render.render_csv(frame(2, budget=True))
    batch_id = submit(
        client, text, registering_institution_id="123", program_id="SocialWelfare"
    ).batch_id
    client.get_batch_summary(batch_id)
    transfers = {t["payeePartyId"]: t for t in client.iter_transfers(batch_id)}
    assert transfers["ACC-1"]["status"] == "COMPLETED"
    assert transfers["ACC-1"]["payeeDfspId"] == "dfsp-a"
    failed = transfers["27710200001"]
    assert failed["status"] == "FAILED"
    assert "Payee Identifier not found" in failed["errorInformation"]
    view = client.get_batch_view(batch_id, "c-1")
    assert (view.approved_count, view.approved_amount) == (1, 100)


def test_batch_view_of_a_stock_phee_reports_no_approval(phee):
    server, client = phee()
    batch_id = submit(client, csv_render.render_csv(frame(7))).batch_id
    client.get_batch_summary(batch_id)
    view = client.get_batch_view(batch_id, "c-1")
    assert view.total_sub_batches == 2 and len(view.sub_batches) == 2
    assert view.approved_amount == 0
    assert sum(s.total for s in view.sub_batches) == 7
    assert client.get_batch_view("unknown", "c-1") is None


def test_stock_instructions_carry_no_reason(phee):
    server, client = phee()
    batch_id = submit(client, csv_render.render_csv(frame(7))).batch_id
    client.get_batch_summary(batch_id)
    answer = requests.get(
        f"{server.base_url}/api/v1/batches/{batch_id}",
        params={"associations": "all", "limit": 100},
        headers={"Platform-TenantId": "gorilla", "X-Correlation-ID": "c-1"},
        timeout=5,
    ).json()
    assert len(answer["instructionList"]) == 7
    assert client.get_instruction_reasons(batch_id, "c-1") == {}


def test_batch_view_needs_the_correlation_header(phee):
    server, client = phee()
    batch_id = submit(client, csv_render.render_csv(frame())).batch_id
    answer = requests.get(
        f"{server.base_url}/api/v1/batches/{batch_id}",
        headers={"Platform-TenantId": "gorilla"},
        timeout=5,
    )
    assert answer.status_code == 400


def test_refused_budget_runs_no_payment(phee):
    server, client = phee(reject_budget=1, approvals_in_view=True)
    batch_id = submit(client, csv_render.render_csv(frame())).batch_id
    client.get_batch_summary(batch_id)
    assert list(client.iter_transfers(batch_id)) == []
    view = client.get_batch_view(batch_id, "c-1")
    assert view.approved_amount == 0 and view.status in ("FAILED", "COMPLETED")


def test_result_file_download_follows_phees_redirect(phee):
    server, client = phee()
    batch_id = submit(client, csv_render.render_csv(frame())).batch_id
    with pytest.raises(PheeNotFoundError):
        client.download_result_file(batch_id)  # not written before a recompute
    client.get_batch_summary(batch_id)
    client.get_batch_summary(batch_id)
    name, content = client.download_result_file(batch_id)
    assert name.endswith("_response.csv")
    lines = content.decode().splitlines()
    assert len(lines) == 2 and all(line.endswith(",") for line in lines)
    assert lines[0].split(",")[1] == "COMPLETED"


def test_views_parse_phees_shapes():
    view = BatchView.from_json(
        {
            "batchId": "b",
            "approvedAmount": 150,
            "approvedTransactionCount": 2,
            "totalSubBatches": 1,
            "subBatchSummaryList": [
                {"subBatchId": "s", "total": 2, "approvedAmount": None}
            ],
        }
    )
    assert view.sub_batches[0].to_dict()["approved_amount"] is None
    assert instruction_reasons(
        {
            "instructionList": [
                {"instructionId": "t1", "reason": " Party  not found "},
                {"instructionId": "t2"},
            ]
        }
    ) == {"t1": "Party not found"}
