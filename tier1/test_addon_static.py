"""Static checks of the g2p_payment_phee addon (no Odoo needed: ast, csv, lxml)."""

from __future__ import annotations

import ast
import re

import pytest

from tier1 import addon_model as am

ROOT = am.ROOT
MODULE = am.MODULE
PHEE_MANAGER = "g2p.program.payment.manager.phee"
ACL_HEADER = [
    "id",
    "name",
    "model_id:id",
    "group_id:id",
    "perm_read",
    "perm_write",
    "perm_create",
    "perm_unlink",
]
ACL_FILE = "security/ir.model.access.csv"
EXPECTED_ACL = {
    "g2p_registry_base.group_g2p_admin": "1111",
    "g2p_programs.g2p_program_manager": "1110",
    "g2p_programs.g2p_program_validator": "1000",
}
PHEE_SETTINGS = "g2p.phee.settings"
CREDENTIALS = ("username", "password", "grant_type", "authorization")
SECRET_FIELDS = (
    [
        (PHEE_MANAGER, name)
        for name in CREDENTIALS
        + (
            "auth_token",
            "auth_token_expires_at",
            "signature_private_key",
            "phee_new_signing_key",
            "callback_token",
        )
    ]
    + [(PHEE_SETTINGS, name) for name in CREDENTIALS + ("signature_private_key",)]
    + [
        ("res.config.settings", f"phee_default_{name}")
        for name in CREDENTIALS + ("new_signing_key",)
    ]
)
NEUTRALIZED_COLUMNS = [
    ("g2p_program_payment_manager_phee", column)
    for column in (
        "username",
        "password",
        "authorization",
        "auth_token",
        "auth_token_expires_at",
        "signature_private_key",
        "callback_token",
    )
] + [
    ("g2p_phee_settings", column)
    for column in ("username", "password", "authorization", "signature_private_key")
]
# Column names PostgreSQL reserves: a statement naming them unquoted fails.
RESERVED_COLUMNS = ("authorization",)
# Modules whose xmlids any addon may use without declaring them.
ALWAYS_LOADED = {"base", "web"}
LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical"}
SECRET_NAME = re.compile(
    r"password|passwd|token|secret|authorization|private_key", re.I
)
NOT_SECRET_NAME = re.compile(r"(_expires_at|_url|_type|_count)$")
PRINT_ALLOWED = {"phee_sandbox/demo.py", "phee_sandbox/cli.py"}


def _collect(func, *args):
    """Call a collection helper; an unreadable tree yields no parameters (the
    dedicated parse tests then fail with the reason)."""
    try:
        return func(*args)
    except (OSError, SyntaxError, ValueError, am.etree.XMLSyntaxError):
        return []


def _data_xml_files():
    return am.xml_files("views", "data")


def _view_records():
    found = []
    for path in am.xml_files("views"):
        for rec in _collect(am.records, path):
            if rec.model == "ir.ui.view":
                found.append(pytest.param(rec, id=f"{path}::{rec.xmlid}"))
    return found


def _records_of(model: str):
    found = []
    for path in _collect(am.data_files):
        if path.endswith(".xml") and (ROOT / path).exists():
            for rec in _collect(am.records, path):
                if rec.model == model:
                    found.append(pytest.param(rec, id=f"{path}::{rec.xmlid}"))
    return found


def _py_params(*dirs):
    return [pytest.param(p, id=am.rel(p)) for p in am.python_files(*dirs)]


@pytest.fixture(scope="module")
def manifest():
    return am.read_manifest()


@pytest.fixture(scope="module")
def addon():
    return am.Addon()


@pytest.fixture(scope="module")
def acl():
    return am.csv_rows(ACL_FILE)


# ---------------------------------------------------------------------------
# 1. Manifest
# ---------------------------------------------------------------------------


def test_manifest_is_a_literal_dict(manifest):
    assert isinstance(manifest, dict)


