"""Static model of the g2p_payment_phee addon, built with ast, csv and lxml only.

Nothing here imports odoo or the addon: models are read from models/*.py with
ast, data files with lxml/csv. Upstream g2p_programs fields and methods that the
views may touch are hard-coded from /work/shared/reference/openg2p-interfaces.md
(section 2, plus sections 1 and 3 for managers and cycle buttons).
"""

from __future__ import annotations

import ast
import csv
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
MODULE = "g2p_payment_phee"
RELATIONAL = ("Many2one", "One2many", "Many2many")
VIEW_TYPES = ("tree", "list", "form", "kanban", "graph", "pivot", "calendar")

# Fields every Odoo model has.
COMMON_FIELDS = dict.fromkeys(
    ("id", "display_name", "create_date", "create_uid", "write_date", "write_uid")
)
MAIL_THREAD_FIELDS = {
    "message_ids": "mail.message",
    "message_follower_ids": "mail.followers",
    "message_partner_ids": "res.partner",
    "message_attachment_count": None,
    "message_is_follower": None,
    "has_message": None,
}
MAIL_ACTIVITY_FIELDS = {
    "activity_ids": "mail.activity",
    "activity_state": None,
    "activity_user_id": "res.users",
    "activity_date_deadline": None,
    "activity_summary": None,
}

# Upstream fields (name -> comodel or None), OpenG2P/openg2p-program 17.0-develop.
UPSTREAM_FIELDS: dict[str, dict[str, str | None]] = {
    "mail.thread": MAIL_THREAD_FIELDS,
    "mail.activity.mixin": MAIL_ACTIVITY_FIELDS,
    "g2p.payment": {
        "name": None,
        "entitlement_id": "g2p.entitlement",
        "cycle_id": "g2p.cycle",
        "program_id": "g2p.program",
        "partner_id": "res.partner",
        "batch_id": "g2p.payment.batch",
        "state": None,
        "status": None,
        "status_is_final": None,
        "status_datetime": None,
        "issuance_date": None,
        "payment_datetime": None,
        "account_number": None,
        "amount_issued": None,
        "amount_paid": None,
        "payment_fee": None,
        "currency_id": "res.currency",
        "journal_id": "account.journal",
        "company_id": "res.company",
    },
    "g2p.payment.batch": {
        "name": None,
        "cycle_id": "g2p.cycle",
        "program_id": "g2p.program",
        "external_batch_ref": None,
        "batch_has_started": None,
        "batch_has_completed": None,
        "payment_ids": "g2p.payment",
        "stats_issued_transactions": None,
        "stats_sent_transactions": None,
        "stats_paid_transactions": None,
        "stats_failed_transactions": None,
        "stats_issued_amount": None,
        "stats_sent_amount": None,
        "stats_paid_amount": None,
        "stats_failed_amount": None,
        "stats_datetime": None,
        "tag_id": "g2p.payment.batch.tag",
    },
    "g2p.payment.batch.tag": dict.fromkeys(
        ("name", "order", "domain", "max_batch_size")
    ),
    "g2p.cycle": {
        "name": None,
        "state": None,
        "program_id": "g2p.program",
        "company_id": "res.company",
        "sequence": None,
        "start_date": None,
        "end_date": None,
        "payment_batch_ids": "g2p.payment.batch",
        "payments_count": None,
        "entitlement_ids": "g2p.entitlement",
        "currency_id": "res.currency",
        "locked": None,
        "locked_reason": None,
    },
    "g2p.entitlement": {
        "partner_id": "res.partner",
        "cycle_id": "g2p.cycle",
        "program_id": "g2p.program",
        "initial_amount": None,
        "transfer_fee": None,
        "currency_id": "res.currency",
        "journal_id": "account.journal",
        "is_cash_entitlement": None,
        "code": None,
        "ern": None,
        "valid_from": None,
        "valid_until": None,
        "payment_ids": "g2p.payment",
        "payment_status": None,
        "payment_date": None,
        "state": None,
    },
    "g2p.program": {
        "name": None,
        "journal_id": "account.journal",
        "payment_managers": "g2p.program.payment.manager",
    },
    "g2p.manager.mixin": {"manager_id": None, "manager_ref_id": None},
    "g2p.program.payment.manager": {"program_id": "g2p.program"},
    "g2p.base.program.payment.manager": {"name": None, "program_id": "g2p.program"},
    "g2p.program.payment.manager.default": {
        "name": None,
        "program_id": "g2p.program",
        "currency_id": "res.currency",
        "create_batch": None,
        "batch_tag_ids": "g2p.payment.batch.tag",
    },
    # Only our settings class counts for res.config.settings.
    "res.config.settings": {},
}
UPSTREAM_PARENTS: dict[str, tuple[str, ...]] = {
    "g2p.cycle": ("mail.thread", "mail.activity.mixin"),
    "g2p.program": ("mail.thread", "mail.activity.mixin"),
    "g2p.program.payment.manager": ("g2p.manager.mixin",),
    "g2p.base.program.payment.manager": ("base.programs.manager",),
    "g2p.program.payment.manager.default": (
        "g2p.base.program.payment.manager",
        "g2p.manager.source.mixin",
    ),
}
# Upstream public methods a view button may call.
UPSTREAM_METHODS: dict[str, set[str]] = {
    "g2p.cycle": {
        "to_approve",
        "reset_draft",
        "approve",
        "prepare_entitlement",
        "prepare_payment",
        "send_payment",
        "mark_distributed",
        "mark_ended",
        "mark_cancelled",
        "validate_entitlement",
        "export_distribution_list",
        "open_cycle_form",
        "open_members_form",
        "open_entitlements_form",
        "open_payments_form",
        "refresh_page",
    },
    "g2p.payment": {"send_payment", "check_account_status"},
    "g2p.payment.batch": {"send_payment"},
    "g2p.manager.mixin": {"open_manager_form"},
    "g2p.base.program.payment.manager": {
        "prepare_payments",
        "send_payments",
        "validate_accounts",
        "mark_job_as_done",
    },
    "g2p.program.payment.manager.default": {"on_change_create_batch"},
    "res.config.settings": {"execute", "cancel"},
}
# Full names of upstream queue job channels, by xmlid.
UPSTREAM_CHANNELS = {
    "queue_job.channel_root": "root",
    "g2p_programs.channel_root_program": "root_program",
    "g2p_programs.channel_cycle": "root_program.cycle",
    "g2p_programs.channel_eligibility_manager": "root_program.eligibility_manager",
    "g2p_programs.channel_program_manager": "root_program.program_manager",
}


