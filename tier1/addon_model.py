"""Static model of the g2p_payment_phee addon, built with ast, csv and lxml only.

Nothing here imports odoo or the addon: models are read from models/*.py with
ast, data files with lxml/csv. What upstream (OpenG2P, Odoo, OCA queue_job)
brings to the models the addon touches is read from upstream_models.json,
which tier1/gen_upstream_models.py generates from the real sources; nothing
upstream is typed in here.
"""

from __future__ import annotations

import ast
import csv
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
MODULE = "g2p_payment_phee"
RELATIONAL = ("Many2one", "One2many", "Many2many")
VIEW_TYPES = ("tree", "list", "form", "kanban", "graph", "pivot", "calendar")
UPSTREAM_FILE = Path(__file__).resolve().with_name("upstream_models.json")
# Odoo's implicit parent of every model (automatic fields, BaseModel methods).
BASE_MODEL = "base"
REGENERATE = "regenerate tier1/upstream_models.json with tier1/gen_upstream_models.py"


def load_upstream(path: Path = UPSTREAM_FILE) -> dict:
    """The generated upstream data: sources, channels and models."""
    return json.loads(Path(path).read_text())


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
    # ``_inherits``: delegated model -> its Many2one field.
    delegates: dict[str, str] = field(default_factory=dict)
    fields: dict[str, FieldDef] = field(default_factory=dict)
    methods: dict[str, int] = field(default_factory=dict)
    # ``super().name(...)`` calls: name -> line of the first one.
    super_calls: dict[str, int] = field(default_factory=dict)

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


def field_call(node: ast.expr):
    """(type, comodel, keywords) of a ``fields.X(...)`` call, else None."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "fields"
    ):
        return None
    ftype = node.func.attr
    kwargs = {kw.arg: kw.value for kw in node.keywords if kw.arg}
    comodel = None
    if ftype in RELATIONAL:
        arg = kwargs.get("comodel_name") or (node.args[0] if node.args else None)
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            comodel = arg.value
    return ftype, comodel, kwargs


def _field_def(stmt: ast.stmt, path: Path) -> FieldDef | None:
    if not (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
    ):
        return None
    found = field_call(stmt.value)
    if found is None:
        return None
    return FieldDef(stmt.targets[0].id, *found, path, stmt.lineno)


def _super_calls(node: ast.AST):
    """(method, line) of the ``super().method`` and ``super(C, self).method``
    attribute accesses inside a function."""
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Attribute)
            and isinstance(sub.value, ast.Call)
            and isinstance(sub.value.func, ast.Name)
            and sub.value.func.id == "super"
        ):
            yield sub.attr, sub.lineno


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
        delegates = _class_str_attr(node, "_inherits")
        mc.delegates = delegates if isinstance(delegates, dict) else {}
        for stmt in node.body:
            fdef = _field_def(stmt, path)
            if fdef:
                mc.fields[fdef.name] = fdef
            elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                mc.methods[stmt.name] = stmt.lineno
                for name, line in _super_calls(stmt):
                    mc.super_calls.setdefault(name, line)
        result.append(mc)
    return result


class Addon:
    """Models of this addon on top of the generated upstream ones.

    Upstream models whose fields or methods a lookup uses are recorded in
    ``touched``, those only checked to exist in ``named``: the generator makes
    the checks' lookups on all of upstream to choose what it writes out.
    """

    def __init__(self, upstream: dict | None = None):
        data = load_upstream() if upstream is None else upstream
        self.upstream: dict[str, dict] = data["models"]
        self.names: set[str] = set(data.get("model_names", ()))
        self.touched: set[str] = set()
        self.named: set[str] = set()

    def _upstream(self, model: str) -> dict:
        if model in self.upstream:
            self.touched.add(model)
            return self.upstream[model]
        return {}

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
        if model in self.upstream or model in self.names:
            self.named.add(model)
            return True
        return bool(self.classes_of(model))

    def parents(self, model: str) -> list[str]:
        found = list(self._upstream(model).get("parents", ()))
        for mc in self.classes_of(model):
            found += mc.parents
        return found

    def _closure(self, model: str) -> list[str]:
        """The model and all its ancestors, depth first, without repeats,
        ending with Odoo's ``base``."""
        order, stack = [], [model]
        while stack:
            current = stack.pop()
            if current not in order:
                order.append(current)
                stack.extend(reversed(self.parents(current)))
        if BASE_MODEL not in order:
            order.append(BASE_MODEL)
        return order

    def delegates(self, model: str) -> list[str]:
        """Models whose fields this one has through ``_inherits``."""
        found = list(self._upstream(model).get("inherits", {}))
        for mc in self.classes_of(model):
            found += list(mc.delegates)
        return found

    def fields_of(self, model: str) -> dict[str, str | None]:
        """Known fields of a model (name -> comodel), inherited ones included."""
        result: dict[str, str | None] = {}
        closure = self._closure(model)
        for current in closure:
            for delegate in self.delegates(current):
                result.update(self.fields_of(delegate))
        for current in reversed(closure):
            for name, comodel in self._upstream(current).get("fields", {}).items():
                result[name] = comodel or result.get(name)
            for mc in self.classes_of(current):
                for name, fdef in mc.fields.items():
                    result[name] = fdef.comodel or result.get(name)
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

    def upstream_methods(self, model: str) -> set[str]:
        """Methods upstream defines on the model or its ancestors."""
        return {
            meth
            for current in self._closure(model)
            for meth in self._upstream(current).get("methods", ())
        }

    def super_targets(self, mc: ModelClass) -> set[str]:
        """Methods a ``super()`` call in this class can reach: upstream ones
        and those of this addon's other classes of the model or ancestors."""
        return self.upstream_methods(mc.model) | {
            meth
            for current in self._closure(mc.model)
            for other in self.classes_of(current)
            if other is not mc
            for meth in other.methods
        }

    def methods_of(self, model: str) -> set[str]:
        """Own methods plus the upstream ones."""
        return self.own_methods(model) | self.upstream_methods(model)

    def model_of_xmlid(self, xmlid: str) -> str | None:
        """Model name behind an ir.model xmlid (``[module.]model_x_y``)."""
        local = xmlid.split(".")[-1]
        candidates = {mc.model for mc in self.classes} | set(self.upstream)
        for model in sorted(candidates):
            if model_xmlid(model) == local:
                self.is_known(model)
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
            self.problem(
                self.record.element, f"unknown model {model!r} ({REGENERATE}?)"
            )
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
            self.problem(
                el, f"comodel {comodel} of {model}.{name} is unknown ({REGENERATE}?)"
            )
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
# Python: env["model"] look-ups
# ---------------------------------------------------------------------------


def env_models(*dirs: str):
    """(path, line, model) of each ``env["model"]`` with a constant name."""
    for path in python_files(*dirs):
        consts = module_constants(path)
        for node in ast.walk(parse_py(path)):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "env"
            ):
                value = eval_const(node.slice, consts)
                if isinstance(value, str):
                    yield path, node.lineno, value


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