def test_manifest_version(manifest):
    assert re.match(r"^17\.0\.\d+\.\d+\.\d+$", manifest.get("version", "")), (
        f"__manifest__.py: version {manifest.get('version')!r} is not 17.0.x.y.z"
    )


def test_manifest_license(manifest):
    assert manifest.get("license") == "LGPL-3"


def test_manifest_installable(manifest):
    # Odoo's default is True; pylint-odoo asks not to repeat defaults.
    assert manifest.get("installable", True) is True, (
        f"__manifest__.py: installable is {manifest.get('installable', 'missing')!r}"
    )


@pytest.mark.parametrize("module", ["base", "g2p_registry_base", "g2p_programs"])
def test_manifest_depends(manifest, module):
    assert module in manifest.get("depends", []), f"depends lacks {module}"


@pytest.mark.parametrize("package", ["requests", "pandas"])
def test_manifest_external_python(manifest, package):
    python = manifest.get("external_dependencies", {}).get("python", [])
    assert package in python, f"external_dependencies.python lacks {package}"


def test_manifest_data_has_no_duplicates(manifest):
    data = manifest.get("data", [])
    dupes = sorted({f for f in data if data.count(f) > 1})
    assert not dupes, f"listed twice in data: {dupes}"


@pytest.mark.parametrize("path", _collect(am.data_files))
def test_manifest_data_file_exists(path):
    assert (ROOT / path).is_file(), f"__manifest__.py data lists missing {path}"


@pytest.mark.parametrize(
    "path",
    sorted(
        am.rel(p)
        for d in ("views", "data", "security")
        for p in (ROOT / d).rglob("*")
        if p.suffix in (".xml", ".csv")
    ),
)
def test_data_file_is_listed(manifest, path):
    assert path in manifest.get("data", []), f"{path} is not in manifest data"


# ---------------------------------------------------------------------------
# 2. XML data files
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", _data_xml_files())
def test_xml_well_formed_with_odoo_root(path):
    root = am.parse_xml(path).getroot()
    assert root.tag == "odoo", f"{path}: root is <{root.tag}>, not <odoo>"


def test_record_ids_unique():
    seen, dupes = {}, []
    for path in _data_xml_files():
        try:
            root = am.parse_xml(path).getroot()
        except am.etree.XMLSyntaxError:
            continue  # reported by test_xml_well_formed_with_odoo_root
        for el in root.iter("record", "menuitem", "template"):
            xmlid = el.get("id")
            if xmlid in seen:
                dupes.append(f"{xmlid}: {seen[xmlid]} and {path}:{el.sourceline}")
            else:
                seen[xmlid] = f"{path}:{el.sourceline}"
    assert not dupes, "duplicate xml ids:\n" + "\n".join(dupes)


@pytest.mark.parametrize("path", _data_xml_files())
def test_elements_have_ids(path):
    root = am.parse_xml(path).getroot()
    missing = [
        f"{path}:{el.sourceline} <{el.tag}>"
        for el in root.iter("record", "menuitem", "template")
        if not el.get("id")
    ]
    assert not missing, "elements without id:\n" + "\n".join(missing)


def _local_ref_problems(path, data, addon):
    defined = set(addon.implicit_xmlids)
    for earlier in data[: data.index(path)]:
        if (ROOT / earlier).exists():
            defined |= {ev[1][0] for ev in am.load_events(earlier) if ev[0] == "def"}
    problems = []
    for kind, payload in am.load_events(path):
        if kind == "def":
            defined.add(payload[0])
        elif payload.local is not None and payload.local not in defined:
            problems.append(
                f"{path}:{payload.line} {payload.what} refers to {payload.xmlid!r}, "
                "not defined earlier in manifest load order"
            )
    return problems


@pytest.mark.parametrize("path", _collect(am.data_files))
def test_local_refs_defined_earlier(manifest, addon, path):
    if not (ROOT / path).exists():
        pytest.skip(f"{path} missing (reported by test_manifest_data_file_exists)")
    problems = _local_ref_problems(path, manifest["data"], addon)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", _collect(am.data_files))
