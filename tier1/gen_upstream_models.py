"""Write tier1/upstream_models.json from checkouts of the upstream sources.

The static checks of tier1/test_addon_static.py need the field and method
names of the models this addon extends or shows (g2p.cycle, g2p.payment,
mail.thread, res.config.settings, ...). Rather than typing them, this script
reads them from the real sources with ``ast`` (Odoo is never imported) and
keeps only the models the addon touches.

Usage (each PATH a clean git checkout of that repository at the commit to
record; the commit id and date are read from it)::

    python tier1/gen_upstream_models.py \\
        --source OpenG2P/openg2p-program@17.0-develop=PATH \\
        --source OpenG2P/openg2p-registry@17.0-develop=PATH \\
        --source OCA/queue@17.0=PATH \\
        --source Clyde1030/odoo17@main=PATH \\
        --note "Clyde1030/odoo17=..."

Any Odoo 17.0 Community tree will do for the Odoo source (odoo/odoo at
17.0, OCA/OCB, a nightly source tree): it is recognised by odoo/models.py,
and its odoo/release.py version is recorded.

``--check`` compares instead of writing (exit status 1 when the file is stale).

What it does:

1. finds the addons of every source (``*/__manifest__.py``, also under
   ``addons/`` and ``odoo/addons/``) and follows this addon's ``depends``
   through their manifests (``base`` always);
2. parses the model classes of those addons (``models/`` and ``wizard(s)/``,
   recursively): per model ``_name``/``_inherit``, its parents, ``_inherits``,
   fields (comodel of relational ones, also through ``related=``) and
   methods; Odoo's automatic fields and ``BaseModel`` methods (odoo/models.py)
   become the model ``base``, which every model inherits;
3. reads the ``queue.job.channel`` records of those addons' data files;
4. runs the lookups of the static checks (``exercise`` below) against
   all of it and writes out only the models whose fields or methods they
   used, with their ancestors, the names of the models they only checked to
   exist, and the provenance of every source.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

try:
    from tier1 import addon_model as am
except ImportError:  # run as a script: tier1/ is on sys.path
    import addon_model as am

MODEL_BASES = ("Model", "AbstractModel", "TransientModel")
ADDON_DIRS = ("", "addons", "odoo/addons")
MODEL_DIRS = ("models", "wizard", "wizards")
BASE = "base"
DEFAULT_OUTPUT = Path(__file__).resolve().with_name("upstream_models.json")


@dataclass
class Source:
    repository: str
    branch: str
    path: Path
    note: str | None = None

    def provenance(self) -> dict:
        def git(*args):
            return subprocess.run(
                ["git", "-C", str(self.path), *args],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()

        commit, date = git("log", "-1", "--format=%H %cI").split()
        if git("status", "--porcelain", "--untracked-files=no"):
            raise SystemExit(f"{self.repository}: checkout has local changes")
        info = {
            "repository": self.repository,
            "branch": self.branch,
            "commit": commit,
            "date": date,
        }
        release = odoo_release(self.path)
        if release:
            info["odoo_release"] = release
        if self.note:
            info["note"] = self.note
        return info


def parse_source(spec: str) -> Source:
    match = re.fullmatch(r"([\w.-]+/[\w.-]+)@([\w./-]+)=(.+)", spec)
    if not match:
        raise argparse.ArgumentTypeError(f"expected OWNER/NAME@BRANCH=PATH: {spec}")
    path = Path(match.group(3)).resolve()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"not a directory: {path}")
    return Source(match.group(1), match.group(2), path)


def odoo_release(path: Path) -> str | None:
    """Version string of an Odoo server tree (odoo/release.py), if it is one."""
    release = path / "odoo" / "release.py"
    if not release.is_file():
        return None
    text = release.read_text()
    info = re.search(r"^version_info = \((\d+), (\d+),", text, re.M)
    if not info:
        return None
    suffix = re.search(r"^version \+= '([^']*)'", text, re.M)
    return f"{info.group(1)}.{info.group(2)}" + (suffix.group(1) if suffix else "")


# ---------------------------------------------------------------------------
# Addons and their dependencies
# ---------------------------------------------------------------------------


def find_addons(sources: list[Source]) -> dict[str, tuple[Path, Source]]:
    found: dict[str, tuple[Path, Source]] = {}
    for source in sources:
        for sub in ADDON_DIRS:
            for manifest in sorted((source.path / sub).glob("*/__manifest__.py")):
                found.setdefault(manifest.parent.name, (manifest.parent, source))
    return found


def manifest(addon_dir: Path) -> dict:
    return ast.literal_eval((addon_dir / "__manifest__.py").read_text())


def dependency_closure(depends, addons) -> tuple[list[str], list[str]]:
    """(addons reached from ``depends``, names found in no source)."""
    seen, missing, todo = [], [], [BASE, *depends]
    while todo:
        name = todo.pop(0)
        if name in seen or name in missing:
            continue
        if name not in addons:
            missing.append(name)
            continue
        seen.append(name)
        todo += manifest(addons[name][0]).get("depends", [])
    return sorted(seen), sorted(missing)


# ---------------------------------------------------------------------------
# Model classes
# ---------------------------------------------------------------------------


@dataclass
class Model:
    addons: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    inherits: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str | None] = field(default_factory=dict)
    related: dict[str, str] = field(default_factory=dict)
    methods: set[str] = field(default_factory=set)

    def add_field(self, name: str, comodel: str | None, related: str | None):
        if comodel or name not in self.fields:
            self.fields[name] = comodel
        if related and not self.fields[name]:
            self.related[name] = related


def parse_models(path: Path, addon: str, registry: dict[str, Model]):
    for mc in am.parse_model_classes(path):
        model = registry.setdefault(mc.model, Model())
        if addon not in model.addons:
            model.addons.append(addon)
        model.parents += [p for p in mc.parents if p not in model.parents]
        model.inherits.update(mc.delegates)
        for name, fdef in mc.fields.items():
            related = fdef.kwarg("related") if fdef.ftype in am.RELATIONAL else None
            model.add_field(name, fdef.comodel, related)
        model.methods |= set(mc.methods)


def parse_base_model(odoo_models: Path, registry: dict[str, Model]):
    """Odoo's automatic fields and the methods of BaseModel & co, as ``base``."""
    tree = ast.parse(odoo_models.read_text(), filename=str(odoo_models))
    base = registry.setdefault(BASE, Model())
    base.addons.append("odoo/models.py")
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        if node.name == "MetaModel":
            # add('id', fields.Id(...)), add_default('create_uid', ...), ...
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id in ("add", "add_default")
                    and len(call.args) == 2
                    and am.field_call(call.args[1])
                ):
                    name = ast.literal_eval(call.args[0])
                    base.add_field(name, am.field_call(call.args[1])[1], None)
        elif node.name in ("BaseModel", *MODEL_BASES):
            base.methods |= {
                s.name
                for s in node.body
                if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
            }


