"""Interpretation of PHEE batch summaries and transfer records."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from . import safe_json
from .const import FINAL_TRANSFER_OUTCOMES, TRANSFER_STATUS_MAPPING
from .errors import PheeResponseError

_logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1)
_MAX_REASON = 500
_MAX_REASON_CODE = 64
_MAX_NUMBER_TEXT = 40
_MAX_NUMBER_DIGITS = 15  # amounts, counts and epoch ms stay below 10^15
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
    """Finite Decimal of a number or numeric text; None when missing or not a
    number. Raises PheeResponseError beyond ±10^15 or for an absurdly long text,
    refused before any costly conversion (``1e1000000`` is cheap as a Decimal,
    ruinous as an int)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (dict, list)):
        raise PheeResponseError("PHEE sent a list or object where a number belongs")
    text = str(value).strip()
    if len(text) > _MAX_NUMBER_TEXT:
        raise PheeResponseError("PHEE sent a number too long to be real")
    try:
        result = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not result.is_finite():
        return None
    if result and result.adjusted() >= _MAX_NUMBER_DIGITS:
        raise PheeResponseError("PHEE sent a number beyond any real amount or count")
    return result


def epoch_ms_to_datetime(value) -> datetime | None:
    """Epoch milliseconds (number or numeric text) -> naive UTC datetime; None
    for anything else."""
    try:
        ms = _decimal(value)
        return None if ms is None else _EPOCH + timedelta(milliseconds=int(ms))
    except (PheeResponseError, OverflowError):
        return None


def _text(value, what: str) -> str | None:
    """A scalar field as text; a list or object there makes the answer malformed."""
    if value is None:
        return None
    if isinstance(value, (dict, list, bool)):
        raise PheeResponseError(f"PHEE sent a malformed {what}")
    return str(value)


def _one_line(value, limit: int) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    return " ".join(str(value).split())[:limit] or None


def _error_fields(info) -> tuple[str | None, str | None]:
    """``(errorCode, errorDescription)`` of a nested Mojaloop
    ``{"errorInformation": {...}}``, a flat or PhErrorDTO object, or nothing."""
    if isinstance(info, dict) and isinstance(info.get("errorInformation"), dict):
        info = info["errorInformation"]
    if not isinstance(info, dict):
        return None, None
    description = next(
        filter(
            None,
            (
                _one_line(info.get(key), _MAX_REASON)
                for key in ("errorDescription", "defaultUserMessage", "message")
            ),
        ),
        None,
    )
    return _one_line(info.get("errorCode"), _MAX_REASON_CODE), description


def failure_reason(transfer: dict) -> tuple[str | None, str | None]:
    """``(reason_code, reason)`` of a transfer, never raising.

    ``errorInformation`` is, per row kind: a JSON string of the nested Mojaloop
    shape ``{"errorInformation": {"errorCode", "errorDescription"}}`` (channel
    rows, connector-channel ZeebeWorkers), a flat ``{errorCode,
    errorDescription}``, plain text such as ``Duplicate transaction.`` (rows the
    importer writes from the CSV note), or, from ``/api/v1/transfers``, an object
    already parsed. The reason is the description, else the code, else the raw
    text; ``statusDetail`` is the fallback.
    """
    info, raw = transfer.get("errorInformation"), None
    if isinstance(info, (int, float)) and not isinstance(info, bool):
        info = str(info)
    if isinstance(info, str):
        raw = _one_line(info, _MAX_REASON)
        try:
            info = safe_json.loads(info) if raw and raw[0] in '{["' else None
        except safe_json.UnsafeJSONError:
            info = None
        if isinstance(info, str):  # a JSON string literal holding the text
            raw, info = _one_line(info, _MAX_REASON), None
    code, description = _error_fields(info)
    reason = description or code or raw
    if reason is None:
        reason = _one_line(transfer.get("statusDetail"), _MAX_REASON)
    return code, reason


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
    reason_code: str | None = None  # e.g. Mojaloop "3204"
    currency: str | None = None
    payee_party_id: str | None = None

    @classmethod
    def from_transfer(cls, request_id: str, transfer: dict) -> TransferOutcome:
        """Build from a PHEE Transfer record (``/batch/detail`` or ``/transfers``).

        Raises PheeResponseError for a malformed record (a list where the status
        or an id belongs, an amount beyond 10^15)."""
        raw = (_text(transfer.get("status"), "transfer status") or "").strip().upper()
        status, final = map_transfer_status(raw)
        code, reason = (None, None) if status == "paid" else failure_reason(transfer)
        return cls(
            request_id=request_id,
            phee_status=raw,
            status=status,
            final=final,
            amount=_decimal(transfer.get("amount")),
            completed_at=epoch_ms_to_datetime(transfer.get("completedAt")),
            reason=reason,
            transaction_id=_text(transfer.get("transactionId"), "transaction id"),
            reason_code=code,
            currency=_text(transfer.get("currency"), "currency"),
            payee_party_id=_text(transfer.get("payeePartyId"), "payee party id"),
        )


