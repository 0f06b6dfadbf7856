# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Upgrade from OpenG2P's original module: fix defaults real PHEE rejects."""

import logging

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    # PHEE accepts only Type "csv" for files; the old default was "type".
    cr.execute(
        """UPDATE g2p_program_payment_manager_phee SET batch_type_header = 'csv'
            WHERE lower(coalesce(batch_type_header, '')) <> 'csv'"""
    )
    _logger.info("PHEE managers with the Type header fixed to csv: %s", cr.rowcount)
    # "ACCOUNT_ID" was written for every payee kind; empty now means the right
    # PHEE identifier type for the payee field (msisdn, accountNumber, ...).
    cr.execute(
        """UPDATE g2p_program_payment_manager_phee SET payee_id_type_to_send = NULL
            WHERE payee_id_type_to_send = 'ACCOUNT_ID'"""
    )
    _logger.info("PHEE managers with the payee id type reset: %s", cr.rowcount)
