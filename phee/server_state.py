"""State and lifecycle of the local PHEE server (see ``phee.server``).

Models what the bulk processor, the importer and the operations app keep:
accepted batches, their transfers, the aggregates saved by a recompute, OAuth
tokens, injected faults and a request log. Everything is guarded by one lock.

The row model follows the PHEE sources rather than this package's client, so it
is deliberately written from the API reference and not shared with ``const``.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import json
import math
import re
import secrets
import threading
import time
import uuid
from datetime import datetime, timezone
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

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
# ``verifyData`` wants this many fields per row; failing only records a note.
_VERIFY_DATA_FIELDS = len(ALLOWED_COLUMNS)
_INVALID_DATA_NOTE = "Invalid data in file data processing stopped"
_LONG = re.compile(r"[+-]?\d+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Batch entity properties the ``/api/v1/batches`` ``sort`` may name.
_BATCH_SORT_KEYS = frozenset(
    (
        "id",
        "batchId",
        "subBatchId",
        "requestId",
        "requestFile",
        "totalTransactions",
        "ongoing",
        "failed",
        "completed",
        "totalAmount",
        "ongoingAmount",
        "failedAmount",
        "completedAmount",
        "note",
        "startedAt",
        "completedAt",
        "paymentMode",
        "registeringInstitutionId",
        "payerFsp",
        "correlationId",
        "status",
    )
)

DUPLICATE_REASON = "Duplicate transaction."
PAYEE_NOT_FOUND = "Payee account not found"
ROUTES = frozenset(("submit", "token", "summary", "detail", "batches", "transfers"))
FAULTS = frozenset(
    (
        "http_500",
        "accept_then_500",
        "accept_then_hang",
        "hang",
        "malformed",
        "no_polling_path",
        "reset",
        "http_401",
        "expire_tokens",
    )
)
_SUBMIT_ONLY_FAULTS = frozenset(
    ("accept_then_500", "accept_then_hang", "no_polling_path")
)
ID_FIELDS = ("client", "transaction", "alternate")


class OpsError(Exception):
    """A request the ops app would refuse; carries the HTTP status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def now_ms() -> int:
    """Current time as epoch milliseconds (how PHEE serialises dates)."""
    return int(time.time() * 1000)


def java_date(ms: int) -> str:
    """``java.util.Date#toString`` in UTC, e.g. ``Wed Nov 26 13:27:00 UTC 2025``."""
    return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(ms / 1000))


def iso_now() -> str:
    """Spring's error ``timestamp`` format."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def java_lines(text: str) -> list[str]:
    """Lines as ``BufferedReader#readLine`` yields them."""
    lines = _LINE_BREAK.split(text) if text else []
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _java_double(value: float) -> str:
    """``Double.toString`` for percentages (``50.0``, ``NaN``)."""
    return "NaN" if math.isnan(value) else repr(float(value))


def _floor_percent(value: float) -> str:
    """``new DecimalFormat("#.##")`` with ``RoundingMode.FLOOR``."""
    if math.isnan(value):
        return "NaN"
    floored = Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    return format(floored.normalize(), "f")


def _ratio(part: int, total: int) -> float:
    return part / total * 100 if total else math.nan


def _like(pattern: str) -> re.Pattern:
    """SQL ``LIKE`` (``%``, ``_``; case-insensitive like MySQL) as a regex."""
    body = "".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern
    )
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def _fake_jwt(claims: dict) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    header = part(b'{"alg":"RS256","typ":"JWT"}')
    body = part(json.dumps(claims).encode())
    return f"{header}.{body}.{part(secrets.token_bytes(64))}"


def spring_page(items: list, page: int, size: int) -> dict:
    """A Spring Data ``Page`` of ``items`` (already filtered and sorted)."""
    content = items[page * size : (page + 1) * size]
    total_pages = math.ceil(len(items) / size)
    return {
        "content": content,
        "pageable": {
            "sort": {"sorted": False, "unsorted": True, "empty": True},
            "offset": page * size,
            "pageNumber": page,
            "pageSize": size,
            "paged": True,
            "unpaged": False,
        },
        "totalElements": len(items),
        "totalPages": total_pages,
        "last": page + 1 >= total_pages,
        "size": size,
        "number": page,
        "sort": {"sorted": False, "unsorted": True, "empty": True},
        "numberOfElements": len(content),
        "first": page == 0,
        "empty": not content,
    }


