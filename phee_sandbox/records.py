"""CSV rows as PHEE reads them, and the transfers and batches it keeps.

The row model follows the PHEE sources rather than this package's client, so it
is deliberately written from the API reference and not shared with ``const``.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import re
from decimal import Decimal, InvalidOperation

# Positions at which PHEE's TransactionParser reads a row (plain comma split).
ROW_FIELDS = (
    "id",
    "request_id",
    "payment_mode",
    "payer_identifier_type",
    "payer_identifier",
    "payee_identifier_type",
    "payee_identifier",
    "amount",
    "currency",
    "note",
    "program_shortcode",
    "cycle",
    "payee_dfsp_id",
)
# ``csv.columnNames``: the header row is checked against these names only.
ALLOWED_COLUMNS = frozenset(
    ROW_FIELDS[:10] + ("account_number",) + ROW_FIELDS[10:] + ("batch_id",)
)
PAYMENT_MODES = frozenset(("gsma", "mojaloop", "slcb", "closedloop"))
_LONG = re.compile(r"[+-]?\d+")


def parse_row(line: str) -> dict:
    """One data line read positionally, as PHEE's TransactionParser does."""
    parts = line.split(",")
    return {
        name: parts[i] if i < len(parts) else None for i, name in enumerate(ROW_FIELDS)
    }


def row_problem(row: dict) -> str | None:
    """Why PHEE could not pay this row at all, or None."""
    if row["currency"] is None or not _LONG.fullmatch(row["id"] or ""):
        return "Invalid data"
    if not _LONG.fullmatch(row["amount"]) or int(row["amount"]) <= 0:
        return "Invalid amount"
    if (row["payment_mode"] or "").lower() not in PAYMENT_MODES:
        return "Payment mode not configured"
    return None


def _amount(text: str | None) -> Decimal:
    try:
        value = Decimal(text or "0")
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() else Decimal(0)


@dataclasses.dataclass
class Transfer:
    """One transfer row as the importer stores it."""

    id: int
    workflow_instance_key: str
    transaction_id: str
    client_correlation_id: str
    batch_id: str
    tenant: str
    row: dict
    started_at: int
    outcome: tuple  # (final status, errorInformation) applied when settling
    status: str = "IN_PROGRESS"
    error_information: str | None = None
    completed_at: int | None = None

    @property
    def amount(self) -> Decimal:
        return _amount(self.row["amount"])

    def finish(self, at_ms: int) -> None:
        self.status, self.error_information = self.outcome
        self.completed_at = at_ms

    def to_json(self) -> dict:
        """The operations app's ``Transfer`` entity."""
        mojaloop = (self.row["payment_mode"] or "").lower() == "mojaloop"
        payer_type = "MSISDN" if mojaloop else self.row["payer_identifier_type"]
        payee_type = "MSISDN" if mojaloop else self.row["payee_identifier_type"]
        return {
            "id": self.id,
            "workflowInstanceKey": self.workflow_instance_key,
            "transactionId": self.transaction_id,
            "startedAt": self.started_at,
            "completedAt": self.completed_at,
            "status": self.status,
            "statusDetail": None,
            "payeeDfspId": self.row["payee_dfsp_id"] or None,
            "payeePartyId": self.row["payee_identifier"],
            "payeePartyIdType": payee_type,
            "payeeFee": None,
            "payeeFeeCurrency": None,
            "payeeQuoteCode": None,
            "payerDfspId": self.tenant,
            "payerPartyId": self.row["payer_identifier"],
            "payerPartyIdType": payer_type,
            "payerFee": None,
            "payerFeeCurrency": None,
            "payerQuoteCode": None,
            "amount": str(self.amount),
            "currency": self.row["currency"],
            "direction": "OUTGOING",
            "errorInformation": self.error_information,
            "batchId": self.batch_id,
            "clientCorrelationId": self.client_correlation_id,
        }

    def to_response_json(self) -> dict:
        """``TransferResponse`` of ``/api/v1/transfers``.

        errorInformation is parsed as a PhErrorDTO JSON there; plain text -> null.
        """
        data = self.to_json()
        data["workflowInstanceKey"] = int(self.workflow_instance_key)
        try:
            parsed = json.loads(self.error_information or "")
        except ValueError:
            parsed = None
        data["errorInformation"] = parsed if isinstance(parsed, dict) else None
        return data


@dataclasses.dataclass
class BatchRecord:
    """An accepted batch: what was submitted plus its lifecycle counters."""

    seq: int
    batch_id: str
    correlation_id: str
    tenant: str
    headers: dict
    csv_text: str
    filename: str
    request_file: str
    rows: list
    created_at: int
    note: str | None
    modes: str
    callback_url: str | None
    transfers: list = dataclasses.field(default_factory=list)
    polls: int = 0  # ops calls answered "not imported yet"
    settle_polls: int = 0  # ops calls since the import
    imported: bool = False
    settled: bool = False
    stored: dict | None = None  # aggregates saved by the last recompute

    def counters(self) -> dict:
        """Aggregate the transfers like ``BatchApi.evaluateBatchSummary``."""
        counts = collections.Counter()
        amounts = collections.defaultdict(Decimal)
        for transfer in self.transfers:
            key = {"COMPLETED": "completed", "FAILED": "failed"}.get(
                transfer.status, "ongoing"
            )
            counts[key] += 1
            amounts[key] += transfer.amount
        total = sum(amounts.values(), Decimal(0))
        return {
            "total": len(self.transfers),
            **{k: counts[k] for k in ("completed", "failed", "ongoing")},
            "totalAmount": int(total),
            **{
                f"{k}Amount": int(amounts[k])
                for k in ("completed", "failed", "ongoing")
            },
        }

    def entity_json(self) -> dict:
        """The ``Batch`` entity as listed by ``/api/v1/batches``."""
        stored = self.stored or {}
        return {
            "id": self.seq,
            "batchId": self.batch_id,
            "subBatchId": None,
            "requestId": self.correlation_id,
            "requestFile": self.request_file,
            "totalTransactions": stored.get("total"),
            "ongoing": stored.get("ongoing"),
            "failed": stored.get("failed"),
            "completed": stored.get("completed"),
            "totalAmount": stored.get("totalAmount"),
            "ongoingAmount": stored.get("ongoingAmount"),
            "failedAmount": stored.get("failedAmount"),
            "completedAmount": stored.get("completedAmount"),
            "result_file": stored.get("file"),
            "resultGeneratedAt": stored.get("completedAt"),
            "note": self.note,
            "workflowKey": None,
            "workflowInstanceKey": None,
            "startedAt": self.created_at,
            "completedAt": stored.get("completedAt"),
            "paymentMode": self.modes or None,
            "registeringInstitutionId": self.headers.get(
                "x-registering-institution-id"
            ),
            "payerFsp": None,
            "correlationId": self.correlation_id,
            "approvedAmount": None,
            "approvedCount": None,
            "status": stored.get("status"),
        }

    def inspect(self) -> dict:
        """Copy handed out by ``PheeServer.batches``."""
        return {
            "batch_id": self.batch_id,
            "correlation_id": self.correlation_id,
            "tenant": self.tenant,
            "headers": dict(self.headers),
            "filename": self.filename,
            "csv": self.csv_text,
            "rows": [dict(r) for r in self.rows],
            "created_at": self.created_at,
            "imported": self.imported,
            "settled": self.settled,
            "transfers": [t.to_json() for t in self.transfers],
        }
