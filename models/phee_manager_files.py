# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Manager settings that decide whether PHEE processes the files as intended."""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

# Payment modes whose connector looks every party up as an MSISDN, whatever the
# identifier type says (PHEE bulk processor utility/Utils.java; GSMA hard-codes
# the "msisdn" key).
MSISDN_ONLY_MODES = ("mojaloop", "gsma")


class G2PPaymentHubEEManagerFiles(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    phee_splits_batches = fields.Boolean(
        "PHEE Splits Batches",
        default=True,
        help="PHEE's bulk processor splits each batch into sub-batches (of 5 rows "
        "by default) and then reads amounts as whole numbers. Untick only if your "
        "PHEE runs with splitting off.",
    )
    phee_payee_type_warning = fields.Char(compute="_compute_phee_payee_type_warning")

    @api.depends("payment_mode", "payee_id_type", "payee_id_type_to_send")
    def _compute_phee_payee_type_warning(self):
        for rec in self:
            mode = (rec.payment_mode or "").strip().lower()
            id_type = rec.payee_id_type and rec._phee_payee_identifier_type()
            rec.phee_payee_type_warning = (
                _(
                    "In %(mode)s mode PHEE looks every payee up as a phone number "
                    "(MSISDN), whatever the identifier type: payees sent as "
                    "“%(type)s” fail unless they are registered under that value "
                    "as a phone number.",
                    mode=mode,
                    type=id_type,
                )
                if mode in MSISDN_ONLY_MODES and id_type and id_type.lower() != "msisdn"
                else False
            )

    @api.constrains("allow_decimal_amounts", "phee_splits_batches")
    def _check_decimal_amounts(self):
        for rec in self:
            if rec.allow_decimal_amounts and rec.phee_splits_batches:
                raise ValidationError(
                    _(
                        "Decimal amounts break PHEE's sub-batches: its splitting "
                        "reads amounts as whole numbers. Allow them only when "
                        "your PHEE runs with splitting off (untick “PHEE Splits "
                        "Batches”)."
                    )
                )
