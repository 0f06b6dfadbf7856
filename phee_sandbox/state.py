"""Thread-safe state of the local PHEE server: batches, their lifecycle, faults.

Models what the bulk processor, the importer and the operations app keep:
accepted batches, their transfers and rows of the batch table (a parent row and
one per sub-batch), the aggregates saved by a recompute, OAuth tokens, injected
faults and a request log. Everything is guarded by one lock.

What happens to a submission, in PHEE's order (openMF/ph-ee-env-labs:
orchestration/feel/bulk_processor-DFSPID.bpmn: authorization, approval,
deduplicate, ordering, formatting, splitting, initSubBatch, aggregate loop,
callback):

- authorization: bulk-processor AuthorizationWorker sets the workflow variable
  ``clientCorrelationId`` to ``Long.toString(job.getKey())``; the importer maps
  the batch row's ``correlationId`` from that variable (importer-rdbms
  application-local.yml, flow ``bulk_processor``), and the callback echoes it
  (SendCallbackWorker/SendCallbackRoute read the same variable). So once
  imported, ``correlationId`` is a long number, not the X-CorrelationID
  (``keep_correlation_id`` keeps the latter, as with authorization off);
- de-duplication (DeDuplicationRoute): a row whose payee identifier, identifier
  type, amount and currency, concatenated without separator, were seen before
  is dropped from the file; the importer writes it as a FAILED transfer under
  the *parent* batch id with errorInformation ``Duplicate transaction.``,
  transactionId = request_id and a random clientCorrelationId
  (InflightBatchManager.updateTransferTableWithFailedTransaction);
- splitting (SplittingRoute): when more rows remain than ``sub_batch_size``,
  chunks of that size become sub-batches, each with its own id and file
  ``<uuid>_sub-batch-<n>.csv``; the channel gets ``X-BatchID`` = the sub-batch
  id (InitSubBatchRoute), so those transfers carry the sub-batch id; the
  ``subBatchDetails`` variable becomes one batch-table row per sub-batch
  (RecordParser.parseSubBatchDetails), and InitSubBatchRoute rewrites the
  ``filename`` variable to each sub-batch file in turn, which the importer maps
  to the parent's ``requestFile``: the last sub-batch file wins.
"""

from __future__ import annotations

import base64
import collections
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable

from .budget import LOOKUP_FAILURE, BudgetFlow, budget_account_rule
from .java import java_lines, now_ms
from .ops_views import OpsViews
from .records import (
    COUNTERS,
    BatchRecord,
    BatchRow,
    Transfer,
    aggregate,
    amount_of,
    parse_row,
    row_problem,
)

DUPLICATE_REASON = "Duplicate transaction."
PAYEE_NOT_FOUND = "Payee account not found"
# errorInformation of rows the channel failed, as ``error_format="mojaloop"``
# stores them: the nested shape connector-channel ZeebeWorkers reads
# (``.getJSONObject("errorInformation")``). Codes: Mojaloop 3204 party not
# found, 3100 generic validation error; 404 is InitSubBatchRoute's code for an
# unknown payment mode.
_MOJALOOP_ERRORS = {
    PAYEE_NOT_FOUND: ("3204", "Party not found"),
    "Invalid data": ("3100", "Invalid data"),
    "Invalid amount": ("3100", "Invalid amount"),
    "Payment mode not configured": ("404", "Payment mode not configured"),
    LOOKUP_FAILURE: ("404", LOOKUP_FAILURE),
}
ERROR_FORMATS = ("mojaloop", "text")
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
_ZEEBE_KEY_BASE = 2251799813685248  # partition 1 of a Zeebe cluster (1 << 51)
_DEDUP_FIELDS = ("payee_identifier", "payee_identifier_type", "amount", "currency")


def _fake_jwt(claims: dict) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    header = part(b'{"alg":"RS256","typ":"JWT"}')
    body = part(json.dumps(claims).encode())
    return f"{header}.{body}.{part(secrets.token_bytes(64))}"


