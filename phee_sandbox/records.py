"""CSV rows as PHEE reads them, and the transfers and batch rows it keeps.

The row model follows the PHEE sources rather than this package's client, so it
is deliberately written from the API reference and not shared with ``const``.
``Transfer`` is a row of the ops app's ``transfers`` table, ``BatchRow`` one of
its ``batches`` table (a parent batch, or a sub-batch with ``subBatchId``), and
``BatchRecord`` one submission with everything PHEE made of it.
"""

from __future__ import annotations

import collections
import dataclasses
import re
from decimal import Decimal, InvalidOperation

from .java import jackson_read_object, java_date, unescape_java

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


def amount_of(text: str | None) -> Decimal:
    try:
        value = Decimal(text or "0")
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() else Decimal(0)


# ops-app TransferResponse.errorInformation is connector-common's PhErrorDTO.
PH_ERROR_PROPERTIES = (
    "errorCategory",
    "errorCode",
    "errorDescription",
    "developerMessage",
    "defaultUserMessage",
    "errorParameters",
    "errors",
)


@dataclasses.dataclass
class Transfer:
    """One row of the ops app's ``transfers`` table.

    ``outcome`` is the final (status, errorInformation) the row reaches when
    the batch settles. A ``stuck`` row never gets there (IN_PROGRESS, no
    completedAt); a row with ``exception_polls`` first shows EXCEPTION (a Zeebe
    incident: importer-rdbms RecordParser.processIncident sets the status and
    completedAt) for that many ops calls, then reaches its outcome in place,
    same ids (RecordParser END_EVENT branch, once ops resolves the incident).
    """

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
    stuck: bool = False
    exception_polls: int = 0

    @property
    def amount(self) -> Decimal:
        return amount_of(self.row["amount"])

    def finish(self, at_ms: int) -> None:
        """The workflow ends (or raises its incident)."""
        if self.stuck:
            return
        if self.exception_polls > 0:
            self.status, self.completed_at = "EXCEPTION", at_ms
            return
        self.status, self.error_information = self.outcome
        self.completed_at = at_ms

    def after_incident_poll(self, at_ms: int) -> None:
        """One more ops call has seen the incident; resolved after the last."""
        if self.status != "EXCEPTION":
            return
        self.exception_polls -= 1
        if self.exception_polls <= 0:
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

        errorInformation is re-read as a PhErrorDTO by the ops app's plain
        ``new ObjectMapper()`` (ServerApplication.mapper), which fails on
        unknown properties, then once more after ``unescapeJava``
        (TransferResponse.parseErrorInformation); any failure gives null. So
        the nested Mojaloop shape ``{"errorInformation": {...}}`` and plain text
        such as ``Duplicate transaction.`` come back null; only a flat
        ``{errorCode, errorDescription}`` survives, with every PhErrorDTO key.
        """
        data = self.to_json()
        data["workflowInstanceKey"] = int(self.workflow_instance_key)
        text = self.error_information
        parsed = jackson_read_object(text, PH_ERROR_PROPERTIES)
        if parsed is None and text:
            parsed = jackson_read_object(unescape_java(text), PH_ERROR_PROPERTIES)
        data["errorInformation"] = parsed
        return data


def aggregate(transfers) -> dict:
    """``BatchApi.evaluateBatchSummary`` over some transfers.

    COMPLETED and FAILED count as such; IN_PROGRESS is ongoing while it has no
    completedAt and completed once it has; EXCEPTION and UNKNOWN rows count in
    the total (and its amount) only, so successful + failed + ongoing < total
    while an incident is open.
    """
    counts = collections.Counter()
    amounts = collections.defaultdict(Decimal)
    for transfer in transfers:
        key = {"COMPLETED": "completed", "FAILED": "failed"}.get(transfer.status)
        if transfer.status == "IN_PROGRESS":
            key = "ongoing" if transfer.completed_at is None else "completed"
        counts["total"] += 1
        amounts["total"] += transfer.amount
        if key:
            counts[key] += 1
            amounts[key] += transfer.amount
    return {
        "total_transactions": counts["total"],
        "completed": counts["completed"],
        "failed": counts["failed"],
        "ongoing": counts["ongoing"],
        "total_amount": int(amounts["total"]),
        "completed_amount": int(amounts["completed"]),
        "failed_amount": int(amounts["failed"]),
        "ongoing_amount": int(amounts["ongoing"]),
    }


COUNTERS = (
    "total_transactions",
    "ongoing",
    "failed",
    "completed",
    "total_amount",
    "ongoing_amount",
    "failed_amount",
    "completed_amount",
)


@dataclasses.dataclass
class BatchRow:
    """One row of the ops app's ``batches`` table (ops-app Batch.java).

    A submission has one parent row (``sub_batch_id`` None), created by the
    importer from the ``bulk_processor`` workflow's variables, and, when the
    processor split it, one row per sub-batch with ``sub_batch_id`` set, saved
    by the importer from the ``subBatchDetails`` variable (importer-rdbms
    RecordParser.parseSubBatchDetails; bulk-processor SplittingRoute
    ``generate-sub-batch-entity``).
    """

    id: int
    batch_id: str
    sub_batch_id: str | None
    request_id: str | None
    request_file: str | None
    correlation_id: str | None
    payment_mode: str | None
    registering_institution_id: str | None
    payer_fsp: str | None
    started_at: int
    workflow_instance_key: int | None = None
    note: str | None = None
    total_transactions: int | None = None
    ongoing: int | None = None
    failed: int | None = None
    completed: int | None = None
    total_amount: int | None = None
    ongoing_amount: int | None = None
    failed_amount: int | None = None
    completed_amount: int | None = None
    result_file: str | None = None
    result_generated_at: int | None = None
    completed_at: int | None = None
    approved_amount: int | None = None
    approved_count: int | None = None
    status: str | None = None

    @property
    def key(self) -> str:
        """The batchId its transfers carry."""
        return self.sub_batch_id or self.batch_id

    def set_counters(self, values: dict) -> None:
        for name in COUNTERS:
            setattr(self, name, values[name])

    def counters(self) -> dict:
        return {name: getattr(self, name) for name in COUNTERS}

    def save(self, values: dict, at_ms: int) -> None:
        """``BatchApi.saveBatch``: counters, stamps, status."""
        self.set_counters(values)
        self.result_generated_at = self.completed_at = at_ms
        if self.completed == self.total_transactions:
            self.status = "COMPLETED"
        elif self.ongoing > 0:
            self.status = "IN_PROGRESS"
        elif self.failed > 0:
            self.status = "FAILED"

    def entity_json(self) -> dict:
        """The ``Batch`` entity as ``/api/v1/batches`` lists it."""
        return {
            "id": self.id,
            "batchId": self.batch_id,
            "subBatchId": self.sub_batch_id,
            "requestId": self.request_id,
            "requestFile": self.request_file,
            "totalTransactions": self.total_transactions,
            "ongoing": self.ongoing,
            "failed": self.failed,
            "completed": self.completed,
            "totalAmount": self.total_amount,
            "ongoingAmount": self.ongoing_amount,
            "failedAmount": self.failed_amount,
            "completedAmount": self.completed_amount,
            "result_file": self.result_file,
            "resultGeneratedAt": self.result_generated_at,
            "note": self.note,
            "workflowKey": None,
            "workflowInstanceKey": self.workflow_instance_key,
            "startedAt": self.started_at,
            "completedAt": self.completed_at,
            "paymentMode": self.payment_mode,
            "registeringInstitutionId": self.registering_institution_id,
            "payerFsp": self.payer_fsp,
            "correlationId": self.correlation_id,
            "approvedAmount": self.approved_amount,
            "approvedCount": self.approved_count,
            "status": self.status,
        }

    def created_at(self) -> str | None:
        """``batch.getStartedAt().toString()``."""
        return java_date(self.started_at) if self.started_at is not None else None


@dataclasses.dataclass
class BatchRecord:
    """An accepted submission: what was sent, and what PHEE made of it."""

    seq: int
    batch_id: str
    correlation_id: str  # the X-CorrelationID the client sent
    tenant: str
    headers: dict
    csv_text: str
    filename: str
    request_file: str
    rows: list
    created_at: int
    callback_url: str | None
    job_key: str  # the authorization job's key (AuthorizationWorker)
    instance_key: int  # the bulk_processor workflow instance
    started: bool = True  # False: 202 given, the workflow never ran
    field_counts: list = dataclasses.field(default_factory=list)  # per line
    transfers: list = dataclasses.field(default_factory=list)
    table: list = dataclasses.field(default_factory=list)  # parent, sub-batches
    polls: int = 0  # ops calls answered "not imported yet"
    settle_polls: int = 0  # ops calls since the import
    imported: bool = False
    settled: bool = False
    settled_unseen: bool = False  # settled outside an ops call

    @property
    def parent(self) -> BatchRow:
        return self.table[0]

    @property
    def sub_batches(self) -> list:
        return self.table[1:]

    def transfers_of(self, key: str) -> list:
        """Transfers whose batchId is ``key`` (a batch or sub-batch id)."""
        return [t for t in self.transfers if t.batch_id == key]

    def inspect(self) -> dict:
        """Copy handed out by ``PheeServer.batches``."""
        parent = self.table[0] if self.table else None
        return {
            "batch_id": self.batch_id,
            "correlation_id": self.correlation_id,
            "listed_correlation_id": parent.correlation_id if parent else None,
            "job_key": self.job_key,
            "tenant": self.tenant,
            "headers": dict(self.headers),
            "registering_institution_id": self.headers.get(
                "x-registering-institution-id"
            ),
            "program_id": self.headers.get("x-program-id"),
            "filename": self.filename,
            "request_file": self.request_file,
            "csv": self.csv_text,
            "rows": [dict(r) for r in self.rows],
            "created_at": self.created_at,
            "started": self.started,
            "imported": self.imported,
            "settled": self.settled,
            "sub_batches": [
                {
                    "sub_batch_id": b.sub_batch_id,
                    "request_file": b.request_file,
                    "rows": b.total_transactions,
                }
                for b in self.table[1:]
            ],
            "transfers": [t.to_json() for t in self.transfers],
        }
