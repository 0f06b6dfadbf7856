# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
import base64

from odoo.exceptions import UserError
from odoo.tests import tagged

from ..phee import TransferOutcome
from .common import PheeCommon


@tagged("post_install", "-at_install")
class TestBatchView(PheeCommon):
    """PHEE's batch view on the batch: approvals, sub-batches, result file."""

    server_options = {"approvals_in_view": True, "settle_polls": 3}

    def _send_one_batch(self, count=3):
        self.manager.max_batch_size = 10
        self._entitlements(count)
        self._prepare()
        self.cycle.send_payment()
        return self._batches()

    def _sync(self):
        self.env["g2p.payment.batch"]._cron_phee_status_sync()

    def test_view_is_kept_and_sub_batches_shown(self):
        batch = self._send_one_batch(7)
        self._sync()
        self.assertEqual(batch.phee_state, "in_progress")
        self.assertEqual(batch.phee_total_sub_batches, 2)
        self.assertEqual(len(batch.phee_sub_batches), 2)
        self.assertIn("<table", batch.phee_sub_batches_html)
        self.assertEqual(batch.phee_approved_amount, 3500)
        self.assertEqual(batch.phee_approved_count, 7)
        self.assertTrue(batch.phee_view_synced_at)

    def test_view_fields_are_written_by_the_sync_only(self):
        batch = self._send_one_batch()
        with self.assertRaisesRegex(Exception, "Payment Hub EE processing only"):
            batch.write({"phee_approved_amount": 1})

    def test_approved_in_full_needs_nobody(self):
        self.manager.phee_check_approved_amount = True
        batch = self._send_one_batch()
        self._sync_until_settled()
        self.assertEqual(batch.phee_state, "completed")

    def test_result_file_attached(self):
        batch = self._send_one_batch()
        self._sync_until_settled()
        action = batch.action_phee_download_result_file()
        attachment = batch.phee_result_attachment_id
        self.assertIn(str(attachment.id), action["url"])
        lines = base64.b64decode(attachment.datas).decode().splitlines()
        self.assertEqual(len(lines), 3)
        self.assertEqual({line.split(",")[1] for line in lines}, {"COMPLETED"})

    def test_no_result_file_yet_is_said(self):
        batch = self._send_one_batch()
        with self.assertRaisesRegex(UserError, "no result file"):
            batch.action_phee_download_result_file()

    def test_instruction_reasons_complete_bare_failures(self):
        batch = self._send_one_batch(1)
        payment = batch.payment_ids
        self._force(
            payment, {"phee_payment_state": "failed", "phee_transaction_id": "t-1"}
        )
        outcome = TransferOutcome(
            payment.name, "FAILED", "failed", True, None, None, None, "t-1"
        )

        class Client:
            def get_instruction_reasons(self, batch_id, correlation_id, limit):
                return {"t-1": "Budget account has no funds"}

        self.manager._phee_merge_instruction_reasons(
            batch, Client(), payment, {payment.name: outcome}
        )
        self.assertEqual(payment.phee_failure_reason, "Budget account has no funds")


@tagged("post_install", "-at_install")
class TestBudgetRefused(PheeCommon):
    """A batch PHEE's budget check refused needs a person, with the amount."""

    server_options = {"approvals_in_view": True, "reject_budget": 1}

    def test_refused_budget_needs_attention(self):
        self.manager.phee_check_approved_amount = True
        self._entitlements(2)
        self._prepare()
        self.cycle.send_payment()
        self.env["g2p.payment.batch"]._cron_phee_status_sync()
        batch = self._batches()[0]
        self.assertEqual(batch.phee_state, "needs_attention")
        self.assertIn("PHEE approved", batch.phee_attention_note)
        self.assertIn("0.00", batch.phee_attention_note)
        self.assertIn("1,000.00", batch.phee_attention_note)
        self.assertTrue(batch.activity_ids)

    def test_without_the_option_a_stock_zero_is_not_acted_on(self):
        self._entitlements(2)
        self._prepare()
        self.cycle.send_payment()
        self.env["g2p.payment.batch"]._cron_phee_status_sync()
        batch = self._batches()[0]
        self.assertEqual(batch.phee_state, "in_progress")
        self.assertEqual(batch.phee_approved_amount, 0)
