# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Finding out what PHEE has before anything is sent again.

On a stock PHEE the batch's ``correlationId`` is overwritten by the
authorization step and the listing has no correlation filter, so after a lost
answer the correlation look-up is only a cheap first check. What survives is
each row's ``request_id`` once the row ran: the batches listed in the
attempt's time window are compared row by row with the batch's payments, and
several ``request_id``s are looked up among the transfers.

A batch is posted again automatically only when none of that finds anything
and the payment mode is mojaloop, where the channel refuses a ``request_id``
it has seen. Otherwise it waits in *PHEE may already have it* for a person.
"""

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice

from odoo import _, fields, models
from odoo.exceptions import AccessError

from odoo.addons.base.models.res_partner import _tz_get

from ..phee import PheeError
from .phee_states import SendOutcome
from .phee_utils import is_phee_admin

_logger = logging.getLogger(__name__)

# Never re-send sooner than this after an attempt, whatever the manager says.
MIN_RESUBMIT_GRACE_MINUTES = 5
# The listing is searched from this long before the first attempt.
WINDOW_MARGIN = timedelta(minutes=10)
LISTED_BATCHES_COMPARED = 50
REQUEST_IDS_LOOKED_UP = 10
# The channel connector refuses a request_id it has seen in this mode only.
SELF_PROTECTING_MODES = ("mojaloop",)


@dataclass
class Evidence:
    """What PHEE was found to hold of a batch, and what was asked."""

    batch_id: str | None = None  # a PHEE batch holding only this batch's rows
    foreign_rows: str | None = None  # a PHEE batch mixing in rows not ours
    transfer_batch_id: str | None = None  # a transfer of ours, batch unknown
    checked: list = field(default_factory=list)

    @property
    def something(self):
        return bool(self.batch_id or self.foreign_rows or self.transfer_batch_id)


class G2PPaymentHubEEManagerRecovery(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    ops_timezone = fields.Selection(
        _tz_get,
        "Operations App Time Zone",
        default="Asia/Kolkata",
        required=True,
        help="The operations app's interface.timezone (Asia/Kolkata in a stock "
        "PHEE): it reads the dates of its batch list in that zone, and a batch "
        "PHEE may already have is searched for by date.",
    )

    def _phee_config(self):
        """Override: the operations app's time zone for batch-list dates."""
        return dataclasses.replace(
            super()._phee_config(), ops_timezone=self.ops_timezone
        )

    def _phee_find_previous_submission(self, batch, client):
        """Ask PHEE whether an earlier attempt of this batch reached it.

        :return: None when the batch may be posted, else (outcome, message).
        """
        try:
            with self.env.cr.savepoint():
                return self._phee_look_for(batch, client)
        except PheeError as error:
            return self._phee_check_failed(batch, error)
        except Exception as error:  # pylint: disable=broad-except
            _logger.exception("PHEE look-up of batch %s failed", batch.name)
            return self._phee_check_failed(
                batch,
                PheeError(
                    _(
                        "PHEE's answer could not be read (%(kind)s).",
                        kind=type(error).__name__,
                    )
                ),
            )

    def _phee_look_for(self, batch, client):
        """See ``_phee_find_previous_submission``; PheeError is the caller's."""
        found = self._phee_by_correlation_id(batch, client)
        if found:
            batch._phee_adopt(found)
            return SendOutcome.ADOPTED, batch.name
        if batch.phee_attempt_outcome not in ("pending", "unknown"):
            return None
        evidence = self._phee_search(batch, client)
        retry_at = batch.phee_last_attempt_at + timedelta(
            minutes=max(self.resubmit_grace_minutes, MIN_RESUBMIT_GRACE_MINUTES)
        )
        if not evidence.batch_id and fields.Datetime.now() < retry_at:
            # PHEE may not list or run it yet: never decide before the wait.
            return SendOutcome.WAITING, _(
                "%(batch)s: PHEE does not show the earlier attempt yet; it is "
                "checked again, and nothing is sent before %(time)s UTC.",
                batch=batch.name,
                time=fields.Datetime.to_string(retry_at),
            )
        return self._phee_act_on(batch, evidence)

    def _phee_by_correlation_id(self, batch, client):
        """The cheap first check: PHEE's id of a listed batch with the batch's
        correlation id (still there when PHEE's authorization step is off)
        whose rows are all ours, or None."""
        found = client.find_batch_by_correlation_id(batch._phee_sent_correlation_id())
        if found and self._phee_rows_are_ours(batch, client, found["batchId"]):
            return found["batchId"]
        return None

    def _phee_act_on(self, batch, evidence):
        """Adopt what was found, or decide whether the batch may be posted."""
        if evidence.batch_id:
            batch._phee_adopt(evidence.batch_id)
            return SendOutcome.ADOPTED, batch.name
        if not evidence.something and self._phee_mode_refuses_repeats():
            return None
        batch._phee_doubt(self._phee_doubt_message(batch, evidence))
        return SendOutcome.UNCERTAIN, f"{batch.name}: {batch.phee_attention_note}"

    def _phee_mode_refuses_repeats(self):
        return (self.payment_mode or "").strip().lower() in SELF_PROTECTING_MODES

    # ------------------------------------------------------------
    # SEARCH
    # ------------------------------------------------------------

    def _phee_search(self, batch, client):
        """Look for this batch at PHEE by what survives on a stock deployment."""
        evidence = Evidence()
        ours = set(batch.payment_ids.mapped("name"))
        since = (
            batch.phee_first_attempt_at
            or batch.phee_last_attempt_at
            or batch.create_date
        ) - WINDOW_MARGIN
        filenames = ("_" + batch._phee_filename(self),)
        if batch.phee_legacy_correlation_id:  # the original module's file name
            filenames += (f"_{self.file_name_prefix or ''}{batch.name}.csv",)
        until = fields.Datetime.now() + WINDOW_MARGIN
        listed = 0
        for listed_batch in self._phee_untaken(
            batch,
            client.list_batches(
                since, until, registering_institution_id=self._phee_institution_id()
            ),
        ):
            batch_id = str(listed_batch["batchId"])
            listed += 1
            rows = client.compare_batch_rows(batch_id, ours, limit=len(ours) + 1)
            named = str(listed_batch.get("requestFile") or "").endswith(filenames)
            if rows.only_ours or (named and rows.complete and not rows.foreign):
                evidence.batch_id = batch_id
                break
            if rows.ours:
                evidence.foreign_rows = batch_id
            if listed >= LISTED_BATCHES_COMPARED:
                break
        evidence.checked.append(
            _(
                "%(count)s PHEE batches listed between %(since)s and %(until)s UTC "
                "compared row by row",
                count=listed,
                since=fields.Datetime.to_string(since),
                until=fields.Datetime.to_string(until),
            )
        )
        if evidence.batch_id:
            return evidence
        sample = self._phee_sample(batch.payment_ids.sorted("id").mapped("name"))
        transfers = client.find_transfers(sample)
        evidence.checked.append(
            _(
                "%(count)s request ids looked up among PHEE's transfers",
                count=len(sample),
            )
        )
        if transfers:
            evidence.transfer_batch_id = (
                next(iter(transfers.values())).get("batchId") or "?"
            )
        return evidence

    def _phee_untaken(self, batch, listed):
        """The listed PHEE batches no other batch of ours has adopted, in pages
        of one query each."""
        Batch = self.env["g2p.payment.batch"]
        while page := [b for b in islice(listed, 100) if b.get("batchId")]:
            ids = [str(b["batchId"]) for b in page]
            taken = set(
                Batch.search(
                    [("external_batch_ref", "in", ids), ("id", "!=", batch.id)]
                ).mapped("external_batch_ref")
            )
            yield from (b for b in page if str(b["batchId"]) not in taken)

    @staticmethod
    def _phee_sample(request_ids):
        """Up to REQUEST_IDS_LOOKED_UP request ids spread over the batch."""
        step = max(len(request_ids) // REQUEST_IDS_LOOKED_UP, 1)
        return request_ids[::step][:REQUEST_IDS_LOOKED_UP]

    def _phee_rows_are_ours(self, batch, client, batch_id):
        """A PHEE batch may be adopted only if every row it has is ours (it may
        have none yet, before PHEE runs them)."""
        ours = batch.payment_ids.mapped("name")
        rows = client.compare_batch_rows(batch_id, ours, limit=len(ours) + 1)
        return rows.complete and not rows.foreign

    def _phee_institution_id(self):
        """Registering institution the listing is filtered on, when set."""
        return self.registering_institution_id or None

    def _phee_doubt_message(self, batch, evidence):
        if evidence.foreign_rows:
            found = _(
                "PHEE batch %(phee)s holds some of this batch's payments among others.",
                phee=evidence.foreign_rows,
            )
        elif evidence.transfer_batch_id:
            found = _(
                "PHEE has payments of this batch (PHEE batch %(phee)s) but does not "
                "list a batch holding only them.",
                phee=evidence.transfer_batch_id,
            )
        else:
            found = _(
                "PHEE shows nothing of this batch, but in %(mode)s mode nothing at "
                "PHEE stops a second payment of the same request id.",
                mode=self.payment_mode,
            )
        return _(
            "PHEE may already have this batch (correlation id %(batch)s), so it is "
            "not sent again. %(found)s Checked: the batch list for the correlation "
            "id; %(checked)s. Use Check Again later; if PHEE's operators confirm "
            "they do not have it, an administrator can re-send it.",
            batch=batch.name,
            found=found,
            checked="; ".join(str(c) for c in evidence.checked),
        )

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
        return SendOutcome.CHECK_FAILED, f"{batch.name}: {error.message}"

    # ------------------------------------------------------------
    # A PERSON DECIDES
    # ------------------------------------------------------------

    def _phee_check_again(self, batch, client):
        """Search PHEE once more for an uncertain or legacy batch."""
        try:
            found = self._phee_by_correlation_id(batch, client)
            evidence = Evidence(batch_id=found) if found else None
            evidence = evidence or self._phee_search(batch, client)
        except PheeError as error:
            return self._phee_check_failed(batch, error)
        if evidence.batch_id:
            batch._phee_adopt(evidence.batch_id)
            return SendOutcome.ADOPTED, batch.name
        message = self._phee_doubt_message(batch, evidence)
        if batch.phee_state == "uncertain":
            batch._phee_doubt(message)
        elif batch.phee_attention_note != message:
            batch._phee_note(message)
        return SendOutcome.UNCERTAIN, f"{batch.name}: {message}"

    def _phee_resend_confirmed(self, batch, client):
        """An administrator confirmed PHEE does not have the batch: post it."""
        if not is_phee_admin(self.env.user):
            raise AccessError(
                _("Only an administrator can re-send a batch PHEE may already have.")
            )
        batch._phee_resend()
        return self._phee_send_batch(batch, client)
