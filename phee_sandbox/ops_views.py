"""What the operations app answers from stored batches (part of ``ServerState``).

Batch summaries, the batch list, transfer pages and searches, built under the
state lock. Mixed into ``ServerState``: uses its ``lock``, ``_batches`` and
``_recompute``.
"""

from __future__ import annotations

import math
from datetime import datetime

from .java import floor_percent, java_date, java_double, spring_page, sql_like
from .records import BatchRecord

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


class OpsError(Exception):
    """A request the ops app would refuse; carries the HTTP status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _ratio(part: int, total: int) -> float:
    return part / total * 100 if total else math.nan


class OpsViews:
    """The ops app's read side of ``ServerState``; every public method locks."""

    def summary(self, record: BatchRecord) -> dict:
        """BatchDTO of ``GET /api/v1/batch/{id}`` (recomputes first).

        The recompute always stamps completedAt, so the status reads ``Failed``
        whenever not every transfer is COMPLETED, even while some are ongoing.
        """
        with self.lock:
            s = self._recompute(record)
            status = "COMPLETED" if s["completed"] == s["total"] else "Failed"
            return self._batch_dto(record, s, status, java_double)

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
            return self._batch_dto(record, s, status, floor_percent)

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
                "failedPercentage": floor_percent(_ratio(s["failed"], s["total"])),
                "successPercentage": floor_percent(_ratio(s["completed"], s["total"])),
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
        patterns = {key: sql_like(value) for key, value in (like or {}).items()}
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
