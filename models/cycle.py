# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .phee_utils import job_identity_key, payable_entitlement, phee_manager


class G2PCycle(models.Model):
    _inherit = "g2p.cycle"

    phee_enabled = fields.Boolean(compute="_compute_phee_enabled")
    phee_all_batches_done = fields.Boolean(copy=False, readonly=True)
    phee_batch_count = fields.Integer("PHEE Batches", compute="_compute_phee_summary")
    phee_open_batch_count = fields.Integer(compute="_compute_phee_summary")
    phee_attention_batch_count = fields.Integer(
        "Batches Needing a Person",
        compute="_compute_phee_summary",
        help="Needing attention, possibly at PHEE already, or sent by a previous "
        "version: each says why on its form.",
    )
    phee_queued_batch_count = fields.Integer(
        "Batches Waiting to Be Sent",
        compute="_compute_phee_summary",
        help="Sent automatically as earlier batches settle at PHEE.",
    )
    phee_paid_count = fields.Integer("Paid", compute="_compute_phee_summary")
    phee_failed_count = fields.Integer("Failed", compute="_compute_phee_summary")
    phee_refused_count = fields.Integer(
        "Refused by PHEE", compute="_compute_phee_summary"
    )
    phee_held_back_count = fields.Integer(
        "Held Back",
        compute="_compute_phee_summary",
        help="Not sent: the registrant's data cannot be paid (see the reasons).",
    )
    phee_on_hold_count = fields.Integer(
        "On Hold at PHEE",
        compute="_compute_phee_summary",
        help="An incident at PHEE that its operators can resolve: never retried.",
    )
    phee_attention_count = fields.Integer(
        "Payments Needing Attention", compute="_compute_phee_summary"
    )
    phee_pending_count = fields.Integer("Pending", compute="_compute_phee_summary")
    phee_paid_amount = fields.Monetary(
        "Paid Amount", compute="_compute_phee_summary", currency_field="currency_id"
    )
    phee_failed_amount = fields.Monetary(
        "Failed Amount", compute="_compute_phee_summary", currency_field="currency_id"
    )
    phee_sendable_batch_count = fields.Integer(compute="_compute_phee_summary")
    phee_issuable_count = fields.Integer(
        "Entitlements to Pay", compute="_compute_phee_issuable_count"
    )
    phee_retry_count = fields.Integer(
        "Payments to Retry",
        compute="_compute_phee_retry_count",
        help="Failed payments that a retry would issue again: not those that "
        "would fail again unchanged.",
    )
    phee_retry_unchanged_count = fields.Integer(
        "Unknown Payees Unchanged",
        compute="_compute_phee_retry_count",
        help="Payments PHEE refused for an unknown payee or invalid data, whose "
        "registrant still has the same number: retried only on purpose.",
    )

    def _compute_phee_enabled(self):
        for cycle in self:
            cycle.phee_enabled = bool(phee_manager(cycle.program_id))

    @api.depends("payment_batch_ids.phee_state")
    def _compute_phee_summary(self):
        groups = self.env["g2p.payment"]._read_group(
            [("cycle_id", "in", self.ids)],
            ["cycle_id", "phee_payment_state"],
            ["__count", "amount_issued:sum", "amount_paid:sum"],
        )
        stats = {}
        for cycle, state, count, issued, paid in groups:
            stats[(cycle.id, state)] = (count, issued, paid)
        for cycle in self:
            batches = cycle.payment_batch_ids.filtered("phee_state")

            def of(*states, cycle=cycle):
                rows = [stats.get((cycle.id, s), (0, 0.0, 0.0)) for s in states]
                return tuple(map(sum, zip(*rows, strict=True)))

            cycle.phee_batch_count = len(batches)
            cycle.phee_sendable_batch_count = len(
                cycle.payment_batch_ids.filtered("phee_can_send")
            )
            cycle.phee_open_batch_count = len(batches.filtered("phee_is_open"))
            cycle.phee_queued_batch_count = len(
                batches.filtered(lambda b: b.phee_state == "queued")
            )
            cycle.phee_attention_batch_count = len(
                batches.filtered(
                    lambda b: b.phee_state in ("needs_attention", "uncertain", "legacy")
                )
            )
            cycle.phee_paid_count, _issued, cycle.phee_paid_amount = of("paid")
            cycle.phee_refused_count = of("failed")[0]
            cycle.phee_held_back_count = of("held_back")[0]
            failed = of("failed", "held_back")
            cycle.phee_failed_count, cycle.phee_failed_amount = failed[:2]
            cycle.phee_on_hold_count = of("on_hold")[0]
            cycle.phee_attention_count = of("needs_attention")[0]
            cycle.phee_pending_count = of("issued", "sent", False)[0]

    def _compute_phee_issuable_count(self):
        """Approved entitlements without a payment that did not fail."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT e.cycle_id, count(*) FROM g2p_entitlement e
                    WHERE e.cycle_id = ANY(%s) AND %s
                    GROUP BY e.cycle_id""",
                self.ids,
                payable_entitlement(),
            )
        )
        counts = dict(self.env.cr.fetchall())
        for cycle in self:
            cycle.phee_issuable_count = counts.get(cycle.id, 0)

    @api.depends("phee_failed_count", "state")
    def _compute_phee_retry_count(self):
        for cycle in self:
            manager = phee_manager(cycle.program_id)
            if not manager or not cycle.phee_failed_count or cycle.state != "approved":
                cycle.phee_retry_count = cycle.phee_retry_unchanged_count = 0
                continue
            plan = manager._phee_retry_plan(cycle)
            cycle.phee_retry_count = plan["issued"]
            cycle.phee_retry_unchanged_count = plan["unchanged_payee"]

    def _get_related_job_domain(self):
        """Override of `g2p_programs`: also list the PHEE jobs of the cycle."""
        domain = super()._get_related_job_domain()
        keys = [job_identity_key("send", b) for b in self.payment_batch_ids.ids]
        jobs = self.env["queue.job"].search(
            [
                "|",
                ("identity_key", "in", keys),
                ("identity_key", "=like", job_identity_key("prepare", self.id, "%")),
            ]
        )
        return ["|", ("id", "in", jobs.ids)] + domain

    def _phee_required_manager(self):
        """The PHEE manager of the cycle's program; raise if there is none."""
        self.ensure_one()
        manager = phee_manager(self.program_id)
        if not manager:
            raise UserError(_("This cycle is not paid through Payment Hub EE."))
        return manager

    def action_phee_check_status(self):
        """Ask PHEE for the status of every batch of the cycle."""
        self.ensure_one()
        manager = self._phee_required_manager()
        batches = self.payment_batch_ids.filtered("phee_state")
        manager._phee_sync_batches(batches)
        payments = self.env["g2p.payment"].search([("cycle_id", "=", self.id)])
        return manager._phee_sync_notification(batches, payments)

    def action_phee_retry_failed(self):
        """Show what retrying the failed payments would issue, and why."""
        self.ensure_one()
        self._phee_required_manager()
        return {
            "name": _("Retry Failed Payments"),
            "type": "ir.actions.act_window",
            "res_model": "g2p.phee.retry.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_cycle_id": self.id},
        }

    def action_phee_open_failed_payments(self):
        """Open the cycle's failed payments with their reasons."""
        self.ensure_one()
        tree = self.env.ref("g2p_payment_phee.view_payment_tree_phee_failed")
        return {
            "name": _("Failed payments"),
            "type": "ir.actions.act_window",
            "res_model": "g2p.payment",
            "view_mode": "tree,form",
            "views": [
                (tree.id, "tree"),
                (False, "form"),
            ],
            "domain": [("cycle_id", "=", self.id), ("status", "=", "failed")],
            "context": {"create": False, "group_by": ["phee_failure_reason"]},
        }
