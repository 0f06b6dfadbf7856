"""Tier-1 tests of phee.status."""

import json
import logging
import time
from datetime import datetime
from decimal import Decimal

import pytest

from phee.errors import PheeResponseError
from phee.status import (
    BatchRows,
    BatchSummary,
    TransferOutcome,
    batch_id_from_polling_path,
    compare_rows,
    epoch_ms_to_datetime,
    failure_reason,
    map_transfer_status,
    match_transfers,
    pick_transfer,
)


def transfer(status, cci=None, tid=None, **extra):
    return {"status": status, "clientCorrelationId": cci, "transactionId": tid, **extra}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("COMPLETED", ("paid", True)),
        ("FAILED", ("failed", True)),
        ("EXCEPTION", ("on_hold", False)),
        ("IN_PROGRESS", ("sent", False)),
        ("UNKNOWN", ("sent", False)),
        ("completed", ("paid", True)),
        (" failed ", ("failed", True)),
        (None, (None, False)),
        ("", (None, False)),
    ],
)
def test_map_transfer_status(raw, expected):
    assert map_transfer_status(raw) == expected


def test_unknown_status_is_not_final_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="phee.status"):
        assert map_transfer_status("REVERSED") == (None, False)
    assert "REVERSED" in caplog.text


def test_match_by_client_correlation_id_and_transaction_id():
    transfers = [
        transfer("COMPLETED", cci="r1", tid="phee-tx-1", amount="500"),
        transfer(
            "FAILED", cci="uuid-x", tid="r2", statusDetail="Duplicate transaction."
        ),
        transfer("COMPLETED", cci="other", tid="other-tx"),
    ]
    result = match_transfers(["r1", "r2", "r3"], transfers)
    assert set(result) == {"r1", "r2"}
    assert result["r1"].status == "paid" and result["r1"].transaction_id == "phee-tx-1"
    assert result["r1"].amount == Decimal("500")
    assert result["r2"].status == "failed" and result["r2"].final
    assert result["r2"].reason == "Duplicate transaction."
    assert result["r2"].transaction_id == "r2"


@pytest.mark.parametrize(
    ("statuses", "winner"),
    [
        (["FAILED", "COMPLETED"], "COMPLETED"),
        (["COMPLETED", "FAILED"], "COMPLETED"),
        (["IN_PROGRESS", "COMPLETED"], "COMPLETED"),
        (["FAILED", "IN_PROGRESS"], "IN_PROGRESS"),
        (["EXCEPTION", "UNKNOWN"], "EXCEPTION"),  # same rank: first one kept
        (["FAILED", "EXCEPTION"], "EXCEPTION"),  # on hold may still complete
    ],
)
def test_precedence_rule(statuses, winner):
    # one transfer matched by clientCorrelationId, the other by transactionId
    transfers = [
        transfer(statuses[0], cci="r1", tid="t-a"),
        transfer(statuses[1], cci="u-b", tid="r1"),
    ]
    assert match_transfers(["r1"], transfers)["r1"].phee_status == winner
    assert pick_transfer("r1", transfers)["status"] == winner


def test_match_ignores_non_dicts_and_accepts_generators():
    transfers = (t for t in [None, "x", transfer("COMPLETED", cci="r1")])
    assert list(match_transfers(iter(["r1"]), transfers)) == ["r1"]


def test_pick_transfer_none_when_no_match():
    assert pick_transfer("r9", [transfer("COMPLETED", cci="r1")]) is None


