# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Faults between Odoo and PHEE never lead to a batch paid twice or lost."""

from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..phee import PheeClient
from .common import PheeCommon

SEND_MODULE = "odoo.addons.g2p_payment_phee.models.phee_manager_send"
SEND_LOGGER = SEND_MODULE


@tagged("post_install", "-at_install")
class TestFaults(PheeCommon):
    def _prepared_batch(self, count=2):
        self._entitlements(count)
        self._prepare()
        return self._batches()

    def _age_last_attempt(self, batch, minutes=11):
        attempt_at = fields.Datetime.now() - timedelta(minutes=minutes)
        self._force(batch, {"phee_last_attempt_at": attempt_at})

    def _sync(self):
        self.env["g2p.payment.batch"]._cron_phee_status_sync()

    @mute_logger(SEND_LOGGER)
    def test_server_error_then_resend_after_grace_posts_once_more(self):
        batch = self._prepared_batch()
        self.server.inject("submit", "http_500")
        self.cycle.send_payment()
        self.assertEqual(batch.phee_state, "submitting")
        self.assertEqual(batch.phee_attempt_outcome, "unknown")
        self.assertTrue(batch.phee_last_error)
        action = self.cycle.send_payment()  # too early: PHEE is only asked
        self.assertEqual(len(self.server.batches), 0)
        self.assertIn("Waiting", action["params"]["message"])
        self._age_last_attempt(batch)
        self._sync()
        self._assert_adopted(batch)
        self._assert_phee_holds_each_batch_once()

    @mute_logger(SEND_LOGGER)
    def test_accepted_then_500_is_adopted_not_resent(self):
        batch = self._prepared_batch()
        self.server.inject("submit", "accept_then_500")
        self.cycle.send_payment()
        self.assertEqual(batch.phee_state, "submitting")
        self._age_last_attempt(batch)
        self.cycle.send_payment()
        self.assertEqual(batch.phee_state, "submitted")
        self.assertEqual(batch.external_batch_ref, self.server.batches[0]["batch_id"])
        self._assert_phee_holds_each_batch_once()

    @mute_logger(SEND_LOGGER)
    def test_timeout_after_phee_accepted_is_adopted_by_the_cron(self):
        self.manager.batch_request_timeout = 1
        batch = self._prepared_batch()
        self.server.inject("submit", "accept_then_hang", seconds=3)
        self.cycle.send_payment()
        self.assertEqual(batch.phee_state, "submitting")
        self.assertEqual(batch.phee_attempt_outcome, "unknown")
        self._sync()
        self._assert_adopted(batch)
        self._assert_phee_holds_each_batch_once()

    @mute_logger(SEND_LOGGER)
    def test_connection_refused_is_an_error_fixed_by_one_click(self):
        batch = self._prepared_batch()
        payment_url = self.manager.payment_endpoint_url
        self.manager.payment_endpoint_url = "http://127.0.0.1:9/batchtransactions"
        action = self.cycle.send_payment()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertEqual(batch.phee_state, "error")
        self.assertEqual(batch.phee_attempt_outcome, "not_delivered")
        self.manager.payment_endpoint_url = payment_url
        self.cycle.send_payment()
        self.assertEqual(batch.phee_state, "submitted")
        self._assert_phee_holds_each_batch_once()

    @mute_logger(SEND_LOGGER)
    def test_bad_signature_is_rejected_and_not_retried_blindly(self):
        self.manager.signature_private_key = False
        batch = self._prepared_batch()
        action = self.cycle.send_payment()  # no key configured: signature missing
        self.assertEqual(batch.phee_state, "error")
        self.assertEqual(batch.phee_attempt_outcome, "rejected")
        self.assertIn("InvalidPublicKeyConfigured", batch.phee_last_error)
        self.assertEqual(action["params"]["type"], "danger")
        self._sync()  # the cron does not resend rejected batches
        self.assertEqual(batch.phee_state, "error")
        self.manager.signature_private_key = self.private_key
        self.cycle.send_payment()
        self.assertEqual(batch.phee_state, "submitted")
        self._assert_phee_holds_each_batch_once()

    @mute_logger(SEND_LOGGER)
    def test_accepted_without_polling_path_is_adopted(self):
        batch = self._prepared_batch()
        self.server.inject("submit", "no_polling_path")
        self.cycle.send_payment()
        self.assertEqual(batch.phee_state, "submitting")
        self._sync()
        self._assert_adopted(batch)
        self._assert_phee_holds_each_batch_once()

    @mute_logger(SEND_LOGGER)
    def test_connection_reset_is_checked_before_resending(self):
        batch = self._prepared_batch()
        self.server.inject("submit", "reset")
        self.cycle.send_payment()
        self.assertEqual(batch.phee_state, "submitting")
        self._sync()
        self._assert_adopted(batch)
        self._assert_phee_holds_each_batch_once()

    def test_attempt_is_committed_before_the_post_and_its_answer_after(self):
        batch = self._prepared_batch()
        seen = []

        def record(cr):
            seen.append((batch.phee_state, len(self.server.batches)))

        with patch(f"{SEND_MODULE}.commit_unless_testing", side_effect=record):
            self.cycle.send_payment()
        self.assertEqual(seen, [("submitting", 0), ("submitted", 1)])

    def test_rollback_after_a_successful_post_does_not_post_again(self):
        """Outside tests the attempt is committed before the POST (see above), so
        a failure after PHEE accepted the batch leaves it submitting, its
        outcome unknown."""
        batch = self._prepared_batch()
        Batch = type(batch)
        with patch.object(Batch, "_phee_accept", side_effect=RuntimeError("crash")):
            self.cycle.send_payment()
        self.assertEqual(len(self.server.batches), 1)
        self.assertEqual(batch.phee_state, "submitting")
        self.assertEqual(batch.phee_attempt_outcome, "unknown")
        self.assertEqual(batch.phee_attempt_count, 1)
        self.cycle.send_payment()
        self.assertEqual(batch.phee_state, "submitted")
        self.assertEqual(len(self.server.batches), 1)
        self._assert_phee_holds_each_batch_once()

    def test_a_batch_locked_by_another_sender_is_not_posted(self):
        batch = self._prepared_batch()
        manager = self.manager
        with patch.object(type(manager), "_phee_lock", return_value=False):
            action = self.cycle.send_payment()
        self.assertIn("being sent", action["params"]["message"])
        self.assertEqual(len(self.server.batches), 0)
        self.assertEqual(batch.phee_state, "draft")

    @mute_logger(SEND_LOGGER)
    def test_lookup_failure_never_posts_blindly(self):
        batch = self._prepared_batch()
        self.server.inject("submit", "http_500")
        self.cycle.send_payment()
        self._age_last_attempt(batch)
        self.server.inject("batches", "http_500", count=10)
        action = self.cycle.send_payment()
        self.assertIn("Could not check", action["params"]["message"])
        self.assertEqual(len(self.server.batches), 0)
        self.assertEqual(batch.phee_state, "submitting")

    def test_invalid_batch_is_not_sent_and_says_why(self):
        batch = self._prepared_batch()
        self._force(batch.payment_ids[0], {"account_number": "bad,number"})
        action = self.cycle.send_payment()
        self.assertEqual(batch.phee_state, "error")
        self.assertTrue(batch.phee_last_error)
        self.assertEqual(action["params"]["type"], "danger")
        self.assertEqual(len(self.server.batches), 0)

    @mute_logger(SEND_LOGGER)
    def test_tenant_without_workflow_is_rejected_with_phee_message(self):
        batch = self._prepared_batch()
        self.manager.tenant_id = "pluto"
        action = self.cycle.send_payment()
        self.assertEqual(batch.phee_state, "error")
        self.assertEqual(batch.phee_attempt_outcome, "rejected")
        self.assertIn("412", batch.phee_last_error)
        self.assertIn("Process definition not found", action["params"]["message"])
        self.assertFalse(self.server.batches)

    @mute_logger(SEND_LOGGER)
    def test_batch_missing_from_phee_list_but_with_transfers_is_not_resent(self):
        batch = self._prepared_batch()
        self.server.inject("submit", "accept_then_500")
        self.cycle.send_payment()
        self._age_last_attempt(batch)
        with patch.object(PheeClient, "list_batches", return_value=iter(())):
            action = self.cycle.send_payment()
        self.assertEqual(len(self.server.batches), 1)
        self.assertIn("may already have", action["params"]["message"])
        self.assertEqual(batch.phee_state, "uncertain")
        self.assertIn("PHEE has payments of this batch", batch.phee_attention_note)
