# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Sending batches to PHEE without ever posting the same batch twice."""

import logging
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import _, fields, models

from odoo.addons.queue_job.delay import group
from odoo.addons.queue_job.exception import RetryableJobError

from ..phee import PheeError, PheeValidationError
from .phee_utils import commit_unless_testing

_logger = logging.getLogger(__name__)

SEND_CHANNEL = "root_program.phee"
MAX_AUTOMATIC_ATTEMPTS = 5


class G2PPaymentHubEEManagerSend(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    def _send_payments(self, batches):
        """Override of `g2p_programs`: submit each batch to PHEE, one batch per
        transaction outside tests, and report what happened to each."""
        self.ensure_one()
        if not batches:
            return super()._send_payments(batches)
        outcomes = {}
        with self._phee_client() as client:
            for batch in batches:
                outcome, message = self._phee_send_batch(batch, client, commit=True)
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
                channel=SEND_CHANNEL,
                identity_key=f"g2p_payment_phee.send.{batch.id}",
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
        """Queue job: send one batch; retry later when PHEE could not be reached."""
        self.ensure_one()
        with self._phee_client() as client:
            outcome, message = self._phee_send_batch(batch, client, commit=True)
        if outcome == "not_delivered":
            raise RetryableJobError(message, seconds=60)
        return message

    # ------------------------------------------------------------
    # ONE BATCH
    # ------------------------------------------------------------

    def _phee_send_batch(self, batch, client, commit=False):
        """Submit one batch unless PHEE already has it.

        :return: (outcome, message) where outcome is one of sent, adopted, skipped,
            busy, waiting, invalid, not_delivered, rejected, unknown, check_failed.
        """
        self.ensure_one()
        if not self._phee_lock(batch):
            return "busy", _("%(batch)s is being sent already.", batch=batch.name)
        if batch.phee_state not in (False, "draft", "error", "submitting"):
            return "skipped", _("%(batch)s was sent already.", batch=batch.name)
        if batch.phee_attempt_count:
            outcome = self._phee_find_previous_submission(batch, client)
            if outcome:
                return outcome
        try:
            csv_text = batch._phee_csv_text() or self._phee_render_batch(batch)
        except PheeValidationError as error:
            batch._phee_invalid(error.message)
            return "invalid", f"{batch.name}: {error.message}"
        batch._phee_begin_attempt()
        if commit:
            commit_unless_testing(self.env.cr)
        return self._phee_post(batch, client, csv_text, commit)

    def _phee_post(self, batch, client, csv_text, commit):
        try:
            # A failure while recording the answer rolls back to here only: the
            # attempt recorded above survives, so a retry asks PHEE first.
            with self.env.cr.savepoint():
                result = client.submit_batch(
                    csv_text,
                    correlation_id=batch.name,
                    filename=batch._phee_filename(self),
                    purpose=self.batch_purpose_header or "",
                    batch_type=(self.batch_type_header or "csv").strip().lower(),
                    callback_url=self.sudo().callback_url or None,
                )
                batch._phee_submitted(result.batch_id)
        except PheeError as error:
            _logger.warning(
                "PHEE batch %s (attempt %s) failed: %s",
                batch.name,
                batch.phee_attempt_count,
                error.code,
            )
            batch._phee_attempt_failed(error)
            outcome = "unknown" if error.outcome_unknown else batch.phee_attempt_outcome
            message = f"{batch.name}: {error.message}"
        else:
            _logger.info("PHEE batch %s accepted as %s", batch.name, result.batch_id)
            outcome, message = "sent", batch.name
        if commit:
            commit_unless_testing(self.env.cr)
        return outcome, message

    def _phee_find_previous_submission(self, batch, client):
        """Ask PHEE whether an earlier attempt of this batch reached it.

        :return: None when the batch may be posted, else (outcome, message).
        """
        try:
            found = client.find_batch_by_correlation_id(batch.name)
        except PheeError as error:
            return self._phee_check_failed(batch, error)
        if found:
            batch._phee_submitted(found["batchId"], adopted=True)
            return "adopted", batch.name
        if batch.phee_attempt_outcome in ("pending", "unknown"):
            grace = timedelta(minutes=max(self.resubmit_grace_minutes, 0))
            retry_at = batch.phee_last_attempt_at + grace
            if fields.Datetime.now() < retry_at:
                return "waiting", _(
                    "%(batch)s: PHEE has not reported the earlier attempt yet; it "
                    "will be sent again after %(time)s UTC if PHEE still does not "
                    "have it.",
                    batch=batch.name,
                    time=fields.Datetime.to_string(retry_at),
                )
            return self._phee_check_transfers_unknown(batch, client)
        return None

    def _phee_check_failed(self, batch, error):
        """PHEE could not be asked what it has: never post blindly."""
        batch._phee_log(
            _(
                "Could not ask PHEE whether it already has this batch, so it was "
                "not sent again: %(error)s",
                error=error.message,
            ),
            error=error.message,
        )
        return "check_failed", f"{batch.name}: {error.message}"

    def _phee_check_transfers_unknown(self, batch, client):
        """Second check before re-sending after an unknown outcome: a transfer of
        one of the batch's rows means PHEE has the batch although its batch list
        does not show it, so a person must look before anything is sent again."""
        request_id = batch.payment_ids.sorted("id")[:1].name
        try:
            transfer = request_id and client.find_transfer(request_id)
        except PheeError as error:
            return self._phee_check_failed(batch, error)
        if not transfer:
            return None
        message = _(
            "PHEE has payments of this batch (PHEE batch %(phee_batch)s) but does not "
            "list the batch itself, so it is not sent again. Ask the PHEE operator "
            "for the batch id of correlation id %(batch)s.",
            phee_batch=transfer.get("batchId") or "?",
            batch=batch.name,
        )
        batch.write({"phee_state": "error"})
        batch._phee_log(message, error=message)
        return "check_failed", f"{batch.name}: {message}"

    def _phee_lock(self, batch):
        """Lock the batch row for this transaction; False if another holds it."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "SELECT id FROM g2p_payment_batch WHERE id = %s FOR UPDATE NOWAIT",
                    (batch.id,),
                )
        except pg_errors.LockNotAvailable:
            return False
        batch.invalidate_recordset()
        return True

    def _phee_resolve_submissions(self, batches, client, commit=False):
        """Cron: settle batches stuck in submitting (ask PHEE, then re-send when
        PHEE does not have them after the grace period)."""
        for batch in batches:
            if batch.phee_attempt_count >= MAX_AUTOMATIC_ATTEMPTS:
                found = self._phee_find_previous_submission(batch, client)
                if found is None:
                    batch._phee_invalid(
                        _(
                            "PHEE did not accept the batch after %(count)s attempts; "
                            "check the errors above and send it again.",
                            count=batch.phee_attempt_count,
                        )
                    )
            else:
                self._phee_send_batch(batch, client, commit=commit)
            if commit:
                commit_unless_testing(self.env.cr)

    # ------------------------------------------------------------
    # FEEDBACK
    # ------------------------------------------------------------

    def _phee_send_notification(self, outcomes):
        """Summarise per-batch outcomes for the officer and the cycle chatter."""
        labels = {
            "sent": _("Sent"),
            "adopted": _("Already at PHEE (not sent again)"),
            "skipped": _("Sent earlier"),
            "busy": _("Being sent by another process"),
            "waiting": _("Waiting for PHEE"),
            "invalid": _("Not sent: invalid"),
            "not_delivered": _("PHEE unreachable"),
            "rejected": _("Rejected by PHEE"),
            "unknown": _("Answer lost, will check PHEE"),
            "check_failed": _("Could not check PHEE"),
        }
        lines = []
        for outcome, items in outcomes.items():
            line = f"{labels[outcome]}: {len(items)}"
            if outcome not in ("sent", "skipped", "adopted"):
                line += " — " + "; ".join(message for _batch, message in items[:5])
            lines.append(line)
        problems = set(outcomes) - {"sent", "adopted", "skipped"}
        if not problems:
            kind = "success"
        elif problems & {"invalid", "rejected", "not_delivered", "check_failed"}:
            kind = "danger"
        else:
            kind = "warning"
        message = "\n".join(lines)
        cycles = self.env["g2p.cycle"]
        for items in outcomes.values():
            for batch, _message in items:
                cycles |= batch.cycle_id
        body = self._phee_chatter_body(_("Send to PHEE:") + "\n" + message)
        for cycle in cycles:
            cycle.message_post(body=body)
        return self._phee_notify(message, kind, sticky=bool(problems))
