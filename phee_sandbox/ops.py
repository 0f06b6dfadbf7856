"""Operations app routes: ``/oauth/token`` and the ``/api/v1/...`` queries.

Parameters are converted as Spring would (same conversion errors), then the
tenant and Bearer token are checked and ``ServerState`` answers. Mixed into
``PheeServer``: uses its ``state``, ``tenants``, ``require_auth``,
``page_size_cap``, ``interface_tz`` and ``_credentials``.
"""

from __future__ import annotations

import hmac
import re
import time

from .http import Abort, Reply, Request, first_values, spring_error, unauthorized
from .java import java_local_datetime, lenient_b64decode, local_to_epoch_ms
from .ops_views import OpsError

_INT = re.compile(r"[+-]?\d+")


def _int_param(req: Request, name: str, default: int | None) -> int | None:
    raw = (req.query.get(name) or "").strip()
    if not raw:
        return default
    if not _INT.fullmatch(raw):
        message = (
            f"Failed to convert value of type 'java.lang.String' to required "
            f"type 'java.lang.Integer'; For input string: \"{raw}\""
        )
        raise Abort(spring_error(400, message, req.path))
    return int(raw)


def _page_args(req: Request, page: int | None, size: int | None) -> None:
    if size is not None and size < 1:
        raise Abort(spring_error(500, "Page size must not be less than one!", req.path))
    if page is not None and page < 0:
        raise Abort(
            spring_error(500, "Page index must not be less than zero!", req.path)
        )


def _date_ms(req: Request, name: str, tz) -> int | None:
    """``dateFrom``/``dateTo`` of ``/api/v1/batches`` as epoch ms.

    ops-app BatchApi.getBatch passes the text to DateUtil.getUTCFormat:
    ``LocalDateTime.parse(text, ofPattern("yyyy-MM-dd HH:mm:ss"))`` read as a
    wall-clock time of ``interface.timezone`` (application.yml: Asia/Kolkata)
    and turned into a GMT string, which BatchDbServiceImpl parses back with
    ``SimpleDateFormat("yyyy-MM-dd HH:mm:ss")`` in the JVM's zone (UTC in the
    ops-app image). So ``2024-05-01 10:00:00`` means 10:00 in Kolkata. A text
    that does not parse throws outside BatchApi's try: HTTP 500 with Java's
    DateTimeParseException message. Nothing else is accepted (no ISO ``T``, no
    epoch ms, no date alone).
    """
    raw = req.query.get(name)
    if raw is None:
        return None
    try:
        local = java_local_datetime(raw)
    except ValueError as exc:
        raise Abort(spring_error(500, str(exc), req.path)) from None
    return local_to_epoch_ms(local, tz)


def _sort_arg(sort: str) -> tuple[str, bool]:
    """ops app ``getSortObject``: ``-field`` descending, ``+field``/``field`` asc."""
    descending = False
    if "+" in sort and len(sort.split("+")) == 2:
        sort = sort.split("+")[1]
    elif "-" in sort and len(sort.split("-")) == 2:
        sort, descending = sort.split("-")[1], True
    return sort.replace(" ", ""), descending


