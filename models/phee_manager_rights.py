# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Who may set what on a Payment Hub EE manager, and what a client is told.

- Credentials and tokens never reach a client through ``default_get`` (which
  JSON-RPC serves to anyone, whatever the field groups): a new manager takes
  the empty ones from Settings in ``create``, on the server.
- The fields deciding where credentials and payment files go (``ROUTING_FIELDS``)
  are set by administrators only, in ``create`` and ``write``: a program manager
  can create and edit a manager's other fields, and its new manager gets the
  administrator's defaults, never a context or user default of its own.
"""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from .phee_manager import (
    CREDENTIAL_FIELDS,
    ROUTING_FIELDS,
    SECRET_FIELDS,
    SETTINGS_DEFAULT_FIELDS,
    new_callback_secret,
    phee_admin,
)
from .phee_manager_recovery import MIN_RESUBMIT_GRACE_MINUTES

# Written by administrators only: what is sent where, and the secrets.
ADMIN_ONLY_FIELDS = frozenset(
    ROUTING_FIELDS + SECRET_FIELDS + ("phee_new_signing_key",)
)


class G2PPaymentHubEEManagerRights(models.Model):
    _inherit = "g2p.program.payment.manager.phee"

    phee_is_admin = fields.Boolean(compute="_compute_phee_is_admin")

    @api.depends_context("uid")
    def _compute_phee_is_admin(self):
        self.phee_is_admin = phee_admin(self.env)

    @api.constrains("resubmit_grace_minutes")
    def _check_resubmit_grace_minutes(self):
        for rec in self:
            if rec.resubmit_grace_minutes < MIN_RESUBMIT_GRACE_MINUTES:
                raise ValidationError(
                    _(
                        "Wait Before Re-sending must be at least %(minutes)s "
                        "minutes: PHEE needs that long to list a batch it has "
                        "received, and a batch sent again sooner may be paid twice.",
                        minutes=MIN_RESUBMIT_GRACE_MINUTES,
                    )
                )

    @api.model
    def default_get(self, fields_list):
        """Defaults from Settings, never a secret. An administrator may name
        others in the context; a non-administrator gets the administrator's
        defaults only."""
        res = super().default_get(fields_list)
        admin = phee_admin(self.env)
        store = self.env["g2p.phee.settings"]._phee_current()
        for fname in set(fields_list) & ADMIN_ONLY_FIELDS:
            field = self._fields[fname]
            if fname in SECRET_FIELDS:
                res.pop(fname, None)
            elif admin and f"default_{fname}" in self.env.context:
                continue
            elif fname in SETTINGS_DEFAULT_FIELDS:
                res[fname] = store[fname]
            elif not admin:
                res[fname] = field.default(self) if field.default else False
        return res

    @api.model_create_multi
    def create(self, vals_list):
        if not phee_admin(self.env):
            defaults = self.default_get(list(set(ROUTING_FIELDS) & set(self._fields)))
            for vals in vals_list:
                self._phee_refuse_admin_fields(
                    [f for f in vals if _differs(vals[f], defaults.get(f, False))]
                )
        store = self.env["g2p.phee.settings"]._phee_current()
        for vals in vals_list:
            for fname in CREDENTIAL_FIELDS:
                if not vals.get(fname):
                    vals[fname] = store[fname]
            vals["callback_token"] = new_callback_secret()
        return super().create(vals_list)

    def write(self, vals):
        if not phee_admin(self.env):
            current = self.sudo()
            self._phee_refuse_admin_fields(
                [
                    fname
                    for fname in set(vals) & ADMIN_ONLY_FIELDS
                    if any(_differs(vals[fname], rec[fname]) for rec in current)
                ]
            )
        return super().write(vals)

    @api.model
    def _phee_refuse_admin_fields(self, fnames):
        refused = sorted(
            self._fields[f].string for f in set(fnames) & ADMIN_ONLY_FIELDS
        )
        if refused:
            raise AccessError(
                _(
                    "Only an administrator can set %(fields)s on a Payment Hub EE "
                    "manager: they decide where credentials and payment files go.",
                    fields=", ".join(refused),
                )
            )


def _differs(value, current):
    """Whether a value written differs from the current one (empty is empty)."""
    return (value or False) != (current or False)
