# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""PHEE state machine of a payment batch.

draft ─► submitting ─► submitted ─► in_progress ─► completed
  ▲          │  ▲                                └► completed_failures
  └── error ◄┘  └─ (outcome unknown: stays submitting until PHEE is asked)
"""

import base64
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)

PHEE_STATES = [
    ("draft", "Draft"),
    ("submitting", "Submitting"),
    ("submitted", "Sent"),
    ("in_progress", "In Progress"),
    ("completed", "Completed"),
    ("completed_failures", "Completed with Failures"),
    ("error", "Error"),
]
SENDABLE_STATES = (False, "draft", "error", "submitting")
OPEN_STATES = ("submitted", "in_progress")
FINAL_STATES = ("completed", "completed_failures")


class G2PPaymentBatch(models.Model):
    _name = "g2p.payment.batch"
    _inherit = ["g2p.payment.batch", "mail.thread"]

    phee_state = fields.Selection(
        PHEE_STATES, "PHEE State", readonly=True, copy=False, tracking=True
    )
    phee_correlation_id = fields.Char(
        "X-CorrelationID",
        related="name",
        help="The batch's stable reference at PHEE, reused on every attempt.",
    )
    phee_attempt_count = fields.Integer(
        "Submission Attempts", readonly=True, copy=False
    )
    phee_last_attempt_at = fields.Datetime("Last Attempt", readonly=True, copy=False)
    phee_attempt_outcome = fields.Selection(
        [
            ("pending", "In flight"),
            ("accepted", "Accepted"),
            ("not_delivered", "Not delivered"),
            ("rejected", "Rejected"),
            ("unknown", "Unknown"),
        ],
        "Last Attempt Outcome",
        readonly=True,
        copy=False,
    )
    phee_last_error = fields.Text("Last Error", readonly=True, copy=False)
    phee_last_sync_at = fields.Datetime("Last Status Sync", readonly=True, copy=False)
    phee_sync_requested_at = fields.Datetime(readonly=True, copy=False)
    phee_csv_attachment_id = fields.Many2one(
        "ir.attachment", "CSV File", readonly=True, copy=False, ondelete="set null"
    )
    phee_csv_file = fields.Binary(related="phee_csv_attachment_id.datas", string="CSV")
    phee_csv_filename = fields.Char(related="phee_csv_attachment_id.name")
    phee_payment_count = fields.Integer(
        "Payment Count", compute="_compute_phee_payment_count"
    )

    @api.depends("payment_ids")
    def _compute_phee_payment_count(self):
        for rec in self:
            rec.phee_payment_count = len(rec.payment_ids)

    # ------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------

    def _phee_manager(self):
        """Return the PHEE manager of the batch's program, or an empty recordset."""
        self.ensure_one()
        manager = self.program_id.get_manager(self.program_id.MANAGER_PAYMENT)
        if manager and manager._name == "g2p.program.payment.manager.phee":
            return manager
        return self.env["g2p.program.payment.manager.phee"]

    def _phee_filename(self, manager):
        self.ensure_one()
        return f"{manager.file_name_prefix or ''}{self.name}.csv"

    def _phee_csv_attachment_vals(self, manager, csv_text):
        """Values of the ir.attachment holding the batch's CSV file."""
        self.ensure_one()
        return {
            "name": self._phee_filename(manager),
            "res_model": self._name,
            "res_id": self.id,
            "type": "binary",
            "mimetype": "text/csv",
            "raw": csv_text.encode(),
        }

    def _phee_store_csv(self, manager, csv_text):
        """Attach the rendered CSV to the batch, replacing an older one."""
        self.ensure_one()
        vals = self._phee_csv_attachment_vals(manager, csv_text)
        if self.phee_csv_attachment_id:
            self.phee_csv_attachment_id.sudo().write(vals)
        else:
            self.phee_csv_attachment_id = self.env["ir.attachment"].sudo().create(vals)

    def _phee_csv_text(self):
        self.ensure_one()
        if not self.phee_csv_attachment_id:
            return None
        return base64.b64decode(self.phee_csv_attachment_id.sudo().datas).decode()

    def _phee_log(self, body, error=None):
        """Post a note in the batch chatter and, on error, keep it as last error."""
        self.ensure_one()
        if error is not None:
            self.phee_last_error = error
        self.message_post(body=body)

    # ------------------------------------------------------------
    # TRANSITIONS
    # ------------------------------------------------------------

    def _phee_begin_attempt(self):
        """draft/error/submitting → submitting: record an attempt before the POST."""
        self.write(
            {
                "phee_state": "submitting",
                "phee_attempt_count": self.phee_attempt_count + 1,
                "phee_last_attempt_at": fields.Datetime.now(),
                "phee_attempt_outcome": "pending",
            }
        )

    def _phee_submitted(self, phee_batch_id, adopted=False):
        """submitting/error → submitted: store PHEE's batch id; payments are sent."""
        self.ensure_one()
        self.write(
            {
                "phee_state": "submitted",
                "phee_attempt_outcome": "accepted",
                "external_batch_ref": phee_batch_id,
                "batch_has_started": True,
                "phee_last_error": False,
                "stats_sent_transactions": self.stats_issued_transactions,
                "stats_sent_amount": self.stats_issued_amount,
            }
        )
        # Own prefetch set: the batch's may be gone (invalidated), which would
        # read the payments one by one.
        payments = self.payment_ids.with_prefetch()
        payments.filtered(lambda p: p.state == "issued").write({"state": "sent"})
        if adopted:
            body = _(
                "PHEE already had this batch (PHEE batch id %(batch)s): adopted "
                "without sending it again.",
                batch=phee_batch_id,
            )
        else:
            body = _(
                "Batch accepted by PHEE: PHEE batch id %(batch)s.", batch=phee_batch_id
            )
        self.message_post(body=body)

    def _phee_attempt_failed(self, error):
        """Record a failed attempt: a definite rejection puts the batch in error,
        an unknown outcome keeps it submitting until PHEE is asked."""
        self.ensure_one()
        if error.outcome_unknown:
            outcome, state = "unknown", "submitting"
            body = _(
                "PHEE's answer was lost (%(error)s). PHEE will be asked whether it "
                "has the batch before it is sent again.",
                error=error.message,
            )
        else:
            outcome = "not_delivered" if error.code == "connection" else "rejected"
            state = "error"
            body = _("Sending to PHEE failed: %(error)s", error=error.message)
        self.write({"phee_state": state, "phee_attempt_outcome": outcome})
        self._phee_log(body, error=error.message)

    def _phee_invalid(self, message):
        """draft → error: the batch cannot be built; nothing was sent."""
        self.ensure_one()
        self.write({"phee_state": "error", "phee_attempt_outcome": False})
        self._phee_log(_("Batch not sent: %(error)s", error=message), error=message)

    def _phee_sync_failed(self, error):
        """Keep a status-sync error on the batch; the chatter gets it once, not on
        every cron run."""
        self.ensure_one()
        changed = self.phee_last_error != error.message
        self.write(
            {
                "phee_last_error": error.message,
                "phee_last_sync_at": fields.Datetime.now(),
            }
        )
        if changed:
            self.message_post(
                body=_("Status check with PHEE failed: %(error)s", error=error.message)
            )

    def _phee_progress(self):
        """submitted → in_progress once PHEE reports the batch."""
        self.filtered(lambda b: b.phee_state == "submitted").write(
            {"phee_state": "in_progress"}
        )

    def _phee_complete(self):
        """in_progress → completed / completed_failures when every payment is final."""
        self.ensure_one()
        failed = self.payment_ids.filtered(lambda p: p.status == "failed")
        state = "completed_failures" if failed else "completed"
        self.write({"phee_state": state, "batch_has_completed": True})
        self.message_post(
            body=_(
                "Batch completed at PHEE: %(paid)s paid, %(failed)s failed.",
                paid=len(self.payment_ids) - len(failed),
                failed=len(failed),
            )
        )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def send_payment(self):
        """Override of `g2p_programs`: confirm the manager first."""
        self.ensure_one()
        if not self.program_id.get_manager(self.program_id.MANAGER_PAYMENT):
            raise UserError(_("No Payment Manager defined."))
        return super().send_payment()

    def action_phee_check_status(self):
        """Ask PHEE for the status of these batches now and report the outcome."""
        managers = self.env["g2p.program.payment.manager.phee"]
        results = {}
        for batch in self:
            manager = batch._phee_manager()
            managers |= manager
            if manager:
                results[batch.id] = manager._phee_sync_batches(batch)
        if not managers:
            raise UserError(_("These batches are not paid through Payment Hub EE."))
        return managers[:1]._phee_sync_notification(self)

    def action_phee_download_csv(self):
        """Download the batch's CSV file."""
        self.ensure_one()
        if not self.phee_csv_attachment_id:
            manager = self._phee_manager()
            if not manager:
                raise UserError(_("This batch is not paid through Payment Hub EE."))
            manager._phee_render_batch(self)
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self.phee_csv_attachment_id.id}?download=true",
            "target": "self",
        }

    def action_open_phee_payments(self):
        """Open the batch's payments."""
        self.ensure_one()
        return {
            "name": _("Payments of %(batch)s", batch=self.name),
            "type": "ir.actions.act_window",
            "res_model": "g2p.payment",
            "view_mode": "tree,form",
            "domain": [("batch_id", "=", self.id)],
            "context": {"create": False},
        }

    # ------------------------------------------------------------
    # CRON
    # ------------------------------------------------------------

    @api.model
    def _cron_phee_status_sync(self):
        """Resolve unfinished submissions and sync the status of open batches."""
        batches = self.search(
            [("phee_state", "in", ("submitting",) + OPEN_STATES)], order="id"
        )
        for manager, manager_batches in batches._phee_group_by_manager():
            manager._phee_sync_batches(manager_batches, commit=True)

    def _phee_group_by_manager(self):
        """Return (manager, batches) pairs, skipping batches not paid via PHEE."""
        groups = {}
        for batch in self:
            manager = batch._phee_manager()
            if manager:
                groups.setdefault(manager, self.browse())
                groups[manager] |= batch
        return groups.items()
