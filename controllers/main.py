# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""PHEE progress callback: a nudge to fetch the status, never trusted as status.

The URL names a manager and a batch and is signed with the manager's callback
secret (see ``models/phee_manager_status_callback.py``); the body is ignored.
"""

import logging
from datetime import timedelta

from odoo import fields, http
from odoo.http import request

from ..models.phee_manager_status_callback import CALLBACK_PATH
from ..models.phee_utils import PHEE_MANAGER

_logger = logging.getLogger(__name__)

# A batch's sync is scheduled at most once per this many seconds.
CALLBACK_MIN_INTERVAL = 30


class PheeCallbackController(http.Controller):
    @http.route(
        f"{CALLBACK_PATH}/<int:manager_id>/<int:batch_id>/<string:signature>",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def phee_callback(self, manager_id, batch_id, signature, **_kwargs):
        """Schedule a status sync of the batch; answer 403 to a bad signature."""
        env = request.env(su=True)
        manager = env[PHEE_MANAGER].browse(manager_id).exists()
        batch = env["g2p.payment.batch"].browse(batch_id).exists()
        if not (manager and batch and manager._phee_callback_accepts(batch, signature)):
            return request.make_json_response({"status": "forbidden"}, status=403)
        self._schedule_sync(batch)
        return request.make_json_response({"status": "ok"})

    @staticmethod
    def _schedule_sync(batch):
        now = fields.Datetime.now()
        last = batch.phee_sync_requested_at
        if last and now - last < timedelta(seconds=CALLBACK_MIN_INTERVAL):
            return
        batch.phee_sync_requested_at = now
        cron = batch.env.ref(
            "g2p_payment_phee.cron_phee_status_sync", raise_if_not_found=False
        )
        if cron:
            cron._trigger()
        _logger.info("PHEE callback: status sync scheduled for batch %s", batch.name)