def test_external_refs_use_declared_modules(manifest, path):
    if not (ROOT / path).exists():
        pytest.skip(f"{path} missing (reported by test_manifest_data_file_exists)")
    allowed = set(manifest.get("depends", [])) | ALWAYS_LOADED | {MODULE}
    problems = [
        f"{path}:{ref.line} {ref.what} refers to {ref.xmlid!r}: module "
        f"{ref.xmlid.split('.')[0]} is not in depends"
        for kind, ref in am.load_events(path)
        if kind == "ref" and "." in ref.xmlid and ref.xmlid.split(".")[0] not in allowed
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", _data_xml_files())
def test_no_pre_17_view_syntax(path):
    root = am.parse_xml(path).getroot()
    problems = [
        f"{path}:{el.sourceline} <{el.tag}> uses {attr}= (removed in Odoo 17)"
        for el in root.iter()
        for attr in ("attrs", "states")
        if attr in el.attrib
    ]
    problems += [
        f"{path}:{el.sourceline} <attribute name={el.get('name')!r}> "
        "(removed in Odoo 17)"
        for el in root.iter("attribute")
        if el.get("name") in ("attrs", "states")
    ]
    assert not problems, "\n".join(problems)


def _static_urls():
    pattern = re.compile(rf"/{MODULE}/static/[\w./-]+")
    for path in _data_xml_files():
        lines = (ROOT / path).read_text().splitlines()
        for lineno, line in enumerate(lines, start=1):
            for url in pattern.findall(line):
                yield pytest.param(path, lineno, url, id=f"{path}:{lineno}")


@pytest.mark.parametrize(("path", "lineno", "url"), list(_static_urls()))
def test_static_files_exist(path, lineno, url):
    target = ROOT / url.removeprefix(f"/{MODULE}/")
    assert target.is_file(), f"{path}:{lineno} refers to missing {am.rel(target)}"


@pytest.mark.parametrize("path", am.xml_files("views"))
def test_settings_app_named_after_module(path):
    problems = [
        f"{path}:{el.sourceline} <app name={el.get('name')!r}>, expected {MODULE!r}"
        for el in am.parse_xml(path).getroot().iter("app")
        if el.get("name") != MODULE
    ]
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------
# 3. Access rights
# ---------------------------------------------------------------------------


def test_acl_header(acl):
    assert acl[0] == ACL_HEADER, f"{ACL_FILE}: header is {acl[0]}"


def test_acl_ids_unique(acl):
    ids = [row[0] for row in acl[1]]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"{ACL_FILE}: duplicate ids {dupes}"


def test_acl_rows_well_formed(acl):
    header, rows = acl
    problems = []
    for lineno, row in enumerate(rows, start=2):
        if len(row) != len(header):
            problems.append(f"{ACL_FILE}:{lineno} has {len(row)} columns")
            continue
        values = dict(zip(header, row, strict=True))
        bad = [k for k in header if k.startswith("perm_") and values[k] not in "01"]
        bad += [k for k in header if k.startswith("perm_") and len(values[k]) != 1]
        if bad:
            problems.append(f"{ACL_FILE}:{lineno} {values['id']}: {bad} not 0/1")
        if not values["group_id:id"].strip():
            problems.append(
                f"{ACL_FILE}:{lineno} {values['id']}: no group (grants everyone)"
            )
    assert not problems, "\n".join(problems)


def test_acl_models_exist(acl, addon):
    header, rows = acl
    col = header.index("model_id:id")
    problems = [
        f"{ACL_FILE}:{lineno} {row[0]}: unknown model xmlid {row[col]!r}"
        for lineno, row in enumerate(rows, start=2)
        if addon.model_of_xmlid(row[col]) is None
    ]
    assert not problems, "\n".join(problems)


def _acl_models(acl, addon):
    header, rows = acl
    col = header.index("model_id:id")
    return {addon.model_of_xmlid(row[col]) for row in rows}


@pytest.mark.parametrize(
    "model_class",
    [
        pytest.param(mc, id=mc.model)
        for mc in _collect(lambda: am.Addon().new_models)
        if mc.base != "AbstractModel"
    ],
)
def test_new_models_have_acl(acl, addon, model_class):
    assert model_class.model in _acl_models(acl, addon), (
        f"{model_class.where}: model {model_class.model} has no row in {ACL_FILE}"
    )


@pytest.mark.parametrize(("group", "perms"), sorted(EXPECTED_ACL.items()))
def test_phee_manager_acl(acl, addon, group, perms):
    header, rows = acl
    found = [
        "".join(row[header.index(k)] for k in ACL_HEADER[4:])
        for row in rows
        if addon.model_of_xmlid(row[header.index("model_id:id")]) == PHEE_MANAGER
        and row[header.index("group_id:id")] == group
    ]
    assert found == [perms], (
        f"{ACL_FILE}: {PHEE_MANAGER} for {group} should be {perms}, got {found}"
    )


# ---------------------------------------------------------------------------
# 4. Views against the static model
# ---------------------------------------------------------------------------


def test_static_model_found_phee_manager(addon):
    assert any(mc.model == PHEE_MANAGER for mc in addon.new_models)
    assert addon.classes_of("res.config.settings"), "no res.config.settings class"


@pytest.mark.parametrize("record", _view_records())
def test_view_fields_and_buttons_exist(addon, record):
    assert record.value("model"), f"{record.file}:{record.line} has no model field"
    assert record.field("arch") is not None, f"{record.file}:{record.line} no arch"
    problems = am.ArchChecker(addon, record).run()
    assert not problems, "\n".join(
        [*problems, f"(upstream names: tier1/upstream_models.json; {am.REGENERATE})"]
    )


def _super_calls():
    for mc in _collect(lambda: am.Addon().classes):
        for name, line in mc.super_calls.items():
            yield pytest.param(mc, name, line, id=f"{mc.model}.{name}")


@pytest.mark.parametrize(("model_class", "name", "line"), list(_super_calls()))
def test_super_calls_reach_a_method(addon, model_class, name, line):
    # An override whose upstream method was renamed or removed would never run
    # (or fail only when called); installing the addon does not notice.
    assert name in addon.super_targets(model_class), (
        f"{am.rel(model_class.path)}:{line} super().{name} but no {name} on "
        f"{model_class.model} or its ancestors ({am.REGENERATE} if upstream changed)"
    )


@pytest.mark.parametrize(
    ("path", "line", "model"),
    [
        pytest.param(path, line, model, id=f"{am.rel(path)}:{line}")
        for path, line, model in _collect(
            lambda: list(am.env_models("models", "controllers"))
        )
    ],
)
def test_env_models_exist(addon, path, line, model):
    # A misspelt or renamed model in env[...] fails only when that line runs.
    assert addon.is_known(model), (
        f"{am.rel(path)}:{line} env[{model!r}]: no such model ({am.REGENERATE}?)"
    )


def test_upstream_data_provenance():
    data = am.load_upstream()
    assert data["generator"].startswith("python tier1/gen_upstream_models.py")
    repos = [s["repository"] for s in data["sources"]]
    for repo in ("OpenG2P/openg2p-program", "OpenG2P/openg2p-registry"):
        assert repo in repos, f"upstream_models.json: no source {repo}"
    for source in data["sources"]:
        assert re.fullmatch(r"[0-9a-f]{40}", source["commit"]), source
        assert source["branch"] and source["date"], source
    assert not data["missing_addons"], data["missing_addons"]
    assert am.BASE_MODEL in data["models"], "no automatic fields (model base)"


@pytest.mark.parametrize("record", _records_of("ir.actions.act_window"))
def test_window_action_model_known(addon, record):
    model = record.value("res_model")
    assert addon.is_known(model), (
        f"{record.file}:{record.line} {record.xmlid}: res_model {model!r} unknown"
    )


# ---------------------------------------------------------------------------
# 5. Secret fields are restricted to system administrators
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "name"), SECRET_FIELDS, ids=[f"{m}.{n}" for m, n in SECRET_FIELDS]
)
def test_secret_field_groups(addon, model, name):
    fdef = addon.own_field(model, name)
    assert fdef is not None, f"{model}.{name} is not defined in models/"
    groups = fdef.kwarg("groups")
    where = f"{am.rel(fdef.path)}:{fdef.lineno} {model}.{name}"
    assert isinstance(groups, str), f"{where}: no resolvable groups= keyword"
    assert "base.group_system" in [g.strip() for g in groups.split(",")], (
        f"{where}: groups={groups!r} lacks base.group_system"
    )