def test_outcome_fields():
    outcome = TransferOutcome.from_transfer(
        "r1",
        transfer(
            "failed",
            cci="r1",
            tid=123,
            amount="12.50",
            completedAt=1700000000123,
            errorInformation="Payee account not found",
            statusDetail="ignored when errorInformation is set",
        ),
    )
    assert outcome == TransferOutcome(
        request_id="r1",
        phee_status="FAILED",
        status="failed",
        final=True,
        amount=Decimal("12.50"),
        completed_at=datetime(2023, 11, 14, 22, 13, 20, 123000),
        reason="Payee account not found",
        transaction_id="123",
    )


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (
            {
                "errorInformation": json.dumps(
                    {"errorCode": "E1", "errorDescription": "No funds"}
                )
            },
            "No funds",
        ),
        ({"errorInformation": {"errorCode": "E2"}}, "E2"),
        (
            {"errorInformation": "  ", "statusDetail": "Timed out\n waiting"},
            "Timed out waiting",
        ),
        ({"errorInformation": None}, None),
        ({"errorInformation": "x" * 900}, "x" * 500),
    ],
)
def test_outcome_reason(extra, reason):
    outcome = TransferOutcome.from_transfer("r1", transfer("FAILED", cci="r1", **extra))
    assert outcome.reason == reason


def test_paid_outcome_has_no_reason_and_bad_amount_is_none():
    outcome = TransferOutcome.from_transfer(
        "r1", transfer("COMPLETED", statusDetail="done", amount="n/a")
    )
    assert outcome.reason is None and outcome.amount is None
    assert outcome.completed_at is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, datetime(1970, 1, 1)),
        (1700000000123, datetime(2023, 11, 14, 22, 13, 20, 123000)),
        ("1700000000123", datetime(2023, 11, 14, 22, 13, 20, 123000)),
        (1700000000123.9, datetime(2023, 11, 14, 22, 13, 20, 123000)),
        (None, None),
        ("2023-11-14", None),
        (True, None),
        (10**30, None),
    ],
)
def test_epoch_ms_to_datetime(value, expected):
    result = epoch_ms_to_datetime(value)
    assert result == expected
    assert result is None or result.tzinfo is None


REFERENCE_SUMMARY = {
    "batchId": "3c5d",
    "correlationId": "9f0c",
    "total": 2,
    "ongoing": 0,
    "failed": 1,
    "successful": 1,
    "totalAmount": 1000,
    "successfulAmount": 500,
    "pendingAmount": 0,
    "failedAmount": 500,
    "status": "Failed",
    "successPercentage": "50.0",
    "modes": "mojaloop",
}


def test_batch_summary_from_reference_example():
    summary = BatchSummary.from_json(REFERENCE_SUMMARY)
    assert (summary.batch_id, summary.correlation_id, summary.status) == (
        "3c5d",
        "9f0c",
        "Failed",
    )
    assert (summary.total, summary.ongoing, summary.failed, summary.successful) == (
        2,
        0,
        1,
        1,
    )
    assert summary.total_amount == Decimal(1000)
    assert summary.successful_amount == summary.failed_amount == Decimal(500)
    assert summary.pending_amount == Decimal(0)
    assert summary.raw["modes"] == "mojaloop"
    assert summary.settled


def test_batch_summary_is_tolerant():
    summary = BatchSummary.from_json(
        {"total": "3", "ongoing": None, "failed": "x", "totalAmount": "12.5"}
    )
    assert (summary.total, summary.ongoing, summary.failed, summary.successful) == (
        3,
        0,
        0,
        0,
    )
    assert summary.total_amount == Decimal("12.5")
    assert summary.batch_id is None and summary.status is None
    assert not summary.settled


@pytest.mark.parametrize("bad", [None, [], "text", 3])
def test_batch_summary_rejects_non_objects(bad):
    with pytest.raises(PheeResponseError):
        BatchSummary.from_json(bad)


@pytest.mark.parametrize(
    ("counts", "settled"),
    [
        ({"total": 2, "ongoing": 0, "failed": 1, "successful": 1}, True),
        ({"total": 2, "ongoing": 0, "failed": 0, "successful": 2}, True),
        ({"total": 2, "ongoing": 1, "failed": 1, "successful": 0}, False),
        ({"total": 3, "ongoing": 0, "failed": 1, "successful": 1}, False),
        ({"total": 0, "ongoing": 0, "failed": 0, "successful": 0}, False),
        ({}, False),
    ],
)
def test_settled_rule(counts, settled):
    # a split batch can read "Failed" while ongoing > 0: status is not used
    assert BatchSummary.from_json({**counts, "status": "Failed"}).settled is settled


