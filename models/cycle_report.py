# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""The cycle's reports for a finance officer: the disbursement report, the
export of its payments and its payment dashboard."""

from odoo import _, models

EXPORT_URL = "/g2p_payment_phee/cycle/%s/payments/%s"


class G2PCycle(models.Model):
    _inherit = "g2p.cycle"

    def action_phee_print_disbursement_report(self):
        """The disbursement report as PDF, or on screen where wkhtmltopdf cannot
        make one (missing, broken, or Odoo running with a single worker)."""
        report = self.env.ref("g2p_payment_phee.action_report_cycle_disbursement")
        if report.get_wkhtmltopdf_state() not in ("ok", "upgrade"):
            report = self.env.ref(
                "g2p_payment_phee.action_report_cycle_disbursement_html"
            )
        return report.report_action(self, config=False)

    def action_phee_preview_disbursement_report(self):
        """The disbursement report on screen."""
        report = self.env.ref("g2p_payment_phee.action_report_cycle_disbursement_html")
        return report.report_action(self, config=False)

    def action_phee_export_payments_csv(self):
        return self._phee_export_action("csv")

    def action_phee_export_payments_xlsx(self):
        return self._phee_export_action("xlsx")

    def _phee_export_action(self, file_format):
        """Download every payment of the cycle (controllers/export.py)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": EXPORT_URL % (self.id, file_format),
            "target": "self",
        }

    def action_phee_open_payment_dashboard(self):
        """The cycle's payments as a chart and a pivot table."""
        self.ensure_one()
        return self._phee_cycle_action(
            "g2p_payment_phee.action_phee_payment_dashboard",
            _("Payments of %(cycle)s", cycle=self.name),
        )

    def action_phee_open_payment_timeline(self):
        """Paid, failed and pending payments of the cycle over time."""
        self.ensure_one()
        return self._phee_cycle_action(
            "g2p_payment_phee.action_phee_payment_timeline",
            _("Payment timeline of %(cycle)s", cycle=self.name),
        )

    def _phee_cycle_action(self, xmlid, name):
        action = self.env.ref(xmlid)._get_action_dict()
        action.update(name=name, display_name=name, domain=[("cycle_id", "=", self.id)])
        return action