def rel(path: Path) -> str:
    """Path relative to the addon root, for messages."""
    return str(Path(path).relative_to(ROOT))


def model_xmlid(model: str) -> str:
    """Name of the ir.model xmlid Odoo generates for a model."""
    return "model_" + model.replace(".", "_")


def read_manifest() -> dict:
    """The manifest dict (ast.literal_eval of __manifest__.py)."""
    return ast.literal_eval((ROOT / "__manifest__.py").read_text())


def python_files(*dirs: str) -> list[Path]:
    """Python files under these addon sub-directories, sorted."""
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py"))


# ---------------------------------------------------------------------------
# Python: constants and imports
# ---------------------------------------------------------------------------


_TREES: dict[Path, ast.Module] = {}


def parse_py(path: Path) -> ast.Module:
    """Cached ast of a Python file."""
    path = Path(path).resolve()
    if path not in _TREES:
        _TREES[path] = ast.parse(path.read_text(), filename=str(path))
    return _TREES[path]


def import_target(path: Path, node: ast.ImportFrom) -> Path | None:
    """Directory or file a relative ``from`` import points to (None if absolute)."""
    if not node.level:
        return None
    base = Path(path).resolve().parent
    for _ in range(node.level - 1):
        base = base.parent
    for part in (node.module or "").split("."):
        if part:
            base = base / part
    if base.is_dir():
        return base
    return base.with_suffix(".py")


def module_file(target: Path) -> Path:
    """The file defining a module: the package's __init__.py or the .py file."""
    return target / "__init__.py" if target.is_dir() else target


