# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Budget-account mode: PHEE pays from the program's budget account.

With ``X-Registering-Institution-ID`` and ``X-Program-ID`` on a submission,
PHEE's bulk processor replaces every row's payer by the budget account its
``budget-account.registeringInstitutions[].programs[]`` configuration lists
for them (ProcessorStartRouteService ``updateIncomingData``), so the file
leaves the payer columns empty. In the ``bulk_processor_account_lookup``
workflow PHEE also resolves each payee, sent as a functional id, through the
identity account mapper, which looks ids up per registering institution
(AccountLookupService ``batchAccountLookup``).
"""

import dataclasses
import re

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..phee import csv_render

# What PHEE takes in these headers (the client refuses anything else).
_HEADER_VALUE = re.compile(r"[A-Za-z0-9._-]+")


class G2PPaymentHubEEManagerBudget(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    registering_institution_id = fields.Char(
        "Registering Institution ID",
        help="Sent as X-Registering-Institution-ID. With the PHEE Program ID, "
        "PHEE pays from the program's budget account and the file carries no "
        "payer. Batches PHEE may already have are also searched by it.",
    )
    program_id_header = fields.Char(
        "PHEE Program ID",
        help="Sent as X-Program-ID: the program of PHEE's budget-account "
        "configuration, under the registering institution.",
    )
    phee_account_lookup = fields.Boolean(
        "PHEE Looks Up Payees",
        help="The tenant runs PHEE's account-lookup workflow: each payee is sent "
        "as a functional id (e.g. a registrant ID, see Payee ID Field) that PHEE's "
        "identity account mapper resolves for the registering institution. "
        "Payees it does not know fail.",
    )

    @api.constrains(
        "registering_institution_id", "program_id_header", "phee_account_lookup"
    )
    def _check_budget_account(self):
        for rec in self:
            for fname in ("registering_institution_id", "program_id_header"):
                value = rec[fname]
                if value and not _HEADER_VALUE.fullmatch(value):
                    raise ValidationError(
                        _(
                            "%(field)s may hold only letters, digits, dots, "
                            "hyphens and underscores.",
                            field=rec._fields[fname].string,
                        )
                    )
            if bool(rec.registering_institution_id) != bool(rec.program_id_header):
                raise ValidationError(
                    _(
                        "Set both the Registering Institution ID and the PHEE "
                        "Program ID for a budget account, or neither."
                    )
                )
            if rec.phee_account_lookup and not rec.registering_institution_id:
                raise ValidationError(
                    _(
                        "PHEE's account look-up needs the Registering "
                        "Institution ID: its identity account mapper looks payees "
                        "up per institution."
                    )
                )

    @api.depends("phee_account_lookup")
    def _compute_phee_payee_type_warning(self):
        """Override: PHEE's mapper resolves functional ids, not phone numbers."""
        res = super()._compute_phee_payee_type_warning()
        self.filtered("phee_account_lookup").phee_payee_type_warning = False
        return res

    def _phee_mismatch(self, payment, outcome):
        """Override: with PHEE's account look-up the transfer goes to the
        account the mapper found for the functional id that was sent."""
        if self.phee_account_lookup:
            outcome = dataclasses.replace(outcome, payee_party_id=None)
        return super()._phee_mismatch(payment, outcome)

    def _phee_budget_account(self):
        """Whether PHEE pays this manager's batches from a budget account."""
        self.ensure_one()
        return bool(self.registering_institution_id and self.program_id_header)

    def _phee_budget_routing(self):
        """The budget-account arguments of ``PheeClient.submit_batch``."""
        self.ensure_one()
        return {
            "registering_institution_id": self.registering_institution_id or None,
            "program_id": self.program_id_header or None,
        }

    def _phee_csv_frame(self, request_ids, identifiers, amounts, note="", **kwargs):
        """Override: no payer in the file of a budget account."""
        frame = super()._phee_csv_frame(
            request_ids, identifiers, amounts, note, **kwargs
        )
        if self._phee_budget_account():
            frame = csv_render.for_budget_account(frame)
        return frame
