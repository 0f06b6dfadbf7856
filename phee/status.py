"""Interpretation of PHEE batch summaries and transfer records."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from .const import FINAL_TRANSFER_OUTCOMES, TRANSFER_STATUS_MAPPING
from .errors import PheeResponseError, describe_error_body

_logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1)
_MAX_REASON = 500
_BATCH_ID = re.compile(r"[A-Za-z0-9._-]+")


def map_transfer_status(raw) -> tuple[str | None, bool]:
    """PHEE transfer status -> (outcome, final), outcome one of
    ``TRANSFER_STATUS_MAPPING``'s values.

    Unknown values give ``(None, False)`` and a warning.
    """
    key = str(raw or "").strip().upper()
    if key not in TRANSFER_STATUS_MAPPING:
        if key:
            _logger.warning("Unknown PHEE transfer status %r", key[:40])
        return None, False
    status = TRANSFER_STATUS_MAPPING[key]
    return status, status in FINAL_TRANSFER_OUTCOMES


def _decimal(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def epoch_ms_to_datetime(value) -> datetime | None:
    """Epoch milliseconds (number or numeric text) -> naive UTC datetime."""
    ms = _decimal(value)
    if ms is None:
        return None
    try:
        return _EPOCH + timedelta(milliseconds=int(ms))
    except OverflowError:
        return None


def _reason(transfer: dict) -> str | None:
    info = transfer.get("errorInformation")
    if isinstance(info, (dict, list)):  # /api/v1/transfers returns a PhErrorDTO
        info = json.dumps(info)
    if isinstance(info, str) and info.strip():
        code, message = describe_error_body(None, info)
        if message or code:
            return (message or code)[:_MAX_REASON]
    detail = transfer.get("statusDetail")
    if isinstance(detail, str) and detail.strip():
        return " ".join(detail.split())[:_MAX_REASON]
    return None


@dataclass(frozen=True)
class TransferOutcome:
    """What PHEE says about the transfer of one row."""

    request_id: str
    phee_status: str
    status: str | None
    final: bool
    amount: Decimal | None
    completed_at: datetime | None
    reason: str | None
    transaction_id: str | None

    @classmethod
    def from_transfer(cls, request_id: str, transfer: dict) -> TransferOutcome:
        """Build from a PHEE Transfer record (``/batch/detail`` or ``/transfers``)."""
        raw = str(transfer.get("status") or "").strip().upper()
        status, final = map_transfer_status(raw)
        tid = transfer.get("transactionId")
        return cls(
            request_id=request_id,
            phee_status=raw,
            status=status,
            final=final,
            amount=_decimal(transfer.get("amount")),
            completed_at=epoch_ms_to_datetime(transfer.get("completedAt")),
            reason=None if status == "paid" else _reason(transfer),
            transaction_id=str(tid) if tid is not None else None,
        )


def _rank(outcome: TransferOutcome) -> int:
    # COMPLETED wins, then anything not final, then failed.
    if outcome.status == "paid":
        return 0
    return 1 if not outcome.final else 2


def pick_transfer(request_id: str, transfers: Iterable[dict]) -> dict | None:
    """The transfer that decides the outcome of ``request_id`` (precedence rule of
    :func:`match_transfers`), or None."""
    best, best_rank = None, 3
    for transfer in transfers:
        ids = (transfer.get("clientCorrelationId"), transfer.get("transactionId"))
        if request_id not in {str(i) for i in ids if i is not None}:
            continue
        rank = _rank(TransferOutcome.from_transfer(request_id, transfer))
        if rank < best_rank:
            best, best_rank = transfer, rank
    return best


def match_transfers(
    request_ids: Iterable[str], transfers: Iterable[dict]
) -> dict[str, TransferOutcome]:
    """Outcome per request id, matching both ``clientCorrelationId`` and
    ``transactionId``. Request ids without a transfer are absent from the result.
    """
    wanted = {str(r) for r in request_ids}
    result: dict[str, TransferOutcome] = {}
    for transfer in transfers:
        if not isinstance(transfer, dict):
            continue
        keys = {transfer.get("clientCorrelationId"), transfer.get("transactionId")}
        for key in keys:
            if key is None or str(key) not in wanted:
                continue
            outcome = TransferOutcome.from_transfer(str(key), transfer)
            current = result.get(outcome.request_id)
            if current is None or _rank(outcome) < _rank(current):
                result[outcome.request_id] = outcome
    return result


def _int(value) -> int:
    number = _decimal(value)
    return int(number) if number is not None else 0


@dataclass(frozen=True)
class BatchSummary:
    """Counters of ``GET /api/v1/batch/{batchId}`` (BatchDTO)."""

    batch_id: str | None
    correlation_id: str | None
    total: int
    ongoing: int
    failed: int
    successful: int
    total_amount: Decimal
    successful_amount: Decimal
    failed_amount: Decimal
    pending_amount: Decimal
    status: str | None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, d) -> BatchSummary:
        """Tolerant parse: missing or bad numbers count as 0."""
        if not isinstance(d, dict):
            raise PheeResponseError("PHEE batch summary is not a JSON object")

        def text(key):
            value = d.get(key)
            return str(value) if value is not None else None

        def amount(key):
            return _decimal(d.get(key)) or Decimal(0)

        return cls(
            batch_id=text("batchId"),
            correlation_id=text("correlationId"),
            total=_int(d.get("total")),
            ongoing=_int(d.get("ongoing")),
            failed=_int(d.get("failed")),
            successful=_int(d.get("successful")),
            total_amount=amount("totalAmount"),
            successful_amount=amount("successfulAmount"),
            failed_amount=amount("failedAmount"),
            pending_amount=amount("pendingAmount"),
            status=text("status"),
            raw=dict(d),
        )

    @property
    def settled(self) -> bool:
        """Nothing ongoing and every transfer counted as successful or failed."""
        return (
            self.total > 0
            and self.ongoing == 0
            and self.successful + self.failed == self.total
        )


def batch_id_from_polling_path(path) -> str:
    """Batch id from the 202 ``PollingPath`` (``/batch/Summary/<batchId>``)."""
    if not isinstance(path, str):
        raise PheeResponseError("PHEE accepted the batch but sent no PollingPath")
    segments = [s for s in path.split("?", 1)[0].split("/") if s.strip()]
    batch_id = segments[-1].strip() if segments else ""
    if not _BATCH_ID.fullmatch(batch_id) or batch_id.lower() == "summary":
        raise PheeResponseError("PHEE sent a PollingPath without a batch id")
    return batch_id