# ---------------------------------------------------------------------------
# 6. Cron and queue jobs
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cron():
    found = [
        rec
        for rec in am.records("data/ir_cron_data.xml")
        if rec.xmlid == "cron_phee_status_sync"
    ]
    assert len(found) == 1, "data/ir_cron_data.xml: cron_phee_status_sync missing"
    return found[0]


def test_cron_model_and_settings(cron):
    where = f"data/ir_cron_data.xml:{cron.line} cron_phee_status_sync"
    assert cron.model == "ir.cron", f"{where}: model {cron.model!r}"
    assert cron.value("numbercall") == "-1", f"{where}: numbercall not -1"
    assert cron.value("state") == "code", f"{where}: state not code"
    assert cron.noupdate, f"{where}: not inside noupdate data"


def test_cron_code_calls_existing_method(addon, cron):
    where = f"data/ir_cron_data.xml:{cron.line} cron_phee_status_sync"
    model_ref = cron.field("model_id")
    assert model_ref is not None and model_ref.get("ref"), f"{where}: no model_id"
    model = addon.model_of_xmlid(model_ref.get("ref"))
    assert model, f"{where}: model_id {model_ref.get('ref')!r} unknown"
    calls = re.findall(r"\bmodel\.(\w+)\(", cron.value("code") or "")
    assert calls, f"{where}: code does not call a model method"
    missing = [m for m in calls if m not in addon.own_methods(model)]
    assert not missing, f"{where}: {missing} not defined on {model} in models/"


