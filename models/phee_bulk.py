# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Set-based writes for national-scale cycles.

``PaymentBulkInsert.insert`` creates ``g2p.payment`` rows with one
``INSERT … SELECT … FROM unnest(…)`` and leaves the database and the ORM as
``create()`` would: the same defaults (``default_get``), the stored compute
``journal_id``, audit columns, constraints, record rules and recomputation of
dependent fields. It refuses a model it does not fully know (a stored field or
a ``create`` override added by another module) by raising ``BulkUnsupported``
before writing anything: the caller then uses ``create()``.
"""

from odoo import fields, models
from odoo.models import LOG_ACCESS_COLUMNS, BaseModel
from odoo.tools import SQL

from . import phee_guard

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
        "phee_payment_state",
        "phee_status",
        "phee_transaction_id",
        "phee_failure_reason",
        "phee_failure_code",
    }
)
# Stored computed columns: (their dependencies, the SQL computing them from the
# joins below).
COMPUTED_COLUMNS = {
    "journal_id": (
        ("entitlement_id.cycle_id.program_id.journal_id",),
        "prog.journal_id",
    ),
}
JOINED_COLUMNS = ("entitlement_id",)  # read by the joins from the rows ``v``
COMPUTED_JOINS = """
    LEFT JOIN g2p_entitlement ent ON ent.id = v.entitlement_id
    LEFT JOIN g2p_cycle cyc ON cyc.id = ent.cycle_id
    LEFT JOIN g2p_program prog ON prog.id = cyc.program_id
