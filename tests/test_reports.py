# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""The disbursement report (its totals against the payments and PHEE's batch
statistics, as HTML and as PDF) and the export of a cycle's payments."""

import csv
import io
import re
import zipfile
from unittest.mock import patch
from xml.etree import ElementTree

from lxml import html

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger
from odoo.tools.pdf import PdfFileReader

from ..models import payment_export
from ..models.payment_export import PaymentExport
from .common import PheeCommon, officer

REPORT = "g2p_payment_phee.action_report_cycle_disbursement"
REPORT_HTML = "g2p_payment_phee.action_report_cycle_disbursement_html"
COUNTERS = ("issued", "sent", "paid", "failed")


class ReportCommon(PheeCommon):
    """A cycle of 6: 4 paid, 1 refused by PHEE (unknown payee) and 1 held back
    (no phone), in 2 batches."""

    def _mixed_cycle(self):
        self._entitlements(4)
        self._entitlement(self._registrant("Unknown Payee", phone="27719000999"))
        self._entitlement(self._registrant("No Phone Beneficiary"))
        self._prepare()
        self.cycle.send_payment()

    def _settled_mixed_cycle(self):
        self._mixed_cycle()
        self._sync_until_settled(runs=8)
        self.assertEqual(
            sorted(self._payments().mapped("phee_payment_state")),
            ["failed", "held_back", "paid", "paid", "paid", "paid"],
        )