def never_start_rule(value) -> Callable[[str, int], bool]:
    """``(correlation_id, n) -> bool`` from ``never_start``: None (never), an
    int N (the Nth accepted submission, from 1), a correlation id or a
    collection of them, or a callable taking the correlation id."""
    if value is None:
        return lambda _cid, _n: False
    if isinstance(value, bool):
        raise ValueError("never_start must be None, an int, ids or a callable")
    if isinstance(value, int):
        return lambda _cid, n: n == value
    if callable(value):
        return lambda cid, _n: bool(value(cid))
    if isinstance(value, str):
        return lambda cid, _n: cid == value
    if isinstance(value, Iterable):
        ids = frozenset(value)
        return lambda cid, _n: cid in ids
    raise ValueError("never_start must be None, an int, ids or a callable")


def _reason(problem: str, error_format: str) -> str:
    if error_format == "text":
        return problem
    code, description = _MOJALOOP_ERRORS.get(problem, ("3100", problem))
    nested = {"errorInformation": {"errorCode": code, "errorDescription": description}}
    return json.dumps(nested, separators=(",", ":"))


class ServerState(OpsViews, BudgetFlow):
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
        keep_correlation_id: bool = False,
        sub_batch_size: int = 5,
        error_format: str = "mojaloop",
        exception_payee_suffixes=(),
        exception_polls: int = 3,
        stuck_payee_suffixes=(),
        never_start=None,
        budget_accounts=None,
        lookup_tenants=(),
        mapper_payees=None,
        reject_budget=None,
        approvals_in_view=False,
    ):
        if id_field not in ID_FIELDS:
            raise ValueError(f"id_field must be one of {ID_FIELDS}")
        if error_format not in ERROR_FORMATS:
            raise ValueError(f"error_format must be one of {ERROR_FORMATS}")
        if sub_batch_size < 0:
            raise ValueError("sub_batch_size must be 0 (off) or positive")
        self.lock = threading.RLock()
        self.import_delay_polls = import_delay_polls
        self.settle_polls = settle_polls
        self.id_field = id_field
        self.fail_payee_suffixes = tuple(fail_payee_suffixes)
        self.token_ttl = token_ttl
        self.queue_callbacks = queue_callbacks
        self.channel_dedup = channel_dedup
        self.keep_correlation_id = keep_correlation_id
        self.sub_batch_size = sub_batch_size
        self.error_format = error_format
        self.exception_payee_suffixes = tuple(exception_payee_suffixes)
        self.exception_polls = exception_polls
        self.stuck_payee_suffixes = tuple(stuck_payee_suffixes)
        self._never_start = never_start_rule(never_start)
        self.budget_accounts = budget_account_rule(budget_accounts)
        self.lookup_tenants = frozenset(lookup_tenants)
        self.mapper_payees = {str(k): dict(v) for k, v in (mapper_payees or {}).items()}
        self._reject_budget = never_start_rule(reject_budget)
        self.approvals_in_view = approvals_in_view
        self._batches: dict[str, BatchRecord] = {}
        self._seq = 0
        self._accepted = 0
        self._tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self._refresh_tokens: set[str] = set()
        self._faults = collections.defaultdict(collections.deque)
        self._requests: list[tuple] = []
        self._callbacks: list[tuple] = []
        self._sent_callbacks: list[dict] = []

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _zeebe_key(self) -> int:
        return _ZEEBE_KEY_BASE + self._next_seq()

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
        """Record an accepted batch and plan what PHEE makes of it."""
        lines = java_lines(csv_text)[1:]
        rows = [parse_row(line) for line in lines]
        with self.lock:
            self._accepted += 1
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
                callback_url=callback_url,
                job_key=str(self._zeebe_key()),
                instance_key=self._zeebe_key(),
                started=not self._never_start(correlation_id, self._accepted),
                field_counts=[len(line.split(",")) for line in lines],
            )
            self._replace_payer(record, record.field_counts)
            if record.started:
                self._plan(record)
            self._batches[record.batch_id] = record
            if record.started and self.import_delay_polls <= 0:
                self._import(record)
            return record

    def _plan(self, record: BatchRecord) -> None:
        """Dedup, split, and each row's transfer and outcome (see module doc)."""
        previous = (
            self._used_request_ids(record.tenant) if self.channel_dedup else set()
        )
        unknown = self._look_up(record)
        seen, kept, duplicates = set(), [], []
        for index, row in enumerate(record.rows):
            # String.format("%s%s%s%s", ...): no separator, null as "null"
            key = "".join("null" if row[k] is None else row[k] for k in _DEDUP_FIELDS)
            if key in seen:
                duplicates.append(row)
            else:
                seen.add(key)
                kept.append((index, row))
        record.transfers = [self._importer_transfer(record, r) for r in duplicates]
        size = self.sub_batch_size
        split = size > 0 and len(kept) > size
        chunks = (
            [kept[i : i + size] for i in range(0, len(kept), size)] if split else [kept]
        )
        record.table = [self._parent_row(record)]
        if not self._approve(record, unknown, kept):
            return  # the budget was refused: no payment runs
        for number, chunk in enumerate(chunks, 1):
            key = record.batch_id
            if split:
                sub = self._sub_batch_row(record, number, [r for _i, r in chunk])
                record.table.append(sub)
                record.parent.request_file = sub.request_file
                key = sub.sub_batch_id
            for index, row in chunk:
                mojaloop = (row["payment_mode"] or "").lower() == "mojaloop"
                if mojaloop and row["request_id"] in previous:
                    continue  # the channel rejects the repeated X-CorrelationID
                if split:
                    row = self._reread(row, record.field_counts[index])
                transfer = self._channel_transfer(record, row, index, key)
                if index in unknown:
                    transfer.outcome = (
                        "FAILED",
                        _reason(LOOKUP_FAILURE, self.error_format),
                    )
                record.transfers.append(transfer)

    def _listed_correlation_id(self, record: BatchRecord) -> str:
        return record.correlation_id if self.keep_correlation_id else record.job_key

    def _parent_row(self, record: BatchRecord) -> BatchRow:
        """The importer's row from the workflow variables (importer-rdbms
        application-local.yml, flow ``bulk_processor``): batchId, payerFsp from
        ``tenantId``, requestFile from ``filename``, registeringInstitutionId
        from ``registeringInstituteId`` (a null variable arrives as the JSON
        text ``null``, so the row holds the string "null"), correlationId from
        ``clientCorrelationId``. Its requestId, note and paymentMode come from a
        ``transactionList`` variable the processor never sets: null."""
        institution = record.headers.get("x-registering-institution-id")
        return BatchRow(
            id=self._next_seq(),
            batch_id=record.batch_id,
            sub_batch_id=None,
            request_id=None,
            request_file=record.request_file,
            correlation_id=self._listed_correlation_id(record),
            payment_mode=None,
            registering_institution_id="null" if institution is None else institution,
            payer_fsp=record.tenant,
            started_at=record.created_at,
            workflow_instance_key=record.instance_key,
        )

    def _sub_batch_row(self, record: BatchRecord, number: int, rows) -> BatchRow:
        """SplittingRoute's SubBatchEntity: requestId = X-CorrelationID,
        correlationId = the clientCorrelationId variable (already the job key),
        payerFsp = the ``payerIdentifier`` variable (null without a budget
        account), mode of its first row, every row ongoing."""
        total = sum(int(amount_of(r["amount"])) for r in rows)
        sub = BatchRow(
            id=self._next_seq(),
            batch_id=record.batch_id,
            sub_batch_id=str(uuid.uuid4()),
            request_id=record.correlation_id,
            request_file=f"{uuid.uuid4()}_sub-batch-{number}.csv",
            correlation_id=self._listed_correlation_id(record),
            payment_mode=rows[0]["payment_mode"],
            registering_institution_id=record.headers.get(
                "x-registering-institution-id"
            ),
            payer_fsp=None,
            started_at=record.created_at,
            approved_amount=0,
            approved_count=0,
        )
        sub.set_counters(
            {
                **dict.fromkeys(COUNTERS, 0),
                "total_transactions": len(rows),
                "ongoing": len(rows),
                "total_amount": total,
                "ongoing_amount": total,
            }
        )
        return sub

    def _used_request_ids(self, tenant: str) -> set:
        return {
            r["request_id"]
            for b in self._batches.values()
            if b.tenant == tenant and b.started
            for r in b.rows
        }

    def _new_transfer(self, record, row, *, ids, outcome, batch_id) -> Transfer:
        return Transfer(
            id=self._next_seq(),
            workflow_instance_key=str(self._zeebe_key()),
            transaction_id=ids[0],
            client_correlation_id=ids[1],
            batch_id=batch_id,
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
            batch_id=record.batch_id,
        )
        transfer.finish(record.created_at)
        return transfer

    def _channel_transfer(self, record, row, index, batch_id) -> Transfer:
        """A row run by the channel: request_id comes back per ``id_field``."""
        problem = row_problem(row)
        payee = row["payee_identifier"] or ""
        stuck = exception = False
        if problem is None:
            stuck = payee.endswith(self.stuck_payee_suffixes)
            exception = not stuck and payee.endswith(self.exception_payee_suffixes)
            if not (stuck or exception) and payee.endswith(self.fail_payee_suffixes):
                problem = PAYEE_NOT_FOUND
        outcome = ("COMPLETED", None)
        if problem:
            outcome = ("FAILED", _reason(problem, self.error_format))
        in_transaction = self.id_field == "transaction" or (
            self.id_field == "alternate" and index % 2 == 1
        )
        generated = str(uuid.uuid4())
        ids = (
            (row["request_id"], generated)
            if in_transaction
            else (generated, row["request_id"])
        )
        transfer = self._new_transfer(
            record, row, ids=ids, outcome=outcome, batch_id=batch_id
        )
        transfer.stuck = stuck
        transfer.exception_polls = max(self.exception_polls, 1) if exception else 0
        return transfer

    def _import(self, record: BatchRecord) -> None:
        """The importer has the batch rows. Unlike PHEE, whose parent row has
        null counters until the first aggregate, the sandbox fills them now."""
        record.imported = True
        subs = record.sub_batches
        if subs:
            values = {k: sum(getattr(b, k) for b in subs) for k in COUNTERS}
        else:
            values = aggregate(record.transfers)
        record.parent.set_counters(values)
        if self.settle_polls <= 0:
            self._settle(record)
            record.settled_unseen = True

    def _settle(self, record: BatchRecord) -> None:
        at = now_ms()
        for transfer in record.transfers:
            if transfer.status == "IN_PROGRESS":
                transfer.finish(at)
        record.settled = True
        parent = self._recompute(record)  # the bulk processor's own aggregate poll
        if self.queue_callbacks and record.callback_url:
            total = parent.total_transactions
            rate = parent.completed * 100 // total if total else 0
            body = {
                "clientCorrelationId": parent.correlation_id,
                "batchId": record.batch_id,
                "message": f"The Batch Aggregation API was complete with : {rate}",
            }
            self._callbacks.append((record.callback_url, body))

    @staticmethod
    def _recompute(record: BatchRecord) -> BatchRow:
        """``GET /batch/{id}`` (BatchApi.generateDetails): every row of the
        batch table is re-aggregated from the transfers carrying its id and
        saved (completedAt stamped); with sub-batches the parent is then the
        sum of the sub-batch rows, so transfers stored under the parent id
        (duplicates) drop out of the counters. The result file is written only
        when every transfer has a completedAt (createDetailsFile fails on a
        null one and returns null)."""
        at = now_ms()
        for row in record.table:
            transfers = record.transfers_of(row.key)
            if not row.result_file and all(t.completed_at for t in transfers):
                row.result_file = f"{at}_response.csv"
            row.save(aggregate(transfers), at)
        if record.sub_batches:
            sums = {k: sum(getattr(b, k) for b in record.sub_batches) for k in COUNTERS}
            record.parent.save(sums, at)
        return record.parent

    def poll(self, tenant: str, batch_id: str | None) -> BatchRecord | None:
        """Account one ops call about a batch; the record once it is imported."""
        with self.lock:
            record = self._batches.get(batch_id)
            if record is None or record.tenant != tenant or not record.started:
                return None
            if not record.imported:
                if record.polls < self.import_delay_polls:
                    record.polls += 1
                    return None
                self._import(record)
            if record.settled and record.settled_unseen:
                record.settled_unseen = False
            elif record.settled:
                at = now_ms()
                for transfer in record.transfers:
                    transfer.after_incident_poll(at)
            elif record.settle_polls >= self.settle_polls:
                self._settle(record)
            record.settle_polls += 1
            return record

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
