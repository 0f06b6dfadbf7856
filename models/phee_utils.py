# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Small ORM-side helpers shared by the PHEE models."""

from odoo import modules, tools

# An entitlement of table alias "e" that may be paid: approved, and every
# payment it has (if any) failed.
PAYABLE_ENTITLEMENT = """e.state = 'approved'
    AND NOT EXISTS (
        SELECT 1 FROM g2p_payment p
         WHERE p.entitlement_id = e.id AND p.status IS DISTINCT FROM 'failed')"""


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
