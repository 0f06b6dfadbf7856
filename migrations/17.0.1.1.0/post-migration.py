# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Settings defaults move out of ``ir.config_parameter`` (readable by every
internal user of an OpenG2P database) into ``g2p.phee.settings``, readable by
administrators only, for every company; the parameters are deleted. Waits
before re-sending below the floor are raised to it."""

import logging

from odoo import SUPERUSER_ID, api
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from odoo.addons.g2p_payment_phee.models.phee_manager import SETTINGS_DEFAULT_FIELDS
from odoo.addons.g2p_payment_phee.models.phee_manager_recovery import (
    MIN_RESUBMIT_GRACE_MINUTES,
)

_logger = logging.getLogger(__name__)

PREFIX = "g2p_payment_phee.default_"
# Stored as "1"/"0" by the previous version.
BOOLEANS = ("tls_verify", "callback_enabled")


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    _move_defaults(env)
    cr.execute(
        SQL(
            "UPDATE g2p_program_payment_manager_phee SET resubmit_grace_minutes = %s "
            "WHERE resubmit_grace_minutes < %s",
            MIN_RESUBMIT_GRACE_MINUTES,
            MIN_RESUBMIT_GRACE_MINUTES,
        )
    )


def _move_defaults(env):
    params = env["ir.config_parameter"].search([("key", "=like", f"{PREFIX}%")])
    values = {}
    for param in params:
        fname = param.key[len(PREFIX) :]
        if fname in BOOLEANS:
            values[fname] = param.value == "1"
        elif fname in SETTINGS_DEFAULT_FIELDS:
            values[fname] = param.value
    if values:
        for company in env["res.company"].search([]):
            store = env["g2p.phee.settings"].with_company(company)
            try:
                with env.cr.savepoint():
                    store._phee_save(values)
            except ValidationError:
                # An unreadable key or URL the old settings accepted: dropped
                # (never logged), the other defaults kept.
                _logger.warning(
                    "PHEE upgrade: an invalid signing key or URL in the Settings "
                    "defaults was dropped; set it again in Settings"
                )
                kept = {
                    f: v
                    for f, v in values.items()
                    if f != "signature_private_key" and not f.endswith("_url")
                }
                store._phee_save(kept)
    _logger.info("PHEE upgrade: %s Settings defaults moved", len(values))
    params.unlink()
