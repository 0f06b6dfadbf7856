# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""A payment's PHEE state: one field, and the upstream fields it decides
(``phee_states.PAYMENT_STATE_FIELDS``), written only through ``_phee_set_state``
or the status sync's bulk update, which reads the same table."""

from odoo import api, fields, models
from odoo.tools import SQL

from .phee_bulk import write_columns
from .phee_guard import by_state_machine
from .phee_states import PAYMENT_STATE_FIELDS, PAYMENT_STATES

# What decides whether, where and how much a PHEE payment pays, and what PHEE
# said about it: set by prepare and the status sync only.
GUARDED_FIELDS = (
    "phee_payment_state",
    "state",
    "status",
    "status_is_final",
    "status_datetime",
    "amount_issued",
    "amount_paid",
    "payment_datetime",
    "account_number",
    "name",
    "entitlement_id",
    "phee_payee_id_type",
    "phee_status",
    "phee_transaction_id",
    "phee_failure_reason",
    "phee_failure_code",
)


class G2PPayment(models.Model):
    _name = "g2p.payment"
    _inherit = ["g2p.payment", "g2p.phee.guarded.mixin"]

    # Upstream's label ("Internal Reference #") in plain words.
    name = fields.Char(
        "Payment Reference",
        help="Unique reference of the payment; PHEE's request id for a PHEE "
        "payment. A retried payment gets a new one.",
    )
    phee_payment_state = fields.Selection(
        PAYMENT_STATES,
        "PHEE Payment State",
        readonly=True,
        copy=False,
        index=True,
        help="Where the payment stands at Payment Hub EE. Empty for payments "
        "not paid through PHEE.",
    )
    phee_payee_id_type = fields.Char(
        "Payee Identifier Type",
        readonly=True,
        help="Identifier type written in the PHEE file; the identifier itself is "
        "the account number snapshot.",
    )
    phee_status = fields.Selection(
        [
            ("IN_PROGRESS", "In progress"),
            ("COMPLETED", "Completed"),
            ("FAILED", "Failed"),
            ("EXCEPTION", "Exception"),
            ("UNKNOWN", "Unknown"),
        ],
        "PHEE Status",
        readonly=True,
        copy=False,
    )
    phee_transaction_id = fields.Char("PHEE Transaction ID", readonly=True, copy=False)
    phee_failure_reason = fields.Char("Failure Reason", readonly=True, copy=False)
    phee_failure_code = fields.Char(
        "PHEE Error Code",
        readonly=True,
        copy=False,
        help="PHEE's own code for the failure, e.g. Mojaloop 3204.",
    )

    def init(self):
        """At most one live (not failed) PHEE payment per entitlement, whoever
        prepares and however many at once."""
        self.env.cr.execute(
            SQL(
                """CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s (entitlement_id)
                    WHERE phee_payment_state IS NOT NULL
                      AND status IS DISTINCT FROM 'failed'""",
                SQL.identifier("g2p_payment_phee_one_live_per_entitlement"),
                SQL.identifier(self._table),
            )
        )

    def _phee_guarded_fields(self, vals):
        """Guarded on PHEE payments only; others stay as upstream has them."""
        if vals.get("phee_payment_state") or self.filtered("phee_payment_state"):
            return set(GUARDED_FIELDS) & set(vals)
        return set()

    def _phee_refused_at_create(self, vals):
        """PHEE payments are created by prepare only."""
        return self._phee_guarded_fields(vals)

    @api.model
    def _phee_state_values(self, state):
        """The field values of PHEE state ``state``: the state and what it
        decides of upstream's fields."""
        upstream_state, status, final = PAYMENT_STATE_FIELDS[state]
        return {
            "phee_payment_state": state,
            "state": upstream_state,
            "status": status,
            "status_is_final": final,
        }

    def _phee_set_state(self, state, vals=None):
        """Move these payments to PHEE state ``state`` (and what it decides),
        in one statement however many they are."""
        values = {**self._phee_state_values(state), **(vals or {})}
        write_columns(
            by_state_machine(self),
            {fname: [value] * len(self) for fname, value in values.items()},
        )
