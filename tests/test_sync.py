# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo.tests import tagged

from .common import PheeCommon


class SyncCommon(PheeCommon):
    def _send_mixed_cycle(self, paid=4, failing=2):
        """Entitlements whose payees ending in 999 fail at PHEE."""
        good = self._entitlements(paid)
        bad = self.env["g2p.entitlement"]
        for index in range(failing):
            partner = self._registrant(f"Unknown {index}", phone=f"27719{index:03d}999")
            bad |= self._entitlement(partner)
        self._prepare()
        self.cycle.send_payment()
        return good, bad

    def _run_cron(self, times=4):
        cron = self.env.ref("g2p_payment_phee.cron_phee_status_sync")
        for _ in range(times):
            cron.method_direct_trigger()


@tagged("post_install", "-at_install")
class TestSync(SyncCommon):
    def test_full_cycle_is_reconciled_with_mixed_outcomes(self):
        good, bad = self._send_mixed_cycle()
        self._run_cron()
        for payment in good.payment_ids:
            self.assertEqual(
                (payment.state, payment.status, payment.status_is_final),
                ("reconciled", "paid", True),
            )
            self.assertEqual(payment.amount_paid, 500.0)
            self.assertTrue(payment.payment_datetime)
            self.assertEqual(payment.phee_status, "COMPLETED")
        for payment in bad.payment_ids:
            self.assertEqual(
                (payment.status, payment.phee_status), ("failed", "FAILED")
            )
            self.assertTrue(payment.phee_failure_reason)
        batches = self._batches()
        self.assertTrue(all(batches.mapped("batch_has_completed")))
        self.assertIn("completed_failures", batches.mapped("phee_state"))
        self.assertEqual(sum(batches.mapped("stats_paid_transactions")), 4)
        self.assertEqual(sum(batches.mapped("stats_failed_transactions")), 2)
        self.assertEqual(sum(batches.mapped("stats_paid_amount")), 2000.0)
        self.assertEqual(self.cycle.phee_paid_count, 4)
        self.assertEqual(self.cycle.phee_failed_count, 2)
        self.assertEqual(self.cycle.state, "approved")
        self.assertIn("complete", self.cycle.message_ids[0].body)

    def test_resync_changes_nothing(self):
        self._send_mixed_cycle()
        self._run_cron()
        payments = self.cycle.payment_batch_ids.payment_ids
        before = payments.read(["state", "status", "write_date", "phee_status"])
        messages = len(self._batches().message_ids)
        self._run_cron()
        self.assertEqual(
            payments.read(["state", "status", "write_date", "phee_status"]), before
        )
        self.assertEqual(len(self._batches().message_ids), messages)

    def test_all_paid_cycle_is_marked_distributed(self):
        self._send_mixed_cycle(paid=3, failing=0)
        self._run_cron()
        self.assertEqual(set(self._batches().mapped("phee_state")), {"completed"})
        self.assertEqual(self.cycle.state, "distributed")

    def test_check_status_button_on_batch_and_cycle(self):
        self._send_mixed_cycle(paid=2, failing=1)
        batch = self._batches()[0]
        for _ in range(3):
            action = batch.action_phee_check_status()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn(batch.phee_state, ("completed", "completed_failures"))
        for _ in range(3):
            action = self.cycle.action_phee_check_status()
        self.assertIn("2 paid", action["params"]["message"])

    def test_retry_failed_issues_new_payments_only_for_failures(self):
        good, bad = self._send_mixed_cycle(paid=2, failing=1)
        self._run_cron()
        failed_payment = bad.payment_ids
        bad.partner_id.phone = "27710777777"
        action = self.cycle.action_phee_retry_failed()
        self.env[action["res_model"]].with_context(action["context"]).create(
            {}
        ).action_retry()
        self.assertEqual(len(bad.payment_ids), 2)
        new_payment = bad.payment_ids - failed_payment
        self.assertNotEqual(new_payment.name, failed_payment.name)
        self.assertEqual(len(good.mapped("payment_ids")), len(good))
        self.cycle.send_payment()
        self._run_cron()
        self.assertEqual(new_payment.status, "paid")
        self._assert_phee_holds_each_batch_once()
        self.assertEqual(self.cycle.state, "approved")


@tagged("post_install", "-at_install")
class TestSyncStrictServer(SyncCommon):
    server_options = {
        "require_auth": True,
        "import_delay_polls": 2,
        "page_size_cap": 2,
        "id_field": "alternate",
        "token_ttl": 600,
    }

    def test_late_import_paging_and_both_id_fields_reconcile(self):
        good, bad = self._send_mixed_cycle(paid=5, failing=1)
        cron = self.env.ref("g2p_payment_phee.cron_phee_status_sync")
        cron.method_direct_trigger()
        self.assertFalse(self._batches().filtered("phee_last_error"))
        self._run_cron(times=6)
        self.assertEqual(set(good.payment_ids.mapped("status")), {"paid"})
        self.assertEqual(bad.payment_ids.status, "failed")
        self.assertTrue(self.manager.sudo().auth_token)

    def test_expired_token_is_refreshed(self):
        self._send_mixed_cycle(paid=2, failing=0)
        self._run_cron(times=1)
        self.server.inject("token", "expire_tokens")
        self._run_cron(times=6)
        self.assertEqual(set(self._batches().mapped("phee_state")), {"completed"})
