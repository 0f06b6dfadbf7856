# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo import _, api, fields, models
from odoo.exceptions import UserError


class G2PCycle(models.Model):
    _inherit = "g2p.cycle"

    phee_enabled = fields.Boolean(compute="_compute_phee_enabled")
    phee_all_batches_done = fields.Boolean(copy=False, readonly=True)
    phee_batch_count = fields.Integer("PHEE Batches", compute="_compute_phee_summary")
    phee_open_batch_count = fields.Integer(compute="_compute_phee_summary")
    phee_paid_count = fields.Integer("Paid", compute="_compute_phee_summary")
    phee_failed_count = fields.Integer("Failed", compute="_compute_phee_summary")
    phee_pending_count = fields.Integer("Pending", compute="_compute_phee_summary")
    phee_paid_amount = fields.Float("Paid Amount", compute="_compute_phee_summary")
    phee_failed_amount = fields.Float("Failed Amount", compute="_compute_phee_summary")

    def _compute_phee_enabled(self):
        for cycle in self:
            manager = cycle.program_id.get_manager(cycle.program_id.MANAGER_PAYMENT)
            cycle.phee_enabled = bool(
                manager and manager._name == "g2p.program.payment.manager.phee"
            )

    @api.depends("payment_batch_ids.phee_state")
    def _compute_phee_summary(self):
        groups = self.env["g2p.payment"]._read_group(
            [("cycle_id", "in", self.ids)],
            ["cycle_id", "status"],
            ["__count", "amount_issued:sum", "amount_paid:sum"],
        )
        stats = {}
        for cycle, status, count, issued, paid in groups:
            stats[(cycle.id, status)] = (count, issued, paid)
        for cycle in self:
            batches = cycle.payment_batch_ids.filtered("phee_state")
            paid = stats.get((cycle.id, "paid"), (0, 0.0, 0.0))
            failed = stats.get((cycle.id, "failed"), (0, 0.0, 0.0))
            pending = stats.get((cycle.id, False), (0, 0.0, 0.0))
            cycle.phee_batch_count = len(batches)
            cycle.phee_open_batch_count = len(
                batches.filtered(
                    lambda b: b.phee_state in ("submitting", "submitted", "in_progress")
                )
            )
            cycle.phee_paid_count = paid[0]
            cycle.phee_paid_amount = paid[2]
            cycle.phee_failed_count = failed[0]
            cycle.phee_failed_amount = failed[1]
            cycle.phee_pending_count = pending[0]

    def _phee_manager(self):
        self.ensure_one()
        manager = self.program_id.get_manager(self.program_id.MANAGER_PAYMENT)
        if not manager or manager._name != "g2p.program.payment.manager.phee":
            raise UserError(_("This cycle is not paid through Payment Hub EE."))
        return manager

    def action_phee_check_status(self):
        """Ask PHEE for the status of every batch of the cycle."""
        self.ensure_one()
        manager = self._phee_manager()
        batches = self.payment_batch_ids.filtered("phee_state")
        manager._phee_sync_batches(batches)
        return manager._phee_sync_notification(batches)

    def action_phee_retry_failed(self):
        """Issue new payments for entitlements whose payments all failed."""
        self.ensure_one()
        return self._phee_manager().prepare_payments(self)

    def action_phee_open_failed_payments(self):
        """Open the cycle's failed payments with their reasons."""
        self.ensure_one()
        return {
            "name": _("Failed payments"),
            "type": "ir.actions.act_window",
            "res_model": "g2p.payment",
            "view_mode": "tree,form",
            "domain": [("cycle_id", "=", self.id), ("status", "=", "failed")],
            "context": {"create": False},
        }
