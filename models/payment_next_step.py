# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""What a person should do about a failed PHEE payment, and a way to its
registrant."""

from odoo import _, api, fields, models

from ..phee import failures


def _next_steps():
    """Next step per failure kind (and for payments held back), translated."""
    return {
        "held_back": _(
            "Correct the registrant's data, then retry: a registrant left "
            "unchanged is not retried."
        ),
        failures.PAYEE_UNKNOWN: _(
            "The payee's DFSP has no account or wallet for this number: correct "
            "the number on the registrant, or ask the beneficiary to register "
            "it, then retry."
        ),
        failures.PAYEE_REFUSED: _(
            "The beneficiary's DFSP refused the transfer (account blocked or "
            "over a limit): ask the beneficiary to contact their provider, then "
            "retry."
        ),
        failures.PAYER: _(
            "The paying account could not pay (funds, limits or permissions): "
            "ask the treasury or PHEE's operators, then retry."
        ),
        failures.DUPLICATE: _(
            "PHEE refused a second identical row of one file: retry, the "
            "payment goes into a new batch."
        ),
        failures.TRANSIENT: _("A temporary failure at PHEE or a DFSP: retry."),
        failures.INVALID: _(
            "PHEE refused the row's data: correct the registrant, then retry."
        ),
        failures.OTHER: _(
            "Ask PHEE's operators what this reason means before retrying."
        ),
    }


class G2PPaymentNextStep(models.Model):
    _inherit = "g2p.payment"

    phee_next_step = fields.Char(
        "Next Step",
        compute="_compute_phee_next_step",
        help="What to do about this failed payment before retrying it.",
    )

    @api.depends("phee_payment_state", "phee_failure_code", "phee_failure_reason")
    def _compute_phee_next_step(self):
        steps = _next_steps()
        for payment in self:
            state = payment.phee_payment_state
            if state == "held_back":
                payment.phee_next_step = steps["held_back"]
            elif state == "failed":
                kind = failures.failure_kind(
                    payment.phee_failure_code, payment.phee_failure_reason
                )
                payment.phee_next_step = steps[kind]
            else:
                payment.phee_next_step = False

    def action_phee_open_registrant(self):
        """Open the payment's registrant, to correct what made it fail."""
        self.ensure_one()
        partner = self.partner_id
        return {
            "type": "ir.actions.act_window",
            "name": partner.display_name,
            "res_model": "res.partner",
            "res_id": partner.id,
            "view_mode": "form",
            "views": [(self._phee_registrant_form(partner), "form")],
            "target": "current",
        }

    def _phee_registrant_form(self, partner):
        """The registry's form of a group or an individual (False: default)."""
        xmlid = (
            "g2p_registry_group.view_groups_form"
            if partner.is_group
            else "g2p_registry_individual.view_individuals_form"
        )
        view = self.env.ref(xmlid, raise_if_not_found=False)
        return view.id if view else False
