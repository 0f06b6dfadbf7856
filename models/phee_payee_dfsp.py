# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""The payee's DFSP written in each row (``payee_dfsp_id``).

PHEE sends it to the channel as ``X-PayeeDFSP-ID`` to choose the payee's
institution. After splitting, its bulk processor re-reads every line by
position and takes ``payee_dfsp_id`` only from a line of more than 13 fields
(utility/TransactionParser.java), so such files use the 14-column layout
(``phee.const.DFSP_CSV_COLUMNS``); without a DFSP they keep the 10 columns.
The DFSP is kept on each payment when it is prepared, like its identifier.
"""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..phee import PheeValidationError, RowProblem, csv_render
from .phee_payee import PayeeResolver
from .phee_payer_budget import _HEADER_VALUE

PER_REGISTRANT_SOURCES = ("reg_id", "bank_bic")


class PayeeDfspResolver(PayeeResolver):
    """Payee DFSPs of registrants, per the manager's ``payee_dfsp_source``."""

    def resolve(self, partner_ids):
        if not partner_ids:
            return {}
        self.env["res.partner"].check_access_rights("read")
        source = self.manager.payee_dfsp_source
        return getattr(self, f"_resolve_dfsp_{source}")(list(partner_ids))

    def _resolve_dfsp_reg_id(self, partner_ids):
        return self._clean(
            self._query(
                """SELECT DISTINCT ON (partner_id) partner_id, value
                     FROM g2p_reg_id
                    WHERE partner_id = ANY(%s) AND id_type = %s
                      AND status IS DISTINCT FROM 'invalid'
                    ORDER BY partner_id, id""",
                [partner_ids, self.manager.payee_dfsp_id_type.id],
            )
        )

    def _resolve_dfsp_bank_bic(self, partner_ids):
        # The bank of the account payments go to (same order as the payee's
        # bank account number): an account without a bank has no DFSP.
        return self._clean(
            self._query(
                """SELECT DISTINCT ON (a.partner_id) a.partner_id, b.bic
                     FROM res_partner_bank a
                     LEFT JOIN res_bank b ON b.id = a.bank_id
                    WHERE a.partner_id = ANY(%s) AND a.active
                    ORDER BY a.partner_id, a.allow_out_payment DESC, a.sequence,
                             a.id""",
                [partner_ids],
            )
        )


class G2PPaymentPayeeDfsp(models.Model):
    _inherit = "g2p.payment"

    phee_payee_dfsp_id = fields.Char(
        "Payee DFSP",
        readonly=True,
        copy=False,
        help="The payee's institution written in the PHEE file, as prepared.",
    )

    def _phee_guarded_fields(self, vals):
        """Override: the DFSP decides where the money goes, like the account."""
        guarded = super()._phee_guarded_fields(vals)
        if "phee_payee_dfsp_id" in vals and (
            vals.get("phee_payment_state") or self.filtered("phee_payment_state")
        ):
            guarded.add("phee_payee_dfsp_id")
        return guarded


