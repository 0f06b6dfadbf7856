# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Status sync: PHEE batch summaries and transfers reconciled onto payments."""

import logging
from datetime import timedelta

from odoo import _, fields, models
from odoo.tools.misc import format_amount

from ..phee import PheeError, PheeResponseError, match_transfers
from .phee_bulk import write_columns
from .phee_guard import by_state_machine
from .phee_states import FINAL_STATES, OPEN_STATES
from .phee_utils import commit_unless_testing

_logger = logging.getLogger(__name__)

DETAIL_PAGE_SIZE = 1000
# Batches PHEE may have are searched again at most this often by the cron.
RECHECK_INTERVAL = timedelta(minutes=30)
RECHECKED_STATES = ("uncertain", "legacy")
MISSING_LOOKUP_LIMIT = 50


class G2PPaymentHubEEManagerSync(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    def _phee_sync_batches(self, batches):
        """Visit each batch PHEE has or may have, committing after each one.

        One batch's error never stops the others: it is kept on that batch.
        """
        self.ensure_one()
        try:
            client = self._phee_client()
        except PheeError as error:
            for batch in batches:
                batch._phee_sync_failed(error)
            return
        with client:
            for batch in batches:
                # Own prefetch set: each commit empties the cache, and reading
                # one batch's state would read all the others' again.
                batch = batch.with_prefetch()
                if batch.phee_state == "submitting":
                    # Commits around a POST: no savepoint may span it, and every
                    # step of it records its own failures.
                    self._phee_resolve_submissions(batch, client)
                else:
                    self._phee_visit(batch, client)
                commit_unless_testing(self.env.cr)
        self._phee_check_cycles_done(
            batches.filtered(lambda b: b.phee_state in FINAL_STATES).cycle_id
        )

    def _phee_visit(self, batch, client):
        """Sync one batch, or search PHEE again for one it may have, keeping
        any failure on that batch."""
        try:
            with self.env.cr.savepoint():
                if batch.phee_state in OPEN_STATES:
                    self._phee_sync_batch(batch, client)
                elif batch.phee_state in RECHECKED_STATES and self._phee_recheck_due(
                    batch
                ):
                    self._phee_check_again(batch, client)
                    batch.phee_last_sync_at = fields.Datetime.now()
        except PheeError as error:
            _logger.warning(
                "PHEE status of batch %s failed: %s", batch.name, error.code
            )
            batch._phee_sync_failed(error)
        except Exception as error:  # pylint: disable=broad-except
            # One odd answer must not starve the other batches.
            _logger.exception("PHEE status of batch %s failed", batch.name)
            batch._phee_sync_failed(
                PheeResponseError(
                    _(
                        "PHEE's answer could not be processed (%(kind)s); the "
                        "batch is checked again later.",
                        kind=type(error).__name__,
                    )
                )
            )

    def _phee_recheck_due(self, batch):
        last = batch.phee_last_sync_at
        return not last or fields.Datetime.now() - last >= RECHECK_INTERVAL

    def _phee_sync_batch(self, batch, client):
        """Fetch one batch's summary and transfers and apply them."""
        now = fields.Datetime.now()
        summary = client.get_batch_summary(batch.external_batch_ref)
        if summary is None:
            # PHEE's importer has not created the batch yet: not an error, until
            # the deadline (a batch PHEE never starts answers 404 forever).
            batch.write({"phee_last_sync_at": now, "phee_last_error": False})
            self._phee_check_import_deadline(batch, now)
            return
        batch._phee_start()
        # Own prefetch sets: the batches' union would make every read of one
        # batch scan the payments of all the batches synced; and as each batch
        # is committed (which empties the cache), reading this batch's links
        # through the others would read every synced batch's links again, per
        # batch (at 1,000,000 payments, 2,000 times a million rows).
        payments = batch.with_prefetch().payment_ids.with_prefetch()
        request_ids = payments.mapped("name")
        outcomes = match_transfers(
            request_ids,
            client.iter_transfers(batch.external_batch_ref, page_size=DETAIL_PAGE_SIZE),
        )
        if summary.settled:
            self._phee_lookup_missing(client, request_ids, outcomes)
        self._phee_apply_outcomes(payments, outcomes)
        self._phee_sync_batch_view(batch, client, payments, outcomes)
        done = all(payments.mapped("status_is_final"))
        if done and not summary.settled:
            # The summary is recomputed from the transfers when asked: ask again
            # so the stats match the final state.
            summary = client.get_batch_summary(batch.external_batch_ref) or summary
        batch.write(
            {
                "phee_last_sync_at": now,
                "phee_last_error": False,
                "stats_datetime": now,
                "stats_sent_transactions": summary.total,
                "stats_sent_amount": float(summary.total_amount),
                "stats_paid_transactions": summary.successful,
                "stats_paid_amount": float(summary.successful_amount),
                "stats_failed_transactions": summary.failed,
                "stats_failed_amount": float(summary.failed_amount),
            }
        )
        if done:
            batch._phee_finish()
        else:
            self._phee_check_settle_deadline(batch, payments, now)

    def _phee_check_import_deadline(self, batch, now):
        accepted = batch.phee_accepted_at or batch.phee_last_attempt_at
        deadline = timedelta(minutes=self.import_deadline_minutes)
        if batch.phee_state == "submitted" and accepted and now - accepted > deadline:
            batch._phee_stall(
                _(
                    "PHEE accepted this batch (PHEE batch %(phee)s) at %(time)s UTC "
                    "but had not started it after %(minutes)s min. PHEE answers "
                    "202 even when its workflow fails to start, and such a batch "
                    "never starts: ask PHEE's operators whether batch %(phee)s "
                    "exists. Its status is still checked.",
                    phee=batch.external_batch_ref,
                    time=fields.Datetime.to_string(accepted),
                    minutes=self.import_deadline_minutes,
                )
            )

    def _phee_check_settle_deadline(self, batch, payments, now):
        started = batch.phee_started_at
        deadline = timedelta(hours=self.settle_deadline_hours)
        if (
            batch.phee_state != "in_progress"
            or not started
            or now - started <= deadline
        ):
            return
        open_payments = payments.filtered(lambda p: not p.status_is_final)
        on_hold = open_payments.filtered(lambda p: p.phee_payment_state == "on_hold")
        batch._phee_stall(
            _(
                "Payments of this batch still not settled at PHEE %(hours)s h after "
                "it started: %(count)s (on hold at PHEE, an incident its operators "
                "must resolve: %(on_hold)s). Ask PHEE's operators "
                "about PHEE batch %(phee)s; do not pay these people another way "
                "before PHEE settles them. Their status is still checked.",
                count=len(open_payments),
                hours=self.settle_deadline_hours,
                on_hold=len(on_hold),
                phee=batch.external_batch_ref,
            )
        )

    def _phee_lookup_missing(self, client, request_ids, outcomes):
        """Rows PHEE stored under the parent batch (e.g. in-file duplicates) may be
        missing from the details: look a bounded number up one by one."""
        missing = [rid for rid in request_ids if rid not in outcomes]
        for request_id in missing[:MISSING_LOOKUP_LIMIT]:
            transfer = client.find_transfer(request_id)
            if transfer:
                outcomes.update(match_transfers([request_id], [transfer]))

    def _phee_apply_outcomes(self, payments, outcomes):
        """Write PHEE outcomes onto payments, one statement per set of columns
        changed; unchanged payments are left alone, so re-applying the same
        status changes nothing.

        :return: number of payments changed
        """
        now = fields.Datetime.now()
        known = dict(payments._fields["phee_status"].selection)
        groups = {}
        for payment in payments:
            outcome = outcomes.get(payment.name)
            if not outcome or payment.status_is_final:
                continue
            vals = self._phee_outcome_values(payment, outcome, known, now)
            if any(payment[fname] != value for fname, value in vals.items()):
                groups.setdefault(tuple(vals), []).append((payment.id, vals))
        for columns, rows in groups.items():
            write_columns(
                by_state_machine(payments.browse([pid for pid, _vals in rows])),
                {c: [vals[c] for _pid, vals in rows] for c in columns},
            )
        return sum(map(len, groups.values()))

    def _phee_outcome_values(self, payment, outcome, known, now):
        """The payment's field values for what PHEE says of its transfer."""
        state = outcome.status or payment.phee_payment_state or "sent"
        vals = {
            "phee_status": outcome.phee_status
            if outcome.phee_status in known
            else "UNKNOWN",
            "phee_transaction_id": outcome.transaction_id or False,
        }
        if state == "paid":
            mismatch = self._phee_mismatch(payment, outcome)
            if mismatch:
                state = "needs_attention"
                vals["phee_failure_reason"] = mismatch
            else:
                amount = outcome.amount
                vals.update(
                    status_datetime=now,
                    amount_paid=payment.amount_issued
                    if amount is None
                    else float(amount),
                    payment_datetime=outcome.completed_at or now,
                    phee_failure_reason=False,
                    phee_failure_code=False,
                )
        elif state == "failed":
            vals.update(
                status_datetime=now,
                amount_paid=0.0,
                payment_datetime=False,
                phee_failure_reason=outcome.reason
                or _("PHEE reported %(status)s", status=outcome.phee_status),
                phee_failure_code=outcome.reason_code or False,
            )
        vals.update(payment._phee_state_values(state))
        return vals

    def _phee_mismatch(self, payment, outcome):
        """Why a transfer PHEE completed is not the payment that was sent (amount,
        currency or payee), with both values; False when it is. A value either
        side does not know (e.g. the payee of a batch an older version sent) is
        not compared."""
        currency = payment.currency_id
        sent = (payment.amount_issued, currency.name, payment.account_number)
        reported = (
            float(outcome.amount) if outcome.amount is not None else None,
            outcome.currency and outcome.currency.strip().upper(),
            outcome.payee_party_id and outcome.payee_party_id.strip(),
        )
        differs = (
            reported[0] is not None
            and (
                currency.compare_amounts(sent[0], reported[0]) != 0
                if currency
                else abs(sent[0] - reported[0]) >= 0.005
            ),
            bool(sent[1] and reported[1]) and sent[1].upper() != reported[1],
            bool(sent[2] and reported[2]) and sent[2].strip() != reported[2],
        )
        if not any(differs):
            return False
        return _(
            "PHEE completed %(reported_amount)s %(reported_currency)s to "
            "%(reported_payee)s, but %(amount)s %(currency)s to %(payee)s was sent. "
            "Not recorded as paid: check with PHEE's operators.",
            reported_amount=reported[0] if reported[0] is not None else sent[0],
            reported_currency=reported[1] or sent[1] or "",
            reported_payee=reported[2] or sent[2] or "?",
            amount=sent[0],
            currency=sent[1] or "",
            payee=sent[2] or "?",
        )

    def _phee_check_cycles_done(self, cycles):
        """Tell each cycle whose PHEE batches are all complete (once, when the last
        one completes); a cycle whose payments are all paid is marked distributed."""
        for cycle in cycles:
            batches = cycle.payment_batch_ids.filtered("phee_state")
            if cycle.phee_all_batches_done or not all(
                b.phee_state in FINAL_STATES for b in batches
            ):
                continue
            cycle.phee_all_batches_done = True
            # Counted by the database: a national cycle's payments would not
            # fit in memory.
            counts = dict(
                self.env["g2p.payment"]._read_group(
                    [("cycle_id", "=", cycle.id)], ["status"], ["__count"]
                )
            )
            paid, total = counts.get("paid", 0), sum(counts.values())
            cycle.message_post(
                body=_(
                    "All PHEE batches of this cycle are complete: %(paid)s of "
                    "%(total)s payments paid.",
                    paid=paid,
                    total=total,
                )
            )
            if (
                paid == total
                and cycle.state == "approved"
                and cycle.program_id.get_manager(cycle.program_id.MANAGER_CYCLE)
            ):
                cycle.mark_distributed()

    def _phee_sync_notification(self, batches, payments=None):
        """Summarise the status of these batches (or of these payments, e.g. a
        whole cycle's including the ones held back) for the officer."""
        payments = batches.payment_ids if payments is None else payments
        paid = payments.filtered(lambda p: p.status == "paid")
        failed = payments.filtered(lambda p: p.status == "failed")
        currency = self.currency_id or self.env.company.currency_id
        paid_amount = format_amount(self.env, sum(paid.mapped("amount_paid")), currency)
        message = _(
            "%(paid)s paid (%(paid_amount)s), %(failed)s failed, %(pending)s pending "
            "in %(batches)s batches.",
            paid=len(paid),
            paid_amount=paid_amount,
            failed=len(failed),
            pending=len(payments) - len(paid) - len(failed),
            batches=len(batches),
        )
        errors = batches.filtered("phee_last_error")
        if errors:
            message += "\n" + "\n".join(
                f"{b.name}: {b.phee_last_error}" for b in errors[:5]
            )
        kind = "danger" if errors else ("warning" if failed else "success")
        return self._phee_notify(message, kind, sticky=bool(errors))