def transfer_ids(transfer: dict) -> set[str]:
    """The ids a row's ``request_id`` may be stored under: ``clientCorrelationId``
    (rows the channel ran) and ``transactionId`` (rows the importer wrote)."""
    ids = (transfer.get("clientCorrelationId"), transfer.get("transactionId"))
    return {_text(i, "transfer id") for i in ids if i is not None}


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
        if request_id not in transfer_ids(transfer):
            continue
        rank = _rank(TransferOutcome.from_transfer(request_id, transfer))
        if rank < best_rank:
            best, best_rank = transfer, rank
    return best


def match_transfers(
    request_ids: Iterable[str], transfers: Iterable[dict]
) -> dict[str, TransferOutcome]:
    """Outcome per request id, matching both ``clientCorrelationId`` and
    ``transactionId``. Request ids without a transfer are absent from the result;
    a malformed transfer of ours raises PheeResponseError.
    """
    wanted = {str(r) for r in request_ids}
    result: dict[str, TransferOutcome] = {}
    for transfer in transfers:
        if not isinstance(transfer, dict):
            continue
        for key in transfer_ids(transfer) & wanted:
            outcome = TransferOutcome.from_transfer(key, transfer)
            current = result.get(key)
            if current is None or _rank(outcome) < _rank(current):
                result[key] = outcome
    return result


@dataclass(frozen=True)
class BatchRows:
    """How the rows PHEE holds for a batch compare with a set of request ids.

    A row is ours when either of its ids is one of ours: the other id is PHEE's
    own (a generated transactionId, or a random clientCorrelationId).
    """

    ours: frozenset[str]  # our request ids among the rows
    foreign: int  # rows none of whose ids is ours
    complete: bool  # False when a limit stopped the reading early

    @property
    def only_ours(self) -> bool:
        """Every row was read, at least one is ours, and none is another's."""
        return self.complete and self.foreign == 0 and bool(self.ours)


def compare_rows(
    request_ids: Iterable[str], transfers: Iterable[dict], *, complete: bool = True
) -> BatchRows:
    """Compare a batch's transfers with ``request_ids`` (see :class:`BatchRows`)."""
    wanted = {str(r) for r in request_ids}
    ours, foreign = set(), 0
    for transfer in transfers:
        found = transfer_ids(transfer) & wanted
        ours |= found
        foreign += not found
    return BatchRows(frozenset(ours), foreign, complete)


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
        """Missing or non-numeric counters count as 0; a list where text belongs
        or a number beyond 10^15 raises PheeResponseError."""
        if not isinstance(d, dict):
            raise PheeResponseError("PHEE batch summary is not a JSON object")

        def text(key):
            return _text(d.get(key), "batch summary")

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
