# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""The batch and payment state machines: guarded edges, guarded fields, and
commits around every POST, whatever path sends."""

import dataclasses
from datetime import timedelta
from decimal import Decimal
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..models.phee_manager_send import SENDING_LOCK_NAMESPACE
from ..phee.status import TransferOutcome
from .common import PheeCommon, officer

SEND_MODULE = "odoo.addons.g2p_payment_phee.models.phee_manager_send"
SYNC_MODULE = "odoo.addons.g2p_payment_phee.models.phee_manager_sync"


@tagged("post_install", "-at_install")
class TestStateMachine(PheeCommon):
    def setUp(self):
        super().setUp()
        self._entitlements(2)
        self._prepare()
        self.batch = self._batches()
        self.program_manager = officer(
            self.env, "phee_pm", "g2p_programs.g2p_program_manager"
        )

    def _transfer_outcome(self, payment, phee_status, status):
        return TransferOutcome(
            request_id=payment.name,
            phee_status=phee_status,
            status=status,
            final=status in ("paid", "failed"),
            amount=None,
            completed_at=None,
            reason=None,
            transaction_id="tx-" + payment.name,
        )

    def test_an_edge_refuses_a_batch_not_in_a_state_it_leaves(self):
        with self.assertRaises(UserError):
            self.batch._phee_finish()
        with self.assertRaises(UserError):
            self.batch._phee_accept("123")
        self.assertEqual(self.batch.phee_state, "draft")

    def test_state_and_attempt_fields_are_refused_over_rpc(self):
        self.cycle.send_payment()
        self.assertEqual(self.batch.phee_state, "submitted")
        batch = self.batch.with_user(self.program_manager)
        forged = batch.with_context(phee_state_machine=True)
        for vals in (
            {"phee_state": "draft"},
            {"phee_attempt_count": 0},
            {"phee_attempt_outcome": False},
            {"phee_last_attempt_at": False},
            {"external_batch_ref": "other"},
        ):
            for records in (batch, forged, batch.sudo()):
                with self.subTest(vals=vals), self.assertRaises(AccessError):
                    records.write(vals)
        self.assertEqual(self.batch.phee_state, "submitted")
        self.assertEqual(self.batch.phee_attempt_count, 1)
        self.cycle.send_payment()
        self.assertEqual(len(self.server.batches), 1)

    def test_a_batch_cannot_be_created_in_a_later_state(self):
        Batch = self.env["g2p.payment.batch"].with_user(self.program_manager)
        for vals in ({"phee_state": "submitted"}, {"phee_attempt_count": 3}):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                Batch.create({"name": "forged", "cycle_id": self.cycle.id, **vals})
        draft = Batch.create({"name": "ok", "cycle_id": self.cycle.id})
        self.assertTrue(draft.phee_can_send)

    def test_payment_money_and_state_fields_are_refused_over_rpc(self):
        payment = self.batch.payment_ids[:1].with_user(self.program_manager)
        for vals in (
            {"status": "failed"},
            {"phee_payment_state": "failed"},
            {"amount_issued": 1.0},
            {"account_number": "27700000000"},
            {"name": "another-request-id"},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                payment.write(vals)
        with self.assertRaises(AccessError):
            self.env["g2p.payment"].with_user(self.program_manager).create(
                {
                    "entitlement_id": payment.entitlement_id.id,
                    "amount_issued": 1.0,
                    "phee_payment_state": "issued",
                }
            )

    def test_payment_states_follow_the_table(self):
        self.cycle.send_payment()
        first, second = self.batch.payment_ids.sorted("id")
        self.assertEqual((first.phee_payment_state, first.state), ("sent", "sent"))
        self.manager._phee_apply_outcomes(
            first | second,
            {
                first.name: self._transfer_outcome(first, "EXCEPTION", "on_hold"),
                second.name: self._transfer_outcome(second, "COMPLETED", "paid"),
            },
        )
        self.assertEqual(first.phee_payment_state, "on_hold")
        self.assertFalse(first.status_is_final)
        self.assertFalse(first.status)
        self.assertEqual(
            (second.phee_payment_state, second.state, second.status),
            ("paid", "reconciled", "paid"),
        )
        self.assertTrue(second.status_is_final)
        self.manager._phee_apply_outcomes(
            first, {first.name: self._transfer_outcome(first, "COMPLETED", "paid")}
        )
        self.assertEqual(first.phee_payment_state, "paid")
        self.assertEqual(first.amount_paid, first.amount_issued)
        # A final payment is never moved again.
        changed = self.manager._phee_apply_outcomes(
            first, {first.name: self._transfer_outcome(first, "FAILED", "failed")}
        )
        self.assertEqual((changed, first.phee_payment_state), (0, "paid"))

    def test_unsettled_rows_without_dates_sync_without_error(self):
        self.cycle.send_payment()
        payments = self.batch.payment_ids
        outcomes = {
            p.name: self._transfer_outcome(p, "IN_PROGRESS", "sent") for p in payments
        }
        self.assertEqual(self.manager._phee_apply_outcomes(payments, outcomes), 2)
        self.assertEqual(set(payments.mapped("phee_status")), {"IN_PROGRESS"})
        self.assertEqual(self.manager._phee_apply_outcomes(payments, outcomes), 0)

    def _commits_while(self, action):
        seen = []

        def record(cr):
            seen.append((self.batch.phee_state, len(self.server.batches)))

        with patch(f"{SEND_MODULE}.commit_unless_testing", side_effect=record):
            action()
        return seen

    def test_batch_button_commits_around_the_post(self):
        seen = self._commits_while(self.batch.send_payment)
        self.assertEqual(seen, [("submitting", 0), ("submitted", 1)])

    def test_queue_job_commits_around_the_post(self):
        seen = self._commits_while(
            lambda: self.manager._phee_send_batch_job(self.batch)
        )
        self.assertEqual(seen, [("submitting", 0), ("submitted", 1)])

    def test_cron_and_check_status_commit_around_a_re_post(self):
        self.server.inject("submit", "http_500")
        self.cycle.send_payment()
        for action in (
            self.batch.action_phee_check_status,
            self.env["g2p.payment.batch"]._cron_phee_status_sync,
        ):
            self._force(
                self.batch,
                {
                    "phee_state": "submitting",
                    "phee_attempt_outcome": "unknown",
                    "phee_last_attempt_at": fields.Datetime.now()
                    - timedelta(minutes=30),
                },
            )
            self.server.inject("submit", "http_500")
            seen = self._commits_while(action)
            with self.subTest(action=action.__name__):
                self.assertEqual(seen[:2], [("submitting", 0), ("submitting", 0)])

    def test_a_post_in_flight_elsewhere_is_never_posted_again(self):
        with self.registry.cursor() as other:
            other.execute(
                "SELECT pg_advisory_lock(%s, %s)",
                (SENDING_LOCK_NAMESPACE, self.batch.id),
            )
            action = self.cycle.send_payment()
            other.execute(
                "SELECT pg_advisory_unlock(%s, %s)",
                (SENDING_LOCK_NAMESPACE, self.batch.id),
            )
        self.assertIn("being sent", action["params"]["message"])
        self.assertFalse(self.server.batches)
        self.assertEqual(self.batch.phee_state, "draft")

    def test_no_wait_setting_re_posts_an_unanswered_attempt_at_once(self):
        # Refused by a constraint today; a database may hold it from before.
        self.env.cr.execute(
            "UPDATE g2p_program_payment_manager_phee SET resubmit_grace_minutes = 0"
        )
        self.manager.invalidate_recordset()
        self.server.inject("submit", "http_500")
        self.cycle.send_payment()
        action = self.cycle.send_payment()
        self.assertIn("Waiting", action["params"]["message"])
        self.assertFalse(self.server.batches)

    def test_one_odd_answer_does_not_stop_the_other_batches(self):
        self._entitlements(3)
        self._prepare()
        self.cycle.send_payment()
        batches = self._batches()
        self.assertGreater(len(batches), 1)
        with patch(
            f"{SYNC_MODULE}.G2PPaymentHubEEManagerSync._phee_sync_batch",
            side_effect=[TypeError("odd"), None, None, None],
        ):
            self.manager._phee_sync_batches(batches)
        self.assertIn("TypeError", batches[0].phee_last_error)
        self.assertFalse(batches[1:].filtered("phee_last_error"))

    def test_a_completed_transfer_of_another_amount_needs_attention(self):
        self.cycle.send_payment()
        payment = self.batch.payment_ids[:1]
        outcome = self._transfer_outcome(payment, "COMPLETED", "paid")
        self.manager._phee_apply_outcomes(
            payment, {payment.name: dataclasses.replace(outcome, amount=Decimal(1))}
        )
        self.assertEqual(payment.phee_payment_state, "needs_attention")
        self.assertFalse(payment.status_is_final)
        self.assertFalse(payment.amount_paid)
        self.assertIn("PHEE completed 1.0", payment.phee_failure_reason)
        self.assertIn("but 500.0", payment.phee_failure_reason)
