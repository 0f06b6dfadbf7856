# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Settings → Payment Hub EE: the defaults for new managers (kept in
``g2p.phee.settings``, shown to administrators only) and the status sync."""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..phee import const
from .phee_manager import (
    SETTINGS_DEFAULT_FIELDS,
    phee_admin,
    signing_fingerprint,
    transport_warnings,
)
from .phee_utils import ADMIN_GROUPS

CRON_XMLID = "g2p_payment_phee.cron_phee_status_sync"
# Defaults edited as ``phee_default_<name>``; the signing key is write-only.
EDITED_DEFAULTS = tuple(
    f for f in SETTINGS_DEFAULT_FIELDS if f != "signature_private_key"
)


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    phee_default_auth_endpoint_url = fields.Char(
        "Authentication Endpoint URL", default=const.DEFAULT_ENDPOINTS["auth"]
    )
    phee_default_payment_endpoint_url = fields.Char(
        "Payment Endpoint URL", default=const.DEFAULT_ENDPOINTS["payment"]
    )
    phee_default_status_endpoint_url = fields.Char(
        "Status Endpoint URL", default=const.DEFAULT_ENDPOINTS["status"]
    )
    phee_default_details_endpoint_url = fields.Char(
        "Details Endpoint URL", default=const.DEFAULT_ENDPOINTS["details"]
    )
    phee_default_batches_endpoint_url = fields.Char(
        "Batches Endpoint URL", default=const.DEFAULT_ENDPOINTS["batches"]
    )
    phee_default_tenant_id = fields.Char("Tenant ID")
    phee_default_username = fields.Char("Username", groups=ADMIN_GROUPS)
    phee_default_password = fields.Char("Password", groups=ADMIN_GROUPS)
    phee_default_grant_type = fields.Char(
        "Grant Type", default="password", groups=ADMIN_GROUPS
    )
    phee_default_authorization = fields.Char(
        "OAuth Client Header",
        default=const.DEFAULT_BASIC_AUTHORIZATION,
        groups=ADMIN_GROUPS,
    )
    phee_default_new_signing_key = fields.Text(
        "New Signing Key",
        groups=ADMIN_GROUPS,
        help="Paste the tenant's RSA private key (PEM, or PHEE's bare Base64 "
        "PKCS#8) to replace the default one. A saved key is never shown again.",
    )
    phee_default_signs = fields.Boolean(
        "Batches Signed", compute="_compute_phee_default_signing"
    )
    phee_default_signing_fingerprint = fields.Char(
        "Signing Key Fingerprint", compute="_compute_phee_default_signing"
    )
    phee_default_tls_ca_bundle = fields.Char("CA Bundle Path")
    phee_default_tls_verify = fields.Boolean("Verify TLS Certificates", default=True)
    phee_default_callback_enabled = fields.Boolean("Status Callback")
    phee_default_credentials_over_http = fields.Boolean(
        compute="_compute_phee_default_transport_warnings"
    )
    phee_default_tls_unused = fields.Boolean(
        compute="_compute_phee_default_transport_warnings"
    )
    phee_status_sync_interval = fields.Integer(
        "Status Sync Interval (minutes)",
        default=5,
        help="How often PHEE is asked for the status of sent batches.",
    )

    @api.depends("phee_default_new_signing_key")
    def _compute_phee_default_signing(self):
        saved = self._phee_saved_signing_key()
        for rec in self:
            key = rec.sudo().phee_default_new_signing_key or saved
            rec.phee_default_signs = bool(key)
            rec.phee_default_signing_fingerprint = signing_fingerprint(key)

    @api.depends(*(f"phee_default_{f}" for f in EDITED_DEFAULTS))
    def _compute_phee_default_transport_warnings(self):
        for rec in self.sudo():
            over_http, tls_unused = transport_warnings(rec._phee_defaults())
            rec.phee_default_credentials_over_http = over_http
            rec.phee_default_tls_unused = tls_unused

    def _phee_saved_signing_key(self):
        return self.env["g2p.phee.settings"]._phee_current().signature_private_key

    def _phee_defaults(self):
        """The defaults on this page, saved or not, as manager field values."""
        self.ensure_one()
        values = {f: self[f"phee_default_{f}"] for f in EDITED_DEFAULTS}
        values["signature_private_key"] = (
            self.phee_default_new_signing_key or self._phee_saved_signing_key()
        )
        return values

    def _phee_check_admin(self):
        if not phee_admin(self.env):
            raise AccessError(
                _("Only an administrator can see or change Payment Hub EE defaults.")
            )

    @api.model
    def get_values(self):
        res = super().get_values()
        cron = self.env.ref(CRON_XMLID, raise_if_not_found=False)
        if cron:
            factor = {"minutes": 1, "hours": 60, "days": 1440}.get(
                cron.sudo().interval_type, 1
            )
            res["phee_status_sync_interval"] = cron.sudo().interval_number * factor
        # default_get (and so onchange) serves this to anyone over JSON-RPC.
        if phee_admin(self.env):
            store = self.env["g2p.phee.settings"]._phee_current()
            res.update({f"phee_default_{f}": store[f] for f in EDITED_DEFAULTS})
        return res

    def set_values(self):
        res = super().set_values()
        if not phee_admin(self.env):
            return res  # nothing of PHEE was loaded: nothing is saved
        values = {f: self[f"phee_default_{f}"] for f in EDITED_DEFAULTS}
        if self.phee_default_new_signing_key:
            values["signature_private_key"] = self.phee_default_new_signing_key
        self.env["g2p.phee.settings"]._phee_save(values)
        cron = self.env.ref(CRON_XMLID, raise_if_not_found=False)
        if cron and self.phee_status_sync_interval > 0:
            cron.sudo().write(
                {
                    "interval_number": self.phee_status_sync_interval,
                    "interval_type": "minutes",
                }
            )
        return res

    def action_phee_test_connection(self):
        """Test the defaults on this page (saved or not): fetch a token and
        query the operations app."""
        self.ensure_one()
        self._phee_check_admin()
        manager = self.env["g2p.program.payment.manager.phee"]
        return manager._phee_test_connection(
            manager._phee_config_from(self._phee_defaults())
        )

    def action_phee_remove_default_signing_key(self):
        """New managers send batches unsigned (existing managers keep theirs)."""
        self._phee_check_admin()
        self.env["g2p.phee.settings"]._phee_save({"signature_private_key": False})