def build_registry(closure, addons, sources) -> dict[str, Model]:
    registry: dict[str, Model] = {}
    for source in sources:
        odoo_models = source.path / "odoo" / "models.py"
        if odoo_models.is_file():
            parse_base_model(odoo_models, registry)
    for name in closure:
        addon_dir = addons[name][0]
        for sub in MODEL_DIRS:
            for path in sorted((addon_dir / sub).rglob("*.py")):
                parse_models(path, name, registry)
    resolve_related(registry)
    return registry


def _lineage(registry, model: str) -> list[str]:
    order, stack = [], [model]
    while stack:
        current = stack.pop()
        if current not in order and current in registry:
            order.append(current)
            stack.extend(reversed(registry[current].parents))
    if BASE in registry and BASE not in order:
        order.append(BASE)
    return order


def _field_comodel(registry, model: str, name: str):
    for current in _lineage(registry, model):
        comodel = registry[current].fields.get(name)
        if comodel:
            return comodel
    for delegate in registry.get(model, Model()).inherits:
        comodel = _field_comodel(registry, delegate, name)
        if comodel:
            return comodel
    return None


def resolve_related(registry: dict[str, Model]):
    """Comodels of relational fields given only by ``related=``."""
    for _ in range(5):  # related fields may point to related fields
        for model_name, model in registry.items():
            for fname, path in list(model.related.items()):
                current = model_name
                for step in path.split("."):
                    current = current and _field_comodel(registry, current, step)
                if current:
                    model.fields[fname] = current
                    del model.related[fname]


# ---------------------------------------------------------------------------
# Queue job channels
# ---------------------------------------------------------------------------


def channels(closure, addons) -> dict[str, str]:
    """Full names of the queue.job.channel records of the addons, by xmlid."""
    records = {}
    for name in closure:
        addon_dir = addons[name][0]
        for data in manifest(addon_dir).get("data", []):
            path = addon_dir / data
            if path.suffix != ".xml" or not path.is_file():
                continue
            root = etree.parse(str(path)).getroot()
            for rec in root.iter("record"):
                if rec.get("model") != "queue.job.channel":
                    continue
                values = {f.get("name"): f for f in rec.iter("field")}
                parent = values.get("parent_id")
                parent_ref = parent.get("ref") if parent is not None else None
                if parent_ref and "." not in parent_ref:
                    parent_ref = f"{name}.{parent_ref}"
                records[f"{name}.{rec.get('id')}"] = (
                    (values["name"].text or "").strip(),
                    parent_ref,
                )
    result = {}

    def full(xmlid, depth=0):
        own, parent = records[xmlid]
        if parent in records and depth < 20:
            return f"{full(parent, depth + 1)}.{own}"
        return own

    for xmlid in records:
        result[xmlid] = full(xmlid)
    return dict(sorted(result.items()))


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def as_data(model: Model) -> dict:
    data = {"addons": sorted(model.addons)}
    if model.parents:
        data["parents"] = model.parents
    if model.inherits:
        data["inherits"] = dict(sorted(model.inherits.items()))
    data["fields"] = dict(sorted(model.fields.items()))
    data["methods"] = sorted(model.methods)
    return data