@pytest.mark.parametrize(
    ("path", "batch_id"),
    [
        (
            "/batch/Summary/3c5d1f2e-aaaa-bbbb-cccc-0123456789ab",
            "3c5d1f2e-aaaa-bbbb-cccc-0123456789ab",
        ),
        ("/batch/Summary/abc/", "abc"),
        ("batch/Summary/abc?x=1", "abc"),
        (" /batch/Summary/abc ", "abc"),
        ("abc", "abc"),
    ],
)
def test_batch_id_from_polling_path(path, batch_id):
    assert batch_id_from_polling_path(path) == batch_id


@pytest.mark.parametrize(
    "path", [None, "", "   ", "/", "/batch/Summary/", "/batch/Summary/a b", 42]
)
def test_batch_id_from_bad_polling_path(path):
    with pytest.raises(PheeResponseError) as info:
        batch_id_from_polling_path(path)
    assert info.value.outcome_unknown


# -- failure reasons as PHEE stores them -------------------------------------------

NESTED = json.dumps(
    {"errorInformation": {"errorCode": "3204", "errorDescription": "Party not found"}}
)


@pytest.mark.parametrize(
    ("info", "code", "reason"),
    [
        pytest.param(NESTED, "3204", "Party not found", id="mojaloop-nested-string"),
        pytest.param(
            json.dumps(
                {
                    "errorInformation": {
                        "errorCode": 5100,
                        "errorDescription": "Generic payee error",
                        "extensionList": {"extension": [{"key": "k", "value": "v"}]},
                    }
                }
            ),
            "5100",
            "Generic payee error",
            id="nested-numeric-code-and-extensions",
        ),
        pytest.param(
            json.dumps({"errorCode": "3100", "errorDescription": "Generic validation"}),
            "3100",
            "Generic validation",
            id="flat-string",
        ),
        pytest.param(
            {"errorCode": "3204", "errorDescription": "Party not found"},
            "3204",
            "Party not found",
            id="flat-dict",
        ),
        pytest.param(
            {"errorInformation": {"errorCode": "3204", "errorDescription": "x"}},
            "3204",
            "x",
            id="nested-dict",
        ),
        pytest.param(
            {
                "errorCategory": "Validation",
                "errorCode": "InvalidJsonWebSignature",
                "defaultUserMessage": "Bad JWS",
            },
            "InvalidJsonWebSignature",
            "Bad JWS",
            id="PhErrorDTO-from-transfers",
        ),
        pytest.param(
            json.dumps({"errorInformation": {"errorCode": "3204"}}),
            "3204",
            "3204",
            id="code-only",
        ),
        pytest.param(
            "Duplicate transaction.", None, "Duplicate transaction.", id="importer-note"
        ),
        pytest.param('"Party not found"', None, "Party not found", id="json-string"),
        pytest.param("{not json", None, "{not json", id="broken-json-kept-raw"),
        pytest.param('{"foo": 1}', None, '{"foo": 1}', id="unknown-object-kept-raw"),
        pytest.param("[1, 2]", None, "[1, 2]", id="json-list-kept-raw"),
        pytest.param('{"n": 1e1000000}', None, '{"n": 1e1000000}', id="huge-number"),
        pytest.param(["odd"], None, None, id="list"),
        pytest.param(404, None, "404", id="number"),
        pytest.param(True, None, None, id="bool"),
    ],
)
def test_failure_reason_shapes(info, code, reason):
    outcome = TransferOutcome.from_transfer(
        "r1", transfer("FAILED", cci="r1", errorInformation=info)
    )
    assert (outcome.reason_code, outcome.reason) == (code, reason)
    assert failure_reason({"errorInformation": info}) == (code, reason)


