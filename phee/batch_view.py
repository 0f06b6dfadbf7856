"""PHEE's own view of a batch: approvals, sub-batches, instructions, result file.

``GET /api/v1/batches/{batchId}`` (ops-app BatchApi.getBatchAndSubBatchSummary,
BatchServiceImpl) needs the header ``X-Correlation-ID`` (any value). Its
``approvedAmount``/``approvedTransactionCount`` are the *sums over the
sub-batch rows* (the parent's own values are overwritten after the loop), and
the bulk processor creates sub-batch rows with 0 approved (SubBatchEntity):
a stock PHEE therefore reports 0 here whatever it approved. With
``associations=all`` it answers a PaymentBatchDetail whose ``instructionList``
holds one entry per transfer (``instructionId`` = the transfer's
``transactionId``); stock generateInstructionList leaves ``reason`` empty.

``GET /api/v1/batch/detail?batchId=&command=download`` answers 302 to the
batch's ``result_file`` (404 while there is none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote, urljoin, urlsplit

from .errors import PheeNotFoundError, PheeResponseError, batch_problem
from .status import _decimal, _int, _one_line, _text

_MAX_SUB_BATCHES = 10_000
_MAX_FILE_NAME = 200


@dataclass(frozen=True)
class SubBatchSummary:
    """One entry of ``subBatchSummaryList`` (ops-app SubBatchSummary)."""

    sub_batch_id: str | None
    status: str | None
    total: int
    successful: int
    failed: int
    ongoing: int
    total_amount: Decimal
    approved_amount: Decimal | None
    approved_count: int | None

    @classmethod
    def from_json(cls, d) -> SubBatchSummary:
        if not isinstance(d, dict):
            raise PheeResponseError("PHEE sub-batch summary is not a JSON object")
        approved_count = _decimal(d.get("approvedTransactionCount"))
        return cls(
            sub_batch_id=_text(d.get("subBatchId"), "sub-batch summary"),
            status=_text(d.get("status"), "sub-batch summary"),
            total=_int(d.get("total")),
            successful=_int(d.get("successful")),
            failed=_int(d.get("failed")),
            ongoing=_int(d.get("ongoing")),
            total_amount=_decimal(d.get("totalAmount")) or Decimal(0),
            approved_amount=_decimal(d.get("approvedAmount")),
            approved_count=None if approved_count is None else int(approved_count),
        )

    def to_dict(self) -> dict:
        """JSON-safe values (amounts as text)."""
        return {
            "sub_batch_id": self.sub_batch_id,
            "status": self.status,
            "total": self.total,
            "successful": self.successful,
            "failed": self.failed,
            "ongoing": self.ongoing,
            "total_amount": str(self.total_amount),
            "approved_amount": None
            if self.approved_amount is None
            else str(self.approved_amount),
            "approved_count": self.approved_count,
        }


@dataclass(frozen=True)
class BatchView:
    """``GET /api/v1/batches/{batchId}`` (BatchAndSubBatchSummaryResponse)."""

    batch_id: str | None
    status: str | None
    approved_amount: Decimal
    approved_count: int
    total_sub_batches: int
    sub_batches: tuple[SubBatchSummary, ...] = ()
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, d) -> BatchView:
        if not isinstance(d, dict):
            raise PheeResponseError("PHEE batch view is not a JSON object")
        subs = d.get("subBatchSummaryList") or []
        if not isinstance(subs, list) or len(subs) > _MAX_SUB_BATCHES:
            raise PheeResponseError("PHEE batch view has a malformed sub-batch list")
        return cls(
            batch_id=_text(d.get("batchId"), "batch view"),
            status=_text(d.get("status"), "batch view"),
            approved_amount=_decimal(d.get("approvedAmount")) or Decimal(0),
            approved_count=_int(d.get("approvedTransactionCount")),
            total_sub_batches=_int(d.get("totalSubBatches")),
            sub_batches=tuple(SubBatchSummary.from_json(s) for s in subs),
            raw=dict(d),
        )


def instruction_reasons(body) -> dict[str, str]:
    """``{instructionId: reason}`` of a PaymentBatchDetail's ``instructionList``,
    for the instructions that carry a reason."""
    if not isinstance(body, dict):
        raise PheeResponseError("PHEE batch detail is not a JSON object")
    instructions = body.get("instructionList") or []
    if not isinstance(instructions, list):
        raise PheeResponseError("PHEE batch detail has a malformed instruction list")
    reasons = {}
    for item in instructions:
        if not isinstance(item, dict):
            raise PheeResponseError("PHEE batch detail has a malformed instruction")
        instruction_id = _one_line(item.get("instructionId"), 200)
        reason = _one_line(item.get("reason"), 500)
        if instruction_id and reason:
            reasons[instruction_id] = reason
    return reasons


class BatchViews:
    """Calls on PHEE's batch view, mixed into :class:`.client.PheeClient`: they
    use its ``config``, ``_ops_get``, ``_ops_headers``, ``_request``, ``_json``
    and ``_ops_base``."""

    def _batch_view_url(self, batch_id: str) -> str:
        if not batch_id:
            raise batch_problem("batch_id", "is missing")
        return f"{self._ops_base()}/batches/{quote(batch_id, safe='')}"

    def get_batch_view(self, batch_id: str, correlation_id: str) -> BatchView | None:
        """PHEE's batch and sub-batch summary; None while PHEE has no such batch."""
        answer = self._ops_get(
            self._batch_view_url(batch_id),
            headers={"X-Correlation-ID": correlation_id or batch_id},
            expected=(200, 404),
        )
        if answer.status_code == 404:
            return None
        return BatchView.from_json(self._json(answer, "batch view"))

    def get_instruction_reasons(
        self, batch_id: str, correlation_id: str, *, limit: int = 1000
    ) -> dict[str, str]:
        """``{instructionId: reason}`` from ``associations=all`` (each sub-batch
        lists at most ``limit`` instructions)."""
        answer = self._ops_get(
            self._batch_view_url(batch_id),
            headers={"X-Correlation-ID": correlation_id or batch_id},
            params={"associations": "all", "offset": 0, "limit": limit},
            expected=(200, 404),
        )
        if answer.status_code == 404:
            return {}
        return instruction_reasons(self._json(answer, "batch detail"))

    def download_result_file(self, batch_id: str) -> tuple[str, bytes]:
        """``(file name, content)`` of PHEE's result file for the batch.

        The ops app answers 302 to the file (often object storage on another
        host): the ops app's token and tenant go only to the ops app's own
        origin. Raises PheeNotFoundError while PHEE has no result file.
        """
        if not batch_id:
            raise batch_problem("batch_id", "is missing")
        url = self.config.details_endpoint_url
        answer = self._ops_get(
            url,
            params={"batchId": batch_id, "command": "download"},
            expected=(301, 302, 303, 307, 404),
            allow_redirects=False,
        )
        location = answer.location if answer.status_code != 404 else None
        if not location:
            raise PheeNotFoundError(
                "PHEE has no result file for this batch yet", http_status=404
            )
        target = urljoin(url, location)
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PheeResponseError("PHEE's result file is not at an http(s) URL")
        same_origin = (parts.scheme, parts.netloc) == urlsplit(url)[:2]
        file_answer = self._request(
            "GET",
            target,
            headers=self._ops_headers() if same_origin else {},
            allow_redirects=False,
        )
        name = parts.path.rsplit("/", 1)[-1][-_MAX_FILE_NAME:] or f"{batch_id}.csv"
        return name, file_answer.content
