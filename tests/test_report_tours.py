# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Browser test: a finance officer reconciles a paid cycle (the tour is
static/tests/tours/phee_report_tour.js)."""

from unittest.mock import patch

from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser

from .common import officer
from .test_reports import ReportCommon


def _browser_without_downloads():
    """The tour's browser fetches the exports but keeps no file of them."""
    start = ChromeBrowser.__init__

    def init(browser, *args, **kwargs):
        start(browser, *args, **kwargs)
        browser._websocket_request(
            "Page.setDownloadBehavior", params={"behavior": "deny"}
        )

    return patch.object(ChromeBrowser, "__init__", init)


@tagged("post_install", "-at_install")
class TestReportTours(ReportCommon, HttpCase):
    def test_finance_officer_reconciles_a_paid_cycle(self):
        self._settled_mixed_cycle()
        finance = officer(
            self.env,
            "phee_tour_finance",
            "g2p_programs.g2p_program_validator",
            "g2p_programs.g2p_finance_validator",
        )
        with _browser_without_downloads():
            self.start_tour(
                f"/web#model=g2p.cycle&id={self.cycle.id}&view_type=form",
                "g2p_payment_phee_report_tour",
                login=finance.login,
            )
        self.env.invalidate_all()
        exports = [
            m.body
            for m in self.cycle.message_ids
            if "exported the cycle's 6 payments" in m.body
        ]
        self.assertEqual(
            sorted("(XLSX)" in body for body in exports), [False, False, True]
        )
