# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""A cycle's reconciliation, as the disbursement report shows it: its payments
by PHEE payment state, their failure reasons, its batches with PHEE's counters,
and those counters checked against the payments."""

from odoo import _, _lt, models

SENT_STATES = ("sent", "on_hold", "needs_attention", "paid", "failed")
IN_BATCH_STATES = ("issued",) + SENT_STATES
UNSETTLED_STATES = ("issued", "sent", "on_hold", "needs_attention")
# The report's totals: key, label, PHEE payment states (None: all), and the
# row's level (a row adds up the rows of the next level below it).
TOTAL_ROWS = (
    ("issued", _lt("Issued"), None, 0),
    ("held_back", _lt("Held back (not sent)"), ("held_back",), 1),
    ("not_sent", _lt("Not sent yet"), ("issued",), 1),
    ("sent", _lt("Sent to PHEE"), SENT_STATES, 1),
    ("paid", _lt("Paid"), ("paid",), 2),
    ("failed", _lt("Failed (refused by PHEE)"), ("failed",), 2),
    ("on_hold", _lt("On hold at PHEE"), ("on_hold",), 2),
    ("needs_attention", _lt("Needing attention"), ("needs_attention",), 2),
    ("in_progress", _lt("In progress at PHEE"), ("sent",), 2),
)
# Payment states whose reasons the report lists, in this order.
REASON_STATES = ("held_back", "failed", "needs_attention")
# PHEE's batch counters checked against the payments: key, label, batch
# counter (stats_<name>_transactions / _amount), payment states, payment amount.
CHECKS = (
    ("in_batches", _lt("In batches"), "issued", IN_BATCH_STATES, "amount"),
    ("sent", _lt("Sent to PHEE"), "sent", SENT_STATES, "amount"),
    ("paid", _lt("Paid"), "paid", ("paid",), "amount_paid"),
    ("failed", _lt("Failed (refused by PHEE)"), "failed", ("failed",), "amount"),
)
BATCH_COUNTERS = ("issued", "sent", "paid", "failed")


class G2PCycle(models.Model):
    _inherit = "g2p.cycle"

    def _phee_currency(self):
        """The currency of the cycle's payments (their program's journal)."""
        self.ensure_one()
        journal = self.program_id.journal_id
        return journal.currency_id or journal.company_id.currency_id or self.currency_id

    def _phee_reconciliation(self):
        """The disbursement report's figures, read as the current user (who must
        be able to read the cycle's payments): totals by PHEE payment state,
        failure reasons, the batches with PHEE's counters, and those counters
        checked against the payments."""
        self.ensure_one()
        currency = self._phee_currency()
        by_state = self._phee_totals_by_state()
        totals = []
        for key, label, states, level in TOTAL_ROWS:
            figures = self._phee_sum(by_state, states or by_state, currency)
            totals.append(dict(key=key, label=str(label), level=level, **figures))
        batches = self.payment_batch_ids.filtered("phee_state").sorted("id")
        batch_rows = [self._phee_batch_row(batch) for batch in batches]
        batch_totals = {}
        for counter in BATCH_COUNTERS:
            count, amount = f"{counter}_count", f"{counter}_amount"
            batch_totals[count] = sum(row[count] for row in batch_rows)
            batch_totals[amount] = currency.round(sum(r[amount] for r in batch_rows))
        return {
            "currency": currency,
            "totals": totals,
            "settled": not any(by_state.get(s) for s in UNSETTLED_STATES),
            "reasons": self._phee_failure_reasons(currency),
            "batches": batch_rows,
            "batch_totals": batch_totals,
            "checks": self._phee_checks(by_state, batch_totals, currency),
            "first_sent_at": min(
                (d for d in batches.mapped("phee_first_attempt_at") if d),
                default=False,
            ),
            "last_sync_at": max(
                (d for d in batches.mapped("phee_last_sync_at") if d), default=False
            ),
        }

    def _phee_payments_domain(self):
        return [("cycle_id", "=", self.id), ("phee_payment_state", "!=", False)]

    def _phee_totals_by_state(self):
        """{PHEE payment state: (count, amount issued, amount paid)}"""
        groups = self.env["g2p.payment"]._read_group(
            self._phee_payments_domain(),
            ["phee_payment_state"],
            ["__count", "amount_issued:sum", "amount_paid:sum"],
        )
        return {
            state: (count, issued or 0.0, paid or 0.0)
            for state, count, issued, paid in groups
        }

    @staticmethod
    def _phee_sum(by_state, states, currency):
        rows = [by_state[s] for s in states if s in by_state]
        return {
            "count": sum(row[0] for row in rows),
            "amount": currency.round(sum(row[1] for row in rows)),
            "amount_paid": currency.round(sum(row[2] for row in rows)),
        }

    def _phee_batch_row(self, batch):
        states = dict(batch._fields["phee_state"]._description_selection(self.env))
        row = {
            "name": batch.name,
            "reference": batch.phee_correlation_id or "",
            "phee_batch_id": batch.external_batch_ref or "",
            "state": states.get(batch.phee_state, ""),
            "tag": batch.tag_id.name or "",
        }
        for counter in BATCH_COUNTERS:
            row[f"{counter}_count"] = batch[f"stats_{counter}_transactions"]
            row[f"{counter}_amount"] = batch[f"stats_{counter}_amount"]
        return row

    def _phee_failure_reasons(self, currency):
        """[{state, reason, code, count, amount}]: held back, refused by PHEE and
        needing attention, each by reason and PHEE error code, most frequent
        first."""
        field = self.env["g2p.payment"]._fields["phee_payment_state"]
        states = dict(field._description_selection(self.env))
        groups = self.env["g2p.payment"]._read_group(
            self._phee_payments_domain()
            + [("phee_payment_state", "in", REASON_STATES)],
            ["phee_payment_state", "phee_failure_reason", "phee_failure_code"],
            ["__count", "amount_issued:sum"],
        )
        groups.sort(key=lambda g: (REASON_STATES.index(g[0]), -g[3], g[1] or ""))
        no_reason = _("No reason given")
        return [
            {
                "state": states[state],
                "reason": reason or no_reason,
                "code": code or "",
                "count": count,
                "amount": currency.round(amount or 0.0),
            }
            for state, reason, code, count, amount in groups
        ]

    def _phee_checks(self, by_state, batch_totals, currency):
        """[{label, batches: (count, amount), payments: (count, amount), agrees}]:
        PHEE's batch counters against the payments."""
        checks = []
        for key, label, counter, states, amount_key in CHECKS:
            payments = self._phee_sum(by_state, states, currency)
            batches = (
                batch_totals[f"{counter}_count"],
                batch_totals[f"{counter}_amount"],
            )
            payments = (payments["count"], payments[amount_key])
            checks.append(
                {
                    "key": key,
                    "label": str(label),
                    "batches": batches,
                    "payments": payments,
                    "agrees": batches[0] == payments[0]
                    and currency.compare_amounts(batches[1], payments[1]) == 0,
                }
            )
        return checks