class OpsRoutes:
    """The operations app's routes of ``PheeServer``."""

    def _ops_guard(self, req: Request, route: str) -> None:
        """Tenant filter (500, empty body) then Bearer check for /api/v1/**."""
        if self._tenant(req) not in self.tenants:
            raise Abort(Reply(500))
        if route == "token":
            return
        scheme, _, token = (req.header("Authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            if self.require_auth:
                raise Abort(
                    unauthorized(
                        "unauthorized",
                        "Full authentication is required to access this resource",
                    )
                )
            return
        status = self.state.token_status(token)
        if status != "valid":
            description = {"expired": "Access token expired"}.get(
                status, "Invalid access token"
            )
            raise Abort(unauthorized("invalid_token", description))

    @staticmethod
    def _tenant(req: Request) -> str:
        return req.header("Platform-TenantId") or req.query.get("tenantIdentifier")

    @staticmethod
    def _bad_credentials() -> Reply:
        return Reply(
            401,
            {
                "timestamp": int(time.time() * 1000),
                "status": "401",
                "error": "Unauthorized",
                "message": "Invalid credentials",
                "path": "/oauth/token",
            },
        )

    def _token(self, req: Request) -> Reply:
        """``POST /oauth/token`` (password and refresh_token grants)."""
        scheme, _, encoded = (req.header("Authorization") or "").partition(" ")
        client = lenient_b64decode(encoded) if scheme.lower() == "basic" else None
        if client != b"client:":
            return spring_error(401, "Unauthorized", req.path)
        params = dict(req.query)
        if "x-www-form-urlencoded" in (req.header("Content-Type") or ""):
            params = {**first_values(req.body.decode("utf-8", "replace")), **params}
        grant = params.get("grant_type")
        reply = None
        if not grant:
            reply = Reply(400, {"error": "Missing grant type"})
        elif grant == "password":
            given = (params.get("username") or "", params.get("password") or "")
            valid = all(
                hmac.compare_digest(a.encode(), b.encode())
                for a, b in zip(given, self._credentials, strict=True)
            )
            reply = None if valid else self._bad_credentials()
        elif grant == "refresh_token":
            if not self.state.use_refresh_token(params.get("refresh_token") or ""):
                reply = Reply(400, {"error": "Invalid refresh token"})
        else:
            reply = Reply(400, {"error": f"Unsupported grant type: {grant}"})
        if reply is not None:
            return reply
        return Reply(
            200,
            self.state.issue_token(self._credentials[0]),
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _not_imported(self, batch_id) -> Reply:
        shown = "null" if batch_id is None else batch_id
        return Reply(404, f"Batch corresponding to batchId: {shown} does not exist.")

    def _summary(self, req: Request) -> Reply:
        """``GET /api/v1/batch/{id}``: recompute and return the BatchDTO."""
        batch_id = req.params["batch_id"]
        record = self.state.poll(self._tenant(req), batch_id)
        if record is None:
            return self._not_imported(batch_id)
        return Reply(200, self.state.summary(record))

    def _stored_summary(self, req: Request) -> Reply:
        """``GET /api/v1/batch?batchId=``: the stored BatchDTO, no recompute."""
        batch_id = req.query.get("batchId")
        record = self.state.poll(self._tenant(req), batch_id)
        if record is None:
            return self._not_imported(batch_id)
        return Reply(200, self.state.stored_summary(record))

    def _required(self, req: Request, name: str) -> str:
        value = req.query.get(name)
        if value is None:
            message = f"Required String parameter '{name}' is not present"
            raise Abort(spring_error(400, message, req.path))
        return value

    def _detail(self, req: Request) -> Reply:
        """``GET /api/v1/batch/detail``: a Spring Page of the batch's transfers."""
        batch_id = self._required(req, "batchId")
        page, size = _int_param(req, "pageNo", 0), _int_param(req, "pageSize", 10)
        _page_args(req, page, size)
        if self.page_size_cap:
            size = min(size, self.page_size_cap)
        record = self.state.poll(self._tenant(req), batch_id)
        if (req.query.get("command") or "").lower() == "download":
            if record is None or not record.parent.result_file:
                return Reply(404)
            location = f"{self.base_url}/files/{batch_id}/{record.parent.result_file}"
            return Reply(302, headers={"Location": location})
        status = req.query.get("status") or "ALL"
        return Reply(200, self.state.detail_page(record, status, page, size))

    def _transactions(self, req: Request) -> Reply:
        """``GET /api/v1/batch/transactions``: transactionId -> status."""
        record = self.state.poll(self._tenant(req), self._required(req, "batchId"))
        if record is None:
            return Reply(200)
        return Reply(200, self.state.transaction_statuses(record))

    def _batches(self, req: Request) -> Reply:
        """``GET /api/v1/batches``: ``offset`` is a row offset floored to a page.

        Failures end as BatchApi/BatchDbServiceImpl let them: a bad date is a
        500 (parsed before the try); a failing query (unknown ``sort`` key) is
        a 400 with no body without dates (BatchApi's catch), but a 200 with no
        body with a date filter (the service's own catch returns null).
        """
        offset, limit = _int_param(req, "offset", 0), _int_param(req, "limit", 10)
        if limit == 0:
            raise Abort(spring_error(500, "/ by zero", req.path))
        page = offset // limit  # Math.floorDiv(offset, limit)
        _page_args(req, page, limit)
        date_from = _date_ms(req, "dateFrom", self.interface_tz)
        date_to = _date_ms(req, "dateTo", self.interface_tz)
        like = {
            key: req.query.get(key) or "%"
            for key in ("batchId", "registeringInstitutionId", "payerFsp")
        }
        try:
            body = self.state.list_batches(
                self._tenant(req),
                page=page,
                limit=limit,
                sort=_sort_arg(req.query.get("sort") or "-startedAt"),
                date_from=date_from,
                date_to=date_to,
                like=like,
            )
        except OpsError:
            dated = date_from is not None or date_to is not None
            return Reply(200 if dated else 400)
        return Reply(200, body)

    def _batch_and_sub(self, req: Request) -> Reply:
        """``GET /api/v1/batches/{id}`` (header X-Correlation-ID required)."""
        if req.header("X-Correlation-ID") is None:
            message = (
                "Required request header 'X-Correlation-ID' for method "
                "parameter type String is not present"
            )
            return spring_error(400, message, req.path)
        record = self.state.poll(self._tenant(req), req.params["batch_id"])
        if record is None:
            return Reply(404)
        if req.query.get("associations") == "all":
            offset = _int_param(req, "offset", 0)
            limit = _int_param(req, "limit", 10)
            if limit < 1:
                raise Abort(spring_error(500, "/ by zero", req.path))
            body = self.state.payment_batch_detail(record, offset // limit, limit)
            return Reply(200, body)
        return Reply(200, self.state.batch_and_sub_batches(record))

    def _result_file(self, req: Request) -> Reply:
        """The result file the 302 of ``command=download`` points to (object
        storage in PHEE): ops-app BatchApi.createDetailsFile's lines."""
        text = self.state.result_file(req.params["batch_id"], req.params["name"])
        if text is None:
            return spring_error(404, "No message available", req.path)
        return Reply(200, text, content_type="text/csv")

    def _transfers(self, req: Request) -> Reply:
        """``GET /api/v1/transfers``: exact filters, newest first by default."""
        page, size = _int_param(req, "page", 0), _int_param(req, "size", 1)
        _page_args(req, page, size)
        order = (req.query.get("sortedOrder") or "DESC").upper()
        if order not in ("ASC", "DESC"):
            message = f"Invalid value '{order}' for orders given"
            return spring_error(500, message, req.path)
        keys = (
            "transactionId",
            "clientCorrelationId",
            "payeePartyId",
            "payerPartyId",
            "currency",
            "status",
        )
        filters = {k: req.query[k] for k in keys if req.query.get(k) is not None}
        if filters.get("status", "").upper() not in (
            "COMPLETED",
            "FAILED",
            "IN_PROGRESS",
        ):
            filters.pop("status", None)  # parseStatus() ignores unknown values
        body = self.state.find_transfers(
            self._tenant(req), filters, page=page, size=size, descending=order == "DESC"
        )
        return Reply(200, body)
