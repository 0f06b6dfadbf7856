# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Pacing: never more batches in flight at PHEE, nor submissions a minute, than
the manager allows. Deployments report that PHEE's connectors saturate under
load and then pay only part of a large batch."""

from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from .phee_states import SendOutcome

# First key of the transaction lock held while a manager's room is counted and
# the attempt recorded (the commit before the POST releases it).
PACING_LOCK_NAMESPACE = 0x50484551  # "PHEQ"
# Submitted to PHEE and not settled yet.
IN_FLIGHT_STATES = ("submitting", "submitted", "in_progress")


class G2PPaymentHubEEManagerPacing(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    max_batches_in_flight = fields.Integer(
        "Batches in Flight at Most",
        default=20,
        help="Batches sent to PHEE and not settled yet, at most; more wait in "
        "'Waiting to Be Sent' and are sent as earlier ones settle. 0: no limit.",
    )
    max_submissions_per_minute = fields.Integer(
        "Submissions per Minute at Most",
        default=30,
        help="Batch submissions to PHEE in any minute, at most. 0: no limit.",
    )

    @api.constrains("max_batches_in_flight", "max_submissions_per_minute")
    def _check_pacing(self):
        for rec in self:
            if rec.max_batches_in_flight < 0 or rec.max_submissions_per_minute < 0:
                raise ValidationError(_("The pacing limits cannot be negative."))

    def _phee_no_room(self, batch):
        """Why ``batch`` may not be submitted now (None: it may).

        Holds the manager's pacing lock until the transaction ends, so two
        workers never both take the last place.
        """
        self.ensure_one()
        if batch.phee_state == "submitting":
            return None  # already counted in flight
        self.env.cr.execute(
            SQL("SELECT pg_advisory_xact_lock(%s, %s)", PACING_LOCK_NAMESPACE, self.id)
        )
        Batch = self.env["g2p.payment.batch"]
        program = [("program_id", "=", self.program_id.id), ("id", "!=", batch.id)]
        if self.max_batches_in_flight:
            in_flight = Batch.search_count(
                program + [("phee_state", "in", IN_FLIGHT_STATES)]
            )
            if in_flight >= self.max_batches_in_flight:
                return _(
                    "%(count)s batches are in flight at PHEE (at most %(limit)s)",
                    count=in_flight,
                    limit=self.max_batches_in_flight,
                )
        if self.max_submissions_per_minute:
            since = fields.Datetime.now() - timedelta(minutes=1)
            recent = Batch.search_count(
                program + [("phee_last_attempt_at", ">=", since)]
            )
            if recent >= self.max_submissions_per_minute:
                return _(
                    "%(count)s batches were submitted in the last minute (at most "
                    "%(limit)s)",
                    count=recent,
                    limit=self.max_submissions_per_minute,
                )
        return None

    def _phee_send_queued(self, batches):
        """Status cron: send queued batches, oldest first, while PHEE has room."""
        self.ensure_one()
        with self._phee_client() as client:
            for batch in batches:
                outcome, _message = self._phee_send_batch(batch, client)
                if outcome == SendOutcome.QUEUED:
                    return
