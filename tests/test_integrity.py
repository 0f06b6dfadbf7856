# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Two officers at once, edited files and clashing names never pay twice."""

import base64
import hashlib
from datetime import timedelta

from psycopg2 import IntegrityError

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models.phee_guard import by_state_machine
from ..models.phee_manager_prepare import PREPARE_LOCK_NAMESPACE
from ..models.phee_manager_send import CYCLE_SENDING_LOCK_NAMESPACE
from .common import PheeCommon, officer


@tagged("post_install", "-at_install")
class TestIntegrity(PheeCommon):
    def _held_elsewhere(self, lock, function, namespace, record_id):
        """Run ``function`` while another database session holds a lock."""
        with self.registry.cursor() as other:
            other.execute(f"SELECT {lock}(%s, %s)", (namespace, record_id))
            try:
                return function()
            finally:
                other.rollback()
                other.execute("SELECT pg_advisory_unlock_all()")

    def test_a_second_officer_preparing_the_same_cycle_is_told_so(self):
        self._entitlements(2)
        with self.assertRaisesRegex(UserError, "being prepared"):
            self._held_elsewhere(
                "pg_advisory_lock", self._prepare, PREPARE_LOCK_NAMESPACE, self.cycle.id
            )
        self.assertFalse(self._payments())
        self._prepare()
        self.assertEqual(len(self._payments()), 2)

    def test_the_database_refuses_a_second_live_payment_for_an_entitlement(self):
        entitlement = self._entitlements(1)
        self._prepare()
        payment = entitlement.payment_ids
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                by_state_machine(self.env["g2p.payment"]).create(
                    {
                        "name": "second",
                        "entitlement_id": entitlement.id,
                        "cycle_id": self.cycle.id,
                        "amount_issued": payment.amount_issued,
                        "phee_payment_state": "issued",
                    }
                )
        payment._phee_set_state("failed")
        self._prepare()  # a failed payment may be issued again
        self.assertEqual(len(entitlement.payment_ids), 2)

    def test_a_second_officer_sending_the_same_cycle_is_told_so_once(self):
        self._entitlements(2)
        self._prepare()
        messages = len(self.cycle.message_ids)
        action = self._held_elsewhere(
            "pg_advisory_lock",
            self.cycle.send_payment,
            CYCLE_SENDING_LOCK_NAMESPACE,
            self.cycle.id,
        )
        self.assertIn("being sent to PHEE by someone else", action["params"]["message"])
        self.assertFalse(self.server.batches)
        self.assertEqual(len(self.cycle.message_ids), messages)
        self.cycle.send_payment()
        self.assertEqual(len(self.server.batches), 1)

    def test_an_edited_attachment_is_never_what_is_posted(self):
        self.manager.make_csv_at_prepare = True
        self._entitlements(2, amount=500.0)
        self._prepare()
        batch = self._batches()
        user = officer(self.env, "phee_editor", "g2p_programs.g2p_program_manager")
        attachment = batch.phee_csv_attachment_id
        forged = attachment.raw.replace(b",500,", b",50000,")
        attachment.with_user(user).sudo().write({"raw": forged})
        self.cycle.send_payment()
        posted = self.server.batches[0]
        self.assertNotIn(",50000,", posted["csv"])
        self.assertIn(",500,", posted["csv"])
        self.assertEqual(
            batch.phee_sent_sha256, hashlib.sha256(posted["csv"].encode()).hexdigest()
        )
        stored = base64.b64decode(batch.phee_csv_attachment_id.datas).decode()
        self.assertEqual(stored, posted["csv"])

    def test_batches_with_the_same_name_keep_their_own_phee_reference(self):
        self._entitlements(4)
        self._prepare()
        batches = self._batches()[:2]
        batches[1].name = batches[0].name  # e.g. upstream's static default name
        self.assertEqual(len(set(batches.mapped("phee_correlation_id"))), 2)
        self.server.inject("submit", "http_500")  # one POST only
        self.cycle.send_payment()
        lost = batches.filtered(lambda b: b.phee_state == "submitting")
        sent = batches - lost
        self.assertEqual((len(lost), sent.phee_state), (1, "submitted"))
        attempt_at = lost.phee_last_attempt_at - timedelta(minutes=30)
        self._force(lost, {"phee_last_attempt_at": attempt_at})
        self.env["g2p.payment.batch"]._cron_phee_status_sync()
        # The retry's look-up saw the other batch at PHEE and did not adopt it.
        self.assertTrue(lost.external_batch_ref)
        self.assertNotEqual(lost.external_batch_ref, sent.external_batch_ref)
        self._assert_phee_holds_each_batch_once()
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self._force(sent, {"phee_correlation_id": lost.phee_correlation_id})
                self.env.flush_all()

    def test_pacing_never_has_more_batches_in_flight_than_the_limit(self):
        self.manager.write({"max_batches_in_flight": 1, "max_batch_size": 2})
        self._entitlements(4)
        self._prepare()
        first, second = self._batches()
        action = self.cycle.send_payment()
        self.assertIn("Waiting for room at PHEE", action["params"]["message"])
        self.assertEqual(len(self.server.batches), 1)
        queued = (first | second).filtered(lambda b: b.phee_state == "queued")
        self.assertEqual(len(queued), 1)
        self.assertEqual(self.cycle.phee_queued_batch_count, 1)
        self.assertIn("in flight", queued.message_ids[0].body)
        self._sync_until_settled(runs=8)
        self.assertEqual(len(self.server.batches), 2)
        self.assertEqual(set((first | second).mapped("phee_state")), {"completed"})
        self.assertLessEqual(
            ((first | second) - queued).phee_accepted_at, queued.phee_accepted_at
        )
        self._assert_phee_holds_each_batch_once()

    def test_pacing_limits_submissions_per_minute(self):
        self.manager.write({"max_submissions_per_minute": 1, "max_batch_size": 2})
        self._entitlements(4)
        self._prepare()
        self.cycle.send_payment()
        self.assertEqual(len(self.server.batches), 1)
        queued = self._batches().filtered(lambda b: b.phee_state == "queued")
        self.assertIn("in the last minute", queued.message_ids[0].body)
