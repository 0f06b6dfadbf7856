"""Finding an earlier submission after a lost answer.

On a stock PHEE the batch's ``correlationId`` is overwritten and the listing
has no correlation filter; what survives is the time the batch started and each
row's ``request_id`` once the row ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from itertools import islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import PheeConfigError, PheeResponseError, batch_problem
from .status import BatchRows, compare_rows, pick_transfer

_OPS_DATE = "%Y-%m-%d %H:%M:%S"  # ops-app DateUtil.getUTCFormat


def _utc(moment, name: str) -> datetime:
    """An aware UTC datetime; a naive one is taken as UTC (Odoo's convention)."""
    if not isinstance(moment, datetime):
        raise batch_problem(name, "must be a datetime")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


class BatchLookups:
    """Look-ups over the ops app's batch listing, batch detail and transfers,
    mixed into :class:`.client.PheeClient`: they use its ``config``,
    ``_ops_get``, ``_json``, ``_ops_base`` and ``iter_transfers``."""

    def _iter_batches(
        self, page_size: int, max_pages: int, filters: dict | None = None
    ) -> Iterator[dict]:
        """Distinct parent batches of ``/api/v1/batches``, newest first.

        The ops app reads ``offset`` as a row offset: it builds
        ``PageRequest.of(floorDiv(offset, limit), limit)`` sorted by ``sort``
        (``-startedAt``: descending), and lists parent batches only (ops-app
        BatchApi.getBatch, BatchRepository ``subBatchId IS NULL``). A server that
        read it as a page number would skip pages but never loop: paging stops on
        a short or empty page, a page with no unseen batchId, ``totalBatches``
        reached, or ``max_pages``. Batches without a batchId are skipped.
        """
        if page_size < 1 or max_pages < 1:
            raise batch_problem("page_size", "page_size and max_pages must be positive")
        seen = set()
        for page in range(max_pages):
            params = {
                "offset": page * page_size,
                "limit": page_size,
                "sort": "-startedAt",
                **(filters or {}),
            }
            answer = self._ops_get(self.config.batches_endpoint_url, params=params)
            if not answer.content.strip():
                # BatchDbServiceImpl returns null (HTTP 200, no body) when it
                # cannot parse dateFrom/dateTo
                raise PheeResponseError("PHEE sent an empty batch list")
            body = self._json(answer, "batch list")
            data = body.get("data")
            if not isinstance(data, list) or not all(isinstance(b, dict) for b in data):
                raise PheeResponseError("PHEE batch list has no data list")
            fresh = []
            for batch in data:
                batch_id = batch.get("batchId")
                if batch_id is not None and not isinstance(batch_id, str):
                    raise PheeResponseError("PHEE batch list has a malformed batchId")
                if batch_id and batch_id not in seen:
                    seen.add(batch_id)
                    fresh.append(batch)
            yield from fresh
            total = body.get("totalBatches")
            if (
                len(data) < page_size
                or not fresh
                or (isinstance(total, int) and len(seen) >= total)
            ):
                return

    def find_batch_by_correlation_id(
        self, correlation_id: str, *, page_size: int = 200, max_pages: int = 50
    ) -> dict | None:
        """The newest listed batch whose ``correlationId`` is this one, or None.

        Only a cheap first check: with the bulk processor's authorization step on
        (its default), AuthorizationWorker sets the workflow's
        ``clientCorrelationId`` to the Zeebe job key and the importer stores that
        as the batch's ``correlationId`` (importer-rdbms application-local.yml,
        flow ``bulk_processor``). Use :meth:`list_batches` and
        :meth:`compare_batch_rows` to find a batch by its rows.
        """
        for batch in self._iter_batches(page_size, max_pages):
            if str(batch.get("correlationId")) == correlation_id:
                return batch
        return None

    def _ops_zone(self):
        name = self.config.ops_timezone
        try:
            return timezone.utc if name.upper() == "UTC" else ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise PheeConfigError(f"ops_timezone: unknown time zone {name!r}") from None

    def list_batches(
        self,
        date_from: datetime,
        date_to: datetime,
        *,
        registering_institution_id: str | None = None,
        page_size: int = 200,
        max_pages: int = 50,
    ) -> Iterator[dict]:
        """The parent batches PHEE started between ``date_from`` and ``date_to``
        (both included; naive datetimes are UTC), newest first, as listed by
        ``/api/v1/batches`` (Batch entity keys: ``batchId``, ``requestFile``,
        ``correlationId``, ``startedAt`` in epoch ms, ``registeringInstitutionId``,
        ``payerFsp``, ``status``, counters and amounts).

        The ops app parses ``dateFrom``/``dateTo`` as ``yyyy-MM-dd HH:mm:ss`` in
        its ``interface.timezone`` (``Asia/Kolkata`` by default, application.yml),
        converts them to GMT (DateUtil.getUTCFormat) and compares them with
        ``startedAt`` (BatchRepository ``startedAt BETWEEN``): ``ops_timezone``
        must match that setting, or the window shifts by the difference.
        ``registeringInstitutionId`` is a SQL LIKE pattern there, so batches are
        also compared exactly here.
        """
        start, end = _utc(date_from, "date_from"), _utc(date_to, "date_to")
        if end < start:
            raise batch_problem("date_to", "is before date_from")
        if end.microsecond:  # whole seconds; BETWEEN includes both ends
            end += timedelta(seconds=1)
        zone = self._ops_zone()
        filters = {
            "dateFrom": start.astimezone(zone).strftime(_OPS_DATE),
            "dateTo": end.astimezone(zone).strftime(_OPS_DATE),
        }
        if registering_institution_id:
            filters["registeringInstitutionId"] = registering_institution_id
        for batch in self._iter_batches(page_size, max_pages, filters):
            if registering_institution_id and (
                batch.get("registeringInstitutionId") != registering_institution_id
            ):
                continue
            yield batch

    def compare_batch_rows(
        self, batch_id: str, request_ids: Iterable[str], *, limit: int | None = None
    ) -> BatchRows:
        """How the rows of a PHEE batch compare with ``request_ids``.

        Reads ``/batch/detail`` (all statuses, every page, ops-app BatchApi) up to
        ``limit`` rows; a row is ours when its ``clientCorrelationId`` (rows the
        channel ran: connector-channel ChannelRouteBuilder) or its
        ``transactionId`` (rows the importer wrote from the file: importer-rdbms
        InflightBatchManager) is one of ``request_ids``. Rows PHEE has not run yet
        are not listed, nor, in a split batch, rows kept under the parent id such
        as in-file duplicates (``findAllByBatchIdMatchSubBatchId``).
        """
        if limit is not None and limit < 1:
            raise batch_problem("limit", "must be positive")
        page_size = min(limit, 1000) if limit else 1000
        rows = self.iter_transfers(batch_id, page_size=page_size)
        read = list(islice(rows, limit + 1)) if limit else list(rows)
        complete = limit is None or len(read) <= limit
        return compare_rows(request_ids, read[:limit], complete=complete)

    def find_transfer(self, request_id: str) -> dict | None:
        """The transfer of one row, looked up by ``transactionId`` and by
        ``clientCorrelationId`` (``/api/v1/transfers``, ops-app
        OperationsDetailedApi: exact matches, newest first); the precedence rule
        picks among several."""
        if not request_id:
            raise batch_problem("request_id", "is missing")
        url = f"{self._ops_base()}/transfers"
        found = []
        for key in ("transactionId", "clientCorrelationId"):
            answer = self._ops_get(url, params={key: request_id, "page": 0, "size": 20})
            content = self._json(answer, "transfer list").get("content")
            if not isinstance(content, list) or not all(
                isinstance(t, dict) for t in content
            ):
                raise PheeResponseError("PHEE transfer list has no content list")
            found.extend(content)
        return pick_transfer(request_id, found)

    def find_transfers(
        self, request_ids: Iterable[str], *, limit: int = 20
    ) -> dict[str, dict]:
        """The transfer found for each of up to ``limit`` distinct request ids
        (two calls each, see :meth:`find_transfer`); ids without one are absent.
        More ids than ``limit`` raise PheeValidationError before any call."""
        wanted = list(dict.fromkeys(str(r) for r in request_ids if r))
        if len(wanted) > limit:
            raise batch_problem("request_ids", f"more than {limit} to look up")
        found = {}
        for request_id in wanted:
            transfer = self.find_transfer(request_id)
            if transfer is not None:
                found[request_id] = transfer
        return found