def top_level_names(path: Path) -> set[str]:
    """Names bound at module level (defs, classes, assignments, imports)."""
    names = set()
    for node in parse_py(path).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
    return names


def module_constants(path: Path, _seen: frozenset = frozenset()) -> dict:
    """Module-level constants of a file, following relative imports."""
    path = Path(path).resolve()
    consts: dict = {}
    for node in parse_py(path).body:
        if isinstance(node, ast.ImportFrom) and node.level and path not in _seen:
            target = import_target(path, node)
            if target is None or not module_file(target).exists():
                continue
            other = module_constants(module_file(target), _seen | {path})
            for alias in node.names:
                if alias.name in other:
                    consts[alias.asname or alias.name] = other[alias.name]
        elif isinstance(node, ast.Assign):
            value = eval_const(node.value, consts)
            if value is not None:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        consts[target.id] = value
    return consts


def eval_const(node: ast.expr, consts: dict):
    """Value of a literal, a known constant name or a sum of them; else None."""
    if isinstance(node, ast.Name):
        return consts.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = eval_const(node.left, consts), eval_const(node.right, consts)
        if left is None or right is None or type(left) is not type(right):
            return None
        return left + right
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# Python: Odoo models
# ---------------------------------------------------------------------------


@dataclass
class FieldDef:
    """One ``name = fields.X(...)`` class attribute."""

    name: str
    ftype: str
    comodel: str | None
    kwargs: dict[str, ast.expr]
    path: Path
    lineno: int

    def kwarg(self, key: str):
        """Constant value of a keyword argument (names resolved), or None."""
        node = self.kwargs.get(key)
        if node is None:
            return None
        return eval_const(node, module_constants(self.path))


@dataclass
class ModelClass:
    """One Odoo model class found in models/*.py."""

    path: Path
    lineno: int
    cls: str
    base: str
    model: str
    name: str | None
    inherits: list[str]
    fields: dict[str, FieldDef] = field(default_factory=dict)
    methods: dict[str, int] = field(default_factory=dict)

    @property
    def is_new(self) -> bool:
        """True when the class creates its model (``_name`` not inherited)."""
        return bool(self.name) and self.name not in self.inherits

    @property
    def parents(self) -> list[str]:
        return [m for m in self.inherits if m != self.model]

    @property
    def where(self) -> str:
        return f"{rel(self.path)}:{self.lineno} ({self.cls})"


def _class_str_attr(node: ast.ClassDef, attr: str):
    for stmt in node.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id == attr
        ):
            try:
                return ast.literal_eval(stmt.value)
            except ValueError:
                return None
    return None


def _model_base(node: ast.ClassDef) -> str | None:
    for base in node.bases:
        if (
            isinstance(base, ast.Attribute)
            and isinstance(base.value, ast.Name)
            and base.value.id == "models"
        ):
            return base.attr
    return None


def _field_def(stmt: ast.stmt, path: Path) -> FieldDef | None:
    if not (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Attribute)
        and isinstance(stmt.value.func.value, ast.Name)
        and stmt.value.func.value.id == "fields"
    ):
        return None
    call = stmt.value
    ftype = call.func.attr
    kwargs = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    comodel = None
    if ftype in RELATIONAL:
        node = kwargs.get("comodel_name") or (call.args[0] if call.args else None)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            comodel = node.value
    return FieldDef(stmt.targets[0].id, ftype, comodel, kwargs, path, stmt.lineno)


def parse_model_classes(path: Path) -> list[ModelClass]:
    """Odoo model classes (``models.Model`` & co) defined in one file."""
    result = []
    for node in parse_py(path).body:
        base = isinstance(node, ast.ClassDef) and _model_base(node)
        if not base:
            continue
        name = _class_str_attr(node, "_name")
        inherit = _class_str_attr(node, "_inherit") or []
        inherits = [inherit] if isinstance(inherit, str) else list(inherit)
        model = name or (inherits[0] if inherits else None)
        if not model:
            continue
        mc = ModelClass(path, node.lineno, node.name, base, model, name, inherits)
        for stmt in node.body:
            fdef = _field_def(stmt, path)
            if fdef:
                mc.fields[fdef.name] = fdef
            elif isinstance(stmt, ast.FunctionDef):
                mc.methods[stmt.name] = stmt.lineno
        result.append(mc)
    return result


