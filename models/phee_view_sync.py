# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Status sync of PHEE's batch view: approvals acted on, failure reasons
completed from PHEE's instructions (see ``phee.batch_view``)."""

import logging

from odoo import fields, models

from ..phee import PheeError
from .phee_guard import by_state_machine

_logger = logging.getLogger(__name__)


class G2PPaymentHubEEManagerBatchView(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    phee_check_approved_amount = fields.Boolean(
        "Act on PHEE's Approved Amount",
        help="A batch PHEE approved less of than was sent (its budget check "
        "refused it) needs attention. Only for a PHEE whose batch view reports "
        "approvals: a stock operations app reports 0 there (the sums of "
        "sub-batch rows, created with 0 approved).",
    )

    def _phee_sync_batch_view(self, batch, client, payments, outcomes):
        """Status sync: read PHEE's batch view and keep it, act on a refused
        budget, complete failure reasons. The view is read when the approved
        amount is acted on, the first time and once every payment is final,
        not on every sync. Never stops the sync."""
        try:
            final = all(payments.mapped("status_is_final"))
            check = self.phee_check_approved_amount
            if check or final or not batch.phee_view_synced_at:
                self._phee_read_batch_view(batch, client, outcomes, check)
            self._phee_merge_instruction_reasons(batch, client, payments, outcomes)
        except PheeError as error:
            _logger.warning(
                "PHEE batch view of %s not read: %s", batch.name, error.code
            )

    def _phee_read_batch_view(self, batch, client, outcomes, check):
        view = client.get_batch_view(
            batch.external_batch_ref, batch._phee_sent_correlation_id()
        )
        if view is None:
            return
        batch._phee_store_view(view)
        if check and batch.phee_state == "in_progress":
            refusal = self._phee_started(view, outcomes) and (
                batch._phee_budget_refusal(view)
            )
            if refusal:
                batch._phee_stall(refusal)

    @staticmethod
    def _phee_started(view, outcomes):
        """Whether PHEE is past its approval: it split the batch, ran payments
        or ended the batch."""
        ended = (view.status or "").upper() in ("COMPLETED", "FAILED")
        return bool(outcomes) or view.total_sub_batches > 0 or ended

    def _phee_merge_instruction_reasons(self, batch, client, payments, outcomes):
        """Failed payments whose transfer gave no reason take PHEE's
        per-instruction reason (``associations=all``), when it has one."""
        bare = payments.filtered(
            lambda p: (
                p.phee_payment_state == "failed"
                and p.name in outcomes
                and not outcomes[p.name].reason
            )
        )
        if not bare:
            return
        reasons = client.get_instruction_reasons(
            batch.external_batch_ref,
            batch._phee_sent_correlation_id(),
            limit=max(len(payments), 1),
        )
        for payment in bare:
            reason = reasons.get(payment.phee_transaction_id or "") or reasons.get(
                payment.name
            )
            if reason and reason != payment.phee_failure_reason:
                by_state_machine(payment).write({"phee_failure_reason": reason})
