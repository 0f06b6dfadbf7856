# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo import api, fields, models

from ..phee import const
from .phee_manager import (
    ADMIN_GROUPS,
    BOOLEAN_DEFAULTS,
    CONFIG_PREFIX,
    SETTINGS_DEFAULT_FIELDS,
)

CRON_XMLID = "g2p_payment_phee.cron_phee_status_sync"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    phee_default_auth_endpoint_url = fields.Char(
        "Authentication Endpoint URL",
        config_parameter=CONFIG_PREFIX + "auth_endpoint_url",
        default=const.DEFAULT_ENDPOINTS["auth"],
    )
    phee_default_payment_endpoint_url = fields.Char(
        "Payment Endpoint URL",
        config_parameter=CONFIG_PREFIX + "payment_endpoint_url",
        default=const.DEFAULT_ENDPOINTS["payment"],
    )
    phee_default_status_endpoint_url = fields.Char(
        "Status Endpoint URL",
        config_parameter=CONFIG_PREFIX + "status_endpoint_url",
        default=const.DEFAULT_ENDPOINTS["status"],
    )
    phee_default_details_endpoint_url = fields.Char(
        "Details Endpoint URL",
        config_parameter=CONFIG_PREFIX + "details_endpoint_url",
        default=const.DEFAULT_ENDPOINTS["details"],
    )
    phee_default_batches_endpoint_url = fields.Char(
        "Batches Endpoint URL",
        config_parameter=CONFIG_PREFIX + "batches_endpoint_url",
        default=const.DEFAULT_ENDPOINTS["batches"],
    )
    phee_default_tenant_id = fields.Char(
        "Tenant ID", config_parameter=CONFIG_PREFIX + "tenant_id"
    )
    phee_default_username = fields.Char(
        "Username", config_parameter=CONFIG_PREFIX + "username", groups=ADMIN_GROUPS
    )
    phee_default_password = fields.Char(
        "Password", config_parameter=CONFIG_PREFIX + "password", groups=ADMIN_GROUPS
    )
    phee_default_grant_type = fields.Char(
        "Grant Type",
        config_parameter=CONFIG_PREFIX + "grant_type",
        default="password",
        groups=ADMIN_GROUPS,
    )
    phee_default_authorization = fields.Char(
        "Authorization",
        config_parameter=CONFIG_PREFIX + "authorization",
        default=const.DEFAULT_BASIC_AUTHORIZATION,
        groups=ADMIN_GROUPS,
    )
    phee_default_signature_private_key = fields.Char(
        "Signing Private Key",
        config_parameter=CONFIG_PREFIX + "signature_private_key",
        groups=ADMIN_GROUPS,
    )
    phee_default_tls_ca_bundle = fields.Char(
        "CA Bundle Path", config_parameter=CONFIG_PREFIX + "tls_ca_bundle"
    )
    phee_default_tls_verify = fields.Boolean("Verify TLS Certificates", default=True)
    phee_default_callback_enabled = fields.Boolean("Status Callback")
    phee_status_sync_interval = fields.Integer(
        "Status Sync Interval (minutes)",
        default=5,
        help="How often PHEE is asked for the status of sent batches.",
    )

    @api.model
    def get_values(self):
        res = super().get_values()
        params = self.env["ir.config_parameter"].sudo()
        for fname in BOOLEAN_DEFAULTS:
            value = params.get_param(CONFIG_PREFIX + fname)
            res[f"phee_default_{fname}"] = (
                BOOLEAN_DEFAULTS[fname] if value is False else value == "1"
            )
        cron = self.env.ref(CRON_XMLID, raise_if_not_found=False)
        if cron:
            factor = {"minutes": 1, "hours": 60, "days": 1440}.get(
                cron.sudo().interval_type, 1
            )
            res["phee_status_sync_interval"] = cron.sudo().interval_number * factor
        return res

    def set_values(self):
        res = super().set_values()
        params = self.env["ir.config_parameter"].sudo()
        for fname in BOOLEAN_DEFAULTS:
            value = self[f"phee_default_{fname}"]
            params.set_param(CONFIG_PREFIX + fname, "1" if value else "0")
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
        """Test the default PHEE settings: fetch a token and query the ops app."""
        self.ensure_one()
        manager = self.env["g2p.program.payment.manager.phee"]
        values = {
            fname: self[f"phee_default_{fname}"]
            for fname in SETTINGS_DEFAULT_FIELDS + tuple(BOOLEAN_DEFAULTS)
        }
        return manager._phee_test_connection(manager._phee_config_from(values))