class Addon:
    """Models of this addon plus the upstream tables above."""

    @cached_property
    def classes(self) -> list[ModelClass]:
        return [
            mc for path in python_files("models") for mc in parse_model_classes(path)
        ]

    def classes_of(self, model: str) -> list[ModelClass]:
        return [mc for mc in self.classes if mc.model == model]

    @cached_property
    def new_models(self) -> list[ModelClass]:
        """Classes that create a model (``_name`` not among ``_inherit``)."""
        return [mc for mc in self.classes if mc.is_new]

    def is_known(self, model: str) -> bool:
        return bool(
            self.classes_of(model)
            or model in UPSTREAM_FIELDS
            or model in UPSTREAM_PARENTS
        )

    def parents(self, model: str) -> list[str]:
        found = list(UPSTREAM_PARENTS.get(model, ()))
        for mc in self.classes_of(model):
            found += mc.parents
        return found

    def _closure(self, model: str) -> list[str]:
        """The model and all its ancestors, depth first, without repeats."""
        order, stack = [], [model]
        while stack:
            current = stack.pop()
            if current not in order:
                order.append(current)
                stack.extend(reversed(self.parents(current)))
        return order

    def fields_of(self, model: str) -> dict[str, str | None]:
        """Known fields of a model (name -> comodel), inherited ones included."""
        result = dict(COMMON_FIELDS)
        for current in reversed(self._closure(model)):
            result.update(UPSTREAM_FIELDS.get(current, {}))
            for mc in self.classes_of(current):
                result.update({n: f.comodel for n, f in mc.fields.items()})
        return result

    def own_field(self, model: str, name: str) -> FieldDef | None:
        """Last definition of a field in this addon's classes of the model."""
        found = None
        for mc in self.classes_of(model):
            found = mc.fields.get(name, found)
        return found

    def own_methods(self, model: str) -> set[str]:
        """Methods defined in this addon on the model or its ancestors."""
        return {
            meth
            for current in self._closure(model)
            for mc in self.classes_of(current)
            for meth in mc.methods
        }

    def methods_of(self, model: str) -> set[str]:
        """Own methods plus the known upstream ones."""
        upstream = {
            meth
            for current in self._closure(model)
            for meth in UPSTREAM_METHODS.get(current, ())
        }
        return self.own_methods(model) | upstream

    def model_of_xmlid(self, xmlid: str) -> str | None:
        """Model name behind an ir.model xmlid (``[module.]model_x_y``)."""
        local = xmlid.split(".")[-1]
        candidates = {mc.model for mc in self.classes} | set(UPSTREAM_FIELDS)
        for model in candidates:
            if model_xmlid(model) == local:
                return model
        return None

    @cached_property
    def implicit_xmlids(self) -> set[str]:
        """xmlids Odoo creates for this module's models and fields."""
        ids = {model_xmlid(mc.model) for mc in self.new_models}
        for mc in self.classes:
            ids.update(
                f"field_{mc.model.replace('.', '_')}__{name}" for name in mc.fields
            )
        return ids


# ---------------------------------------------------------------------------
# Data files
# ---------------------------------------------------------------------------

_REF_CALL = re.compile(r"""\bref\(\s*['"]([\w.]+)['"]\s*\)""")
_PERCENT_REF = re.compile(r"%\(([\w.]+)\)d")


@dataclass
class Ref:
    """A reference to an xmlid from a data file."""

    xmlid: str
    file: str
    line: int
    what: str

    @property
    def local(self) -> str | None:
        """The id inside this module, or None for another module's xmlid."""
        if "." not in self.xmlid:
            return self.xmlid
        module, name = self.xmlid.split(".", 1)
        return name if module == MODULE else None


