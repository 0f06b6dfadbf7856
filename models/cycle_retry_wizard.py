# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Retry Failed Payments: what will be issued again and why, before doing it."""

from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError

REASONS_SHOWN = 10


class G2PPaymentHubEERetryWizard(models.TransientModel):
    _name = "g2p.phee.retry.wizard"
    _description = "Retry Failed PHEE Payments"

    cycle_id = fields.Many2one("g2p.cycle", required=True, ondelete="cascade")
    retry_unchanged = fields.Boolean(
        "Also Retry Unchanged Payees",
        help="Send again the payments PHEE refused for an unknown payee although "
        "the registrant's number is unchanged: only when the beneficiaries have "
        "registered that number with their provider since.",
    )
    retry_count = fields.Integer("Payments to Issue", compute="_compute_plan")
    unchanged_payee_count = fields.Integer(compute="_compute_plan")
    plan_html = fields.Html("What Will Happen", compute="_compute_plan")

    @api.depends("cycle_id", "retry_unchanged")
    def _compute_plan(self):
        for wizard in self:
            plan = wizard.cycle_id._phee_required_manager()._phee_retry_plan(
                wizard.cycle_id
            )
            wizard.retry_count = (
                plan["issued"]
                + plan["new"]
                + (plan["unchanged_payee"] if wizard.retry_unchanged else 0)
            )
            wizard.unchanged_payee_count = plan["unchanged_payee"]
            wizard.plan_html = wizard._phee_plan_html(plan)

    def _phee_plan_html(self, plan):
        if plan["error"]:
            return Markup("<p class='text-danger'>%s</p>") % plan["error"]
        lines = []
        for count, text in (
            (
                plan["retried"]["refused"],
                _("refused by PHEE, issued again with a new reference"),
            ),
            (
                plan["retried"]["held"],
                _("held back before, their registrant corrected: issued and sent"),
            ),
            (plan["new"], _("approved entitlements never prepared")),
        ):
            if count:
                lines.append(Markup("<li><b>%s</b> %s</li>") % (count, text))
        for reason, count in plan["held_again"].most_common(REASONS_SHOWN):
            lines.append(
                Markup("<li><b>%s</b> %s</li>")
                % (
                    count,
                    _("held back again, for a new reason: %(reason)s", reason=reason),
                )
            )
        manager = self.cycle_id._phee_required_manager()
        parts = [
            Markup("<p>%s</p>")
            % _(
                "%(payments)s will be issued:",
                payments=manager._phee_n_payments(self.retry_count),
            )
        ]
        if lines:
            parts.append(Markup("<ul>%s</ul>") % Markup("").join(lines))
        unchanged = plan["unchanged"]
        if unchanged:
            parts.append(
                Markup("<p>%s</p>")
                % _(
                    "%(payments)s not retried: they would fail again unchanged.",
                    payments=manager._phee_n_payments(sum(unchanged.values())),
                )
            )
            parts.append(
                Markup("<ul>%s</ul>")
                % Markup("").join(
                    Markup("<li><b>%s</b> %s</li>") % (count, escape(reason))
                    for reason, count in unchanged.most_common(REASONS_SHOWN)
                )
            )
            parts.append(
                Markup("<p class='text-muted'>%s</p>")
                % _(
                    "Correct these registrants (the failed payments list says "
                    "what to do for each), then retry."
                )
            )
        return Markup("").join(parts)

    def action_retry(self):
        """Issue the payments of the plan (prepare checks everything again)."""
        self.ensure_one()
        if not self.retry_count:
            raise UserError(
                _(
                    "Nothing to retry in cycle %(cycle)s: every failed payment "
                    "would fail again unchanged.",
                    cycle=self.cycle_id.name,
                )
            )
        manager = self.cycle_id._phee_required_manager()
        return manager.with_context(
            phee_retry_unchanged=self.retry_unchanged
        ).prepare_payments(self.cycle_id)