def test_failure_reason_lengths_are_bounded():
    info = json.dumps(
        {"errorInformation": {"errorCode": "C" * 300, "errorDescription": "d" * 900}}
    )
    code, reason = failure_reason({"errorInformation": info})
    assert (len(code), len(reason)) == (64, 500)
    assert failure_reason({"errorInformation": "x" * 2_000_000})[1] == "x" * 500


def test_failure_reason_falls_back_to_status_detail():
    assert failure_reason({"errorInformation": None, "statusDetail": "Timed out"}) == (
        None,
        "Timed out",
    )
    assert failure_reason({}) == (None, None)


def test_failure_reason_of_a_realistic_detail_row():
    row = {
        "id": 7,
        "workflowInstanceKey": "2251799813685249",
        "transactionId": "e5ee0f9a",
        "clientCorrelationId": "5b1e-a2",
        "batchId": "3c5d",
        "status": "FAILED",
        "statusDetail": None,
        "errorInformation": NESTED,
        "amount": "500",
        "currency": "USD",
        "startedAt": 1700000000000,
        "completedAt": 1700000004000,
    }
    outcome = match_transfers(["5b1e-a2"], [row])["5b1e-a2"]
    assert (outcome.status, outcome.final) == ("failed", True)
    assert (outcome.reason_code, outcome.reason) == ("3204", "Party not found")
    assert outcome.transaction_id == "e5ee0f9a"


# -- bounded numbers and shapes ----------------------------------------------------


@pytest.mark.parametrize(
    "absurd", ["1e1000000", "9" * 41, 10**15, "-1e16", "1E+999999999"]
)
def test_absurd_amounts_are_refused_fast(absurd):
    started = time.monotonic()
    with pytest.raises(PheeResponseError):
        TransferOutcome.from_transfer("r1", transfer("COMPLETED", amount=absurd))
    with pytest.raises(PheeResponseError):
        BatchSummary.from_json({"total": 1, "totalAmount": absurd})
    with pytest.raises(PheeResponseError):
        BatchSummary.from_json({"total": absurd})
    assert epoch_ms_to_datetime(absurd) is None
    assert time.monotonic() - started < 1


def test_large_but_real_amounts_pass():
    outcome = TransferOutcome.from_transfer(
        "r1", transfer("COMPLETED", amount="999999999999999.99")
    )
    assert outcome.amount == Decimal("999999999999999.99")
    assert BatchSummary.from_json({"totalAmount": 10**15 - 1}).total_amount == (
        10**15 - 1
    )


@pytest.mark.parametrize(
    "record",
    [
        {"status": ["FAILED"]},
        {"status": "COMPLETED", "transactionId": ["r1"]},
        {"status": "COMPLETED", "clientCorrelationId": {"a": 1}},
        {"status": "COMPLETED", "amount": [1]},
    ],
)
def test_wrong_shapes_in_transfers_are_response_errors(record):
    record = {"clientCorrelationId": "r1", **record}
    with pytest.raises(PheeResponseError):
        match_transfers(["r1"], [record])


@pytest.mark.parametrize("key", ["batchId", "correlationId", "status"])
def test_wrong_shapes_in_summary_are_response_errors(key):
    with pytest.raises(PheeResponseError):
        BatchSummary.from_json({"total": 1, key: ["x"]})


# -- comparing a batch's rows with ours --------------------------------------------


def test_compare_rows_counts_either_id():
    rows = [
        transfer("COMPLETED", cci="r1", tid="phee-1"),  # channel row
        transfer("FAILED", cci="uuid-x", tid="r2"),  # importer row
    ]
    result = compare_rows({"r1", "r2", "r3"}, rows)
    assert result == BatchRows(frozenset({"r1", "r2"}), 0, True)
    assert result.only_ours
    mixed = compare_rows({"r1"}, [*rows, transfer("COMPLETED", cci="z", tid="y")])
    assert (mixed.ours, mixed.foreign, mixed.only_ours) == ({"r1"}, 2, False)
    assert not compare_rows({"r1"}, rows[:1], complete=False).only_ours
    assert not compare_rows({"r1"}, []).only_ours