def parse_row(line: str) -> dict:
    """One data line read positionally, as PHEE's TransactionParser does."""
    parts = line.split(",")
    return {
        name: parts[i] if i < len(parts) else None for i, name in enumerate(ROW_FIELDS)
    }


def _row_problem(row: dict) -> str | None:
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


class ServerState:
    """Thread-safe store behind ``PheeServer``; every public method locks."""

    def __init__(
        self,
        *,
        import_delay_polls: int,
        settle_polls: int,
        id_field: str,
        fail_payee_suffixes,
        token_ttl: float,
        queue_callbacks: bool,
        channel_dedup: bool,
    ):
        if id_field not in ID_FIELDS:
            raise ValueError(f"id_field must be one of {ID_FIELDS}")
        self.lock = threading.RLock()
        self.import_delay_polls = import_delay_polls
        self.settle_polls = settle_polls
        self.id_field = id_field
        self.fail_payee_suffixes = tuple(fail_payee_suffixes)
        self.token_ttl = token_ttl
        self.queue_callbacks = queue_callbacks
        self.channel_dedup = channel_dedup
        self._batches: dict[str, BatchRecord] = {}
        self._seq = 0
        self._tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self._refresh_tokens: set[str] = set()
        self._faults = collections.defaultdict(collections.deque)
        self._requests: list[tuple] = []
        self._callbacks: list[tuple] = []
        self._sent_callbacks: list[dict] = []

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --------------------------------------------------------------- batches

    def add_batch(
        self,
        *,
        tenant,
        correlation_id,
        headers,
        csv_text,
        filename,
        request_file,
        callback_url,
    ) -> BatchRecord:
        """Record an accepted batch and plan the outcome of each of its rows."""
        lines = java_lines(csv_text)[1:]
        rows = [parse_row(line) for line in lines]
        verify_ok = all(
            len(line.rstrip(",").split(",")) == _VERIFY_DATA_FIELDS for line in lines
        )
        modes = [(r["payment_mode"] or "") for r in rows]
        with self.lock:
            record = BatchRecord(
                seq=self._next_seq(),
                batch_id=str(uuid.uuid4()),
                correlation_id=correlation_id,
                tenant=tenant,
                headers=headers,
                csv_text=csv_text,
                filename=filename,
                request_file=request_file,
                rows=rows,
                created_at=now_ms(),
                note=None if verify_ok else _INVALID_DATA_NOTE,
                modes=",".join(dict.fromkeys(m for m in modes if m)),
                callback_url=callback_url,
            )
            record.transfers = self._plan_transfers(record)
            self._batches[record.batch_id] = record
            if self.import_delay_polls <= 0:
                self._import(record)
            return record

    def _plan_transfers(self, record: BatchRecord) -> list[Transfer]:
        previous = (
            self._used_request_ids(record.tenant) if self.channel_dedup else set()
        )
        seen, transfers = set(), []
        for index, row in enumerate(record.rows):
            key = (
                row["payee_identifier"],
                row["payee_identifier_type"],
                row["amount"],
                row["currency"],
            )
            if key in seen:
                transfers.append(self._importer_transfer(record, row))
                continue
            seen.add(key)
            mojaloop = (row["payment_mode"] or "").lower() == "mojaloop"
            if mojaloop and row["request_id"] in previous:
                continue  # the channel rejects the repeated X-CorrelationID
            transfers.append(self._channel_transfer(record, row, index))
        return transfers

    def _used_request_ids(self, tenant: str) -> set:
        return {
            r["request_id"]
            for b in self._batches.values()
            if b.tenant == tenant
            for r in b.rows
        }

    def _new_transfer(self, record, row, *, ids, outcome) -> Transfer:
        seq = self._next_seq()
        return Transfer(
            id=seq,
            workflow_instance_key=str(2251799813685248 + seq),
            transaction_id=ids[0],
            client_correlation_id=ids[1],
            batch_id=record.batch_id,
            tenant=record.tenant,
            row=row,
            started_at=record.created_at,
            outcome=outcome,
        )

    def _importer_transfer(self, record, row) -> Transfer:
        """An in-file duplicate, written by the importer straight from the CSV."""
        transfer = self._new_transfer(
            record,
            row,
            ids=(row["request_id"], str(uuid.uuid4())),
            outcome=("FAILED", DUPLICATE_REASON),
        )
        transfer.finish(record.created_at)
        return transfer

    def _channel_transfer(self, record, row, index) -> Transfer:
        """A row run by the channel: request_id comes back per ``id_field``."""
        problem = _row_problem(row)
        payee = row["payee_identifier"] or ""
        if problem is None and payee.endswith(self.fail_payee_suffixes):
            problem = PAYEE_NOT_FOUND
        outcome = ("FAILED", problem) if problem else ("COMPLETED", None)
        in_transaction = self.id_field == "transaction" or (
            self.id_field == "alternate" and index % 2 == 1
        )
        generated = str(uuid.uuid4())
        ids = (
            (row["request_id"], generated)
            if in_transaction
            else (generated, row["request_id"])
        )
        return self._new_transfer(record, row, ids=ids, outcome=outcome)

    def _import(self, record: BatchRecord) -> None:
        record.imported = True
        record.stored = {**record.counters(), "completedAt": None, "status": None}
        if self.settle_polls <= 0:
            self._settle(record)

    def _settle(self, record: BatchRecord) -> None:
        at = now_ms()
        for transfer in record.transfers:
            if transfer.status == "IN_PROGRESS":
                transfer.finish(at)
        record.settled = True
        self._recompute(record)  # the bulk processor's own aggregate poll
        if self.queue_callbacks and record.callback_url:
            stored = record.stored
            rate = (
                stored["completed"] * 100 // stored["total"] if stored["total"] else 0
            )
            body = {
                "clientCorrelationId": record.correlation_id,
                "batchId": record.batch_id,
                "message": f"The Batch Aggregation API was complete with : {rate}",
            }
            self._callbacks.append((record.callback_url, body))

    def _recompute(self, record: BatchRecord) -> dict:
        """``GET /batch/{id}``: aggregate, stamp completedAt, save."""
        counters = record.counters()
        previous = record.stored or {}
        status = previous.get("status")
        if counters["completed"] == counters["total"]:
            status = "COMPLETED"
        elif counters["ongoing"] > 0:
            status = "IN_PROGRESS"
        elif counters["failed"] > 0:
            status = "FAILED"
        stamp = now_ms()
        record.stored = {
            **counters,
            "completedAt": stamp,
            "status": status,
            "file": previous.get("file") or f"{stamp}_response.csv",
        }
        return record.stored

    def poll(self, tenant: str, batch_id: str) -> BatchRecord | None:
        """Account one ops call about a batch; the record once it is imported."""
        with self.lock:
            record = self._batches.get(batch_id)
            if record is None or record.tenant != tenant:
                return None
            if not record.imported:
                if record.polls < self.import_delay_polls:
                    record.polls += 1
                    return None
                self._import(record)
            if not record.settled and record.settle_polls >= self.settle_polls:
                self._settle(record)
            record.settle_polls += 1
            return record

    # ------------------------------------------------------------- ops views

    def summary(self, record: BatchRecord) -> dict:
        """BatchDTO of ``GET /api/v1/batch/{id}`` (recomputes first).

        The recompute always stamps completedAt, so the status reads ``Failed``
        whenever not every transfer is COMPLETED, even while some are ongoing.
        """
        with self.lock:
            s = self._recompute(record)
            status = "COMPLETED" if s["completed"] == s["total"] else "Failed"
            return self._batch_dto(record, s, status, _java_double)

    def stored_summary(self, record: BatchRecord) -> dict:
        """BatchDTO of ``GET /api/v1/batch?batchId=`` (no recompute)."""
        with self.lock:
            s = record.stored
            if s["completed"] == s["total"]:
                status = "COMPLETED"
            elif s["ongoing"] and s["completedAt"] is None:
                status = "Pending"
            else:
                status = "UNKNOWN"
            return self._batch_dto(record, s, status, _floor_percent)

    @staticmethod
    def _batch_dto(record: BatchRecord, s: dict, status: str, fmt) -> dict:
        return {
            "batchId": record.batch_id,
            "requestId": record.correlation_id,
            "total": s["total"],
            "ongoing": s["ongoing"],
            "failed": s["failed"],
            "successful": s["completed"],
            "totalAmount": s["totalAmount"],
            "successfulAmount": s["completedAmount"],
            "pendingAmount": s["ongoingAmount"],
            "failedAmount": s["failedAmount"],
            "file": s.get("file"),
            "notes": record.note,
            "createdAt": java_date(record.created_at),
            "status": status,
            "modes": record.modes,
            "purpose": "Unknown purpose",
            "failPercentage": fmt(_ratio(s["failed"], s["total"])),
            "successPercentage": fmt(_ratio(s["completed"], s["total"])),
            "registeringInstitutionId": record.headers.get(
                "x-registering-institution-id"
            ),
            "payerFsp": None,
            "correlationId": record.correlation_id,
        }

    def batch_and_sub_batches(self, record: BatchRecord) -> dict:
        """``GET /api/v1/batches/{id}``: stored aggregates, no sub-batches."""
        with self.lock:
            s = record.stored
            return {
                "batchId": record.batch_id,
                "requestId": record.correlation_id,
                "startedAt": record.created_at,
                "completedAt": s["completedAt"],
                "registeringInstitutionId": record.headers.get(
                    "x-registering-institution-id"
                ),
                "total": s["total"],
                "ongoing": s["ongoing"],
                "successful": s["completed"],
                "failed": s["failed"],
                "totalAmount": s["totalAmount"],
                "pendingAmount": s["ongoingAmount"],
                "successfulAmount": s["completedAmount"],
                "failedAmount": s["failedAmount"],
                "file": s.get("file"),
                "notes": record.note,
                "createdAt": java_date(record.created_at),
                "status": str(s["status"]) if s["status"] else "null",
                "modes": record.modes,
                "purpose": None,
                "failedPercentage": _floor_percent(_ratio(s["failed"], s["total"])),
                "successPercentage": _floor_percent(_ratio(s["completed"], s["total"])),
                "payerFsp": None,
                "payeeFsp": None,
                "generatedBy": None,
                "generatedAt": datetime.now().isoformat(),
                "totalSubBatches": 0,
                "approvedTransactionCount": 0,
                "approvedAmount": 0,
                "subBatchSummaryList": [],
                "totalInstructionCount": len(record.transfers),
            }

    def detail_page(
        self, record: BatchRecord | None, status: str, page: int, size: int
    ) -> dict:
        """``GET /api/v1/batch/detail``; an unknown batch is an empty page."""
        with self.lock:
            transfers = record.transfers if record else []
            wanted = status.upper()
            if wanted in ("COMPLETED", "IN_PROGRESS", "FAILED"):
                transfers = [t for t in transfers if t.status == wanted]
            return spring_page([t.to_json() for t in transfers], page, size)

    def transaction_statuses(self, record: BatchRecord) -> dict:
        """``GET /api/v1/batch/transactions``: transactionId -> status."""
        with self.lock:
            return {t.transaction_id: t.status for t in record.transfers}

    def list_batches(
        self,
        tenant: str,
        *,
        page: int,
        limit: int,
        sort: tuple,
        date_from=None,
        date_to=None,
        like=None,
    ) -> dict:
        """``GET /api/v1/batches`` over imported batches of a tenant.

        ``like`` maps entity keys to SQL LIKE patterns; ``sort`` is (key, desc).
        Raises OpsError(400) for an unknown sort key, as the query would fail.
        """
        patterns = {key: _like(value) for key, value in (like or {}).items()}
        with self.lock:
            rows = [
                b.entity_json()
                for b in self._batches.values()
                if b.tenant == tenant and b.imported
            ]
        rows = [
            r
            for r in rows
            if all(p.fullmatch(r[k] or "") for k, p in patterns.items())
            and (date_from is None or r["startedAt"] >= date_from)
            and (date_to is None or r["startedAt"] <= date_to)
        ]
        key, descending = sort
        if key not in _BATCH_SORT_KEYS:
            raise OpsError(400, f"No property {key} found for type Batch")
        rows.sort(key=lambda r: (r[key] is not None, r[key] or 0), reverse=descending)
        return {
            "totalBatches": len(rows),
            "totalTransactions": sum(r["totalTransactions"] or 0 for r in rows),
            "totalAmount": sum(r["totalAmount"] or 0 for r in rows),
            "totalApprovedCount": 0,
            "totalApprovedAmount": 0,
            "totalSubBatchesCreated": 10,  # hard-coded by the ops app
            "data": rows[page * limit : (page + 1) * limit],
        }

    def find_transfers(
        self, tenant: str, filters: dict, *, page: int, size: int, descending: bool
    ) -> dict:
        """``GET /api/v1/transfers``: exact-match filters on Transfer JSON keys."""
        with self.lock:
            found = [
                t.to_response_json()
                for b in self._batches.values()
                if b.tenant == tenant and b.imported
                for t in b.transfers
            ]
        found = [t for t in found if all(t[k] == v for k, v in filters.items())]
        found.sort(key=lambda t: t["startedAt"], reverse=descending)
        return spring_page(found, page, size)

    # ---------------------------------------------------------------- tokens

    def issue_token(self, username: str) -> dict:
        """A password/refresh grant response (opaque JWT-looking tokens)."""
        jti = str(uuid.uuid4())
        claims = {
            "user_name": username,
            "client_id": "client",
            "jti": jti,
            "scope": ["identity"],
            "exp": int(time.time() + self.token_ttl),
        }
        access, refresh = _fake_jwt(claims), _fake_jwt({"ati": jti})
        with self.lock:
            self._tokens[access] = time.monotonic() + self.token_ttl
            self._refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "token_type": "bearer",
            "refresh_token": refresh,
            "expires_in": int(self.token_ttl),
            "scope": "identity",
            "jti": jti,
        }

    def token_status(self, token: str) -> str:
        """``valid``, ``expired`` or ``invalid`` (never issued here)."""
        with self.lock:
            expiry = self._tokens.get(token)
        if expiry is None:
            return "invalid"
        return "valid" if time.monotonic() < expiry else "expired"

    def use_refresh_token(self, token: str) -> bool:
        with self.lock:
            return token in self._refresh_tokens

    def expire_tokens(self) -> None:
        with self.lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    # ---------------------------------------------------- faults, inspection

    def add_fault(self, route: str, fault: str, count: int, kw: dict) -> None:
        if route not in ROUTES:
            raise ValueError(
                f"unknown route {route!r}; expected one of {sorted(ROUTES)}"
            )
        if fault not in FAULTS:
            raise ValueError(
                f"unknown fault {fault!r}; expected one of {sorted(FAULTS)}"
            )
        if fault in _SUBMIT_ONLY_FAULTS and route != "submit":
            raise ValueError(f"fault {fault!r} only applies to the submit route")
        if fault == "expire_tokens":
            self.expire_tokens()
            return
        with self.lock:
            self._faults[route].append([fault, count, dict(kw)])

    def take_fault(self, route: str) -> tuple | None:
        """Consume one occurrence of the oldest pending fault of a route."""
        with self.lock:
            queue = self._faults[route]
            if not queue:
                return None
            entry = queue[0]
            entry[1] -= 1
            if entry[1] <= 0:
                queue.popleft()
            return entry[0], entry[2]

    def log_request(self, method: str, path: str, status) -> None:
        with self.lock:
            self._requests.append((method, path, status))

    def pop_callbacks(self) -> list:
        with self.lock:
            pending, self._callbacks = self._callbacks, []
            return pending

    def record_callback(self, url: str, body: dict, status) -> None:
        with self.lock:
            self._sent_callbacks.append({"url": url, "body": body, "status": status})

    def sent_callbacks(self) -> list:
        with self.lock:
            return list(self._sent_callbacks)

    def requests(self) -> list:
        with self.lock:
            return list(self._requests)

    def batches(self) -> list:
        with self.lock:
            return [b.inspect() for b in self._batches.values()]

    def request_id_counts(self) -> collections.Counter:
        with self.lock:
            return collections.Counter(
                r["request_id"] for b in self._batches.values() for r in b.rows
            )
