# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Small ORM-side helpers shared by the PHEE models."""

from odoo import modules, tools
from odoo.tools import SQL

PHEE_MANAGER = "g2p.program.payment.manager.phee"
# Groups that may see credentials and take decisions PHEE cannot check.
ADMIN_GROUPS = "base.group_system,g2p_registry_base.group_g2p_admin"
# Queue-job channel of every PHEE job (prepare and send).
PHEE_JOB_CHANNEL = "root_program.phee"


def payable_entitlement(alias="e"):
    """SQL condition on the entitlement table alias: approved, and every payment
    it has (if any) failed."""
    return SQL(
        """%(e)s.state = 'approved'
    AND NOT EXISTS (
        SELECT 1 FROM g2p_payment p
         WHERE p.entitlement_id = %(e)s.id AND p.status IS DISTINCT FROM 'failed')""",
        e=SQL.identifier(alias),
    )


def phee_manager(program):
    """The program's PHEE payment manager, or an empty recordset."""
    manager = program.get_manager(program.MANAGER_PAYMENT) if program else None
    if manager and manager._name == PHEE_MANAGER:
        return manager
    return program.env[PHEE_MANAGER]


def is_phee_admin(user):
    """Whether ``user`` is in one of ``ADMIN_GROUPS``."""
    return any(user.has_group(group) for group in ADMIN_GROUPS.split(","))


def job_identity_key(kind, *parts):
    """Identity key of a PHEE queue job (``kind``: send, prepare)."""
    return ".".join(("g2p_payment_phee", kind, *map(str, parts)))


def testing():
    """True while Odoo runs tests, where transactions must not be committed."""
    return bool(tools.config["test_enable"] or modules.module.current_test)


def commit_unless_testing(cr):
    """Commit so that what was recorded survives a later rollback.

    Used around the PHEE submission: the attempt is committed before the POST
    and its result right after, so a crash or rollback never forgets that
    PHEE may already have the batch.
    """
    if not testing():
        cr.commit()  # pylint: disable=invalid-commit
