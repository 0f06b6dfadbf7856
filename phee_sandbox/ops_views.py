"""What the operations app answers from stored batches (part of ``ServerState``).

Batch summaries, the batch list, transfer pages and searches, built under the
state lock from the batch table (a parent row and one row per sub-batch) and
the transfers, as openMF/ph-ee-operations-app builds them: api/BatchApi.java,
service/BatchServiceImpl.java, service/BatchDbServiceImpl.java,
operations/BatchRepository.java, operations/TransferRepository.java and
api/OperationsDetailedApi.java. Mixed into ``ServerState``: uses its ``lock``,
``_batches`` and ``_recompute``.
"""

from __future__ import annotations

import math
from datetime import datetime

from .java import (
    floor_percent,
    java_double,
    java_string,
    page_impl,
    spring_page,
    sql_like,
)
from .records import BatchRecord, BatchRow

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
        "approvedAmount",
        "approvedCount",
        "workflowKey",
        "workflowInstanceKey",
        "resultGeneratedAt",
    )
)
_STATUS_FILTERS = ("COMPLETED", "IN_PROGRESS", "FAILED")


class OpsError(Exception):
    """A request the ops app would refuse; carries the HTTP status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _ratio(part, total) -> float:
    return (part or 0) / total * 100 if total else math.nan


def _modes(record: BatchRecord) -> str:
    """``generateDetails``: the rows' payment modes, joined with commas,
    skipping nulls and any already *contained* in the text so far."""
    modes = ""
    for row in record.table:
        if row.payment_mode is not None and row.payment_mode not in modes:
            modes += ("," if modes else "") + row.payment_mode
    return modes


def _status_text(status: str | None) -> str:
    """``String.valueOf(batch.getStatus())``."""
    return "null" if status is None else status


class OpsViews:
    """The ops app's read side of ``ServerState``; every public method locks."""

    def summary(self, record: BatchRecord) -> dict:
        """BatchDTO of ``GET /api/v1/batch/{id}`` (recomputes first).

        The recompute always stamps completedAt, so the status reads ``Failed``
        whenever not every transfer is COMPLETED, even while some are ongoing
        (BatchApi.getBatchSummary: ``failed == failed`` is always true).
        """
        with self.lock:
            parent = self._recompute(record)
            status = "Failed"
            if parent.completed == parent.total_transactions:
                status = "COMPLETED"
            dto = self._batch_dto(parent, status, java_double)
            dto.update(
                createdAt=parent.created_at(),
                modes=_modes(record),
                purpose="Unknown purpose",
            )
            return dto

    def stored_summary(self, record: BatchRecord) -> dict:
        """BatchDTO of ``GET /api/v1/batch?batchId=`` (no recompute;
        generateBatchSummaryResponse sets no createdAt, modes or purpose)."""
        with self.lock:
            s = record.parent
            if s.total_transactions is not None and (
                s.completed == s.total_transactions
            ):
                status = "COMPLETED"
            elif s.ongoing and s.completed_at is None:
                status = "Pending"
            else:
                status = "UNKNOWN"
            if s.total_transactions is None:
                return self._batch_dto(s, status, lambda _v: "0")
            return self._batch_dto(s, status, floor_percent)

    @staticmethod
    def _batch_dto(s: BatchRow, status: str, fmt) -> dict:
        total = s.total_transactions
        return {
            "batchId": s.batch_id,
            "requestId": s.request_id,
            "total": total,
            "ongoing": s.ongoing,
            "failed": s.failed,
            "successful": s.completed,
            "totalAmount": s.total_amount or 0,
            "successfulAmount": s.completed_amount or 0,
            "pendingAmount": s.ongoing_amount or 0,
            "failedAmount": s.failed_amount or 0,
            "file": s.result_file,
            "notes": s.note,
            "createdAt": None,
            "status": status,
            "modes": None,
            "purpose": None,
            "failPercentage": fmt(_ratio(s.failed, total)),
            "successPercentage": fmt(_ratio(s.completed, total)),
            "registeringInstitutionId": s.registering_institution_id,
            "payerFsp": s.payer_fsp,
            "correlationId": s.correlation_id,
        }

    @staticmethod
    def _row_summary(row: BatchRow) -> dict:
        """Counters and stamps shared by the batch and sub-batch summaries."""
        total = row.total_transactions
        return {
            "total": total or 0,
            "ongoing": row.ongoing or 0,
            "successful": row.completed or 0,
            "failed": row.failed or 0,
            "totalAmount": row.total_amount or 0,
            "pendingAmount": row.ongoing_amount or 0,
            "successfulAmount": row.completed_amount or 0,
            "failedAmount": row.failed_amount or 0,
            "failedPercentage": floor_percent(_ratio(row.failed, total))
            if total is not None
            else "0",
            "successPercentage": floor_percent(_ratio(row.completed, total))
            if total is not None
            else "0",
        }

    def batch_and_sub_batches(self, record: BatchRecord) -> dict:
        """``GET /api/v1/batches/{id}`` (BatchServiceImpl.getBatchAndSubBatchSummary).

        The parent row's stored counters, and one SubBatchSummary per
        sub-batch row; ``subBatchSummaryList`` is left out without sub-batches
        (``@JsonInclude(NON_NULL)`` on a list never created), and
        ``totalInstructionCount`` counts only the transfers stored under the
        parent id (with sub-batches: the in-file duplicates).
        """
        with self.lock:
            parent = record.parent
            counts = self._row_summary(parent)
            body = {
                "batchId": parent.batch_id,
                "requestId": parent.request_id,
                "startedAt": parent.started_at,
                "completedAt": parent.completed_at,
                "registeringInstitutionId": parent.registering_institution_id,
                **{k: counts[k] for k in list(counts)[:8]},
                "file": parent.result_file,
                "notes": parent.note,
                "createdAt": parent.created_at(),
                "status": _status_text(parent.status),
                "modes": parent.payment_mode,
                "purpose": None,
                "failedPercentage": counts["failedPercentage"],
                "successPercentage": counts["successPercentage"],
                "payerFsp": parent.payer_fsp,
                "payeeFsp": None,
                "generatedBy": None,
                "generatedAt": datetime.now().isoformat(),
                "totalSubBatches": len(record.sub_batches),
                **self._approvals(record),
                "totalInstructionCount": len(record.transfers_of(parent.batch_id)),
            }
            if record.sub_batches:
                body["subBatchSummaryList"] = [
                    self._sub_batch_summary(record, b) for b in record.sub_batches
                ]
            return body

    def payment_batch_detail(self, record: BatchRecord, page: int, limit: int) -> dict:
        """``GET /api/v1/batches/{id}?associations=all`` (BatchServiceImpl
        .getPaymentBathDetail): page ``offset / limit`` of the transfers of the
        batch, or of each sub-batch, as instructions; generateInstructionList
        never sets ``reason``."""
        with self.lock:
            keys = [b.key for b in record.sub_batches] or [record.batch_id]
            instructions = []
            for key in keys:
                transfers = sorted(record.transfers_of(key), key=lambda t: t.id)
                for transfer in transfers[page * limit : (page + 1) * limit]:
                    data = transfer.to_json()
                    instructions.append(
                        {
                            "instructionId": data["transactionId"],
                            "payerFsp": data["payerDfspId"],
                            "payeeFunctionalId": data["payeePartyId"],
                            "amount": float(transfer.amount),
                            "status": data["status"],
                            "reason": None,
                            "startedAt": data["startedAt"],
                            "completedAt": data["completedAt"],
                            "subBatchId": data["batchId"],
                        }
                    )
            parent = record.parent
            return {
                "batchId": parent.batch_id,
                "payerFsp": parent.payer_fsp,
                "registeringInstitutionId": parent.registering_institution_id,
                "status": _status_text(parent.status),
                "clientCorrelationId": parent.correlation_id,
                "instructionList": instructions,
                "total": parent.total_transactions,
            }

    def _approvals(self, record: BatchRecord) -> dict:
        """The response's approvals: the sums over the sub-batch rows, which
        the processor creates with 0 (SubBatchEntity), so 0 on a stock PHEE;
        with ``approvals_in_view`` the parent row's, as PHEE recorded them."""
        rows = [record.parent] if self.approvals_in_view else record.sub_batches
        return {
            "approvedTransactionCount": sum(b.approved_count or 0 for b in rows),
            "approvedAmount": sum(b.approved_amount or 0 for b in rows),
        }

    def _sub_batch_summary(self, record: BatchRecord, row: BatchRow) -> dict:
        counts = self._row_summary(row)
        return {
            "subBatchId": row.sub_batch_id,
            "batchId": row.batch_id,
            "startedAt": row.started_at,
            "completedAt": row.completed_at,
            "registeringInstitutionId": None,
            "requestId": row.request_id,
            **{k: counts[k] for k in list(counts)[:8]},
            "file": row.request_file,
            "notes": row.note,
            "createdAt": row.created_at(),
            "status": _status_text(row.status),
            "modes": row.payment_mode,
            "purpose": None,
            "failedPercentage": counts["failedPercentage"],
            "successPercentage": counts["successPercentage"],
            "payerFsp": row.payer_fsp,
            "approvedAmount": row.approved_amount,
            "approvedTransactionCount": row.approved_count,
            "payeeFspSet": sorted(
                {t.to_json()["payeeDfspId"] for t in record.transfers_of(row.key)},
                key=lambda v: (v is not None, v or ""),
            ),
            "instructionList": None,
            "budgetAccount": None,
            "generatedBy": None,
            "generatedAt": None,
            "totalInstructionCount": None,
        }

    def detail_page(
        self, record: BatchRecord | None, status: str, page: int, size: int
    ) -> dict:
        """``GET /api/v1/batch/detail``; an unknown batch is an empty page.

        COMPLETED/IN_PROGRESS/FAILED (any case) match transfers stored under
        the *parent* id only (findAllByBatchIdAndStatus); anything else, ALL
        included, with sub-batches present gives the transfers whose batchId
        is a sub-batch id (findAllByBatchIdMatchSubBatchId), so rows stored
        under the parent (duplicates) are left out; without sub-batches, the
        parent's transfers.
        """
        with self.lock:
            transfers = []
            if record is not None:
                wanted = status.upper()
                if wanted in _STATUS_FILTERS:
                    transfers = [
                        t
                        for t in record.transfers_of(record.batch_id)
                        if t.status == wanted
                    ]
                elif record.sub_batches:
                    keys = {b.sub_batch_id for b in record.sub_batches}
                    transfers = [t for t in record.transfers if t.batch_id in keys]
                else:
                    transfers = record.transfers_of(record.batch_id)
            transfers = sorted(transfers, key=lambda t: t.id)
            return spring_page([t.to_json() for t in transfers], page, size)

    def result_file(self, batch_id: str, name: str) -> str | None:
        """The batch's result file (BatchApi.createDetailsFile): per transfer
        transactionId, status, payeeDfspId, payeePartyId, payerDfspId,
        payerPartyId, amount, currency, errorInformation, startedAt,
        completedAt, each followed by a comma; Java's ``null`` for nulls."""
        with self.lock:
            record = self._batches.get(batch_id)
            if record is None or record.parent.result_file != name:
                return None
            keys = (
                "transactionId",
                "status",
                "payeeDfspId",
                "payeePartyId",
                "payerDfspId",
                "payerPartyId",
                "amount",
                "currency",
                "errorInformation",
                "startedAt",
                "completedAt",
            )
            lines = []
            for transfer in sorted(record.transfers, key=lambda t: t.id):
                data = transfer.to_json()
                lines.append("".join(f"{java_string(data[k])}," for k in keys))
            return "".join(f"{line}\n" for line in lines)

    def transaction_statuses(self, record: BatchRecord) -> dict:
        """``GET /api/v1/batch/transactions``: transactionId -> status of the
        transfers stored under the parent id (findAllByBatchId)."""
        with self.lock:
            return {
                t.transaction_id: t.status for t in record.transfers_of(record.batch_id)
            }

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
        """``GET /api/v1/batches`` over the imported parent rows of a tenant.

        BatchRepository's queries: ``subBatchId IS NULL`` (sub-batch rows are
        never listed), ``registeringInstitutionId LIKE :p AND payerFsp LIKE :p
        AND batchId LIKE :p`` (a SQL NULL never matches LIKE, not even ``%``;
        the parent's registeringInstitutionId is the header or the text
        "null", its payerFsp the tenant), ``startedAt >= dateFrom``, ``<=
        dateTo`` or ``BETWEEN`` both (inclusive, epoch ms here). The totals
        cover every matching row, not the page; totalSubBatchesCreated is
        always 10 (BatchDbServiceImpl). ``like`` maps entity keys to SQL LIKE
        patterns; ``sort`` is (key, descending). Raises OpsError(400) for an
        unknown sort key, as the query would fail.
        """
        patterns = {key: sql_like(value) for key, value in (like or {}).items()}
        with self.lock:
            rows = [
                b.parent.entity_json()
                for b in self._batches.values()
                if b.tenant == tenant and b.imported
            ]
        rows = [
            r
            for r in rows
            if all(r[k] is not None and p.fullmatch(r[k]) for k, p in patterns.items())
            and (date_from is None or r["startedAt"] >= date_from)
            and (date_to is None or r["startedAt"] <= date_to)
        ]
        key, descending = sort
        if key not in _BATCH_SORT_KEYS:
            raise OpsError(400, f"No property {key} found for type Batch")
        # MySQL puts NULLs first in ascending order
        rows.sort(key=lambda r: (r[key] is not None, r[key] or 0), reverse=descending)
        return {
            "totalBatches": len(rows),
            "totalTransactions": sum(r["totalTransactions"] or 0 for r in rows),
            "totalAmount": sum(r["totalAmount"] or 0 for r in rows),
            "totalApprovedCount": sum(r["approvedCount"] or 0 for r in rows),
            "totalApprovedAmount": sum(r["approvedAmount"] or 0 for r in rows),
            "totalSubBatchesCreated": 10,  # hard-coded by the ops app
            "data": rows[page * limit : (page + 1) * limit],
        }

    def find_transfers(
        self, tenant: str, filters: dict, *, page: int, size: int, descending: bool
    ) -> dict:
        """``GET /api/v1/transfers``: exact-match filters on Transfer JSON keys.

        The page is ``new PageImpl<>(content, pageable, transferPage
        .getTotalPages())`` (OperationsDetailedApi.transfers): totalElements is
        the page *count*, adjusted by Spring only on the last page.
        """
        with self.lock:
            found = [
                t.to_response_json()
                for b in self._batches.values()
                if b.tenant == tenant and b.imported
                for t in b.transfers
            ]
        found = [t for t in found if all(t[k] == v for k, v in filters.items())]
        found.sort(key=lambda t: t["startedAt"], reverse=descending)
        pages = math.ceil(len(found) / size)
        return page_impl(found, page, size, pages)