@pytest.mark.parametrize("record", _records_of("queue.job.function"))
def test_queue_job_function_method_exists(addon, record):
    where = f"{record.file}:{record.line} {record.xmlid}"
    model = addon.model_of_xmlid(record.field("model_id").get("ref", ""))
    assert model, f"{where}: unknown model_id"
    method = record.value("method")
    assert method in addon.own_methods(model), (
        f"{where}: method {method!r} not defined on {model}"
    )


def _declared_channels():
    channels = dict(am.load_upstream()["channels"])
    for param in _records_of("queue.job.channel"):
        rec = param.values[0]
        parent = rec.field("parent_id")
        parent_id = parent.get("ref", "") if parent is not None else ""
        parent_name = channels.get(parent_id) or channels.get(f"{MODULE}.{parent_id}")
        name = rec.value("name")
        full = f"{parent_name}.{name}" if parent_name else name
        channels[f"{MODULE}.{rec.xmlid}"] = full
    return set(channels.values())


def _channel_uses():
    for path in am.python_files("models"):
        consts = am.module_constants(path)
        for node in ast.walk(am.parse_py(path)):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "channel":
                        value = am.eval_const(kw.value, consts)
                        yield pytest.param(
                            path, node.lineno, value, id=f"{am.rel(path)}:{node.lineno}"
                        )


@pytest.mark.parametrize(("path", "lineno", "channel"), list(_channel_uses()))
def test_job_channels_declared(path, lineno, channel):
    declared = _declared_channels()
    assert channel in declared, (
        f"{am.rel(path)}:{lineno} channel {channel!r} is not declared "
        f"(known: {sorted(declared)})"
    )


# ---------------------------------------------------------------------------
# 7. Neutralization
# ---------------------------------------------------------------------------


def _neutralize_sql():
    path = ROOT / "data" / "neutralize.sql"
    assert path.is_file(), "data/neutralize.sql is missing"
    return re.sub(r"--[^\n]*", "", path.read_text())


