# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Retry Failed Payments: numbers and reasons first; nothing retried that would
fail again unchanged."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import officer
from .test_sync import SyncCommon

PROGRAM_MANAGER = "g2p_programs.g2p_program_manager"
FINANCE_VALIDATOR = "g2p_programs.g2p_finance_validator"


@tagged("post_install", "-at_install")
class TestRetryFailed(SyncCommon):
    def _wizard(self, env=None, **vals):
        env = env or self.env
        action = self.cycle.with_env(env).action_phee_retry_failed()
        self.assertEqual(action["res_model"], "g2p.phee.retry.wizard")
        return env["g2p.phee.retry.wizard"].with_context(action["context"]).create(vals)

    def _settled_mixed_cycle(self, paid=2, failing=1):
        good, bad = self._send_mixed_cycle(paid=paid, failing=failing)
        self._run_cron()
        self.assertEqual(set(bad.payment_ids.mapped("status")), {"failed"})
        return good, bad

    def test_unknown_payee_with_the_same_number_is_not_retried(self):
        _good, bad = self._settled_mixed_cycle()
        failed = bad.payment_ids
        self.assertEqual(failed.phee_failure_reason, "Party not found")
        self.assertIn("register", failed.phee_next_step)
        self.assertEqual(self.cycle.phee_retry_count, 0)
        self.assertEqual(self.cycle.phee_retry_unchanged_count, 1)
        wizard = self._wizard()
        self.assertEqual(wizard.retry_count, 0)
        self.assertEqual(wizard.unchanged_payee_count, 1)
        self.assertIn("1 payment not retried", wizard.plan_html)
        self.assertIn("Party not found", wizard.plan_html)
        with self.assertRaisesRegex(UserError, "would fail again unchanged"):
            wizard.action_retry()
        self.cycle.prepare_payment()
        self.assertEqual(bad.payment_ids, failed, "Prepare does not retry it either")
        self.assertIn("not issued again", self.cycle.message_ids[0].body)

    def test_officer_may_retry_unchanged_payees_on_purpose(self):
        _good, bad = self._settled_mixed_cycle()
        failed = bad.payment_ids
        wizard = self._wizard(retry_unchanged=True)
        self.assertEqual(wizard.retry_count, 1)
        wizard.action_retry()
        new = bad.payment_ids - failed
        self.assertEqual(new.phee_payment_state, "issued")
        self.assertEqual(new.account_number, failed.account_number)

    def test_corrected_number_is_retried_with_counts_shown(self):
        good, bad = self._settled_mixed_cycle(paid=2, failing=2)
        bad[0].partner_id.phone = "27710777777"
        self.assertEqual(self.cycle.phee_retry_count, 1)
        wizard = self._wizard()
        self.assertEqual(wizard.retry_count, 1)
        self.assertIn("1 payment will be issued", wizard.plan_html)
        self.assertIn("1 payment not retried", wizard.plan_html)
        wizard.action_retry()
        self.assertEqual(len(bad[0].payment_ids), 2)
        self.assertEqual(len(bad[1].payment_ids), 1)
        self.assertEqual(len(good.payment_ids), 2)
        self.cycle.send_payment()
        self._run_cron()
        self.assertEqual(
            bad[0].payment_ids.sorted("id")[-1].status, "paid", "Paid on retry"
        )
        self._assert_phee_holds_each_batch_once()

    def test_unchanged_registrant_is_not_held_back_twice(self):
        nobody = self._registrant("No Phone")
        held = self._entitlement(nobody)
        self._entitlements(1)
        self._prepare()
        first = held.payment_ids
        self.assertEqual(first.phee_payment_state, "held_back")
        self.assertIn("Correct the registrant", first.phee_next_step)
        self.assertEqual(self.cycle.phee_retry_count, 0)
        self._prepare()
        self.assertEqual(held.payment_ids, first, "No second held-back payment")
        nobody.phone = "27710666666"
        self.cycle.invalidate_recordset(["phee_retry_count"])
        self.assertEqual(self.cycle.phee_retry_count, 1)
        wizard = self._wizard()
        self.assertIn("their registrant corrected", wizard.plan_html)
        wizard.action_retry()
        new = held.payment_ids - first
        self.assertEqual(new.phee_payment_state, "issued")
        self.assertEqual(new.account_number, "27710666666")

    def test_registrant_held_back_for_a_new_reason_is_recorded(self):
        nobody = self._registrant("No Phone")
        held = self._entitlement(nobody)
        self._prepare()
        nobody.phone = "27710444444"
        held.initial_amount = 500.5  # PHEE takes whole amounts only here
        self.assertEqual(self.cycle.phee_retry_count, 1)
        wizard = self._wizard()
        self.assertIn("held back again, for a new reason", wizard.plan_html)
        wizard.action_retry()
        self.assertEqual(len(held.payment_ids), 2)
        self.assertEqual(
            set(held.payment_ids.mapped("phee_payment_state")), {"held_back"}
        )

    def test_registrant_link_of_a_failed_payment(self):
        _good, bad = self._settled_mixed_cycle()
        action = bad.payment_ids.action_phee_open_registrant()
        self.assertEqual(
            (action["res_model"], action["res_id"]), ("res.partner", bad.partner_id.id)
        )
        view = self.env.ref("g2p_registry_individual.view_individuals_form")
        self.assertEqual(action["views"], [(view.id, "form")])

    def test_program_officer_retries_and_finance_cannot(self):
        _good, bad = self._settled_mixed_cycle()
        bad.partner_id.phone = "27710555555"
        manager_user = officer(self.env, "phee_retry_pm", PROGRAM_MANAGER)
        wizard = self._wizard(env=self.env(user=manager_user))
        self.assertEqual(wizard.retry_count, 1)
        wizard.action_retry()
        self.assertEqual(len(bad.payment_ids), 2)
        finance = officer(self.env, "phee_retry_fin", FINANCE_VALIDATOR)
        with self.assertRaises(AccessError):
            self._wizard(env=self.env(user=finance))
