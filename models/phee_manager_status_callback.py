# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""PHEE's status callback: one signed URL per batch, no secret in any URL.

PHEE's bulk processor POSTs to a batch's ``X-CallbackURL`` with no
authentication header, and web servers and proxies log every request line. So
the URL names the manager and the batch and carries an HMAC-SHA256 of both made
with the manager's callback secret: a logged or leaked URL reveals no secret
and only lets its holder ask for a status check of that one batch, which the
controller does at most once per 30 seconds and never trusts as a status.
"""

import hashlib
import hmac

from odoo import fields, models

from .phee_manager import new_callback_secret
from .phee_utils import ADMIN_GROUPS

CALLBACK_PATH = "/g2p_payment_phee/callback"


class G2PPaymentHubEEManagerStatusCallback(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    callback_enabled = fields.Boolean(
        "Status Callback",
        help="Ask PHEE to call Odoo back when a batch progresses; Odoo then "
        "fetches the batch status.",
    )
    callback_token = fields.Char(
        "Callback Secret", groups=ADMIN_GROUPS, copy=False, readonly=True
    )
    phee_callback_prefix = fields.Char(
        "Callback URLs",
        compute="_compute_phee_callback_prefix",
        help="Each batch is sent with its own signed URL under this prefix. PHEE "
        "must be able to reach it: allow it through proxies and firewalls.",
    )

    def write(self, vals):
        res = super().write(vals)
        if vals.get("callback_enabled"):
            # A neutralized copy has no secret until callbacks are turned on.
            for rec in self.sudo().filtered(lambda r: not r.callback_token):
                rec.callback_token = new_callback_secret()
        return res

    def _compute_phee_callback_prefix(self):
        for rec in self:
            rec.phee_callback_prefix = (
                f"{rec.get_base_url()}{CALLBACK_PATH}/{rec.id}/" if rec.id else False
            )

    def _phee_callback_url(self, batch):
        """The X-CallbackURL of ``batch``, or False when callbacks are off."""
        self.ensure_one()
        if not (self.callback_enabled and self.sudo().callback_token):
            return False
        return (
            f"{self.get_base_url()}{CALLBACK_PATH}/{self.id}/{batch.id}/"
            f"{self._phee_callback_signature(batch.id)}"
        )

    def _phee_callback_signature(self, batch_id):
        message = f"{self.id}/{batch_id}".encode()
        key = self.sudo().callback_token.encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def _phee_callback_accepts(self, batch, signature):
        """Whether ``signature`` is this manager's for ``batch`` (constant time)."""
        self.ensure_one()
        if not (self.callback_enabled and self.sudo().callback_token):
            return False
        if batch.program_id != self.program_id:
            return False
        expected = self._phee_callback_signature(batch.id)
        return hmac.compare_digest(expected, signature or "")
