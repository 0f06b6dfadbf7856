"""The batch state machine as written: its diagram, its table, its methods, and
that nothing else writes its fields (read with ast, no Odoo)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATES_FILE = ROOT / "models" / "phee_states.py"
MACHINE_FILE = ROOT / "models" / "payment_batch.py"
# The payment's state is set where payments are born (prepare) and moved by
# the payment model; the status sync writes it through the same table.
PAYMENT_WRITERS = (
    ROOT / "models" / "payment.py",
    ROOT / "models" / "phee_manager_prepare.py",
)
EDGE_LINE = re.compile(r"^\s*(\w+)\s+--(\w+)-->\s+(\w+)\b", re.MULTILINE)
BATCH_FIELDS = (
    "phee_state",
    "phee_attempt_count",
    "phee_last_attempt_at",
    "phee_attempt_outcome",
)
PAYMENT_FIELDS = ("phee_payment_state",)


def _module(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _constant(name: str):
    for node in _module(STATES_FILE).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in {STATES_FILE.name}")


def _table_edges() -> set[tuple[str, str, str]]:
    return {
        (source, edge, target)
        for edge, pairs in _constant("BATCH_TRANSITIONS").items()
        for source, target in pairs
    }


def _diagram_edges() -> set[tuple[str, str, str]]:
    doc = ast.get_docstring(_module(STATES_FILE))
    return {(a, edge, b) for a, edge, b in EDGE_LINE.findall(doc)}


def test_diagram_is_the_transition_table():
    assert _diagram_edges() == _table_edges()


def test_every_state_is_reached_or_left_and_every_edge_state_exists():
    states = {key for key, _label in _constant("BATCH_STATES")}
    used = {s for a, _e, b in _table_edges() for s in (a, b)}
    assert used == states


def test_draft_is_only_left():
    assert "draft" not in {b for _a, _e, b in _table_edges()}


def _methods(path: Path, class_name: str) -> dict[str, ast.FunctionDef]:
    for node in _module(path).body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            return {
                item.name: item
                for item in node.body
                if isinstance(item, ast.FunctionDef)
            }
    raise AssertionError(f"class {class_name} not found")


def _string_args(func: ast.FunctionDef, callee: str) -> set[str]:
    """First string arguments of the calls to ``callee`` inside ``func``."""
    found = set()
    for node in ast.walk(func):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == callee
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(node.args[0].value)
    return found


@pytest.mark.parametrize("edge", sorted(_constant("BATCH_TRANSITIONS")))
def test_each_edge_has_its_method_and_the_method_takes_that_edge(edge):
    methods = _methods(MACHINE_FILE, "G2PPaymentBatch")
    method = methods.get(f"_phee_{edge}")
    assert method is not None, f"no _phee_{edge} on the batch"
    taken = _string_args(method, "_phee_move") | _string_args(method, "_phee_mark_sent")
    assert taken == {edge}


def test_no_method_moves_along_an_edge_not_in_the_table():
    methods = _methods(MACHINE_FILE, "G2PPaymentBatch")
    taken = set()
    for func in methods.values():
        taken |= _string_args(func, "_phee_move") | _string_args(
            func, "_phee_mark_sent"
        )
    assert taken == set(_constant("BATCH_TRANSITIONS"))


def _writes(path: Path, fnames: tuple[str, ...]) -> list[int]:
    """Lines of ``path`` that write one of ``fnames``: a dict key, a keyword
    argument or an attribute assignment."""
    lines = []
    for node in ast.walk(_module(path)):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            if set(keys) & set(fnames):
                lines.append(node.lineno)
        elif isinstance(node, ast.keyword) and node.arg in fnames:
            lines.append(node.value.lineno)
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr in fnames for t in targets):
                lines.append(node.lineno)
    return lines


ADDON_SOURCES = sorted(
    p
    for folder in ("models", "controllers", "migrations", "wizard")
    for p in (ROOT / folder).rglob("*.py")
)


@pytest.mark.parametrize("path", ADDON_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_state_machines_write_their_fields(path):
    if path != MACHINE_FILE:
        assert not _writes(path, BATCH_FIELDS), "writes a batch state field"
    if path not in PAYMENT_WRITERS:
        assert not _writes(path, PAYMENT_FIELDS), "writes the payment state"


def test_payment_state_table_covers_every_state():
    states = {key for key, _label in _constant("PAYMENT_STATES")}
    assert set(_constant("PAYMENT_STATE_FIELDS")) == states


def test_send_outcomes_have_labels():
    tree = _module(STATES_FILE)
    names = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "SendOutcome":
            names = {
                stmt.value.value
                for stmt in node.body
                if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant)
            }
    table = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(
            isinstance(t, ast.Name) and t.id == "SEND_OUTCOMES" for t in node.targets
        )
    )
    keys = {key.attr for key in table.keys}
    assert len(keys) == len(names) == len(table.keys)
