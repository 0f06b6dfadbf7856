"""The batch form's status bar shows the path the batch took: for every state,
exactly one status bar is visible, and it never shows a final or side state
the batch did not reach (read from the view and the state table, no Odoo)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
VIEW = ROOT / "views" / "payment_batch_views.xml"
STATES_FILE = ROOT / "models" / "phee_states.py"
USUAL_PATH = ("draft", "submitted", "in_progress")


def _batch_states():
    for node in ast.parse(STATES_FILE.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "BATCH_STATES":
            return [key for key, _label in ast.literal_eval(node.value)]
    raise AssertionError("BATCH_STATES not found")


STATES = _batch_states()


def _status_bars():
    tree = etree.parse(str(VIEW))
    return [
        (node.get("statusbar_visible", "").split(","), node.get("invisible", "False"))
        for node in tree.iter("field")
        if node.get("name") == "phee_state" and node.get("widget") == "statusbar"
    ]


def _shown(state, started):
    visible = [
        steps
        for steps, invisible in _status_bars()
        # The expressions are Python of the view's record values.
        if not eval(invisible, {}, {"phee_state": state, "phee_started_at": started})  # noqa: S307
    ]
    assert len(visible) == 1, (state, started, visible)
    steps = set(visible[0]) | {state}
    return [s for s in STATES if s in steps]


@pytest.mark.parametrize("started", [False, True])
@pytest.mark.parametrize("state", STATES)
def test_one_status_bar_shows_only_the_path_taken(state, started):
    shown = _shown(state, started)
    assert state in shown
    ahead = {"completed"} if state in (*USUAL_PATH, "queued", "submitting") else set()
    assert set(shown) <= {*USUAL_PATH, state, *ahead}, shown


def test_completed_with_failures_never_passes_through_completed():
    assert _shown("completed_failures", True) == [
        "draft",
        "submitted",
        "in_progress",
        "completed_failures",
    ]


def test_a_batch_never_started_does_not_show_in_progress():
    assert "in_progress" not in _shown("needs_attention", False)
    assert _shown("error", False) == ["draft", "error"]
