# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Payments of batches this addon handled before the PHEE payment state existed
get the state their upstream fields say (payments of other managers keep
none). Batches it sent keep the correlation id they were posted under, which
``g2p.payment.batch.init`` already set as their PHEE reference."""

import logging

from odoo.tools import SQL

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        SQL(
            """UPDATE g2p_payment p SET phee_payment_state = CASE
                    WHEN p.status = 'paid' THEN 'paid'
                    WHEN p.status = 'failed' AND p.state = 'issued' THEN 'held_back'
                    WHEN p.status = 'failed' THEN 'failed'
                    WHEN p.state = 'issued' THEN 'issued'
                    ELSE 'sent' END
               WHERE p.phee_payment_state IS NULL
                 AND (EXISTS (
                          SELECT 1 FROM g2p_payment_batch b
                           WHERE b.id = p.batch_id AND b.phee_state IS NOT NULL)
                      -- held back at prepare: no batch, a reason, a PHEE cycle
                      OR (p.batch_id IS NULL AND p.phee_failure_reason IS NOT NULL
                          AND EXISTS (
                              SELECT 1 FROM g2p_payment_batch b
                               WHERE b.cycle_id = p.cycle_id
                                 AND b.phee_state IS NOT NULL)))"""
        )
    )
    _logger.info("PHEE upgrade: %s payments given their PHEE state", cr.rowcount)
