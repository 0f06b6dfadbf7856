# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Fields only the PHEE state machine writes, refused to everyone else.

``readonly=`` in a view protects nothing over RPC. Models inheriting the mixin
name their guarded fields; ``write`` and ``create`` refuse them unless called
through :func:`by_state_machine`. The context value it sets is a Python object
that no RPC caller can send (JSON cannot carry it), so a client cannot pass
itself off as the state machine.
"""

from odoo import _, api, models
from odoo.exceptions import AccessError

_STATE_MACHINE = object()
_CONTEXT_KEY = "phee_state_machine"


def by_state_machine(records):
    """``records`` allowed to write their guarded fields."""
    return records.with_context(**{_CONTEXT_KEY: _STATE_MACHINE})


class PheeGuardedMixin(models.AbstractModel):
    _name = "g2p.phee.guarded.mixin"
    _description = "Fields only the PHEE state machine writes"

    def _phee_guarded_fields(self, vals):
        """The fields of ``vals`` that only the state machine may write here."""
        return set()

    def _phee_refused_at_create(self, vals):
        """The fields of ``vals`` only the state machine may create a record with."""
        return set()

    def _phee_by_state_machine(self):
        return self.env.context.get(_CONTEXT_KEY) is _STATE_MACHINE

    def _phee_refuse_guarded(self, fnames):
        labels = sorted(self._fields[f].string for f in fnames)
        raise AccessError(
            _(
                "%(fields)s of %(model)s are set by Payment Hub EE processing only.",
                fields=", ".join(labels),
                model=self._description,
            )
        )

    @api.model_create_multi
    def create(self, vals_list):
        if not self._phee_by_state_machine():
            for vals in vals_list:
                refused = self._phee_refused_at_create(vals)
                if refused:
                    self._phee_refuse_guarded(refused)
        return super().create(vals_list)

    def write(self, vals):
        if not self._phee_by_state_machine():
            guarded = self._phee_guarded_fields(vals)
            if guarded:
                self._phee_refuse_guarded(guarded)
        return super().write(vals)
