# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo import fields, models

from .phee_states import PAYMENT_STATES

# How a payment moves on the timeline; each movement adds its payment_count.
MOVEMENTS = [
    ("pending", "Pending"),
    ("paid", "Paid"),
    ("failed", "Failed"),
    ("held_back", "Held back"),
]


class G2PPheePaymentTimeline(models.Model):
    """PHEE payments as movements in time, for the cycle dashboard's chart.

    A payment counts +1 as *pending* when it is issued; when PHEE settles it,
    -1 *pending* and +1 *paid* or *failed* at that moment (the moment PHEE
    completed a paid one, else the status sync that learnt it). Held-back
    payments are +1 *held back* when issued. Summed over time (a cumulative
    chart), each movement is the number of payments in that situation; summed
    over all time by PHEE payment state, the cycle's payments in each state.
    """

    _name = "g2p.phee.payment.timeline"
    _description = "Payment Hub EE Payment Timeline"
    _auto = False
    _order = "date, id"
    _rec_name = "payment_id"

    payment_id = fields.Many2one("g2p.payment", "Payment", readonly=True)
    cycle_id = fields.Many2one("g2p.cycle", "Cycle", readonly=True)
    program_id = fields.Many2one("g2p.program", "Program", readonly=True)
    batch_id = fields.Many2one("g2p.payment.batch", "Payment Batch", readonly=True)
    tag_id = fields.Many2one("g2p.payment.batch.tag", "Batch Tag", readonly=True)
    company_id = fields.Many2one("res.company", "Company", readonly=True)
    phee_payment_state = fields.Selection(
        PAYMENT_STATES, "PHEE Payment State", readonly=True
    )
    movement = fields.Selection(MOVEMENTS, readonly=True)
    date = fields.Datetime(readonly=True)
    payment_count = fields.Integer("Payments", readonly=True)
    amount = fields.Float(readonly=True)

    @property
    def _table_query(self):
        return """
            SELECT p.id * 3 + m.n AS id, p.id AS payment_id, p.cycle_id,
                   cycle.program_id, p.batch_id, batch.tag_id, p.company_id,
                   p.phee_payment_state, m.movement, m.date, m.payment_count,
                   m.payment_count * p.amount_issued AS amount
              FROM g2p_payment p
              JOIN g2p_cycle cycle ON cycle.id = p.cycle_id
              LEFT JOIN g2p_payment_batch batch ON batch.id = p.batch_id
             CROSS JOIN LATERAL (VALUES
                   (0, CASE WHEN p.phee_payment_state = 'held_back'
                            THEN 'held_back' ELSE 'pending' END,
                    p.issuance_date, 1),
                   (1, 'pending', COALESCE(p.payment_datetime, p.status_datetime), -1),
                   (2, p.phee_payment_state,
                    COALESCE(p.payment_datetime, p.status_datetime), 1)
             ) AS m(n, movement, date, payment_count)
             WHERE p.phee_payment_state IS NOT NULL
               AND (m.n = 0 OR p.phee_payment_state IN ('paid', 'failed'))
        """
