# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo.tests import tagged

from ..phee import signer
from .common import PheeCommon


@tagged("post_install", "-at_install")
class TestSend(PheeCommon):
    def test_send_posts_each_batch_once_with_real_phee_headers(self):
        entitlements = self._entitlements(4)
        self._prepare()
        action = self.cycle.send_payment()
        self.assertEqual(action["params"]["type"], "success")
        batches = self._batches()
        self.assertEqual(len(self.server.batches), 2)
        for batch in batches:
            self.assertEqual(batch.phee_state, "submitted")
            self.assertTrue(batch.batch_has_started)
            received = self.server.batches_with_correlation_id(
                batch.phee_correlation_id
            )
            self.assertEqual(len(received), 1)
            self.assertEqual(batch.external_batch_ref, received[0]["batch_id"])
            headers = received[0]["headers"]
            self.assertEqual(headers["type"], "csv")
            self.assertEqual(headers["platform-tenantid"], "gorilla")
            self.assertEqual(headers["purpose"], "G2P Payment")
            self.assertEqual(
                headers["filename"], f"ph_ee_{batch.phee_correlation_id}.csv"
            )
            self.assertTrue(headers["x-signature"])  # stock PHEE checks it
            self.assertEqual(
                [row["request_id"] for row in received[0]["rows"]],
                batch.payment_ids.sorted("id").mapped("name"),
            )
        self.assertEqual(set(entitlements.payment_ids.mapped("state")), {"sent"})
        self._assert_phee_holds_each_batch_once()

    def test_amounts_are_sent_as_integers(self):
        self._entitlements(1, amount=1500.0)
        self._prepare()
        self.cycle.send_payment()
        row = self.server.batches[0]["rows"][0]
        self.assertEqual(row["amount"], "1500")

    def test_signature_verifies_with_the_public_key(self):
        self.manager.signature_private_key = self.private_key
        self._entitlements(2)
        self._prepare()
        self.cycle.send_payment()
        batch = self._batches()
        received = self.server.batches_with_correlation_id(batch.phee_correlation_id)[0]
        csv_text = batch._phee_csv_text()
        self.assertTrue(
            signer.verify(
                received["headers"]["x-signature"],
                csv_text,
                self.public_key,
                correlation_id=batch.phee_correlation_id,
                tenant_id="gorilla",
            )
        )

    def test_sending_twice_never_posts_a_batch_twice(self):
        self._entitlements(2)
        self._prepare()
        self.cycle.send_payment()
        action = self.cycle.send_payment()
        self._batches().send_payment()
        self.assertEqual(len(self.server.batches), 1)
        self.assertIn("Sent earlier", action["params"]["message"])

    def test_batch_send_button_sends_only_that_batch(self):
        self._entitlements(4)
        self._prepare()
        first, second = self._batches()
        first.send_payment()
        self.assertEqual(first.phee_state, "submitted")
        self.assertEqual(second.phee_state, "draft")
        self.assertEqual(len(self.server.batches), 1)

    def test_callback_url_header_is_sent_when_enabled(self):
        self.manager.callback_enabled = True
        self._entitlements(1)
        self._prepare()
        self.cycle.send_payment()
        header = self.server.batches[0]["headers"]["x-callbackurl"]
        self.assertEqual(header, self.manager._phee_callback_url(self._batches()))
        self.assertNotIn(self.manager.sudo().callback_token, header)

    def test_many_batches_are_sent_by_one_job_each(self):
        from odoo.addons.queue_job.tests.common import trap_jobs

        self.manager.max_batch_size = 1
        self._entitlements(3)
        self._prepare()
        batches = self._batches()
        with trap_jobs() as trap:
            self.manager._send_payments_async(self.cycle, batches)
            trap.assert_jobs_count(3, only=self.manager._phee_send_batch_job)
            self.assertTrue(self.cycle.locked)
            trap.perform_enqueued_jobs()
        self.assertEqual(set(batches.mapped("phee_state")), {"submitted"})
        self.assertEqual(len(self.server.batches), 3)
