# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
import json
import logging
import time
from urllib.parse import urlparse

from odoo.tests import HttpCase, tagged

from .common import PheeCommon

CRON = "g2p_payment_phee.cron_phee_status_sync"


@tagged("post_install", "-at_install")
class TestCallback(PheeCommon, HttpCase):
    def setUp(self):
        super().setUp()
        self.manager.callback_enabled = True
        self._entitlements(1)
        self._prepare()
        self.batch = self._batches()
        self.url = self.manager._phee_callback_url(self.batch)

    def _callback(self, url, payload=None):
        path = urlparse(url).path
        return self.url_open(
            path,
            data=json.dumps(payload or {"batchId": "whatever"}),
            headers={"Content-Type": "application/json"},
        )

    def _triggers(self):
        cron = self.env.ref(CRON)
        return self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])

    def test_valid_callback_schedules_a_sync_of_the_batch(self):
        triggers = self._triggers()
        state = self.batch.phee_state
        response = self._callback(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(self.batch.phee_sync_requested_at)
        self.assertEqual(self._triggers(), triggers + 1)
        # A flood of the same callback schedules nothing more.
        for _ in range(5):
            self._callback(self.url)
        self.assertEqual(self._triggers(), triggers + 1)
        # The body is never trusted: the batch is unchanged until PHEE is asked.
        self.assertEqual(self.batch.phee_state, state)

    def test_the_url_and_the_logged_request_line_carry_no_secret(self):
        token = self.manager.sudo().callback_token
        self.assertNotIn(token, self.url)
        path = urlparse(self.url).path
        with self.assertLogs("werkzeug", logging.INFO) as logs:
            self._callback(self.url)
            # The server thread logs the request line once it has answered.
            for _ in range(50):
                if any(path in line for line in logs.output):
                    break
                time.sleep(0.1)
        self.assertIn(path, "\n".join(logs.output))
        self.assertNotIn(token, "\n".join(logs.output))

    def test_each_batch_has_its_own_url(self):
        other = self.env["g2p.payment.batch"].create(
            {"name": "Other batch", "cycle_id": self.cycle.id}
        )
        self.assertNotEqual(self.manager._phee_callback_url(other), self.url)
        # This batch's signature does not nudge another batch.
        forged = self.url.replace(f"/{self.batch.id}/", f"/{other.id}/")
        self.assertEqual(self._callback(forged).status_code, 403)
        self.assertFalse(other.phee_sync_requested_at)

    def test_bad_signature_is_refused(self):
        for url in (
            self.url[:-4] + "0000",
            self.url.rsplit("/", 1)[0] + "/",
            self.url.replace(f"/{self.manager.id}/", f"/{self.manager.id + 999}/"),
        ):
            with self.subTest(url=url):
                self.assertIn(self._callback(url).status_code, (403, 404))
        self.assertFalse(self.batch.phee_sync_requested_at)

    def test_the_secret_itself_is_no_longer_a_callback_url(self):
        token = self.manager.sudo().callback_token
        response = self._callback(f"/g2p_payment_phee/callback/{token}")
        self.assertEqual(response.status_code, 404)
        self.assertFalse(self.batch.phee_sync_requested_at)

    def test_callback_disabled_refuses_the_url(self):
        self.manager.callback_enabled = False
        self.assertFalse(self.manager._phee_callback_url(self.batch))
        self.assertEqual(self._callback(self.url).status_code, 403)