def _data_model_refs() -> list[str]:
    """``model_id`` refs of the data records and of the access rules."""
    refs = []
    for path in am.data_files():
        if not (am.ROOT / path).exists():
            continue
        if path.endswith(".xml"):
            for rec in am.records(path):
                model_id = rec.field("model_id")
                if model_id is not None:
                    refs.append(model_id.get("ref", ""))
        elif path.endswith(".csv"):
            header, rows = am.csv_rows(path)
            if "model_id:id" in header:
                col = header.index("model_id:id")
                refs += [row[col] for row in rows if len(row) > col]
    return refs


def exercise(addon: am.Addon) -> None:
    """Make the upstream lookups that tier1/test_addon_static.py makes, so
    that ``addon.touched`` and ``addon.named`` hold the upstream models the
    checks need. Keep it in step with the tests."""
    for mc in addon.classes:
        addon.fields_of(mc.model)
        addon.methods_of(mc.model)
    for _path, _line, model in am.env_models("models", "controllers"):
        addon.is_known(model)
    for path in am.xml_files("views", "data"):
        for rec in am.records(path):
            if rec.model == "ir.ui.view" and rec.field("arch") is not None:
                am.ArchChecker(addon, rec).run()
            elif rec.model == "ir.actions.act_window":
                addon.is_known(rec.value("res_model") or "")
    for ref in _data_model_refs():
        model = addon.model_of_xmlid(ref)
        if model:
            addon.methods_of(model)


def touched_models(registry: dict[str, Model], upstream: dict):
    """(models whose members the static checks look up, with all their
    ancestors; further models the checks only need to exist)."""
    addon = am.Addon(upstream=upstream)
    exercise(addon)
    wanted = set()
    todo = sorted(addon.touched)
    while todo:
        name = todo.pop()
        if name in wanted or name not in registry:
            continue
        wanted.add(name)
        todo += registry[name].parents + list(registry[name].inherits)
    named = {name for name in addon.named if name in registry} - wanted
    return sorted(wanted), sorted(named)


def command(sources: list[Source]) -> str:
    args = [f"--source {s.repository}@{s.branch}=<checkout>" for s in sources]
    args += [f"--note {s.repository}=<note>" for s in sources if s.note]
    return " ".join(["python tier1/gen_upstream_models.py", *args])


def generate(sources: list[Source]) -> dict:
    addons = find_addons(sources)
    own_depends = am.read_manifest().get("depends", [])
    closure, missing = dependency_closure(own_depends, addons)
    closure = [a for a in closure if a != am.MODULE]
    registry = build_registry(closure, addons, sources)
    full = {name: as_data(model) for name, model in registry.items()}
    job_channels = channels(closure, addons)
    wanted, named = touched_models(registry, {"models": full})
    return {
        "about": (
            "Field and method names of the upstream models this addon touches, "
            "read with ast from the sources below by tier1/gen_upstream_models.py "
            "(regenerate, do not edit by hand). Fields map to their comodel "
            "(null when not relational or not resolvable); 'base' holds Odoo's "
            "automatic fields and BaseModel methods, inherited by every model; "
            "model_names lists further models the addon only names."
        ),
        "generator": command(sources),
        "sources": [s.provenance() for s in sources],
        "addons": closure,
        "missing_addons": missing,
        "channels": job_channels,
        "models": {name: full[name] for name in wanted},
        "model_names": named,
    }


def dump(data: dict) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source",
        type=parse_source,
        action="append",
        required=True,
        metavar="OWNER/NAME@BRANCH=PATH",
        help="a git checkout of an upstream repository (repeat)",
    )
    parser.add_argument(
        "--note",
        action="append",
        default=[],
        metavar="OWNER/NAME=TEXT",
        help="a remark recorded with that source's provenance",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="fail if the output file differs"
    )
    args = parser.parse_args(argv)
    notes = dict(n.split("=", 1) for n in args.note)
    for source in args.source:
        source.note = notes.pop(source.repository, None)
    if notes:
        parser.error(f"--note for no --source: {sorted(notes)}")
    text = dump(generate(args.source))
    if args.check:
        current = args.output.read_text() if args.output.is_file() else ""
        if current != text:
            print(f"{args.output} is stale; run without --check", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