@dataclass
class Record:
    """A ``<record>`` of an XML data file."""

    xmlid: str
    model: str
    file: str
    element: etree._Element

    @property
    def line(self) -> int:
        return self.element.sourceline

    def field(self, name: str):
        """The record's own ``<field name=...>`` element, or None."""
        for child in self.element:
            if child.tag == "field" and child.get("name") == name:
                return child
        return None

    def value(self, name: str) -> str | None:
        """Text (or eval) of a record field, stripped."""
        el = self.field(name)
        if el is None:
            return None
        return (el.get("eval") if el.get("eval") is not None else el.text or "").strip()

    @property
    def noupdate(self) -> bool:
        for anc in self.element.iterancestors():
            if anc.get("noupdate") in ("1", "True", "true"):
                return True
        return False


def data_files() -> list[str]:
    return list(read_manifest().get("data", []))


def parse_xml(relpath: str) -> etree._ElementTree:
    parser = etree.XMLParser(remove_comments=True)
    return etree.parse(str(ROOT / relpath), parser)


def xml_files(*dirs: str) -> list[str]:
    return sorted(rel(p) for d in dirs for p in (ROOT / d).rglob("*.xml"))


def records(relpath: str) -> list[Record]:
    """All ``<record>`` elements of an XML data file."""
    root = parse_xml(relpath).getroot()
    return [
        Record(el.get("id", ""), el.get("model", ""), relpath, el)
        for el in root.iter("record")
    ]


def _groups_refs(value: str) -> list[str]:
    return [g.strip().lstrip("!-") for g in value.split(",") if g.strip()]


def element_refs(el: etree._Element, relpath: str) -> list[Ref]:
    """References made by an element and its descendants (xmlids only)."""
    refs = []
    for node in el.iter():
        if not isinstance(node.tag, str):
            continue
        line = node.sourceline
        if node.tag == "field" and node.get("ref"):
            refs.append(
                Ref(node.get("ref"), relpath, line, f"field {node.get('name')}")
            )
        if node.tag == "menuitem":
            for attr in ("action", "parent"):
                if node.get(attr):
                    refs.append(Ref(node.get(attr), relpath, line, f"menuitem {attr}"))
        if node.tag == "template" and node.get("inherit_id"):
            refs.append(Ref(node.get("inherit_id"), relpath, line, "inherit_id"))
        for attr, value in node.attrib.items():
            if attr == "groups":
                refs += [Ref(g, relpath, line, "groups") for g in _groups_refs(value)]
            if attr == "eval":
                refs += [
                    Ref(x, relpath, line, "eval ref()")
                    for x in _REF_CALL.findall(value)
                ]
            refs += [
                Ref(x, relpath, line, f"{attr}=%(...)d")
                for x in _PERCENT_REF.findall(value)
            ]
    return refs


def element_refs_shallow(el: etree._Element, relpath: str) -> list[Ref]:
    """References made by one element's own attributes."""
    copy = etree.Element(el.tag, dict(el.attrib))
    refs = element_refs(copy, relpath)
    for ref in refs:
        ref.line = el.sourceline
    return refs


def csv_rows(relpath: str) -> tuple[list[str], list[list[str]]]:
    with open(ROOT / relpath, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], [r for r in rows[1:] if any(c.strip() for c in r)]


def load_events(relpath: str) -> list[tuple[str, object]]:
    """("ref", Ref) and ("def", (xmlid, line)) events of one data file, in the
    order Odoo loads them (a record's refs come before its own id)."""
    events: list[tuple[str, object]] = []
    if relpath.endswith(".csv"):
        header, rows = csv_rows(relpath)
        for lineno, row in enumerate(rows, start=2):
            for col, value in zip(header, row, strict=False):
                if col.endswith(":id") and value.strip():
                    events.append(("ref", Ref(value.strip(), relpath, lineno, col)))
            events.append(("def", (row[header.index("id")], lineno)))
        return events
    if not relpath.endswith(".xml"):
        return events

    def visit(el):
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "data":
                visit(child)
            elif child.tag == "menuitem":
                events.extend(("ref", r) for r in element_refs_shallow(child, relpath))
                events.append(("def", (child.get("id"), child.sourceline)))
                visit(child)
            else:
                events.extend(("ref", r) for r in element_refs(child, relpath))
                if child.get("id") and child.tag in ("record", "template"):
                    events.append(("def", (child.get("id"), child.sourceline)))

    visit(parse_xml(relpath).getroot())
    return events