@pytest.mark.parametrize(
    ("table", "column"),
    NEUTRALIZED_COLUMNS,
    ids=[f"{t}.{c}" for t, c in NEUTRALIZED_COLUMNS],
)
def test_neutralize_blanks_credentials(table, column):
    updates = re.findall(
        rf"UPDATE\s+{table}\s+SET\s+(.*?)(?:\bWHERE\b|;)",
        _neutralize_sql(),
        re.I | re.S,
    )
    assert updates, f"data/neutralize.sql: no UPDATE of {table}"
    assignment = re.compile(rf'(?<![\w"])"?{column}"?\s*=\s*(NULL|\'\'|FALSE)\b', re.I)
    assert any(assignment.search(u) for u in updates), (
        f"data/neutralize.sql does not blank {table}.{column}"
    )


@pytest.mark.parametrize("column", RESERVED_COLUMNS)
def test_neutralize_quotes_reserved_words(column):
    unquoted = re.search(rf'(?<![\w"]){column}(?![\w"])', _neutralize_sql(), re.I)
    assert not unquoted, f'data/neutralize.sql: write "{column}" (a reserved word)'


# ---------------------------------------------------------------------------
# 8. Python hygiene
# ---------------------------------------------------------------------------


def _secret_names(node):
    for sub in ast.walk(node):
        name = None
        if isinstance(sub, ast.Name):
            name = sub.id
        elif isinstance(sub, ast.Attribute):
            name = sub.attr
        if name and SECRET_NAME.search(name) and not NOT_SECRET_NAME.search(name):
            yield name


