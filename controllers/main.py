# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""PHEE progress callback: a nudge to fetch the status, never trusted as status."""

import hmac
import json
import logging
from datetime import timedelta

from odoo import fields, http
from odoo.http import request

_logger = logging.getLogger(__name__)

# A batch's sync is scheduled at most once per this many seconds.
CALLBACK_MIN_INTERVAL = 30


class PheeCallbackController(http.Controller):
    @http.route(
        "/g2p_payment_phee/callback/<string:token>",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def phee_callback(self, token, **_kwargs):
        """Schedule a status sync of the batch PHEE names; answer 403 to a bad token."""
        manager = self._manager_for_token(token)
        if not manager:
            return request.make_json_response({"status": "forbidden"}, status=403)
        try:
            payload = json.loads(request.httprequest.get_data() or b"{}")
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        batch = self._find_batch(manager, payload)
        if batch:
            self._schedule_sync(batch)
        # Acknowledge even unknown batches so PHEE does not retry in a storm.
        return request.make_json_response({"status": "ok"})

    @staticmethod
    def _manager_for_token(token):
        if not token or len(token) < 20:
            return None
        managers = (
            request.env["g2p.program.payment.manager.phee"]
            .sudo()
            .search([("callback_enabled", "=", True), ("callback_token", "=", token)])
        )
        for manager in managers:
            if hmac.compare_digest(manager.callback_token, token):
                return manager
        return None

    @staticmethod
    def _find_batch(manager, payload):
        batch_id = str(payload.get("batchId") or "")
        correlation_id = str(payload.get("clientCorrelationId") or "")
        if not (batch_id or correlation_id):
            return None
        domain = [("program_id", "=", manager.program_id.id)]
        if batch_id:
            domain.append(("external_batch_ref", "=", batch_id))
        else:
            domain.append(("phee_correlation_id", "=", correlation_id))
        return request.env["g2p.payment.batch"].sudo().search(domain, limit=1)

    @staticmethod
    def _schedule_sync(batch):
        now = fields.Datetime.now()
        last = batch.phee_sync_requested_at
        if last and now - last < timedelta(seconds=CALLBACK_MIN_INTERVAL):
            return
        batch.phee_sync_requested_at = now
        cron = request.env.ref(
            "g2p_payment_phee.cron_phee_status_sync", raise_if_not_found=False
        )
        if cron:
            cron.sudo()._trigger()
        _logger.info("PHEE callback: status sync scheduled for batch %s", batch.name)