class G2PPaymentHubEEManagerPayeeDfsp(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    payee_dfsp_source = fields.Selection(
        [
            ("none", "None"),
            ("fixed", "Same for Every Payee"),
            ("reg_id", "Registrant ID"),
            ("bank_bic", "Bank BIC of the Payee's Account"),
        ],
        "Payee DFSP",
        default="none",
        required=True,
        help="Where each row's payee_dfsp_id comes from: PHEE sends it as "
        "X-PayeeDFSP-ID to choose the payee's institution. A payee without one "
        "is held back.",
    )
    payee_dfsp_fixed_id = fields.Char(
        "Payee DFSP ID", help="The DFSP id written for every payee."
    )
    payee_dfsp_id_type = fields.Many2one(
        "g2p.id.type",
        "DFSP ID Type",
        help="The registrant ID type whose value is the payee's DFSP id.",
    )

    @api.constrains("payee_dfsp_source", "payee_dfsp_fixed_id", "payee_dfsp_id_type")
    def _check_payee_dfsp(self):
        for rec in self:
            source = rec.payee_dfsp_source
            fixed = rec.payee_dfsp_fixed_id
            if source == "fixed" and not (fixed and _HEADER_VALUE.fullmatch(fixed)):
                raise ValidationError(
                    _(
                        "Enter the payee DFSP ID written for every payee (letters, "
                        "digits, dots, hyphens and underscores)."
                    )
                )
            if source == "reg_id" and not rec.payee_dfsp_id_type:
                raise ValidationError(
                    _("Choose the registrant ID type that holds the payee's DFSP.")
                )

    def _phee_payee_dfsps(self, partner_ids):
        """{partner id: DFSP id} for these registrants (the fixed one for all)."""
        self.ensure_one()
        source = self.payee_dfsp_source
        if source == "fixed":
            return dict.fromkeys(partner_ids, self.payee_dfsp_fixed_id)
        if source in PER_REGISTRANT_SOURCES:
            return PayeeDfspResolver(self).resolve(partner_ids)
        return {}

    def _phee_entitlement_frame(self, entitlement_ids):
        """Override: each row's payee DFSP (missing: NaN)."""
        frame = super()._phee_entitlement_frame(entitlement_ids)
        dfsps = self._phee_payee_dfsps(frame["partner_id"].unique().tolist())
        frame["payee_dfsp_id"] = frame["partner_id"].map(dfsps)
        return frame

    def _phee_csv_frame(
        self, request_ids, identifiers, amounts, note="", payee_dfsp_ids=None
    ):
        """Override: the 14-column layout when this manager writes a DFSP."""
        frame = super()._phee_csv_frame(request_ids, identifiers, amounts, note)
        if self.payee_dfsp_source == "none":
            return frame
        if payee_dfsp_ids is None:
            payee_dfsp_ids = [None] * len(frame)
        return csv_render.with_payee_dfsp(frame, payee_dfsp_ids)

    def _phee_payment_values(self, cycle, frame, reasons, batch_rows, batches):
        """Override: the payment keeps its DFSP."""
        values = super()._phee_payment_values(
            cycle, frame, reasons, batch_rows, batches
        )
        values["phee_payee_dfsp_id"] = [
            value if isinstance(value, str) else False
            for value in frame["payee_dfsp_id"].tolist()
        ]
        return values

    def _phee_hold_back_reasons(self, frame, csv_frame):
        """Override: a registrant without a DFSP is named (a missing payee
        identifier is said first)."""
        reasons = super()._phee_hold_back_reasons(frame, csv_frame)
        if self.payee_dfsp_source == "none":
            return reasons
        missing = [
            row
            for row, (dfsp, payee) in enumerate(
                zip(frame["payee_dfsp_id"], frame["payee_identifier"], strict=True)
            )
            if not isinstance(dfsp, str) and isinstance(payee, str)
        ]
        partners = self.env["res.partner"].browse(
            frame["partner_id"].iloc[missing].tolist()
        )
        for row, partner in zip(missing, partners, strict=True):
            reasons[row] = self._phee_no_dfsp_reason(partner)
        return reasons

    def _phee_no_dfsp_reason(self, partner):
        source = dict(
            self._fields["payee_dfsp_source"]._description_selection(self.env)
        )
        label = source[self.payee_dfsp_source]
        if self.payee_dfsp_source == "reg_id":
            label = _("ID of type %(type)s", type=self.payee_dfsp_id_type.name)
        return _(
            "registrant %(registrant)s has no payee DFSP (%(where)s)",
            registrant=partner.display_name,
            where=label,
        )

    def _phee_render_batch(self, batch):
        """Override: refuse a batch with payees prepared without a DFSP, naming
        them, before anything is rendered."""
        if self.payee_dfsp_source != "none":
            missing = batch.payment_ids.sorted("id").filtered(
                lambda p: not p.phee_payee_dfsp_id
            )
            if missing:
                problems = [
                    RowProblem(
                        -1,
                        payment.name,
                        "payee_dfsp_id",
                        self._phee_no_dfsp_reason(payment.partner_id),
                    )
                    for payment in missing
                ]
                raise PheeValidationError(
                    problems,
                    _(
                        "%(count)s payments have no payee DFSP: %(reasons)s. "
                        "Prepare them again once their registrants have one.",
                        count=len(missing),
                        reasons="; ".join(p.reason for p in problems[:5]),
                    ),
                )
        return super()._phee_render_batch(batch)
