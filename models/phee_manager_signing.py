# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""What an administrator sees of a manager's signing key and transport.

The signing key is write-only: the form shows whether batches are signed and
the fingerprint of the key's public half, and a new key is pasted into an
input that is never filled from the database.
"""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from .phee_manager import (
    URL_FIELDS,
    phee_admin,
    signing_fingerprint,
    transport_warnings,
)
from .phee_utils import ADMIN_GROUPS


class G2PPaymentHubEEManagerSigning(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    phee_new_signing_key = fields.Text(
        "New Signing Key",
        compute="_compute_phee_new_signing_key",
        inverse="_inverse_phee_new_signing_key",
        groups=ADMIN_GROUPS,
        help="Paste the tenant's RSA private key (PEM, or PHEE's bare Base64 "
        "PKCS#8) to replace the current one. A saved key is never shown again.",
    )
    phee_signs = fields.Boolean(
        "Batches Signed",
        compute="_compute_phee_signing",
        help="Whether each batch is sent with an X-SIGNATURE header.",
    )
    phee_signing_fingerprint = fields.Char(
        "Signing Key Fingerprint",
        compute="_compute_phee_signing",
        help="SHA-256 of the public key PHEE must hold to verify the signatures.",
    )
    phee_credentials_over_http = fields.Boolean(
        compute="_compute_phee_transport_warnings"
    )
    phee_tls_unused = fields.Boolean(compute="_compute_phee_transport_warnings")

    def _compute_phee_new_signing_key(self):
        self.phee_new_signing_key = False

    def _inverse_phee_new_signing_key(self):
        for rec in self.filtered("phee_new_signing_key"):
            rec.signature_private_key = rec.phee_new_signing_key
        # Never echoed back, not even to the administrator who pasted it.
        self.invalidate_recordset(["phee_new_signing_key"])

    @api.depends("signature_private_key", "phee_new_signing_key")
    def _compute_phee_signing(self):
        for rec in self.sudo():
            key = rec.phee_new_signing_key or rec.signature_private_key
            rec.phee_signs = bool(key)
            rec.phee_signing_fingerprint = signing_fingerprint(key)

    @api.depends(*URL_FIELDS, "password", "tls_verify")
    def _compute_phee_transport_warnings(self):
        for rec in self.sudo():
            values = {f: rec[f] for f in URL_FIELDS + ("password", "tls_verify")}
            over_http, tls_unused = transport_warnings(values)
            rec.phee_credentials_over_http = over_http
            rec.phee_tls_unused = tls_unused

    def action_phee_remove_signing_key(self):
        """Send batches unsigned from now on."""
        if not phee_admin(self.env):
            raise AccessError(_("Only an administrator can remove the signing key."))
        self.write({"signature_private_key": False})
