# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""PHEE's own view of a batch on the batch form: what it approved, its
sub-batches and its result file (see ``phee.batch_view`` for the sources)."""

from markupsafe import Markup, escape

from odoo import _, _lt, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_amount

from ..phee import PheeError
from .phee_guard import by_state_machine

VIEW_FIELDS = (
    "phee_approved_amount",
    "phee_approved_count",
    "phee_total_sub_batches",
    "phee_sub_batches",
    "phee_view_synced_at",
    "phee_result_attachment_id",
)
# Columns of the sub-batch table: (key of SubBatchSummary.to_dict, label).
SUB_BATCH_COLUMNS = (
    ("sub_batch_id", _lt("Sub-batch")),
    ("status", _lt("Status")),
    ("total", _lt("Payments")),
    ("successful", _lt("Paid")),
    ("failed", _lt("Failed")),
    ("ongoing", _lt("Ongoing")),
    ("total_amount", _lt("Amount")),
    ("approved_amount", _lt("Approved")),
)


class G2PPaymentBatchPheeView(models.Model):
    _inherit = "g2p.payment.batch"

    phee_approved_amount = fields.Float(
        "Approved by PHEE", readonly=True, copy=False, digits=(16, 2)
    )
    phee_approved_count = fields.Integer(
        "Payments Approved by PHEE", readonly=True, copy=False
    )
    phee_total_sub_batches = fields.Integer(
        "PHEE Sub-batches", readonly=True, copy=False
    )
    phee_sub_batches = fields.Json(readonly=True, copy=False)
    phee_sub_batches_html = fields.Html(
        "Sub-batches at PHEE", compute="_compute_phee_sub_batches_html", sanitize=False
    )
    phee_view_synced_at = fields.Datetime(
        "PHEE Batch View Read", readonly=True, copy=False
    )
    phee_result_attachment_id = fields.Many2one(
        "ir.attachment",
        "PHEE Result File",
        readonly=True,
        copy=False,
        ondelete="set null",
    )

    @api.depends("phee_sub_batches")
    def _compute_phee_sub_batches_html(self):
        labels = [escape(str(label)) for _key, label in SUB_BATCH_COLUMNS]
        head = Markup("").join(Markup("<th>%s</th>") % label for label in labels)
        for rec in self:
            rows = rec.phee_sub_batches or []
            if not rows:
                rec.phee_sub_batches_html = False
                continue
            body = Markup("").join(
                Markup("<tr>%s</tr>")
                % Markup("").join(
                    Markup("<td>%s</td>") % ("" if row.get(key) is None else row[key])
                    for key, _label in SUB_BATCH_COLUMNS
                )
                for row in rows
                if isinstance(row, dict)
            )
            rec.phee_sub_batches_html = Markup(
                '<table class="table table-sm o_phee_sub_batches">'
                "<thead><tr>%s</tr></thead><tbody>%s</tbody></table>"
            ) % (head, body)

    def _phee_guarded_fields(self, vals):
        """Override: PHEE's view of the batch is written by the sync only."""
        return super()._phee_guarded_fields(vals) | (set(VIEW_FIELDS) & set(vals))

    def _phee_store_view(self, view):
        """Keep PHEE's batch view (a ``phee.batch_view.BatchView``)."""
        self.ensure_one()
        by_state_machine(self).write(
            {
                "phee_approved_amount": float(view.approved_amount),
                "phee_approved_count": view.approved_count,
                "phee_total_sub_batches": view.total_sub_batches,
                "phee_sub_batches": [s.to_dict() for s in view.sub_batches],
                "phee_view_synced_at": fields.Datetime.now(),
            }
        )

    def _phee_budget_refusal(self, view):
        """Why PHEE's budget check refused this batch (it approved nothing, or
        less than was sent), or False."""
        self.ensure_one()
        sent = sum(self.payment_ids.mapped("amount_issued"))
        currency = self._phee_manager().currency_id or self.env.company.currency_id
        approved = float(view.approved_amount)
        if currency.compare_amounts(approved, sent) >= 0:
            return False
        return _(
            "PHEE approved %(approved)s (%(count)s payments) of the %(sent)s sent "
            "in this batch (PHEE batch %(phee)s): its budget check refused the "
            "rest. Ask PHEE's operators about the program's budget account before "
            "paying these people another way. Its status is still checked.",
            approved=format_amount(self.env, approved, currency),
            count=view.approved_count,
            sent=format_amount(self.env, sent, currency),
            phee=self.external_batch_ref,
        )

    def action_phee_download_result_file(self):
        """Fetch PHEE's result file of the batch, attach it and download it."""
        self.ensure_one()
        manager = self._phee_manager()
        if not manager or not self.external_batch_ref:
            raise UserError(_("PHEE has not accepted this batch."))
        try:
            with manager._phee_client() as client:
                name, content = client.download_result_file(self.external_batch_ref)
        except PheeError as error:
            raise UserError(
                _("PHEE's result file: %(error)s", error=error.message)
            ) from None
        vals = {
            "name": name,
            "res_model": self._name,
            "res_id": self.id,
            "type": "binary",
            "mimetype": "text/csv",
            "raw": content,
        }
        attachment = self.phee_result_attachment_id.sudo()
        if attachment:
            attachment.write(vals)
        else:
            attachment = self.env["ir.attachment"].sudo().create(vals)
            by_state_machine(self).write({"phee_result_attachment_id": attachment.id})
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "self",
        }
