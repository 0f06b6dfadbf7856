# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Sending batches to PHEE without ever posting the same batch twice.

Every path that can POST (batch and cycle buttons, queue jobs, the status
cron, *Check Status*) goes through ``_phee_send_batch``, and the POST itself
only through ``_phee_post``: it commits the recorded attempt before the POST
and PHEE's answer right after, while a database session lock marks the POST
as in flight for every other worker.
"""

import logging
from contextlib import ExitStack, contextmanager

from psycopg2 import errors as pg_errors

from odoo import _, models
from odoo.tools import SQL

from odoo.addons.queue_job.delay import group
from odoo.addons.queue_job.exception import RetryableJobError

from ..phee import PheeError, PheeResponseError, PheeValidationError
from .phee_states import SEND_OUTCOMES, SendOutcome
from .phee_utils import PHEE_JOB_CHANNEL, commit_unless_testing, job_identity_key

_logger = logging.getLogger(__name__)

MAX_AUTOMATIC_ATTEMPTS = 5
# First keys of the session locks held while a batch's POST is in flight, and
# while a cycle's batches are being sent by one officer.
SENDING_LOCK_NAMESPACE = 0x50484545  # "PHEE"
CYCLE_SENDING_LOCK_NAMESPACE = 0x50484543  # "PHEC"


class G2PPaymentHubEEManagerSend(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    def _send_payments(self, batches):
        """Override of `g2p_programs`: submit each batch to PHEE, one batch per
        transaction, and report what happened to each."""
        self.ensure_one()
        if not batches:
            return super()._send_payments(batches)
        with ExitStack() as stack:
            for cycle in batches.cycle_id:
                lock = self._phee_session_lock(CYCLE_SENDING_LOCK_NAMESPACE, cycle.id)
                if not stack.enter_context(lock):
                    return self._phee_notify(
                        _(
                            "Cycle %(cycle)s is being sent to PHEE by someone else "
                            "right now; its batches are not sent twice. Reload the "
                            "cycle in a moment to see the outcome.",
                            cycle=cycle.name,
                        ),
                        "warning",
                    )
            outcomes = {}
            with self._phee_client() as client:
                for batch in batches:
                    outcome, message = self._phee_send_batch(batch, client)
                    outcomes.setdefault(outcome, []).append((batch, message))
            return self._phee_send_notification(outcomes)

    def _send_payments_async(self, cycle, batches):
        """Override of `g2p_programs`: one queue job per batch, deduplicated."""
        self.ensure_one()
        cycle.message_post(
            body=_("Sending %(count)s batches to PHEE started.", count=len(batches))
        )
        cycle.write(
            {"locked": True, "locked_reason": _("Sending payment batches to PHEE.")}
        )
        jobs = [
            self.delayable(
                channel=PHEE_JOB_CHANNEL,
                identity_key=job_identity_key("send", batch.id),
                description=_("PHEE: send batch %(name)s", name=batch.name),
            )._phee_send_batch_job(batch)
            for batch in batches
        ]
        main_job = group(*jobs)
        main_job.on_done(
            self.delayable().mark_job_as_done(cycle, _("Sending batches to PHEE done."))
        )
        main_job.delay()

    def _phee_send_batch_job(self, batch):
        """Queue job: send one batch; retried (``retry_pattern`` of the job
        function) when PHEE could not be reached."""
        self.ensure_one()
        with self._phee_client() as client:
            outcome, message = self._phee_send_batch(batch, client)
        if outcome == SendOutcome.NOT_DELIVERED:
            raise RetryableJobError(message)
        return message

    # ------------------------------------------------------------
    # ONE BATCH
    # ------------------------------------------------------------

    def _phee_send_batch(self, batch, client):
        """Submit one batch unless PHEE has, or may have, it already.

        :return: (a ``SendOutcome``, message)
        """
        self.ensure_one()
        if not self._phee_lock(batch):
            return SendOutcome.BUSY, self._phee_busy_message(batch)
        with self._phee_session_lock(SENDING_LOCK_NAMESPACE, batch.id) as free:
            if not free:
                return SendOutcome.BUSY, self._phee_busy_message(batch)
            if not batch.phee_can_send:
                return SendOutcome.SKIPPED, _(
                    "%(batch)s was sent already.", batch=batch.name
                )
            if batch.phee_attempt_count:
                previous = self._phee_find_previous_submission(batch, client)
                if previous:
                    return previous
            reason = self._phee_no_room(batch)
            if reason:
                if batch.phee_state != "queued":
                    batch._phee_queue(reason)
                return SendOutcome.QUEUED, f"{batch.name}: {reason}"
            batch._phee_claim()
            try:
                # Always rendered from the payments now: a stored file is never
                # posted, so neither an edited attachment nor stale rows are.
                csv_text = self._phee_render_batch(batch)
            except PheeValidationError as error:
                batch._phee_refuse(error.message)
                return SendOutcome.INVALID, f"{batch.name}: {error.message}"
            return self._phee_post(batch, client, csv_text)

    def _phee_post(self, batch, client, csv_text):
        """Record an attempt, commit, POST, record PHEE's answer, commit."""
        batch._phee_send(csv_text)
        commit_unless_testing(self.env.cr)
        try:
            # A failure while recording the answer rolls back to here only: the
            # attempt recorded above survives, so a retry asks PHEE first.
            with self.env.cr.savepoint():
                result = client.submit_batch(
                    csv_text,
                    correlation_id=batch.phee_correlation_id,
                    filename=batch._phee_filename(self),
                    purpose=self.batch_purpose_header or "",
                    batch_type=(self.batch_type_header or "csv").strip().lower(),
                    callback_url=self._phee_callback_url(batch) or None,
                    **self._phee_budget_routing(),
                )
                batch._phee_accept(result.batch_id)
        except Exception as error:  # pylint: disable=broad-except
            # Whatever broke after the POST left, PHEE may have the batch.
            if not isinstance(error, PheeError):
                _logger.exception("PHEE batch %s: answer not recorded", batch.name)
                error = PheeResponseError(
                    _(
                        "PHEE's answer could not be recorded (%(kind)s).",
                        kind=type(error).__name__,
                    ),
                    outcome_unknown=True,
                )
            _logger.warning(
                "PHEE batch %s (attempt %s) failed: %s",
                batch.name,
                batch.phee_attempt_count,
                error.code,
            )
            if error.outcome_unknown:
                batch._phee_lose(error)
                outcome = SendOutcome.UNKNOWN
            else:
                batch._phee_reject(error)
                outcome = batch.phee_attempt_outcome
            message = f"{batch.name}: {error.message}"
        else:
            _logger.info("PHEE batch %s accepted as %s", batch.name, result.batch_id)
            outcome, message = SendOutcome.SENT, batch.name
        commit_unless_testing(self.env.cr)
        return outcome, message

    def _phee_lock(self, batch):
        """Lock the batch row for this transaction; False if another holds it or
        changed it since this transaction began."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM %s WHERE id = %s FOR UPDATE NOWAIT",
                        SQL.identifier(batch._table),
                        batch.id,
                    )
                )
        except (pg_errors.LockNotAvailable, pg_errors.SerializationFailure):
            return False
        batch.invalidate_recordset()
        return True

    @contextmanager
    def _phee_session_lock(self, namespace, record_id):
        """Hold a database session lock while the block runs (yields whether it
        was free).

        Unlike a row lock it outlives the commits around each POST, so no other
        worker posts a batch while its POST is in flight; it is released when
        the block ends or the database connection dies with its worker.
        """
        cr = self.env.cr
        key = (namespace, record_id)
        cr.execute(SQL("SELECT pg_try_advisory_lock(%s, %s)", *key))
        free = cr.fetchone()[0]
        try:
            yield free
        finally:
            if free:
                cr.execute(SQL("SELECT pg_advisory_unlock(%s, %s)", *key))

    def _phee_busy_message(self, batch):
        return _("%(batch)s is being sent already.", batch=batch.name)

    def _phee_resolve_submissions(self, batch, client):
        """Status sync: settle a batch stuck in submitting (ask PHEE, then
        re-send when PHEE does not have it after the wait)."""
        if batch.phee_attempt_count < MAX_AUTOMATIC_ATTEMPTS:
            self._phee_send_batch(batch, client)
        elif self._phee_find_previous_submission(batch, client) is None:
            batch._phee_give_up(
                _(
                    "PHEE did not accept the batch after %(count)s attempts; "
                    "check the errors above and send it again.",
                    count=batch.phee_attempt_count,
                )
            )

    # ------------------------------------------------------------
    # FEEDBACK
    # ------------------------------------------------------------

    def _phee_send_notification(self, outcomes):
        """Summarise per-batch outcomes for the officer and the cycle chatter."""
        lines = []
        levels = set()
        for outcome, items in outcomes.items():
            label, level = SEND_OUTCOMES[outcome]
            line = f"{label}: {len(items)}"
            if level:
                levels.add(level)
                line += " — " + "; ".join(message for _batch, message in items[:5])
            lines.append(line)
        kind = "danger" if "danger" in levels else ("warning" if levels else "success")
        message = "\n".join(lines)
        cycles = self.env["g2p.cycle"]
        for items in outcomes.values():
            for batch, _message in items:
                cycles |= batch.cycle_id
        body = self._phee_chatter_body(_("Send to PHEE:") + "\n" + message)
        for cycle in cycles:
            cycle.message_post(body=body)
        return self._phee_notify(message, kind, sticky=bool(levels))
