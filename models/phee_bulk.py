# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Set-based writes for national-scale cycles.

``PaymentBulkInsert.insert`` creates ``g2p.payment`` rows with one
``INSERT … SELECT … FROM unnest(…)`` and leaves the database and the ORM as
``create()`` would: the same defaults (``default_get``), the stored compute
``journal_id``, audit columns, constraints, record rules and recomputation of
dependent fields. It refuses a model it does not fully know (a stored field or
a ``create`` override added by another module) by raising ``BulkUnsupported``
before writing anything: the caller then uses ``create()``.

Where the database allows it, the foreign keys of the rows inserted are checked
by one set-based statement instead of PostgreSQL's row triggers (see
``run_insert``): they are most of an INSERT's time.
"""

import os

import numpy as np

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
        "phee_payee_dfsp_id",
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


def uuid4_texts(count):
    """``count`` random UUID4s as texts, like ``str(uuid.uuid4())``, from one
    read of the system's random source (``uuid4`` reads it once per UUID, which
    takes four times longer)."""
    raw = np.frombuffer(bytearray(os.urandom(16 * count)), dtype=np.uint8)
    raw = raw.reshape(count, 16)
    raw[:, 6] = raw[:, 6] & 0x0F | 0x40  # version 4
    raw[:, 8] = raw[:, 8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.tobytes().hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-"
        f"{h[i + 16 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


# The row trigger behind every foreign key of an INSERT (one query per row and
# key, run by PostgreSQL at the end of the statement).
RI_INSERT_CHECK = 'pg_catalog."RI_FKey_check_ins"'
# Set to False to always let PostgreSQL's row triggers check foreign keys.
SET_BASED_FK_CHECKS = True


def _set_based_fk_checks(cr, table):
    """The foreign keys of ``table`` ({column: (schema, table, column)
    referenced}) when this session may check them set-based, else None.

    That needs ``session_replication_role`` at ``origin`` and settable by this
    role (a superuser, or PostgreSQL 15's ``GRANT SET ON PARAMETER``), no
    trigger firing on INSERT into ``table`` but foreign-key checks, no rule,
    and foreign keys of one column that are not deferrable.
    """
    if not SET_BASED_FK_CHECKS:
        return None
    if cr._cnx.server_version >= 150000:
        may_set = SQL("has_parameter_privilege('session_replication_role', 'SET')")
    else:
        may_set = SQL("(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)")
    cr.execute(
        SQL(
            """SELECT current_setting('session_replication_role') = 'origin'
                      AND %(may_set)s AND c.relkind = 'r'
                      AND NOT EXISTS (SELECT FROM pg_rewrite r
                                       WHERE r.ev_class = c.oid
                                         AND r.rulename <> '_RETURN')
                      AND NOT EXISTS (SELECT FROM pg_trigger t
                                       WHERE t.tgrelid = c.oid
                                         AND t.tgtype & 4 <> 0  -- on INSERT
                                         AND t.tgenabled <> 'D'
                                         AND t.tgfoid <> %(check)s::regproc)
                      AND NOT EXISTS (SELECT FROM pg_constraint k
                                       WHERE k.conrelid = c.oid AND k.contype = 'f'
                                         AND (cardinality(k.conkey) <> 1
                                              OR k.condeferrable)),
                      ARRAY(SELECT json_build_array(a.attname, rn.nspname,
                                                    rc.relname, ra.attname)
                              FROM pg_constraint k
                              JOIN pg_attribute a ON a.attrelid = k.conrelid
                                                 AND a.attnum = k.conkey[1]
                              JOIN pg_class rc ON rc.oid = k.confrelid
                              JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                              JOIN pg_attribute ra ON ra.attrelid = k.confrelid
                                                  AND ra.attnum = k.confkey[1]
                             WHERE k.conrelid = c.oid AND k.contype = 'f')
                 FROM pg_class c WHERE c.oid = %(table)s::regclass""",
            may_set=may_set,
            check=RI_INSERT_CHECK,
            table=table,
        )
    )
    allowed, keys = cr.fetchone()
    if not allowed:
        return None
    return {column: tuple(referenced) for column, *referenced in keys}


def run_insert(cr, table, columns, insert, references):
    """Execute ``insert``, an INSERT into ``table`` writing ``columns``, with
    its foreign keys checked by one statement rather than by a row trigger per
    row and key.

    PostgreSQL checks a foreign key of an inserted row by looking the referenced
    row up and locking it ``FOR KEY SHARE`` (``RI_FKey_check_ins``): one query
    per row and key, for 10,000 payments with 7 keys three quarters of the
    INSERT's time. Here the referenced rows are looked up and locked the same
    way in one statement first; then the INSERT runs with
    ``session_replication_role`` at ``replica``, for that statement only, so
    that the triggers do not check the same rows again. The rows written are
    the same, and the rows they reference are locked as the triggers would
    lock them, until the end of the transaction.

    When the session may not do this (see ``_set_based_fk_checks``), when a
    foreign-key column written has no ``references``, or when a referenced row
    is missing, the INSERT runs as usual (and PostgreSQL raises its own error).

    :param references: {column: SQL of an array of the values the INSERT
        writes into it (repeats and NULLs allowed)}; a literal array is looked
        up fastest (PostgreSQL hashes it rather than searching the index once
        per value)
    """
    keys = _set_based_fk_checks(cr, table)
    if keys is not None and keys.keys() & set(columns) <= references.keys():
        checks = [
            SQL(
                "(SELECT count(*) FROM (SELECT FROM ONLY %s x WHERE x.%s = ANY(%s) "
                "FOR KEY SHARE OF x) s) = (SELECT count(DISTINCT v) FROM unnest(%s) v)",
                SQL.identifier(schema, ref_table),
                SQL.identifier(ref_column),
                references[column],
                references[column],
            )
            for column, (schema, ref_table, ref_column) in keys.items()
            if column in columns
        ]
        found = True
        if checks:
            cr.execute(SQL("SELECT %s", SQL(" AND ").join(checks)))
            found = cr.fetchone()[0]
        if found:
            cr.execute(
                SQL(
                    "SET LOCAL session_replication_role = replica; %s; "
                    "SET LOCAL session_replication_role = origin",
                    insert,
                )
            )
            return
    cr.execute(insert)


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
        columns = {name: self._column(name, column) for name, column in values.items()}
        ids, computed = self._new_ids_and_computed(columns)
        per_row = {"id": ids}  # columns whose values vary, passed as arrays
        constants = dict(defaults)  # the others, passed once
        for name, column in {**columns, **computed}.items():
            if column.count(column[0]) == len(column):
                constants[name] = column[0]
            else:
                per_row[name] = column
        cr = self.env.cr
        now = cr.now()
        for uid_column, date_column in (
            ("create_uid", "create_date"),
            ("write_uid", "write_date"),
        ):
            constants[uid_column] = self.env.uid
            constants[date_column] = now
        run_insert(
            cr,
            model._table,
            [*per_row, *constants],
            SQL(
                "INSERT INTO %s (%s) SELECT %s FROM unnest(%s) AS v(%s)",
                SQL.identifier(model._table),
                SQL(", ").join(map(SQL.identifier, [*per_row, *constants])),
                SQL(", ").join(
                    [SQL.identifier("v", name) for name in per_row]
                    + [SQL("%s::%s", v, self._cast(n)) for n, v in constants.items()]
                ),
                SQL(", ").join(
                    SQL("%s::%s[]", array_literal(column), self._cast(name))
                    for name, column in per_row.items()
                ),
                SQL(", ").join(map(SQL.identifier, per_row)),
            ),
            self._references(per_row, constants),
        )
        records = model.browse(ids)
        self._after_insert(records, [*values, *defaults, *LOG_ACCESS_COLUMNS])
        return records

    def _cast(self, name):
        """SQL type of the column of field ``name``."""
        return SQL(self.model._fields[name].column_type[1])

    def _new_ids_and_computed(self, columns):
        """Ids of the new rows (ascending) and the values of their stored
        computed columns ({field name: a value per row}), in one query, from
        the ``columns`` of values ({field name: a value per row}) they depend on.

        The computed values are read before the INSERT, as ``create()``
        computes them before its own.
        """
        cr = self.env.cr
        joined = SQL(
            "unnest(%s) WITH ORDINALITY AS v(%s, ordinal) %s",
            SQL(", ").join(
                SQL("%s::%s[]", array_literal(columns[name]), self._cast(name))
                for name in JOINED_COLUMNS
            ),
            SQL(", ").join(map(SQL.identifier, JOINED_COLUMNS)),
            SQL(COMPUTED_JOINS),
        )
        cr.execute(
            SQL(
                # The sequence looked up once (per row, this takes five times
                # longer).
                "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')"
                "::regclass AS seq) SELECT (SELECT array_agg(nextval(s.seq)) "
                "FROM s, generate_series(1, %s)) %s",
                self.model._table,
                len(next(iter(columns.values()))),
                SQL("").join(
                    SQL(
                        ", (SELECT array_agg(%s ORDER BY ordinal) FROM %s)",
                        SQL(expr),
                        joined,
                    )
                    for _depends, expr in COMPUTED_COLUMNS.values()
                ),
            )
        )
        ids, *computed = cr.fetchone()
        return sorted(ids), dict(zip(COMPUTED_COLUMNS, computed, strict=True))

    def _references(self, per_row, constants):
        """SQL arrays of the values written into the many2one columns, for
        ``run_insert``'s foreign-key check."""
        fields_ = self.model._fields
        references = {}
        for name, column in per_row.items():
            if fields_[name].type == "many2one":
                distinct = sorted({value for value in column if value is not None})
                references[name] = SQL(
                    "%s::%s[]", array_literal(distinct), self._cast(name)
                )
        for name, value in constants.items():
            if fields_[name].type == "many2one":
                references[name] = SQL("ARRAY[%s]::%s[]", value, self._cast(name))
        return references

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


def link_many2many(records, fname, record_ids, target_ids, fresh=False):
    """Link each ``record_ids[i]`` to ``target_ids[i]`` through the many2many
    ``fname`` of ``records``, in one statement (as ``Command.link`` would).

    :param fresh: ``records`` were created in this transaction, so no other
        transaction can link them: distinct pairs are then inserted without
        looking for existing ones (``ON CONFLICT`` takes twice as long).
    """
    if not record_ids:
        return
    records.check_access_rights("write")
    records.check_access_rule("write")
    field = records._fields[fname]
    plain = fresh and len(set(zip(record_ids, target_ids, strict=True))) == len(
        record_ids
    )
    references = {
        column: SQL("%s::int4[]", array_literal(sorted(set(ids))))
        for column, ids in (
            (field.column1, record_ids),
            (field.column2, target_ids),
        )
    }
    run_insert(
        records.env.cr,
        field.relation,
        [field.column1, field.column2],
        SQL(
            "INSERT INTO %s (%s, %s) SELECT * FROM unnest(%s::int4[], %s::int4[])%s",
            SQL.identifier(field.relation),
            SQL.identifier(field.column1),
            SQL.identifier(field.column2),
            array_literal(record_ids),
            array_literal(target_ids),
            SQL("") if plain else SQL(" ON CONFLICT DO NOTHING"),
        ),
        references,
    )
    records.invalidate_recordset([fname])
    for inverse in records.env.registry.field_inverses[field]:
        records.env[inverse.model_name].invalidate_model([inverse.name])
    records.modified([fname])


def _converted(field, records, values):
    """``field.convert_to_column`` of each value, computed once per distinct
    value (a monetary field looks its currency up on every call)."""
    converted = {}
    result = []
    for value in values:
        key = (type(value), value)
        try:
            result.append(converted[key])
        except KeyError:
            converted[key] = field.convert_to_column(value, records)
            result.append(converted[key])
        except TypeError:  # not hashable
            result.append(field.convert_to_column(value, records))
    return result


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
            "FROM unnest(%s::int4[], %s) AS v(id, %s) "
            # The ids twice: else the planner hashes the whole table to join
            # the few rows given (a scan per statement, at 10,000 rows already).
            "WHERE t.id = v.id AND t.id = ANY(%s::int4[])",
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
                    array_literal(_converted(field, records, columns[name])),
                    SQL(field.column_type[1]),
                )
                for name, field in zip(fnames, fields_, strict=True)
            ),
            SQL(", ").join(map(SQL.identifier, fnames)),
            array_literal(records.ids),
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
    Only the size of the table and its indexed columns are analyzed, which
    is what choosing between an index and a scan depends on (a quarter of the
    time of the whole table); autovacuum analyzes the rest later.

    :param inserted: {table name: rows inserted}
    """
    cr.execute(
        SQL(
            """SELECT c.relname, c.reltuples,
                      ARRAY(SELECT DISTINCT a.attname
                              FROM pg_index i
                              JOIN pg_attribute a ON a.attrelid = i.indrelid
                                                 AND a.attnum = ANY(i.indkey)
                             WHERE i.indrelid = c.oid ORDER BY a.attname)
                 FROM pg_class c WHERE c.oid = ANY(%s::regclass[])""",
            list(inserted),
        )
    )
    for table, reltuples, indexed in cr.fetchall():
        if inserted[table] > ANALYZE_THRESHOLD + ANALYZE_SCALE_FACTOR * max(
            reltuples, 0
        ):
            columns = SQL(", ").join(map(SQL.identifier, indexed))
            cr.execute(
                SQL("ANALYZE %s (%s)", SQL.identifier(table), columns)
                if indexed
                else SQL("ANALYZE %s", SQL.identifier(table))
            )
