# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Retrying failed payments: which would fail again unchanged, and the plan
the officer sees before retrying."""

from collections import Counter

from odoo import models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..phee import failures
from .phee_bulk import array_literal
from .phee_utils import payable_entitlement


class G2PPaymentHubEEManagerRetry(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    def _phee_last_failures(self, entitlement_ids):
        """The latest failed PHEE payment of each entitlement that has one:
        {entitlement id: (state, payee identifier, reason, code, payee DFSP)}."""
        self.env["g2p.payment"].flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT ON (entitlement_id) entitlement_id,
                          phee_payment_state, account_number, phee_failure_reason,
                          phee_failure_code, phee_payee_dfsp_id
                     FROM g2p_payment
                    WHERE entitlement_id = ANY(%s::int4[]) AND status = 'failed'
                      AND phee_payment_state IS NOT NULL
                 ORDER BY entitlement_id, id DESC""",
                array_literal(entitlement_ids),
            )
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    def _phee_unchanged_failures(self, frame, reasons, last):
        """{row position: reason} of the frame's entitlements whose last payment
        failed (``last``: ``_phee_last_failures``) and would fail again as they
        are now.

        - held back: held back again for the same reason (the registrant was
          not corrected);
        - refused by PHEE for a reason that depends on the payee's identifier
          (unknown payee, invalid data), sent to the same identifier again;
          unless the context has ``phee_retry_unchanged`` (the officer said
          the beneficiary has registered that number since).
        """
        if not last:
            return {}
        retry_unchanged = self.env.context.get("phee_retry_unchanged")
        unchanged = {}
        rows = zip(
            frame["entitlement_id"].tolist(),
            frame["payee_identifier"].tolist(),
            frame["payee_dfsp_id"].tolist(),
            strict=True,
        )
        for row, (entitlement_id, identifier, dfsp) in enumerate(rows):
            if entitlement_id not in last:
                continue
            state, sent_to, reason, code, sent_dfsp = last[entitlement_id]
            if state == "held_back":
                if reasons.get(row) == reason:
                    unchanged[row] = reason
            elif (
                not retry_unchanged
                and row not in reasons
                and identifier == sent_to
                and (dfsp if isinstance(dfsp, str) else None) == sent_dfsp
                and failures.fails_again_unchanged(code, reason)
            ):
                unchanged[row] = reason
        return unchanged

    def _phee_skip_unchanged_failures(self, frame, csv_frame, reasons):
        """Drop the rows that would fail again unchanged.

        :return: (frame, csv_frame, reasons, unchanged) with unchanged the
            [(entitlement, reason)] dropped.
        """
        last = self._phee_last_failures(frame["entitlement_id"].tolist())
        skip = self._phee_unchanged_failures(frame, reasons, last)
        if not skip:
            return frame, csv_frame, reasons, []
        entitlements = self.env["g2p.entitlement"].browse(
            frame["entitlement_id"].iloc[list(skip)].tolist()
        )
        unchanged = list(zip(entitlements, skip.values(), strict=True))
        kept = [row for row in range(len(frame)) if row not in skip]
        reasons = {new: reasons[old] for new, old in enumerate(kept) if old in reasons}
        return (
            frame.iloc[kept].reset_index(drop=True),
            csv_frame.iloc[kept].reset_index(drop=True),
            reasons,
            unchanged,
        )

    def _phee_retry_candidates(self, cycle):
        """Ids of the cycle's payable entitlements that have a failed payment,
        and the number of payable ones that never had a payment."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT array_agg(e.id ORDER BY e.id) FILTER (WHERE f.failed),
                          count(*) FILTER (WHERE NOT f.failed)
                     FROM g2p_entitlement e,
                          LATERAL (SELECT EXISTS (
                              SELECT 1 FROM g2p_payment p
                               WHERE p.entitlement_id = e.id)) AS f(failed)
                    WHERE e.cycle_id = %s AND %s""",
                cycle.id,
                payable_entitlement(),
            )
        )
        ids, never_prepared = self.env.cr.fetchone()
        return ids or [], never_prepared

    def _phee_retry_plan(self, cycle):
        """What retrying the cycle's failed payments would do now.

        :return: dict with ``issued`` (how many failed payments it issues
            again), ``retried`` (count per kind: ``refused``, ``held``
            for held back ones whose registrant was corrected), ``held_again``
            (reasons of rows that would be held back for a new reason),
            ``unchanged`` (Counter of reasons not retried), ``unchanged_payee``
            (how many of those a ``phee_retry_unchanged`` retry would send),
            ``new`` (entitlements never prepared) and ``error`` (why nothing
            can be prepared, or False).
        """
        self.ensure_one()
        ids, never_prepared = self._phee_retry_candidates(cycle)
        plan = {
            "issued": 0,
            "retried": Counter(),
            "held_again": Counter(),
            "unchanged": Counter(),
            "unchanged_payee": 0,
            "new": never_prepared,
            "error": False,
        }
        if not ids:
            return plan
        frame = self._phee_entitlement_frame(ids)
        try:
            reasons = self._phee_hold_back_reasons(
                frame,
                self._phee_csv_frame(
                    frame["name"],
                    frame["payee_identifier"],
                    self._phee_read_back_amounts(frame["amount"]),
                    payee_dfsp_ids=frame["payee_dfsp_id"],
                ),
            )
        except UserError as error:
            plan["error"] = str(error)
            return plan
        last = self._phee_last_failures(ids)
        unchanged = self._phee_unchanged_failures(frame, reasons, last)
        for row, entitlement_id in enumerate(frame["entitlement_id"].tolist()):
            state = last.get(entitlement_id, ("failed",))[0]
            if row in unchanged:
                plan["unchanged"][unchanged[row]] += 1
                plan["unchanged_payee"] += state == "failed"
            elif row in reasons:
                plan["held_again"][reasons[row]] += 1
            else:
                plan["retried"]["held" if state == "held_back" else "refused"] += 1
        plan["issued"] = plan["retried"].total() + plan["held_again"].total()
        return plan
