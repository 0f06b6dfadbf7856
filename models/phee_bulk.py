# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Set-based writes for national-scale cycles.

``PaymentBulkInsert`` inserts ``g2p.payment`` rows with one
``INSERT … SELECT … FROM unnest(…)`` and leaves the database and the ORM as
``create()`` would: the same defaults (``default_get``), the stored compute
``journal_id``, audit columns, constraints, record rules and recomputation of
dependent fields. It refuses a model it does not fully know (a stored field or
a ``create`` override added by another module) by raising ``BulkUnsupported``
before writing anything: the caller then uses ``create()``.
"""

import logging

from odoo import fields, models
from odoo.models import LOG_ACCESS_COLUMNS, BaseModel
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# Stored columns of g2p.payment whose create() semantics are reproduced here.
PLAIN_COLUMNS = frozenset(
    {
        "name",
        "entitlement_id",
        "cycle_id",
        "batch_id",
        "state",
        "status",
        "status_is_final",
        "status_datetime",
        "account_number",
        "amount_issued",
        "amount_paid",
        "issuance_date",
        "payment_datetime",
        "payment_fee",
        "company_id",
        "phee_payee_id_type",
        "phee_status",
        "phee_transaction_id",
        "phee_failure_reason",
    }
)
# Stored computed columns: (their dependencies, SQL computing them for row ``v``).
COMPUTED_COLUMNS = {
    "journal_id": (
        ("entitlement_id.cycle_id.program_id.journal_id",),
        """(SELECT program.journal_id
              FROM g2p_entitlement entitlement
              JOIN g2p_cycle cycle ON cycle.id = entitlement.cycle_id
              JOIN g2p_program program ON program.id = cycle.program_id
             WHERE entitlement.id = v.entitlement_id)""",
    ),
}


class G2PPaymentIndexes(models.Model):
    """Indexes behind the per-cycle, per-entitlement and per-batch lookups."""

    _inherit = "g2p.payment"

    entitlement_id = fields.Many2one(index=True)
    cycle_id = fields.Many2one(index=True)
    batch_id = fields.Many2one(index=True)


class G2PEntitlementIndexes(models.Model):
    _inherit = "g2p.entitlement"

    cycle_id = fields.Many2one(index=True)


class BulkUnsupported(Exception):
    """The bulk path cannot reproduce ``create()`` for this model or these values."""


def _overrides(model, method):
    """Classes of ``model`` other than BaseModel that define ``method``."""
    return [
        cls.__module__
        for cls in type(model).__mro__
        if method in vars(cls) and cls is not BaseModel
    ]


class PaymentBulkInsert:
    """Create many ``g2p.payment`` records in one statement."""

    def __init__(self, env):
        self.env = env
        self.model = env["g2p.payment"]

    def check_supported(self):
        """Raise BulkUnsupported unless every stored field and the ``create``
        of the model are ones this path reproduces."""
        model = self.model
        stored = {
            name
            for name, field in model._fields.items()
            if field.store and field.column_type and name not in LOG_ACCESS_COLUMNS
        } - {"id"}
        unknown = stored - PLAIN_COLUMNS - set(COMPUTED_COLUMNS)
        if unknown:
            raise BulkUnsupported(f"unknown stored fields {sorted(unknown)}")
        for name in PLAIN_COLUMNS:
            field = model._fields.get(name)
            if not field or not field.store or field.compute or field.translate:
                raise BulkUnsupported(f"field {name} is not a plain stored field")
        for name, (depends, _sql) in COMPUTED_COLUMNS.items():
            field = model._fields[name]
            if not field.compute or self.env.registry.field_depends[field] != depends:
                raise BulkUnsupported(f"field {name} is not computed from {depends}")
        for method in ("create", "_create"):
            if _overrides(model, method):
                raise BulkUnsupported(
                    f"{method}() is overridden in {_overrides(model, method)}"
                )
        if model._inherits or model._parent_store:
            raise BulkUnsupported("the model has _inherits or a parent store")

    def create(self, values):
        """Insert one row per position of the ``values`` lists.

        :param values: {field name: list of values in ``create()`` format}, with
            the same field names as the ``create()`` vals they stand for.
        :return: the new records, in the order of the rows (ascending ids)
        :raise BulkUnsupported: before any write, when ``create()`` must be used
        """
        self.check_supported()
        model = self.model
        model.check_access_rights("create")
        count = len(next(iter(values.values())))
        given = list(values)
        defaults = self._defaults(set(given))
        cr = self.env.cr
        cr.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
            "FROM generate_series(1, %s)",
            [model._table, count],
        )
        ids = sorted(row[0] for row in cr.fetchall())
        names = ["id", *given]
        arrays = [ids] + [self._column(name, values[name]) for name in given]
        casts = ["int4"] + [model._fields[name].column_type[1] for name in given]
        columns = names + list(defaults) + list(COMPUTED_COLUMNS)
        exprs = [SQL.identifier("v", name) for name in names]
        exprs += [SQL("%s", value) for value in defaults.values()]
        exprs += [SQL(sql) for _depends, sql in COMPUTED_COLUMNS.values()]
        now = cr.now()
        columns += LOG_ACCESS_COLUMNS
        exprs += [SQL("%s", self.env.uid), SQL("%s", now)] * 2
        cr.execute(
            SQL(
                "INSERT INTO %s (%s) SELECT %s FROM unnest(%s) AS v(%s)",
                SQL.identifier(model._table),
                SQL(", ").join(map(SQL.identifier, columns)),
                SQL(", ").join(exprs),
                SQL(", ").join(
                    SQL("%s::%s[]", array, SQL(cast))
                    for array, cast in zip(arrays, casts, strict=True)
                ),
                SQL(", ").join(map(SQL.identifier, names)),
            )
        )
        records = model.browse(ids)
        self._after_insert(records, given + list(defaults))
        return records

    def _defaults(self, given):
        """Column values of the defaults ``create()`` would add, per field."""
        model = self.model
        missing = [name for name in model._fields if name not in given]
        defaults = model.default_get(missing)
        for name in defaults:
            field = model._fields[name]
            if not (field.store and field.column_type) and (
                field.inverse or field.type in ("one2many", "many2many")
            ):
                raise BulkUnsupported(f"a default is given for {name}")
        return {
            name: model._fields[name].convert_to_column(value, model)
            for name, value in defaults.items()
            if model._fields[name].store
            and model._fields[name].column_type
            and name not in COMPUTED_COLUMNS
            and name not in LOG_ACCESS_COLUMNS
        }

    def _column(self, name, values):
        """Column values of one field: each distinct value converted once."""
        field = self.model._fields[name]
        plain_text = field.type == "char" and not field.size
        converted = {}
        result = []
        for value in values:
            if plain_text and type(value) is str:
                result.append(value)
                continue
            key = (type(value), value)
            if key not in converted:
                converted[key] = field.convert_to_column(value, self.model)
            result.append(converted[key])
        return result

    def _after_insert(self, records, fnames):
        """What ``create()`` does once the rows exist: caches, recomputation,
        constraints and record rules."""
        model = self.model
        for name in fnames:
            for inverse in self.env.registry.field_inverses[model._fields[name]]:
                self.env[inverse.model_name].invalidate_model([inverse.name])
        computed = [model._fields[name] for name in COMPUTED_COLUMNS]
        with self.env.protecting(computed, records):
            records.modified(fnames + list(COMPUTED_COLUMNS), create=True)
        records._validate_fields(fnames + list(COMPUTED_COLUMNS))
        if model._check_company_auto:
            records._check_company()
        records.check_access_rule("create")


def link_many2many(records, fname, pairs):
    """Add ``(record id, target id)`` pairs to the many2many ``fname`` of
    ``records`` in one statement (as ``Command.link`` would)."""
    if not pairs:
        return
    records.check_access_rights("write")
    records.check_access_rule("write")
    field = records._fields[fname]
    left, right = zip(*pairs, strict=True)
    records.env.cr.execute(
        SQL(
            "INSERT INTO %s (%s, %s) SELECT * FROM unnest(%s::int4[], %s::int4[]) "
            "ON CONFLICT DO NOTHING",
            SQL.identifier(field.relation),
            SQL.identifier(field.column1),
            SQL.identifier(field.column2),
            list(left),
            list(right),
        )
    )
    records.invalidate_recordset([fname])
    for inverse in records.env.registry.field_inverses[field]:
        records.env[inverse.model_name].invalidate_model([inverse.name])
    records.modified([fname])
