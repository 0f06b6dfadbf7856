# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo import api, fields, models
from odoo.tools.misc import format_datetime


class ReportCycleDisbursement(models.AbstractModel):
    """Values of the disbursement report (report/disbursement_report.xml)."""

    _name = "report.g2p_payment_phee.report_cycle_disbursement"
    _description = "Payment Hub EE Disbursement Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        cycles = self.env["g2p.cycle"].browse(docids)
        user = self.env.user
        return {
            "doc_ids": docids,
            "doc_model": "g2p.cycle",
            "docs": cycles,
            "reconciliations": {c.id: c._phee_reconciliation() for c in cycles},
            "generated_at": format_datetime(
                self.env, fields.Datetime.now(), tz=user.tz, dt_format="medium"
            ),
            "generated_tz": user.tz or "UTC",
            "generated_by": user,
        }
