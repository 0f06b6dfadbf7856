# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""What a stock PHEE does that a reference-built server would not."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .common import PheeCommon, officer


@tagged("post_install", "-at_install")
class TestFilesPheeProcesses(PheeCommon):
    def test_households_sharing_a_phone_never_share_a_file(self):
        shared = {"phone": "27710555000"}
        self._entitlements(4, **shared)  # one phone, same amount: PHEE duplicates
        self._entitlements(2)
        self._prepare()
        batches = self._batches()
        self.assertEqual(sum(len(b.payment_ids) for b in batches), 6)
        self.cycle.send_payment()
        for received in self.server.batches:
            keys = [
                tuple(line.split(",")[5:9]) for line in received["csv"].splitlines()[1:]
            ]
            self.assertEqual(len(keys), len(set(keys)), received["csv"])
        self._sync_until_settled()
        reasons = set(self._payments().mapped("phee_failure_reason"))
        self.assertNotIn("Duplicate transaction.", reasons)
        self.assertEqual(set(self._payments().mapped("status")), {"paid"})

    def test_decimal_amounts_are_refused_while_phee_splits_batches(self):
        with self.assertRaisesRegex(ValidationError, "sub-batches"):
            self.manager.allow_decimal_amounts = True

    def test_manager_warns_when_the_mode_cannot_look_up_the_payee_type(self):
        self.assertFalse(self.manager.phee_payee_type_warning)
        self.manager.payee_id_type = "email"
        self.assertIn("MSISDN", self.manager.phee_payee_type_warning)
        self.manager.payment_mode = "closedloop"
        self.assertFalse(self.manager.phee_payee_type_warning)


