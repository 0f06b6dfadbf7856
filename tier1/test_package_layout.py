"""``phee/`` is only the protocol; ``phee_sandbox/`` is a server of its own.

The sandbox implements the PHEE API reference independently of the addon's
protocol code, so one misreading of PHEE cannot make both sides agree: its
modules import nothing from ``phee``, except the demo, which is a client and
uses ``phee``'s client-side modules. Production code never imports the sandbox.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PHEE = ROOT / "phee"
SANDBOX = ROOT / "phee_sandbox"
ADDON = ("odoo", "addons", "g2p_payment_phee")
SANDBOX_MODULES = {
    "__init__",
    "__main__",
    "app",
    "bulk",
    "cli",
    "demo",
    "http",
    "java",
    "jws",
    "keys",
    "ops",
    "ops_views",
    "records",
    "sign",
    "state",
}
# The protocol modules a client uses; the demo may import these (or names the
# ``phee`` package exports) and nothing else of phee.
CLIENT_MODULES = {"client", "csv_render", "errors", "signer", "status"}
SERVER_LIBRARIES = ("http.server", "socketserver", "wsgiref")
PRODUCTION = ("models", "controllers", "phee", "migrations")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _imports(path: Path):
    """``(line, absolute module path as a tuple)`` of every import in ``path``.

    Relative imports resolve from the repository root, where ``phee`` and
    ``phee_sandbox`` are top-level packages; ``from a import b`` also yields
    ``a.b`` (b may be a submodule). Odoo's ``odoo.addons.g2p_payment_phee``
    prefix is dropped.
    """
    package = path.relative_to(ROOT).parent.parts
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found = [tuple(alias.name.split(".")) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: max(len(package) - node.level + 1, 0)]
            else:
                base = ()
            module = (*base, *(node.module or "").split(".")) if node.module else base
            found = [module] + [(*module, alias.name) for alias in node.names]
        else:
            continue
        for module in found:
            if module[:3] == ADDON:
                module = module[3:]
            if module:
                yield node.lineno, module


def _imports_of(path: Path, top: str) -> list[str]:
    return sorted({".".join(m) for _line, m in _imports(path) if m[0] == top})


def _phee_exports() -> set[str]:
    tree = ast.parse((PHEE / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


def _params(paths):
    return [pytest.param(p, id=_rel(p)) for p in paths]


# ---------------------------------------------------------------------------
# phee/: the protocol only
# ---------------------------------------------------------------------------


def test_phee_has_no_server_and_no_demo():
    assert not (PHEE / "server").exists(), "phee/server/ belongs in phee_sandbox/"
    assert not (PHEE / "demo.py").exists(), "phee/demo.py belongs in phee_sandbox/"
    subpackages = [p.name for p in PHEE.iterdir() if (p / "__init__.py").is_file()]
    assert not subpackages, f"phee/ has subpackages {subpackages}"


@pytest.mark.parametrize("path", _params(sorted(PHEE.rglob("*.py"))))
def test_phee_runs_no_server(path):
    problems = [
        f"{_rel(path)}:{line} imports {'.'.join(module)}"
        for line, module in _imports(path)
        if ".".join(module).startswith(SERVER_LIBRARIES)
    ]
    classes = [
        node.name
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and "Server" in node.name
    ]
    problems += [f"{_rel(path)}: defines class {name}" for name in classes]
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------
# phee_sandbox/: independent of phee, except the demo (a client)
# ---------------------------------------------------------------------------


def test_sandbox_holds_the_server_and_the_demo():
    missing = SANDBOX_MODULES - {p.stem for p in SANDBOX.glob("*.py")}
    assert not missing, f"phee_sandbox/ lacks {sorted(missing)}"


@pytest.mark.parametrize(
    "path", _params(p for p in sorted(SANDBOX.rglob("*.py")) if p.name != "demo.py")
)
def test_sandbox_imports_nothing_from_phee(path):
    assert _imports_of(path, "phee") == [], f"{_rel(path)} imports phee"


def test_demo_imports_only_client_side_of_phee():
    used = _imports_of(SANDBOX / "demo.py", "phee")
    assert used, "the demo drives the sandbox through phee's client"
    allowed = {"phee"} | {f"phee.{n}" for n in CLIENT_MODULES | _phee_exports()}
    assert set(used) <= allowed, f"phee_sandbox/demo.py imports {used}"


def test_loading_the_server_loads_no_phee_module():
    """At run time too: every sandbox module but the demo, in a fresh process."""
    modules = sorted(SANDBOX_MODULES - {"demo"})
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module('phee_sandbox.' + name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'phee'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"phee modules loaded: {result.stdout}"


# ---------------------------------------------------------------------------
# Odoo never loads the sandbox in production
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    _params(
        [ROOT / "__init__.py"]
        + sorted(p for d in PRODUCTION for p in (ROOT / d).rglob("*.py"))
    ),
)
def test_production_code_never_imports_the_sandbox(path):
    used = _imports_of(path, "phee_sandbox")
    assert not used, f"{_rel(path)} imports {used}"
