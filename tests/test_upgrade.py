# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Upgrade from OpenG2P's original module: what it sent is never sent again,
what it only prepared is sent once, and both are reconciled."""

from uuid import uuid4

from odoo.tests import tagged

from ..phee import csv_render
from .common import PheeCommon, run_migration


@tagged("post_install", "-at_install")
class TestUpgrade(PheeCommon):
    def _old_batch(self, entitlements, sent, correlation_id=None):
        """A batch and its payments as the original module left them."""
        batch = self.env["g2p.payment.batch"].create(
            {
                "name": str(uuid4()),
                "cycle_id": self.cycle.id,
                "batch_has_started": sent,
                "external_batch_ref": correlation_id,
            }
        )
        payments = self.env["g2p.payment"].create(
            [
                {
                    "name": str(uuid4()),
                    "entitlement_id": ent.id,
                    "cycle_id": self.cycle.id,
                    "amount_issued": ent.initial_amount,
                    "state": "sent" if sent else "issued",
                    "batch_id": batch.id,
                }
                for ent in entitlements
            ]
        )
        batch.payment_ids = [(6, 0, payments.ids)]
        return batch

    def _post_as_the_original_module(self, batch):
        """Put the batch at PHEE as the original module posted it."""
        payments = batch.payment_ids.sorted("id")
        frame = self.manager._phee_csv_frame(
            payments.mapped("name"),
            [p.partner_id.phone for p in payments],
            payments.mapped("amount_issued"),
        )
        with self.manager._phee_client() as client:
            client.submit_batch(
                csv_render.render_csv(frame),
                correlation_id=batch.external_batch_ref,
                filename=f"ph_ee_{batch.name}.csv",
                purpose="G2P Payment",
                batch_type="csv",
            )

    def test_sent_batches_are_never_sent_again_and_prepared_ones_are_sent_once(self):
        at_phee = self._old_batch(self._entitlements(2), True, str(uuid4()))
        self._post_as_the_original_module(at_phee)
        lost = self._old_batch(self._entitlements(2), False, str(uuid4()))
        no_phone = self._entitlement(self._registrant("No Phone"))
        prepared = self._old_batch(self._entitlements(2) | no_phone, False)
        prepared_payments = prepared.payment_ids - no_phone.payment_ids
        self.manager.write(
            {
                "batches_endpoint_url": "http://ph-ee-operations-app:80/api/v1/batches",
                "details_endpoint_url": self.manager.status_endpoint_url,
            }
        )
        self.env.flush_all()
        run_migration(self.env.cr, "17.0.1.0.0", "post-migration.py", "17.0.0.0.0")
        self.env.invalidate_all()

        endpoints = self.server.endpoints()
        self.assertEqual(
            self.manager.batches_endpoint_url, endpoints["batches_endpoint_url"]
        )
        self.assertEqual(
            self.manager.details_endpoint_url, endpoints["details_endpoint_url"]
        )
        self.assertEqual((at_phee | lost).mapped("phee_state"), ["legacy"] * 2)
        self.assertFalse((at_phee | lost).filtered("phee_can_send"))
        self.assertEqual(prepared.phee_state, "draft")
        self.assertTrue(all(prepared_payments.mapped("account_number")))
        held = no_phone.payment_ids
        self.assertEqual(held.phee_payment_state, "held_back")
        self.assertIn("Phone", held.phee_failure_reason)
        self.assertFalse(held.batch_id)

        self.cycle.send_payment()
        self._sync_until_settled(runs=8)

        self.assertEqual(len(self.server.batches), 2)  # the old one and one new
        self.assertFalse(
            [r for r, n in self.server.request_id_counts().items() if n > 1]
        )
        self.assertIn(at_phee.phee_state, ("completed", "completed_failures"))
        self.assertEqual(set(at_phee.payment_ids.mapped("status")), {"paid"})
        self.assertEqual(lost.phee_state, "legacy")
        self.assertIn("administrator", lost.phee_attention_note)
        self.assertEqual(prepared.phee_state, "completed")
        self.assertEqual(set(prepared_payments.mapped("status")), {"paid"})
