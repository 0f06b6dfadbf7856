"""Pytest plugin keeping plain pytest away from the Odoo side of the addon.

The repository root is the Odoo addon package: importing its ``__init__.py``
(or the tier-2 tests in tests/) needs a running Odoo. Pytest therefore treats
the root as a plain directory and never collects tests/, which Odoo's own test
runner executes (``odoo --test-enable --test-tags /g2p_payment_phee``).
"""

from pathlib import Path

import pytest

ADDON_DIR = Path(__file__).resolve().parent.parent
TIER2_DIR = ADDON_DIR / "tests"


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path, parent):
    """Collect the addon root as a directory, not as an importable package."""
    if Path(path).resolve() == ADDON_DIR:
        return pytest.Dir.from_parent(parent, path=path)
    return None


def pytest_ignore_collect(collection_path, config):
    """Leave tests/ to Odoo's test runner."""
    path = Path(collection_path).resolve()
    return path == TIER2_DIR or TIER2_DIR in path.parents or None


def pytest_report_header(config):
    """Say that the tier-2 tests are not run by pytest."""
    return "tier-2 Odoo tests (tests/) are run by Odoo's test runner, not pytest"
