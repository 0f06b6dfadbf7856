# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Batches left by OpenG2P's original module, taken over at upgrade."""

from odoo import _, models

from .phee_guard import by_state_machine
from .phee_payee import PayeeResolver


class G2PPaymentHubEEManagerUpgrade(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    def _phee_adopt_legacy(self, batches):
        """Batches the original module sent, or began to send: never sent
        again; the status sync looks for them at PHEE."""
        self.ensure_one()
        for batch in batches:
            batch._phee_inherit()
            payments = batch.payment_ids.filtered(lambda p: not p.phee_payment_state)
            payments._phee_set_state(
                "sent", {"phee_payee_id_type": self._phee_payee_identifier_type()}
            )

    def _phee_upgrade_prepared(self, batches):
        """Batches the original module only prepared: their payments get the
        identifier the renderer sends; those without one are held back."""
        self.ensure_one()
        payments = batches.payment_ids.filtered(lambda p: not p.phee_payment_state)
        identifiers = PayeeResolver(self).resolve(payments.partner_id.ids)
        id_type = self._phee_payee_identifier_type()
        held = payments.filtered(lambda p: p.partner_id.id not in identifiers)
        for payment in payments - held:
            payment._phee_set_state(
                "issued",
                {
                    "account_number": identifiers[payment.partner_id.id],
                    "phee_payee_id_type": id_type,
                },
            )
        reason = _("registrant has no %(kind)s", kind=self._phee_payee_kind_label())
        held._phee_set_state(
            "held_back",
            {"phee_failure_reason": reason, "phee_payee_id_type": id_type},
        )
        for batch in batches:
            out = batch.payment_ids & held
            if out:
                by_state_machine(out).write({"batch_id": False})
                batch.write(
                    {
                        "payment_ids": [(3, p.id) for p in out],
                        "stats_issued_transactions": len(batch.payment_ids) - len(out),
                        "stats_issued_amount": sum(
                            (batch.payment_ids - out).mapped("amount_issued")
                        ),
                    }
                )
                batch.message_post(
                    body=self._phee_chatter_body(
                        "\n".join(
                            [self._phee_held_back_title([(p, reason) for p in out])]
                            + [f"{p.partner_id.name}: {reason}" for p in out]
                        )
                    )
                )
        batches._phee_claim()
