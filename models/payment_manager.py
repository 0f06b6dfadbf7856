# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo import api, models


class G2PProgramPaymentManager(models.Model):
    _inherit = "g2p.program.payment.manager"

    @api.model
    def _selection_manager_ref_id(self):
        """Override of `g2p_programs` to offer Payment Hub EE as a payment manager."""
        selection = super()._selection_manager_ref_id()
        manager = ("g2p.program.payment.manager.phee", "Payment Hub EE")
        if manager not in selection:
            selection.append(manager)
        return selection
