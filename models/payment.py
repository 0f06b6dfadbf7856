# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo import fields, models


class G2PPayment(models.Model):
    _inherit = "g2p.payment"

    phee_payee_id_type = fields.Char(
        "Payee Identifier Type",
        readonly=True,
        help="Identifier type written in the PHEE file; the identifier itself is "
        "the account number snapshot.",
    )
    phee_status = fields.Selection(
        [
            ("IN_PROGRESS", "In progress"),
            ("COMPLETED", "Completed"),
            ("FAILED", "Failed"),
            ("EXCEPTION", "Exception"),
            ("UNKNOWN", "Unknown"),
        ],
        "PHEE Status",
        readonly=True,
        copy=False,
    )
    phee_transaction_id = fields.Char("PHEE Transaction ID", readonly=True, copy=False)
    phee_failure_reason = fields.Char("Failure Reason", readonly=True, copy=False)
