# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Upgrade from OpenG2P's original module.

- Fix the defaults real PHEE rejects and derive the new endpoints from the
  configured ones.
- Batches the original module may have sent (``batch_has_started``, or a
  correlation id in ``external_batch_ref``: it was written before the POST)
  become *Sent by a previous version*: never sent again, searched at PHEE by
  the status sync and adopted when found, else left to a person.
- Batches it only prepared become drafts that can be sent: their payments get
  the payee identifier the new renderer needs; registrants without one are
  held back as prepare would.
"""

import logging

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL

from odoo.addons.g2p_payment_phee.models.phee_utils import phee_manager

_logger = logging.getLogger(__name__)

MANAGER_TABLE = "g2p_program_payment_manager_phee"


def migrate(cr, version):
    if not version:
        return
    _fix_manager_defaults(cr)
    env = api.Environment(cr, SUPERUSER_ID, {})
    for manager in env["g2p.program.payment.manager.phee"].search([]):
        program = manager.program_id
        if not program or phee_manager(program) != manager:
            continue
        batches = env["g2p.payment.batch"].search(
            [("program_id", "=", program.id), ("phee_state", "=", False)]
        )
        sent = batches.filtered(lambda b: b.batch_has_started or b.external_batch_ref)
        manager._phee_adopt_legacy(sent)
        manager._phee_upgrade_prepared(batches - sent)
        _logger.info(
            "PHEE upgrade, program %s: %s batches sent by the previous version, "
            "%s prepared ones ready to send",
            program.id,
            len(sent),
            len(batches - sent),
        )


def _fix_manager_defaults(cr):
    fixes = [
        # PHEE accepts only Type "csv" for files; the old default was "type".
        SQL(
            "UPDATE %s SET batch_type_header = 'csv' "
            "WHERE lower(coalesce(batch_type_header, '')) <> 'csv'",
            SQL.identifier(MANAGER_TABLE),
        ),
        # "ACCOUNT_ID" was written for every payee kind; empty now means the
        # right PHEE identifier type for the payee field.
        SQL(
            "UPDATE %s SET payee_id_type_to_send = NULL "
            "WHERE payee_id_type_to_send = 'ACCOUNT_ID'",
            SQL.identifier(MANAGER_TABLE),
        ),
        # The deprecated /bulk/transfer needs path variables: bare, it is a 404.
        SQL(
            "UPDATE %s SET payment_endpoint_url = "
            "regexp_replace(payment_endpoint_url, '/bulk/transfer/?$', "
            "'/batchtransactions') WHERE payment_endpoint_url ~ '/bulk/transfer/?$'",
            SQL.identifier(MANAGER_TABLE),
        ),
        # The original default gave the details URL the status URL.
        SQL(
            "UPDATE %s SET details_endpoint_url = "
            "regexp_replace(status_endpoint_url, '/?$', '/detail') "
            "WHERE status_endpoint_url ~ '/api/v1/batch/?$' "
            "AND regexp_replace(details_endpoint_url, '/?$', '') = "
            "regexp_replace(status_endpoint_url, '/?$', '')",
            SQL.identifier(MANAGER_TABLE),
        ),
        # The batch list lives beside the batch summary on the operations app.
        SQL(
            "UPDATE %s SET batches_endpoint_url = "
            "regexp_replace(status_endpoint_url, '/api/v1/batch/?$', "
            "'/api/v1/batches') "
            "WHERE status_endpoint_url ~ '/api/v1/batch/?$'",
            SQL.identifier(MANAGER_TABLE),
        ),
    ]
    for statement in fixes:
        cr.execute(statement)
        _logger.info(
            "PHEE upgrade: %s managers fixed (%s)", cr.rowcount, statement.code
        )
