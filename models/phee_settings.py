# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""The defaults Settings gives new Payment Hub EE managers, one record per company.

Kept here rather than in ``ir.config_parameter``, which every internal user of
an OpenG2P database can read: this model is readable by administrators only.
"""

from odoo import api, fields, models

from ..phee import const
from .phee_manager import URL_FIELDS, check_endpoint_urls, check_signing_key
from .phee_utils import ADMIN_GROUPS


class G2PPheeSettings(models.Model):
    _name = "g2p.phee.settings"
    _description = "Payment Hub EE Defaults"
    _rec_name = "company_id"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        ondelete="cascade",
        default=lambda self: self.env.company,
    )
    auth_endpoint_url = fields.Char(
        "Authentication Endpoint URL", default=const.DEFAULT_ENDPOINTS["auth"]
    )
    payment_endpoint_url = fields.Char(
        "Payment Endpoint URL", default=const.DEFAULT_ENDPOINTS["payment"]
    )
    status_endpoint_url = fields.Char(
        "Status Endpoint URL", default=const.DEFAULT_ENDPOINTS["status"]
    )
    details_endpoint_url = fields.Char(
        "Details Endpoint URL", default=const.DEFAULT_ENDPOINTS["details"]
    )
    batches_endpoint_url = fields.Char(
        "Batches Endpoint URL", default=const.DEFAULT_ENDPOINTS["batches"]
    )
    tenant_id = fields.Char("Tenant ID")
    tls_verify = fields.Boolean("Verify TLS Certificates", default=True)
    tls_ca_bundle = fields.Char("CA Bundle Path")
    callback_enabled = fields.Boolean("Status Callback")
    username = fields.Char(groups=ADMIN_GROUPS)
    password = fields.Char(groups=ADMIN_GROUPS)
    grant_type = fields.Char(default="password", groups=ADMIN_GROUPS)
    authorization = fields.Char(
        default=const.DEFAULT_BASIC_AUTHORIZATION, groups=ADMIN_GROUPS
    )
    signature_private_key = fields.Text("Signing Private Key", groups=ADMIN_GROUPS)

    _sql_constraints = [
        (
            "company_unique",
            "unique(company_id)",
            "A company has one set of Payment Hub EE defaults.",
        )
    ]

    @api.constrains(*URL_FIELDS)
    def _check_endpoint_urls(self):
        for rec in self:
            check_endpoint_urls(rec)

    @api.constrains("signature_private_key")
    def _check_signature_private_key(self):
        for rec in self.sudo():
            check_signing_key(rec.signature_private_key)

    @api.model
    def _phee_current(self):
        """The current company's defaults, as superuser: callers decide what
        leaves the server. Before Settings are first saved, an unsaved record
        with the built-in defaults."""
        store = self.sudo()
        company = self.env.company
        return store.search([("company_id", "=", company.id)], limit=1) or store.new(
            {"company_id": company.id}
        )

    @api.model
    def _phee_save(self, values):
        """Write defaults (field name -> value) for the current company, as
        superuser: callers check who asks."""
        current = self._phee_current()
        if current.id:
            current.write(values)
        else:
            current.create(dict(values, company_id=self.env.company.id))
