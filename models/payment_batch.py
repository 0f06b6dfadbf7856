# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""The PHEE state machine of a payment batch (its states and edges are in
``phee_states``): one method per edge, each checking the state it leaves.

Only these methods write ``phee_state`` and the attempt fields; ``write`` and
``create`` refuse them from anywhere else (see ``phee_guard``).

Money rules the machine keeps: the attempt is recorded (and committed, see
``phee_manager_send``) before every POST, and a batch PHEE may have is never
posted again before PHEE has been asked.
"""

import base64
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .phee_guard import by_state_machine
from .phee_states import (
    ATTEMPT_OUTCOMES,
    BATCH_STATES,
    BATCH_TRANSITIONS,
    SENDABLE_STATES,
    SYNCED_STATES,
)
from .phee_utils import phee_manager

_logger = logging.getLogger(__name__)

# Written by the state machine only; the upstream ones once the batch is PHEE's.
ATTEMPT_FIELDS = (
    "phee_attempt_count",
    "phee_first_attempt_at",
    "phee_last_attempt_at",
    "phee_attempt_outcome",
    "phee_accepted_at",
    "phee_started_at",
    "phee_sender_id",
)
UPSTREAM_GUARDED_FIELDS = (
    "external_batch_ref",
    "batch_has_started",
    "batch_has_completed",
)


class G2PPaymentBatch(models.Model):
    _name = "g2p.payment.batch"
    _inherit = [
        "g2p.payment.batch",
        "mail.thread",
        "mail.activity.mixin",
        "g2p.phee.guarded.mixin",
    ]

    phee_state = fields.Selection(
        BATCH_STATES, "PHEE State", readonly=True, copy=False, tracking=True
    )
    phee_correlation_id = fields.Char(
        "X-CorrelationID",
        related="name",
        help="The batch's stable reference at PHEE, reused on every attempt.",
    )
    phee_attempt_count = fields.Integer(
        "Submission Attempts", readonly=True, copy=False
    )
    phee_first_attempt_at = fields.Datetime("First Attempt", readonly=True, copy=False)
    phee_last_attempt_at = fields.Datetime("Last Attempt", readonly=True, copy=False)
    phee_accepted_at = fields.Datetime("Accepted by PHEE", readonly=True, copy=False)
    phee_started_at = fields.Datetime("Reported by PHEE", readonly=True, copy=False)
    phee_sender_id = fields.Many2one(
        "res.users", "Last Sent By", readonly=True, copy=False
    )
    phee_attention_note = fields.Text(
        "What Needs a Person",
        readonly=True,
        copy=False,
        help="Why the batch waits for a person, what was checked and what to do.",
    )
    phee_attempt_outcome = fields.Selection(
        ATTEMPT_OUTCOMES, "Last Attempt Outcome", readonly=True, copy=False
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
    phee_can_send = fields.Boolean(
        compute="_compute_phee_flags", search="_search_phee_can_send"
    )
    phee_is_open = fields.Boolean(
        compute="_compute_phee_flags", search="_search_phee_is_open"
    )

    @api.depends("payment_ids")
    def _compute_phee_payment_count(self):
        for rec in self:
            rec.phee_payment_count = len(rec.payment_ids)

    @api.depends("phee_state")
    def _compute_phee_flags(self):
        for rec in self:
            state = rec._phee_current_state()
            rec.phee_can_send = state in SENDABLE_STATES
            rec.phee_is_open = state in SYNCED_STATES

    def _search_phee_can_send(self, operator, value):
        return self._phee_state_domain(operator, value, SENDABLE_STATES)

    def _search_phee_is_open(self, operator, value):
        return self._phee_state_domain(operator, value, SYNCED_STATES)

    @api.model
    def _phee_state_domain(self, operator, value, states):
        """Domain of ``flag operator value`` for a flag true in ``states``."""
        if operator not in ("=", "!="):
            raise UserError(_("Unsupported search on a PHEE state flag."))
        wanted = (operator == "=") == bool(value)
        domain = [("phee_state", "in", states)]
        if "draft" in states:
            domain = ["|", ("phee_state", "=", False)] + domain
        return domain if wanted else ["!"] + domain

    # ------------------------------------------------------------
    # GUARD
    # ------------------------------------------------------------

    def _phee_guarded_fields(self, vals):
        """Fields of ``vals`` only the state machine may write on these batches:
        the state and the attempt always, upstream's once PHEE has the batch."""
        guarded = {"phee_state", *ATTEMPT_FIELDS}
        if self.filtered("phee_state") or vals.get("phee_state"):
            guarded.update(UPSTREAM_GUARDED_FIELDS)
        return guarded & set(vals)

    def _phee_refused_at_create(self, vals):
        """A batch is created as a draft (or outside PHEE) and nothing more."""
        refused = self._phee_guarded_fields(vals)
        if vals.get("phee_state") in (False, "draft"):
            refused.discard("phee_state")
        return refused

    # ------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------

    def _phee_manager(self):
        """The PHEE manager of the batch's program, or an empty recordset."""
        self.ensure_one()
        return phee_manager(self.program_id)

    def _phee_current_state(self):
        """The batch's state; a batch made outside this addon is a draft."""
        self.ensure_one()
        return self.phee_state or "draft"

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
    # TRANSITIONS (one per edge of phee_states.BATCH_TRANSITIONS)
    # ------------------------------------------------------------

    @api.model
    def _phee_create_drafts(self, vals_list):
        """Create batches to be sent through PHEE, as drafts."""
        return self.create([{**vals, "phee_state": "draft"} for vals in vals_list])

    def _phee_move(self, edge, state, vals=None):
        """Move these batches along ``edge`` to ``state``, refusing any batch
        that is not in a state the edge leaves."""
        pairs = BATCH_TRANSITIONS[edge]
        wrong = self.filtered(lambda b: (b._phee_current_state(), state) not in pairs)
        if wrong:
            states = dict(self._fields["phee_state"]._description_selection(self.env))
            raise UserError(
                _(
                    "Batch %(batch)s is %(state)s and cannot be moved to %(target)s.",
                    batch=wrong[0].name,
                    state=states[wrong[0]._phee_current_state()],
                    target=states[state],
                )
            )
        by_state_machine(self).write({"phee_state": state, **(vals or {})})

    def _phee_send(self):
        """draft/error/submitting → submitting: record an attempt before the POST."""
        self.ensure_one()
        self._phee_move(
            "send",
            "submitting",
            {
                "phee_attempt_count": self.phee_attempt_count + 1,
                "phee_first_attempt_at": self.phee_first_attempt_at
                or fields.Datetime.now(),
                "phee_last_attempt_at": fields.Datetime.now(),
                "phee_attempt_outcome": "pending",
                "phee_sender_id": self.env.uid,
            },
        )

    def _phee_accept(self, phee_batch_id):
        """submitting → submitted: PHEE answered with its batch id."""
        self._phee_mark_sent("accept", phee_batch_id)
        self.message_post(
            body=_(
                "Batch accepted by PHEE: PHEE batch id %(batch)s.", batch=phee_batch_id
            )
        )

    def _phee_adopt(self, phee_batch_id):
        """submitting/error → submitted: PHEE already had the batch."""
        self._phee_mark_sent("adopt", phee_batch_id)
        self.message_post(
            body=_(
                "PHEE already had this batch (PHEE batch id %(batch)s): adopted "
                "without sending it again.",
                batch=phee_batch_id,
            )
        )

    def _phee_mark_sent(self, edge, phee_batch_id):
        self.ensure_one()
        self._phee_move(
            edge,
            "submitted",
            {
                "phee_attempt_outcome": "accepted",
                "phee_accepted_at": fields.Datetime.now(),
                "phee_attention_note": False,
                "external_batch_ref": phee_batch_id,
                "batch_has_started": True,
                "phee_last_error": False,
                "stats_sent_transactions": self.stats_issued_transactions,
                "stats_sent_amount": self.stats_issued_amount,
            },
        )
        # Own prefetch set: the batch's may be gone (invalidated), which would
        # read the payments one by one.
        payments = self.payment_ids.with_prefetch()
        payments.filtered(
            lambda p: p.phee_payment_state in (False, "issued")
        )._phee_set_state("sent")

    def _phee_lose(self, error):
        """submitting → submitting: the answer was lost; PHEE is asked first."""
        self.ensure_one()
        self._phee_move("lose", "submitting", {"phee_attempt_outcome": "unknown"})
        self._phee_log(
            _(
                "PHEE's answer was lost (%(error)s). PHEE will be asked whether it "
                "has the batch before it is sent again.",
                error=error.message,
            ),
            error=error.message,
        )

    def _phee_reject(self, error):
        """submitting → error: PHEE refused the batch, or was not reached."""
        self.ensure_one()
        outcome = "not_delivered" if error.code == "connection" else "rejected"
        self._phee_move("reject", "error", {"phee_attempt_outcome": outcome})
        self._phee_log(
            _("Sending to PHEE failed: %(error)s", error=error.message),
            error=error.message,
        )

    def _phee_refuse(self, message):
        """draft/error/submitting → error: the file cannot be built; not sent."""
        self.ensure_one()
        self._phee_move("refuse", "error", {"phee_attempt_outcome": False})
        self._phee_log(_("Batch not sent: %(error)s", error=message), error=message)

    def _phee_give_up(self, message):
        """submitting → error: not sent again automatically; a person decides."""
        self.ensure_one()
        self._phee_move("give_up", "error")
        self._phee_log(message, error=message)

    def _phee_doubt(self, message):
        """submitting/uncertain → uncertain: PHEE may have the batch; a person
        decides. The chatter hears of each new finding once."""
        self.ensure_one()
        changed = self.phee_attention_note != message
        self._phee_move("doubt", "uncertain", {"phee_attention_note": message})
        if changed:
            self.message_post(body=message)

    def _phee_resend(self):
        """uncertain/legacy → submitting: an administrator confirmed that PHEE
        does not have the batch; it is posted as a new attempt."""
        self.ensure_one()
        self._phee_move(
            "resend",
            "submitting",
            {"phee_attempt_outcome": False, "phee_attention_note": False},
        )
        self.message_post(
            body=_(
                "%(user)s confirmed that PHEE does not have this batch and sent it "
                "again.",
                user=self.env.user.name,
            )
        )

    def _phee_note(self, message):
        """Keep what a person must know of the batch (no state change)."""
        self.ensure_one()
        self.phee_attention_note = message
        self.message_post(body=message)

    def _phee_start(self):
        """submitted → in_progress once PHEE reports the batch."""
        self.filtered(lambda b: b.phee_state == "submitted")._phee_move(
            "start", "in_progress", {"phee_started_at": fields.Datetime.now()}
        )

    def _phee_stall(self, message):
        """submitted/in_progress → needs_attention: a deadline passed. The
        status sync goes on; the batch and the cycle say so, and the officer
        who sent it gets an activity."""
        self.ensure_one()
        self._phee_move("stall", "needs_attention", {"phee_attention_note": message})
        self.message_post(body=message)
        self.cycle_id.message_post(
            body=_("%(batch)s: %(message)s", batch=self.name, message=message)
        )
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=_("Payment Hub EE batch needs attention"),
            note=message,
            user_id=self._phee_responsible().id,
        )

    def _phee_responsible(self):
        """Who is asked to act: whoever last sent the batch, else the cycle's
        creator."""
        self.ensure_one()
        sender = self.phee_sender_id
        if sender and not sender._is_superuser() and sender.active:
            return sender
        return self.cycle_id.create_uid

    def _phee_finish(self):
        """in_progress → completed / completed_failures: every payment is final."""
        self.ensure_one()
        failed = self.payment_ids.filtered(lambda p: p.status == "failed")
        state = "completed_failures" if failed else "completed"
        self._phee_move("finish", state, {"batch_has_completed": True})
        self.message_post(
            body=_(
                "Batch completed at PHEE: %(paid)s paid, %(failed)s failed.",
                paid=len(self.payment_ids) - len(failed),
                failed=len(failed),
            )
        )

    def _phee_sync_failed(self, error):
        """Keep a status-sync error on the batch (no state change); the chatter
        gets it once, not on every cron run."""
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
        groups = self._phee_group_by_manager()
        if not groups:
            raise UserError(_("These batches are not paid through Payment Hub EE."))
        for manager, batches in groups:
            manager._phee_sync_batches(batches)
        return groups[0][0]._phee_sync_notification(self)

    def action_phee_check_again(self):
        """Search PHEE again for batches it may already have."""
        return self._phee_decide("_phee_check_again")

    def action_phee_resend_confirmed(self):
        """Administrators: send again batches PHEE's operators confirmed they
        do not have."""
        return self._phee_decide("_phee_resend_confirmed")

    def _phee_decide(self, method):
        outcomes = {}
        for manager, batches in self._phee_group_by_manager():
            with manager._phee_client() as client:
                for batch in batches.filtered(
                    lambda b: b.phee_state in ("uncertain", "legacy")
                ):
                    outcome, message = getattr(manager, method)(batch, client)
                    outcomes.setdefault(outcome, []).append((batch, message))
        if not outcomes:
            raise UserError(_("No batch here waits for a decision."))
        return self._phee_manager()._phee_send_notification(outcomes)

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
        batches = self.search([("phee_state", "in", SYNCED_STATES)], order="id")
        for manager, manager_batches in batches._phee_group_by_manager():
            manager._phee_sync_batches(manager_batches)

    def _phee_group_by_manager(self):
        """[(manager, batches)], skipping batches not paid via PHEE."""
        groups = {}
        for batch in self:
            manager = batch._phee_manager()
            if manager:
                groups.setdefault(manager, self.browse())
                groups[manager] |= batch
        return list(groups.items())