@tagged("post_install", "-at_install")
class TestDisbursementReport(ReportCommon):
    def _render(self, cycle=None, user=None):
        reports = self.env["ir.actions.report"]
        if user:
            reports = reports.with_user(user)
        body, _type = reports._render_qweb_html(REPORT_HTML, (cycle or self.cycle).ids)
        return html.fromstring(body)

    @staticmethod
    def _cells(row):
        return {td.get("name"): td.text_content().strip() for td in row.iter("td")}

    def test_totals_match_the_payments_and_the_batch_statistics(self):
        self._settled_mixed_cycle()
        rec = self.cycle._phee_reconciliation()
        totals = {row["key"]: row for row in rec["totals"]}
        payments = self._payments()

        def figures(*states):
            chosen = payments.filtered(lambda p: p.phee_payment_state in states)
            return (len(chosen), sum(chosen.mapped("amount_issued")))

        sent = ("sent", "on_hold", "needs_attention", "paid", "failed")
        for key, states in {
            "issued": ("held_back", "issued", *sent),
            "held_back": ("held_back",),
            "not_sent": ("issued",),
            "sent": sent,
            "paid": ("paid",),
            "failed": ("failed",),
        }.items():
            self.assertEqual(
                (totals[key]["count"], totals[key]["amount"]), figures(*states), key
            )
        self.assertEqual(totals["paid"]["amount_paid"], 2000.0)
        self.assertEqual(
            (totals["issued"]["count"], totals["issued"]["amount"]), (6, 3000.0)
        )
        for key in ("not_sent", "on_hold", "needs_attention", "in_progress"):
            self.assertEqual(totals[key]["count"], 0, key)
        # Each level adds up to the row above it.
        self.assertEqual(
            totals["issued"]["count"],
            sum(totals[k]["count"] for k in ("held_back", "not_sent", "sent")),
        )
        self.assertEqual(
            totals["sent"]["amount"],
            sum(
                totals[k]["amount"]
                for k in ("paid", "failed", "on_hold", "needs_attention", "in_progress")
            ),
        )
        # The batch table is PHEE's statistics, and they agree with the payments.
        batches = self._batches()
        self.assertEqual(
            [b["reference"] for b in rec["batches"]],
            batches.mapped("phee_correlation_id"),
        )
        for counter in COUNTERS:
            self.assertEqual(
                rec["batch_totals"][f"{counter}_count"],
                sum(batches.mapped(f"stats_{counter}_transactions")),
            )
            self.assertEqual(
                rec["batch_totals"][f"{counter}_amount"],
                sum(batches.mapped(f"stats_{counter}_amount")),
            )
        self.assertEqual(rec["batch_totals"]["paid_count"], totals["paid"]["count"])
        self.assertEqual(
            rec["batch_totals"]["paid_amount"], totals["paid"]["amount_paid"]
        )
        self.assertEqual(rec["batch_totals"]["failed_count"], totals["failed"]["count"])
        self.assertEqual(rec["batch_totals"]["sent_count"], totals["sent"]["count"])
        self.assertTrue(all(check["agrees"] for check in rec["checks"]), rec["checks"])
        self.assertTrue(rec["settled"])

    def test_html_report_shows_totals_reasons_batches_and_a_signature_block(self):
        self._settled_mixed_cycle()
        page = self._render()
        text = page.text_content()
        for expected in (
            "PHEE Test Program",
            "Cycle 1",
            "USD",
            "Prepared by",
            "Verified by (finance)",
            "Approved by",
        ):
            self.assertIn(expected, text)
        self.assertIn(
            self.env.user.name, page.find_class("o_phee_generated")[0].text_content()
        )
        rows = {
            tr.get("data-key"): self._cells(tr)
            for tr in page.find_class("o_phee_totals")[0].iter("tr")
            if tr.get("data-key")
        }
        self.assertEqual(rows["issued"]["count"], "6")
        self.assertIn("3,000.00", rows["issued"]["amount"])
        self.assertEqual(rows["paid"]["count"], "4")
        self.assertIn("2,000.00", rows["paid"]["amount_paid"])
        self.assertEqual(rows["failed"]["count"], "1")
        self.assertEqual(rows["held_back"]["count"], "1")
        self.assertFalse(page.find_class("o_phee_not_settled"))
        # Failure reasons with PHEE's error code.
        refused = self._payments().filtered(lambda p: p.phee_payment_state == "failed")
        held = self._payments().filtered(lambda p: p.phee_payment_state == "held_back")
        reasons = [
            self._cells(tr) for tr in page.find_class("o_phee_reasons")[0].iter("tr")
        ][1:]
        self.assertEqual(
            [(r["reason"], r["code"], r["count"]) for r in reasons],
            [
                (held.phee_failure_reason, "", "1"),
                (refused.phee_failure_reason, refused.phee_failure_code, "1"),
            ],
        )
        self.assertTrue(refused.phee_failure_code)
        # One row per batch with its PHEE ids, and the totals row.
        table = page.find_class("o_phee_batches")[0]
        body_rows = [self._cells(tr) for tr in table.find("tbody").iter("tr")]
        batches = self._batches()
        self.assertEqual(
            [(r["reference"], r["phee_batch_id"]) for r in body_rows],
            [(b.phee_correlation_id, b.external_batch_ref) for b in batches],
        )
        footer = self._cells(page.find_class("o_phee_batch_totals")[0])
        self.assertEqual(footer["paid_count"], "4")
        self.assertEqual(footer["failed_count"], "1")
        self.assertEqual(footer["issued_count"], "5")
        self.assertIn("2,000.00", footer["paid_amount"])
        checks = page.find_class("o_phee_checks")[0].find("tbody")
        self.assertEqual(
            {self._cells(tr)["check"] for tr in checks.iter("tr")}, {"Agrees"}
        )

    def test_report_is_marked_not_final_while_payments_are_at_phee(self):
        self._mixed_cycle()
        page = self._render()
        self.assertTrue(page.find_class("o_phee_not_settled"))
        rec = self.cycle._phee_reconciliation()
        totals = {row["key"]: row["count"] for row in rec["totals"]}
        self.assertEqual(totals["in_progress"], 5)
        self.assertEqual(totals["sent"], 5)
        self.assertFalse(rec["settled"])

    def test_payments_on_hold_at_phee_are_counted_and_keep_it_not_final(self):
        self._restart_server(exception_payee_suffixes=("777",), exception_polls=50)
        self._entitlements(2)
        self._entitlement(self._registrant("Incident", phone="27719000777"))
        self._prepare()
        self.cycle.send_payment()
        self._sync_until_settled(runs=3)
        rec = self.cycle._phee_reconciliation()
        totals = {row["key"]: (row["count"], row["amount"]) for row in rec["totals"]}
        self.assertEqual(totals["on_hold"], (1, 500.0))
        self.assertEqual(totals["paid"], (2, 1000.0))
        self.assertEqual(totals["sent"], (3, 1500.0))
        self.assertFalse(rec["settled"])
        self.assertTrue(self._render().find_class("o_phee_not_settled"))

    def test_phee_statistics_that_differ_from_the_payments_are_flagged(self):
        self._settled_mixed_cycle()
        batch = self._batches()[0]
        batch.stats_paid_transactions += 1
        page = self._render()
        checks = {
            tr.get("data-key"): self._cells(tr)["check"]
            for tr in page.find_class("o_phee_checks")[0].find("tbody").iter("tr")
        }
        self.assertEqual(checks["paid"], "Differs")
        self.assertEqual(checks["failed"], "Agrees")

    def test_pdf_report_is_a_landscape_pdf(self):
        self._settled_mixed_cycle()
        reports = self.env["ir.actions.report"]
        if reports.get_wkhtmltopdf_state() not in ("ok", "upgrade"):
            self.skipTest("wkhtmltopdf is not installed")
        pdf, kind = reports.with_context(force_report_rendering=True)._render_qweb_pdf(
            REPORT, self.cycle.ids
        )
        self.assertEqual(kind, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        # The text is drawn as shapes by some wkhtmltopdf builds: the content
        # is checked on the HTML, the page layout here.
        page = PdfFileReader(io.BytesIO(pdf)).pages[0]
        self.assertGreater(float(page.mediabox.width), float(page.mediabox.height))

    def test_print_falls_back_to_html_where_wkhtmltopdf_cannot_print(self):
        self._mixed_cycle()
        reports = type(self.env["ir.actions.report"])
        for state, kind in (
            ("ok", "qweb-pdf"),
            ("install", "qweb-html"),
            ("broken", "qweb-html"),
            ("workers", "qweb-html"),
        ):
            with patch.object(reports, "get_wkhtmltopdf_state", return_value=state):
                action = self.cycle.action_phee_print_disbursement_report()
            self.assertEqual(action["report_type"], kind, state)
            self.assertEqual(action["context"]["active_ids"], self.cycle.ids)

    def test_only_users_who_can_read_the_payments_get_the_report(self):
        self._mixed_cycle()
        finance = officer(
            self.env,
            "phee_report_finance",
            "g2p_programs.g2p_program_validator",
            "g2p_programs.g2p_finance_validator",
        )
        page = self._render(user=finance)
        self.assertIn("Disbursement Report", page.text_content())
        outsider = officer(self.env, "phee_report_outsider")
        with self.assertRaises(AccessError):
            self._render(user=outsider)

    def test_dashboard_and_timeline_show_the_cycle_s_payments(self):
        self._settled_mixed_cycle()
        dashboard = self.cycle.action_phee_open_payment_dashboard()
        self.assertEqual(dashboard["res_model"], "g2p.payment")
        self.assertEqual(dashboard["domain"], [("cycle_id", "=", self.cycle.id)])
        self.assertEqual(dashboard["display_name"], "Payments of Cycle 1")
        self.assertEqual(dashboard["view_mode"].split(",")[:2], ["graph", "pivot"])
        timeline = self.cycle.action_phee_open_payment_timeline()
        model = self.env[timeline["res_model"]]
        domain = timeline["domain"]
        # Summed over all time, each movement is the payments in that situation.
        by_movement = dict(
            model._read_group(domain, ["movement"], ["payment_count:sum"])
        )
        self.assertEqual(
            by_movement, {"pending": 0, "paid": 4, "failed": 1, "held_back": 1}
        )
        by_state = dict(
            model._read_group(domain, ["phee_payment_state"], ["payment_count:sum"])
        )
        self.assertEqual(by_state, {"paid": 4, "failed": 1, "held_back": 1})
        amounts = dict(model._read_group(domain, ["movement"], ["amount:sum"]))
        self.assertEqual(amounts["paid"], 2000.0)
        # A paid payment moves on the timeline when PHEE completed it.
        settled = model.search(domain + [("movement", "=", "paid")])
        self.assertEqual(
            set(settled.mapped("date")),
            set(settled.payment_id.mapped("payment_datetime")),
        )


M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def xlsx_sheets(content):
    """[[row values]] per sheet of a workbook, read with the standard library:
    strings (shared or inline) as str, numbers as float; a cell holding a
    formula as ("formula", text)."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        shared = []
        if "xl/sharedStrings.xml" in book.namelist():
            root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
            shared = [
                "".join(t.text or "" for t in si.iter(f"{M}t"))
                for si in root.iter(f"{M}si")
            ]
        names = sorted(
            (n for n in book.namelist() if n.startswith("xl/worksheets/sheet")),
            key=lambda n: int(re.sub(r"\D", "", n)),
        )
        return [
            [
                _xlsx_row(row, shared)
                for row in ElementTree.fromstring(book.read(n)).iter(f"{M}row")
            ]
            for n in names
        ]


def _xlsx_row(row, shared):
    values = {}
    for cell in row.iter(f"{M}c"):
        letters = re.match(r"[A-Z]+", cell.get("r")).group()
        column = 0
        for letter in letters:
            column = column * 26 + ord(letter) - 64
        kind, value = cell.get("t"), cell.find(f"{M}v")
        if cell.find(f"{M}f") is not None:
            values[column] = ("formula", cell.find(f"{M}f").text)
        elif kind == "s":
            values[column] = shared[int(value.text)]
        elif kind == "inlineStr":
            values[column] = "".join(t.text or "" for t in cell.iter(f"{M}t"))
        elif value is not None:
            values[column] = float(value.text)
    return [values.get(c) for c in range(1, max(values, default=0) + 1)]


@tagged("post_install", "-at_install")
class TestPaymentExport(ReportCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.finance = officer(
            cls.env,
            "phee_export_finance",
            "g2p_programs.g2p_program_validator",
            "g2p_programs.g2p_finance_validator",
        )

    def _download(self, file_format, login="phee_export_finance", cycle=None):
        self.authenticate(login, login)
        cycle_id = (cycle or self.cycle).id
        response = self.url_open(
            f"/g2p_payment_phee/cycle/{cycle_id}/payments/{file_format}"
        )
        self.env.invalidate_all()
        return response

    def _csv_rows(self):
        response = self._download("csv")
        self.assertEqual(response.status_code, 200)
        self.assertIn("text/csv", response.headers["Content-Type"])
        self.assertIn(".csv", response.headers["Content-Disposition"])
        text = response.content.decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text)))

    def test_csv_lists_every_payment_with_its_phee_ids_and_outcome(self):
        self._settled_mixed_cycle()
        rows = {row["Request ID"]: row for row in self._csv_rows()}
        payments = self._payments()
        self.assertEqual(set(rows), set(payments.mapped("name")))
        for payment in payments:
            row = rows[payment.name]
            batch = payment.batch_id
            self.assertEqual(row["Registrant"], payment.partner_id.name)
            self.assertEqual(row["Batch"], batch.name or "")
            self.assertEqual(row["PHEE Reference"], batch.phee_correlation_id or "")
            self.assertEqual(row["PHEE Batch ID"], batch.external_batch_ref or "")
            self.assertEqual(
                row["PHEE Transaction ID"], payment.phee_transaction_id or ""
            )
            self.assertEqual(row["Failure Reason"], payment.phee_failure_reason or "")
            self.assertEqual(row["PHEE Error Code"], payment.phee_failure_code or "")
            self.assertEqual(row["Amount Issued"], "500.00")
            self.assertEqual(row["Currency"], "USD")
            self.assertTrue(row["Issued On (UTC)"])
        paid = [r for r in rows.values() if r["PHEE Payment State"] == "Paid"]
        self.assertEqual(len(paid), 4)
        self.assertEqual({r["Amount Paid"] for r in paid}, {"500.00"})
        self.assertTrue(
            all(r["Paid On (UTC)"] and r["PHEE Transaction ID"] for r in paid)
        )
        refused = [r for r in rows.values() if r["PHEE Payment State"] == "Failed"]
        self.assertEqual([r["Payment Status"] for r in refused], ["Failed"])
        self.assertEqual([r["PHEE Status"] for r in refused], ["Failed"])
        held = [r for r in rows.values() if r["PHEE Payment State"] == "Held back"]
        self.assertEqual(
            [(r["Registrant"], r["PHEE Reference"]) for r in held],
            [("No Phone Beneficiary", "")],
        )
        # Who exported the beneficiaries' data is on the cycle.
        self.assertIn(
            "exported the cycle's 6 payments (CSV)", self.cycle.message_ids[0].body
        )
        self.assertEqual(self.cycle.message_ids[0].author_id, self.finance.partner_id)

    def test_xlsx_has_the_rows_of_the_csv(self):
        self._settled_mixed_cycle()
        csv_rows = self._csv_rows()
        response = self._download("xlsx")
        self.assertEqual(response.status_code, 200)
        self.assertIn("spreadsheetml", response.headers["Content-Type"])
        [sheet] = xlsx_sheets(response.content)
        header, *rows = sheet
        self.assertEqual(header, list(csv_rows[0]))
        self.assertEqual(len(rows), len(csv_rows))
        for row, expected in zip(rows, csv_rows, strict=True):
            cells = dict(zip(header, row, strict=False))
            self.assertEqual(cells["Request ID"], expected["Request ID"])
            self.assertEqual(
                cells["PHEE Reference"], expected["PHEE Reference"] or None
            )
            self.assertEqual(
                cells["PHEE Payment State"], expected["PHEE Payment State"]
            )
            self.assertEqual(cells["Amount Issued"], float(expected["Amount Issued"]))
            self.assertIsInstance(cells["Issued On (UTC)"], float)  # a date cell
        self.assertIn("(XLSX)", self.cycle.message_ids[0].body)

    def test_payments_are_read_in_chunks(self):
        self._mixed_cycle()
        export = PaymentExport(self.cycle)
        whole = [row for row, _decimals in export.rows()]
        with patch.object(payment_export, "CHUNK_SIZE", 4):
            chunks = list(export._chunks())
            chunked = [row for row, _decimals in export.rows()]
        self.assertEqual([len(ids) for ids in chunks], [4, 2])
        self.assertEqual(chunked, whole)
        self.assertEqual(len(whole), 6)

    def test_xlsx_goes_on_to_a_new_sheet_past_the_row_limit(self):
        self._mixed_cycle()
        output = io.BytesIO()
        with patch.object(payment_export, "XLSX_MAX_ROWS", 3):
            PaymentExport(self.cycle).write_xlsx(output)
        sheets = xlsx_sheets(output.getvalue())
        self.assertEqual([len(sheet) for sheet in sheets], [3, 3, 3])
        self.assertEqual({sheet[0][0] for sheet in sheets}, {"Request ID"})

    def test_text_that_looks_like_a_formula_stays_text(self):
        names = {"=1+2", "@SUM(A1)", "-3+4"}
        for index, name in enumerate(sorted(names)):
            self._entitlement(self._registrant(name, phone=f"2771000012{index}"))
        self._prepare()
        export = PaymentExport(self.cycle)
        output = io.BytesIO()
        export.write_csv(output)
        text = output.getvalue().decode("utf-8-sig")
        self.assertEqual(
            {row["Registrant"] for row in csv.DictReader(io.StringIO(text))},
            {"'" + name for name in names},
        )
        output = io.BytesIO()
        export.write_xlsx(output)
        [sheet] = xlsx_sheets(output.getvalue())
        self.assertEqual({row[1] for row in sheet[1:]}, names)

    def test_only_users_who_can_read_the_cycle_get_the_export(self):
        self._mixed_cycle()
        officer(self.env, "phee_export_outsider")
        # Reads payments, not cycles (OpenG2P's finance validator alone).
        officer(
            self.env, "phee_export_payments_only", "g2p_programs.g2p_finance_validator"
        )
        with mute_logger("odoo.http"):
            for login in ("phee_export_outsider", "phee_export_payments_only"):
                self.assertEqual(self._download("xlsx", login).status_code, 403, login)
            unknown = self.cycle.browse(self.cycle.id + 1000)
            self.assertEqual(self._download("csv", cycle=unknown).status_code, 404)
        self.assertNotIn("exported", self.cycle.message_ids[0].body)
