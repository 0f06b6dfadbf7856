# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
import json

from odoo.tests import HttpCase, tagged

from .common import PheeCommon


@tagged("post_install", "-at_install")
class TestCallback(PheeCommon, HttpCase):
    def _callback(self, token, payload):
        return self.url_open(
            f"/g2p_payment_phee/callback/{token}",
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
        )

    def _sent_batch(self):
        self.manager.callback_enabled = True
        self._entitlements(1)
        self._prepare()
        self.cycle.send_payment()
        return self._batches()

    def test_valid_callback_schedules_a_sync_of_the_batch(self):
        batch = self._sent_batch()
        cron = self.env.ref("g2p_payment_phee.cron_phee_status_sync")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        response = self._callback(
            self.manager.callback_token,
            {
                "clientCorrelationId": batch.phee_correlation_id,
                "batchId": batch.external_batch_ref,
                "message": "The Batch Aggregation API was complete with : 50",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertTrue(batch.phee_sync_requested_at)
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
            triggers + 1,
        )
        # A flood of the same callback schedules nothing more.
        for _ in range(5):
            self._callback(
                self.manager.callback_token, {"batchId": batch.external_batch_ref}
            )
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
            triggers + 1,
        )
        # The body is never trusted: the batch is unchanged until PHEE is asked.
        self.assertEqual(batch.phee_state, "submitted")

    def test_bad_token_is_refused(self):
        batch = self._sent_batch()
        response = self._callback("x" * 43, {"batchId": batch.external_batch_ref})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(batch.phee_sync_requested_at)

    def test_callback_disabled_refuses_the_token(self):
        batch = self._sent_batch()
        self.manager.callback_enabled = False
        response = self._callback(
            self.manager.callback_token, {"batchId": batch.external_batch_ref}
        )
        self.assertEqual(response.status_code, 403)