# ---------------------------------------------------------------------------
# View architecture
# ---------------------------------------------------------------------------

EXPR_ATTRS = ("invisible", "readonly", "required", "column_invisible")
EXPR_NAMES = {
    "context",
    "parent",
    "uid",
    "True",
    "False",
    "None",
    "current_company_id",
    "allowed_company_ids",
    "context_today",
    "today",
    "now",
    "time",
    "datetime",
    "relativedelta",
}
_STEP_SPLIT = re.compile(r"/+(?![^\[]*\])")
_FIELD_STEP = re.compile(r"""^field\[@name=['"](\w+)['"]\]""")


class ArchChecker:
    """Checks a view arch against the static model; collects problems."""

    def __init__(self, addon: Addon, record: Record):
        self.addon = addon
        self.record = record
        self.problems: list[str] = []
        arch = record.field("arch")
        self.arch = arch
        self.ids = {el.get("id") for el in arch.iter() if el.get("id")}

    def problem(self, el, message: str):
        self.problems.append(
            f"{self.record.file}:{el.sourceline} view {self.record.xmlid}: {message}"
        )

    def run(self) -> list[str]:
        model = self.record.value("model")
        if not self.addon.is_known(model):
            self.problem(self.record.element, f"unknown model {model!r}")
            return self.problems
        inherited = self.record.field("inherit_id") is not None
        for child in self.arch:
            if inherited:
                self.spec(child, model)
            else:
                self.walk(child, model)
        return self.problems

    # -- helpers ----------------------------------------------------------

    def has_field(self, el, model: str, name: str, what: str = "field") -> bool:
        if name in self.addon.fields_of(model):
            return True
        self.problem(el, f"{what} {name!r} does not exist on {model}")
        return False

    def comodel(self, el, model: str, name: str) -> str | None:
        comodel = self.addon.fields_of(model).get(name)
        if comodel is None:
            self.problem(el, f"cannot resolve the comodel of {model}.{name}")
        elif not self.addon.is_known(comodel):
            self.problem(el, f"comodel {comodel} of {model}.{name} is not modelled")
            return None
        return comodel

    def check_expr(self, el, model: str, attr: str, text: str):
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            self.problem(el, f"{attr}={text!r} is not a valid expression")
            return
        known = self.addon.fields_of(model)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Name)
                and node.id not in EXPR_NAMES
                and node.id not in known
            ):
                self.problem(el, f"{attr} uses {node.id!r}, not a field of {model}")

    def check_domain(self, el, model: str, text: str):
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            self.problem(el, f"domain {text!r} is not a valid expression")
            return
        if not isinstance(tree.body, ast.List | ast.Tuple):
            self.problem(el, f"domain {text!r} is not a list")
            return
        for leaf in tree.body.elts:
            if (
                isinstance(leaf, ast.Tuple | ast.List)
                and len(leaf.elts) == 3
                and isinstance(leaf.elts[0], ast.Constant)
                and isinstance(leaf.elts[0].value, str)
            ):
                path = leaf.elts[0].value.split(".")[0]
                self.has_field(el, model, path, "domain field")

    def check_group_by(self, el, model: str, text: str):
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            self.problem(el, f"context {text!r} is not a valid expression")
            return
        if isinstance(tree.body, ast.Dict):
            for key, value in zip(tree.body.keys, tree.body.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "group_by"
                    and isinstance(value, ast.Constant)
                ):
                    for spec in str(value.value).split(","):
                        name = spec.split(":")[0].strip()
                        self.has_field(el, model, name, "group_by field")

    def check_attrs(self, el, model: str):
        for attr, value in el.attrib.items():
            if attr in EXPR_ATTRS or attr.startswith("decoration-"):
                self.check_expr(el, model, attr, value)

    # -- inheritance specs ------------------------------------------------

    def resolve_xpath(self, el, model: str, expr: str):
        """(model containing the target, target field name or None)."""
        steps = [s for s in _STEP_SPLIT.split(expr) if s]
        target = None
        for index, step in enumerate(steps):
            match = _FIELD_STEP.match(step)
            target = match.group(1) if match else None
            if not target:
                continue
            if not self.has_field(el, model, target, "xpath field"):
                return None, None
            following = steps[index + 1] if index + 1 < len(steps) else ""
            if re.match(r"\w+", following) and following.split("[")[0] in VIEW_TYPES:
                model = self.comodel(el, model, target)
                if model is None:
                    return None, None
        return model, target

    def spec(self, el, model: str):
        if el.tag == "data":
            for child in el:
                self.spec(child, model)
            return
        position = el.get("position", "inside")
        if el.tag == "xpath":
            target_model, target = self.resolve_xpath(el, model, el.get("expr", ""))
            if target_model is None:
                return
        elif el.tag == "field":
            target_model, target = model, el.get("name")
            if not self.has_field(el, model, target, "locator field"):
                return
        else:
            target_model, target = model, None
        if position == "attributes":
            for attribute in el:
                name = attribute.get("name", "")
                if name in EXPR_ATTRS or name.startswith("decoration-"):
                    self.check_expr(attribute, target_model, name, attribute.text or "")
            return
        content_model = target_model
        if position == "inside" and target:
            content_model = self.comodel(el, target_model, target)
            if content_model is None:
                return
        for child in el:
            self.walk(child, content_model)

    # -- view content -----------------------------------------------------

    def walk(self, el, model: str):
        tag = el.tag
        self.check_attrs(el, model)
        if tag == "field":
            name = el.get("name", "")
            if not self.has_field(el, model, name):
                return
            if el.get("filename"):
                self.has_field(el, model, el.get("filename"), "filename field")
            subviews = [c for c in el if c.tag in VIEW_TYPES]
            if subviews:
                comodel = self.comodel(el, model, name)
                if comodel is None:
                    return
                for sub in subviews:
                    self.walk(sub, comodel)
            return
        if tag == "button" and el.get("type") == "object":
            self.check_button(el, model)
        elif tag == "label" and el.get("for"):
            target = el.get("for")
            if target not in self.ids:
                self.has_field(el, model, target, "label for")
        elif tag == "filter":
            if el.get("domain"):
                self.check_domain(el, model, el.get("domain"))
            if el.get("context"):
                self.check_group_by(el, model, el.get("context"))
        for child in el:
            self.walk(child, model)

    def check_button(self, el, model: str):
        name = el.get("name", "")
        if name.startswith("_"):
            self.problem(el, f"button calls private method {name!r} (not callable)")
        elif name not in self.addon.methods_of(model):
            self.problem(el, f"button method {name!r} is not defined on {model}")


# ---------------------------------------------------------------------------
# PO files
# ---------------------------------------------------------------------------

_PO_KEYWORD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(\[\d+\])?)\s+(".*")$')
_PO_STRING = re.compile(r'^"(?:[^"\\]|\\.)*"$')


def parse_po(text: str) -> list[dict[str, str]]:
    """Entries of a PO file as {keyword: unescaped text}; raises ValueError."""
    entries: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            if current and not line:
                entries.append(current)
                current, key = {}, None
            continue
        match = _PO_KEYWORD.match(line)
        if match:
            key = match.group(1)
            if key in ("msgctxt", "msgid") and any(
                k.startswith("msgstr") for k in current
            ):
                entries.append(current)
                current = {}
            string = match.group(3)
        elif _PO_STRING.match(line) and key:
            string = line
        else:
            raise ValueError(f"line {lineno}: unexpected {raw!r}")
        if not _PO_STRING.match(string):
            raise ValueError(f"line {lineno}: bad string {string!r}")
        current[key] = current.get(key, "") + ast.literal_eval(string)
    if current:
        entries.append(current)
    return entries