"""


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
    """Modules of the classes of ``model`` defining ``method``, other than
    BaseModel and the guard (which only refuses what prepare never writes)."""
    return [
        cls.__module__
        for cls in type(model).__mro__
        if method in vars(cls)
        and cls is not BaseModel
        and cls.__module__ != phee_guard.__name__
    ]


def _array_element(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_literal(values):
    """PostgreSQL array literal of column values (None is NULL).

    One text parameter parses several times faster than psycopg2's
    ``ARRAY[…]`` of one constant per value.
    """
    kinds = set(map(type, values))
    if kinds == {int}:
        return "{" + ",".join(map(str, values)) + "}"
    if kinds == {str}:
        text = '","'.join(values)
        if "\\" not in text and text.count('"') == 2 * (len(values) - 1):
            return '{"' + text + '"}'
    return "{" + ",".join(map(_array_element, values)) + "}"


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

    def insert(self, values):
        """Insert one row per position of the ``values`` lists.

        :param values: {field name: list of values in ``create()`` format}, with
            the same field names as the ``create()`` vals they stand for.
        :return: the new records, in the order of the rows (ascending ids)
        :raise BulkUnsupported: before any write, when ``create()`` must be used
        """
        self.check_supported()
        model = self.model
        model.check_access_rights("create")
        if not any(values.values()):
            return model
        defaults = self._defaults(set(values))
        cr = self.env.cr
        cr.execute(
            SQL(
                "SELECT array_agg(nextval(pg_get_serial_sequence(%s, 'id'))) "
                "FROM generate_series(1, %s)",
                model._table,
                len(next(iter(values.values()))),
            )
        )
        ids = sorted(cr.fetchone()[0])
        per_row = {"id": ids}  # columns whose values vary, passed as arrays
        constants = dict(defaults)  # the others, passed once
        for name, column in values.items():
            column = self._column(name, column)
            if name not in JOINED_COLUMNS and column.count(column[0]) == len(column):
                constants[name] = column[0]
            else:
                per_row[name] = column
        now = cr.now()
        for uid_column, date_column in (
            ("create_uid", "create_date"),
            ("write_uid", "write_date"),
        ):
            constants[uid_column] = self.env.uid
            constants[date_column] = now

        def cast(name):
            return SQL(model._fields[name].column_type[1])

        cr.execute(
            SQL(
                "INSERT INTO %s (%s) SELECT %s FROM unnest(%s) AS v(%s) %s",
                SQL.identifier(model._table),
                SQL(", ").join(
                    map(SQL.identifier, [*per_row, *constants, *COMPUTED_COLUMNS])
                ),
                SQL(", ").join(
                    [SQL.identifier("v", name) for name in per_row]
                    + [SQL("%s::%s", v, cast(n)) for n, v in constants.items()]
                    + [SQL(expr) for _depends, expr in COMPUTED_COLUMNS.values()]
                ),
                SQL(", ").join(
                    SQL("%s::%s[]", array_literal(column), cast(name))
                    for name, column in per_row.items()
                ),
                SQL(", ").join(map(SQL.identifier, per_row)),
                SQL(COMPUTED_JOINS),
            )
        )
        records = model.browse(ids)
        self._after_insert(records, [*values, *defaults, *LOG_ACCESS_COLUMNS])
        return records

    def _defaults(self, given):
        """Column values of the defaults ``create()`` would add, per field."""
        model = self.model
        defaults = model.default_get(
            [name for name in model._fields if name not in given]
        )
        columns = {}
        for name, value in defaults.items():
            field = model._fields[name]
            if field.store and field.column_type:
                if name not in COMPUTED_COLUMNS and name not in LOG_ACCESS_COLUMNS:
                    columns[name] = field.convert_to_column(value, model)
            elif field.inverse or field.type in ("one2many", "many2many"):
                raise BulkUnsupported(f"a default is given for {name}")
        return columns

    def _column(self, name, values):
        """Column values of one field, as ``create()`` converts them."""
        field = self.model._fields[name]
        if values.count(values[0]) == len(values):
            return [field.convert_to_column(values[0], self.model)] * len(values)
        if field.type == "char" and not field.size:
            fast = str
        elif field.type == "many2one":
            fast = int
        else:
            fast = None
        converted = {}
        result = []
        for value in values:
            if type(value) is fast and value:
                result.append(value)
                continue
            key = (type(value), value)
            if key not in converted:
                converted[key] = field.convert_to_column(value, self.model)
            result.append(converted[key])
        return result

    def _after_insert(self, records, fnames):
        """What ``create()`` does once the rows of the stored fields ``fnames``
        exist: caches, recomputation, constraints and record rules."""
        model = self.model
        for name in fnames:
            for inverse in self.env.registry.field_inverses[model._fields[name]]:
                self.env[inverse.model_name].invalidate_model([inverse.name])
        computed = [model._fields[name] for name in COMPUTED_COLUMNS]
        with self.env.protecting(computed, records):
            records.modified(list(model._fields), create=True)
        records._validate_fields([*fnames, *COMPUTED_COLUMNS])
        if model._check_company_auto:
            records._check_company()
        records.check_access_rule("create")


def link_many2many(records, fname, record_ids, target_ids):
    """Link each ``record_ids[i]`` to ``target_ids[i]`` through the many2many
    ``fname`` of ``records``, in one statement (as ``Command.link`` would)."""
    if not record_ids:
        return
    records.check_access_rights("write")
    records.check_access_rule("write")
    field = records._fields[fname]
    records.env.cr.execute(
        SQL(
            "INSERT INTO %s (%s, %s) SELECT * FROM unnest(%s::int4[], %s::int4[]) "
            "ON CONFLICT DO NOTHING",
            SQL.identifier(field.relation),
            SQL.identifier(field.column1),
            SQL.identifier(field.column2),
            array_literal(record_ids),
            array_literal(target_ids),
        )
    )
    records.invalidate_recordset([fname])
    for inverse in records.env.registry.field_inverses[field]:
        records.env[inverse.model_name].invalidate_model([inverse.name])
    records.modified([fname])


def write_columns(records, columns):
    """Write one value per record into each stored column of ``columns``
    ({field name: values in the order of ``records``}) in one statement, as
    writing each record's values would (access checks, caches, recomputation).
    """
    if not records:
        return
    records.check_access_rights("write")
    records.check_access_rule("write")
    fnames = list(columns)
    records.flush_recordset(fnames)
    fields_ = [records._fields[fname] for fname in fnames]
    records.env.cr.execute(
        SQL(
            "UPDATE %s AS t SET %s, write_uid = %s, write_date = %s "
            "FROM unnest(%s::int4[], %s) AS v(id, %s) WHERE t.id = v.id",
            SQL.identifier(records._table),
            SQL(", ").join(
                SQL("%s = v.%s", SQL.identifier(fname), SQL.identifier(fname))
                for fname in fnames
            ),
            records.env.uid,
            records.env.cr.now(),
            array_literal(records.ids),
            SQL(", ").join(
                SQL(
                    "%s::%s[]",
                    array_literal(
                        [field.convert_to_column(v, records) for v in columns[name]]
                    ),
                    SQL(field.column_type[1]),
                )
                for name, field in zip(fnames, fields_, strict=True)
            ),
            SQL(", ").join(map(SQL.identifier, fnames)),
        )
    )
    records.invalidate_recordset([*fnames, "write_uid", "write_date"])
    records.modified(fnames)


# autovacuum's defaults: a table is analyzed once this many rows changed.
ANALYZE_THRESHOLD = 50
ANALYZE_SCALE_FACTOR = 0.1


def analyze_grown_tables(cr, inserted):
    """ANALYZE the tables that grew by more than autovacuum's analyze threshold.

    Until autovacuum analyzes them, statistics that still describe a much
    smaller table make PostgreSQL pick plans that scan the whole table per row
    (reading one batch's payments took 20 s after a first 20,000-row cycle).

    :param inserted: {table name: rows inserted}
    """
    cr.execute(
        SQL(
            "SELECT relname, reltuples FROM pg_class WHERE oid = ANY(%s::regclass[])",
            list(inserted),
        )
    )
    for table, reltuples in cr.fetchall():
        if inserted[table] > ANALYZE_THRESHOLD + ANALYZE_SCALE_FACTOR * max(
            reltuples, 0
        ):
            cr.execute(SQL("ANALYZE %s", SQL.identifier(table)))