@tagged("post_install", "-at_install")
class TestStockPhee(PheeCommon):
    """Against the stock-like server: correlation ids replaced after import,
    sub-batches, nested reasons, incidents, stuck rows and lost answers."""

    server_options = {
        "exception_payee_suffixes": ("777",),
        "stuck_payee_suffixes": ("555",),
    }

    def _phones(self, *suffixes):
        for index, suffix in enumerate(suffixes):
            partner = self._registrant(f"P{index}", phone=f"27710{index:03d}{suffix}")
            self._entitlement(partner)

    def _age(self, batch, fname, **delta):
        self._force(batch, {fname: fields.Datetime.now() - timedelta(**delta)})

    def test_reasons_incidents_and_sub_batches_settle_as_phee_says(self):
        self._phones("001", "999", "777", "002", "003", "004", "005")
        self.manager.max_batch_size = 10
        self._prepare()
        self.cycle.send_payment()
        batch = self._batches()
        self._sync_until_settled(runs=8)
        payments = {p.partner_id.name: p for p in self._payments()}
        self.assertEqual(payments["P1"].phee_payment_state, "failed")
        self.assertEqual(payments["P1"].phee_failure_reason, "Party not found")
        self.assertEqual(payments["P1"].phee_failure_code, "3204")
        self.assertEqual(payments["P2"].phee_payment_state, "paid")
        self.assertEqual(batch.phee_state, "completed_failures")
        self._assert_phee_holds_each_batch_once()

    def test_an_incident_is_on_hold_never_retried_and_ends_paid(self):
        self._phones("777")
        self._prepare()
        self.cycle.send_payment()
        self.env["g2p.payment.batch"]._cron_phee_status_sync()
        payment = self._payments()
        self.assertEqual(payment.phee_payment_state, "on_hold")
        self.assertFalse(payment.status_is_final)
        self.assertFalse(self.cycle.phee_issuable_count)  # nothing to retry
        self._sync_until_settled(runs=8)
        self.assertEqual(payment.phee_payment_state, "paid")
        self.assertEqual(len(self._payments()), 1)
        self._assert_phee_holds_each_batch_once()

    def test_a_lost_answer_is_found_by_its_rows_when_the_correlation_id_is_gone(self):
        self._phones("001", "002")
        self._prepare()
        batch = self._batches()
        self.server.inject("submit", "accept_then_500")
        self.cycle.send_payment()
        self.assertEqual(batch.phee_state, "submitting")
        self.env["g2p.payment.batch"]._cron_phee_status_sync()  # rows run meanwhile
        self._age(batch, "phee_last_attempt_at", minutes=30)
        self.env["g2p.payment.batch"]._cron_phee_status_sync()
        self._assert_adopted(batch)
        self._assert_phee_holds_each_batch_once()

    def test_outside_mojaloop_a_batch_phee_may_have_waits_for_an_admin(self):
        self.manager.payment_mode = "gsma"
        self._phones("001", "002")
        self._prepare()
        batch = self._batches()
        self.server.inject("submit", "http_500")
        self.cycle.send_payment()
        self._age(batch, "phee_last_attempt_at", minutes=30)
        self.env["g2p.payment.batch"]._cron_phee_status_sync()
        self.assertEqual(batch.phee_state, "uncertain")
        self.assertIn("gsma mode", batch.phee_attention_note)
        self.assertFalse(batch.phee_can_send)
        self.cycle.send_payment()
        self.assertFalse(self.server.batches)
        user = officer(self.env, "phee_pm_resend", "g2p_programs.g2p_program_manager")
        with self.assertRaises(AccessError):
            batch.with_user(user).action_phee_resend_confirmed()
        admin = officer(
            self.env, "phee_admin_resend", "g2p_registry_base.group_g2p_admin"
        )
        batch.with_user(admin).action_phee_resend_confirmed()
        self.assertEqual(batch.phee_state, "submitted")
        self.assertEqual(len(self.server.batches), 1)

    def test_a_batch_phee_never_starts_needs_attention_after_its_deadline(self):
        self._restart_server(never_start=1)
        self._phones("001")
        self._prepare()
        batch = self._batches()
        self.cycle.send_payment()
        self.env["g2p.payment.batch"]._cron_phee_status_sync()
        self.assertEqual(batch.phee_state, "submitted")
        self._age(batch, "phee_accepted_at", minutes=61)
        self.env["g2p.payment.batch"]._cron_phee_status_sync()
        self.assertEqual(batch.phee_state, "needs_attention")
        self.assertIn("had not started", batch.phee_attention_note)
        self.assertTrue(batch.activity_ids)
        self.assertIn(batch.name, self.cycle.message_ids[0].body)

    def test_the_needs_attention_activity_goes_to_a_person(self):
        """Sent by the system (the cron, a script): the officer who last
        changed the cycle is asked, not the system user."""
        self._restart_server(never_start=1)
        self._phones("001")
        self._prepare()
        batch = self._batches()
        self.cycle.send_payment()
        user = officer(
            self.env, "phee_pm_attention", "g2p_programs.g2p_program_manager"
        )
        self.cycle.with_user(user).write({"name": "Cycle 1 (checked)"})
        self._age(batch, "phee_accepted_at", minutes=61)
        self.env["g2p.payment.batch"]._cron_phee_status_sync()
        self.assertEqual(batch.phee_state, "needs_attention")
        self.assertEqual(batch.activity_ids.user_id, user)

    def test_a_transfer_that_never_settles_needs_attention_after_its_deadline(self):
        self._phones("001", "555")
        self._prepare()
        batch = self._batches()
        self.cycle.send_payment()
        self._sync_until_settled(runs=3)
        self.assertEqual(batch.phee_state, "in_progress")
        self._age(batch, "phee_started_at", hours=25)
        self.env["g2p.payment.batch"]._cron_phee_status_sync()
        self.assertEqual(batch.phee_state, "needs_attention")
        self.assertIn("after it started: 1 ", batch.phee_attention_note)
        self.env["g2p.payment.batch"]._cron_phee_status_sync()  # still followed
        self.assertEqual(batch.phee_state, "needs_attention")