@pytest.mark.parametrize(
    "path", _py_params("models", "controllers", "phee", "phee_sandbox")
)
def test_no_tls_verification_off(path):
    problems = []
    for node in ast.walk(am.parse_py(path)):
        if isinstance(node, ast.keyword) and node.arg == "verify":
            if isinstance(node.value, ast.Constant) and node.value.value is False:
                problems.append(f"{am.rel(path)}:{node.value.lineno} verify=False")
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr == "verify" for t in node.targets
        ):
            if isinstance(node.value, ast.Constant) and node.value.value is False:
                problems.append(f"{am.rel(path)}:{node.lineno} .verify = False")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "path", _py_params("models", "controllers", "phee", "phee_sandbox")
)
def test_no_print(path):
    if am.rel(path) in PRINT_ALLOWED:
        pytest.skip("CLI entry point")
    problems = [
        f"{am.rel(path)}:{node.lineno} print()"
        for node in ast.walk(am.parse_py(path))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "path", _py_params("models", "controllers", "phee", "phee_sandbox")
)
def test_no_secrets_logged(path):
    problems = []
    for node in ast.walk(am.parse_py(path)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in LOG_METHODS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("_logger", "logger", "_log", "log")
        ):
            continue
        for arg in list(node.args) + [kw.value for kw in node.keywords]:
            problems += [
                f"{am.rel(path)}:{node.lineno} logs {name!r}"
                for name in _secret_names(arg)
            ]
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------
# 9. phee/ and phee_sandbox/ stay free of odoo; relative imports resolve
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", _py_params("phee", "phee_sandbox"))
def test_phee_does_not_import_odoo(path):
    package = ROOT / path.relative_to(ROOT).parts[0]
    problems = []
    for node in ast.walk(am.parse_py(path)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = am.import_target(path, node)
            if target and not target.is_relative_to(package):
                problems.append(f"{am.rel(path)}:{node.lineno} imports the addon")
            modules = [node.module or ""] if not node.level else []
        else:
            continue
        problems += [
            f"{am.rel(path)}:{node.lineno} imports {m}"
            for m in modules
            if m == "odoo" or m.startswith("odoo.")
        ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "path",
    [pytest.param(ROOT / "__init__.py", id="__init__.py")]
    + _py_params("models", "controllers", "phee", "phee_sandbox"),
)
def test_relative_imports_resolve(path):
    problems = []
    for node in ast.walk(am.parse_py(path)):
        if not (isinstance(node, ast.ImportFrom) and node.level):
            continue
        target = am.import_target(path, node)
        where = f"{am.rel(path)}:{node.lineno}"
        if not am.module_file(target).is_file():
            problems.append(f"{where}: module {'.' * node.level}{node.module} missing")
            continue
        names = am.top_level_names(am.module_file(target))
        for alias in node.names:
            submodule = target / alias.name if target.is_dir() else None
            if alias.name in names or (
                submodule
                and (submodule.with_suffix(".py").is_file() or submodule.is_dir())
            ):
                continue
            problems.append(f"{where}: {alias.name} not found in {am.rel(target)}")
    assert not problems, "\n".join(problems)


def _imported_submodules(init):
    found = set()
    for node in am.parse_py(init).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            found.update(alias.name for alias in node.names)
    return found


def test_models_package_imports_model_files():
    imported = _imported_submodules(ROOT / "models" / "__init__.py")
    missing = [
        am.rel(p)
        for p in am.python_files("models")
        if am.parse_model_classes(p) and p.stem not in imported
    ]
    assert not missing, f"models/__init__.py does not import {missing}"


def test_root_package_imports_subpackages():
    imported = _imported_submodules(ROOT / "__init__.py")
    expected = [d for d in ("models", "controllers") if (ROOT / d).is_dir()]
    missing = [d for d in expected if d not in imported]
    assert not missing, f"__init__.py does not import {missing}"


def _addon_attribute_uses():
    """Attribute names with the addon's prefixes used in models/ and controllers/."""
    for path in am.python_files("models", "controllers"):
        for node in ast.walk(am.parse_py(path)):
            if isinstance(node, ast.Attribute) and re.match(
                r"^(_?phee_|action_phee_)", node.attr
            ):
                yield path, node.lineno, node.attr


def test_phee_members_used_are_defined(addon):
    known = set()
    for mc in addon.classes:
        known.update(mc.fields, mc.methods)
    problems = sorted(
        {
            f"{am.rel(path)}:{lineno} .{attr} is neither a field nor a method"
            for path, lineno, attr in _addon_attribute_uses()
            if attr not in known
        }
    )
    assert not problems, "\n".join(problems)


def _ref_calls():
    for path in am.python_files("models", "controllers"):
        consts = am.module_constants(path)
        for node in ast.walk(am.parse_py(path)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "ref"
                and node.args
            ):
                value = am.eval_const(node.args[0], consts)
                if isinstance(value, str) and value.startswith(MODULE + "."):
                    yield pytest.param(
                        path, node.lineno, value, id=f"{am.rel(path)}:{node.lineno}"
                    )


@pytest.mark.parametrize(("path", "lineno", "xmlid"), list(_ref_calls()))
def test_python_refs_exist(addon, path, lineno, xmlid):
    defined = set(addon.implicit_xmlids)
    for data in am.data_files():
        if (ROOT / data).exists():
            defined |= {ev[1][0] for ev in am.load_events(data) if ev[0] == "def"}
    assert xmlid.split(".", 1)[1] in defined, (
        f"{am.rel(path)}:{lineno} env.ref({xmlid!r}) is not defined in data files"
    )


# ---------------------------------------------------------------------------
# 10. Translations template
# ---------------------------------------------------------------------------


def test_pot_header():
    path = ROOT / "i18n" / f"{MODULE}.pot"
    if not path.is_file():
        pytest.skip(f"i18n/{MODULE}.pot absent")
    entries = am.parse_po(path.read_text(encoding="utf-8"))
    assert entries, f"{am.rel(path)} is empty"
    header = entries[0]
    assert header.get("msgid") == "", f"{am.rel(path)}: first entry is not the header"
    assert "Content-Type:" in header.get("msgstr", ""), (
        f"{am.rel(path)}: header lacks Content-Type"
    )
    missing = [e.get("msgid") for e in entries[1:] if "msgstr" not in e]
    assert not missing, f"{am.rel(path)}: entries without msgstr: {missing[:5]}"
