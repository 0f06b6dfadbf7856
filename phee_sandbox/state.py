"""Thread-safe state of the local PHEE server: batches, their lifecycle, faults.

Models what the bulk processor, the importer and the operations app keep:
accepted batches, their transfers, the aggregates saved by a recompute, OAuth
tokens, injected faults and a request log. Everything is guarded by one lock.
"""

from __future__ import annotations

import base64
import collections
import json
import secrets
import threading
import time
import uuid

from .java import java_lines, now_ms
from .ops_views import OpsViews
from .records import ALLOWED_COLUMNS, BatchRecord, Transfer, parse_row, row_problem

# ``verifyData`` wants this many fields per row; failing only records a note.
_VERIFY_DATA_FIELDS = len(ALLOWED_COLUMNS)
_INVALID_DATA_NOTE = "Invalid data in file data processing stopped"

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


def _fake_jwt(claims: dict) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    header = part(b'{"alg":"RS256","typ":"JWT"}')
    body = part(json.dumps(claims).encode())
    return f"{header}.{body}.{part(secrets.token_bytes(64))}"


class ServerState(OpsViews):
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
        problem = row_problem(row)
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
