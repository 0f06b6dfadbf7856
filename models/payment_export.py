# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Every payment of a cycle, with its PHEE ids and outcome, as CSV or XLSX.

Payments are read in chunks of ``CHUNK_SIZE`` (ids through the ORM, so access
rights and record rules apply, then one SQL statement per chunk) and written
to a file as they come: memory stays bounded whatever the cycle's size.
"""

import csv
import io

import xlsxwriter

from odoo import _, _lt
from odoo.tools import SQL

CHUNK_SIZE = 5000
XLSX_MAX_ROWS = 1_048_576  # per sheet, the header included
# Text an office suite would read as a formula.
FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")
# key, header, kind (text, amount, datetime), XLSX column width
COLUMNS = (
    ("request_id", _lt("Request ID"), "text", 38),
    ("registrant", _lt("Registrant"), "text", 28),
    ("batch", _lt("Batch"), "text", 24),
    ("phee_reference", _lt("PHEE Reference"), "text", 38),
    ("phee_batch_id", _lt("PHEE Batch ID"), "text", 38),
    ("phee_transaction_id", _lt("PHEE Transaction ID"), "text", 24),
    ("phee_payment_state", _lt("PHEE Payment State"), "text", 18),
    ("phee_status", _lt("PHEE Status"), "text", 14),
    ("state", _lt("State"), "text", 12),
    ("status", _lt("Payment Status"), "text", 14),
    ("reason", _lt("Failure Reason"), "text", 36),
    ("error_code", _lt("PHEE Error Code"), "text", 14),
    ("amount_issued", _lt("Amount Issued"), "amount", 14),
    ("amount_paid", _lt("Amount Paid"), "amount", 14),
    ("currency", _lt("Currency"), "text", 9),
    ("issued_at", _lt("Issued On (UTC)"), "datetime", 19),
    ("status_at", _lt("Status Date (UTC)"), "datetime", 19),
    ("paid_at", _lt("Paid On (UTC)"), "datetime", 19),
)
KINDS = tuple(kind for _key, _label, kind, _width in COLUMNS)
# Payment fields whose selection labels are exported instead of their values.
SELECTIONS = ("phee_payment_state", "phee_status", "state", "status")
CHUNK_QUERY = """
    SELECT p.name, partner.name, batch.name, batch.phee_correlation_id,
           batch.external_batch_ref, p.phee_transaction_id, p.phee_payment_state,
           p.phee_status, p.state, p.status, p.phee_failure_reason,
           p.phee_failure_code, p.amount_issued, p.amount_paid, currency.name,
           p.issuance_date, p.status_datetime, p.payment_datetime,
           currency.decimal_places
      FROM g2p_payment p
      LEFT JOIN g2p_entitlement entitlement ON entitlement.id = p.entitlement_id
      LEFT JOIN res_partner partner ON partner.id = entitlement.partner_id
      LEFT JOIN g2p_payment_batch batch ON batch.id = p.batch_id
      LEFT JOIN account_journal journal ON journal.id = p.journal_id
      LEFT JOIN res_company company ON company.id = p.company_id
      LEFT JOIN res_currency currency
             ON currency.id = COALESCE(journal.currency_id, company.currency_id)
     WHERE p.id = ANY(%s)
     ORDER BY p.id
"""


class PaymentExport:
    """The payments of ``cycle`` as the user of its environment may read them
    (AccessError unless they can read the cycle and payments). Registrant names
    are read as the payment's beneficiary shows them to that user."""

    def __init__(self, cycle):
        cycle.ensure_one()
        self.cycle = cycle
        self.env = cycle.env
        self.payments = self.env["g2p.payment"]
        self.payments.check_access_rights("read")
        cycle.check_access_rights("read")
        cycle.check_access_rule("read")
        self.count = 0

    def header(self):
        header = []
        for _key, label, _kind, _width in COLUMNS:
            header.append(str(label))
        return header

    def rows(self):
        """Yield ``(values, decimal places of its currency)`` per payment in id
        order, the values being labels, floats, datetimes or None."""
        labels = {
            name: dict(self.payments._fields[name]._description_selection(self.env))
            for name in SELECTIONS
        }
        positions = {key: i for i, (key, *_rest) in enumerate(COLUMNS)}
        for ids in self._chunks():
            self.env.cr.execute(SQL(CHUNK_QUERY, ids))
            for values in self.env.cr.fetchall():
                row = list(values[: len(COLUMNS)])
                for name in SELECTIONS:
                    at = positions[name]
                    row[at] = labels[name].get(row[at], row[at])
                self.count += 1
                yield row, values[len(COLUMNS)]

    def _chunks(self):
        """Yield the ids of the cycle's payments the user may read, in id order,
        ``CHUNK_SIZE`` at a time."""
        last_id = 0
        while True:
            ids = list(
                self.payments._search(
                    [("cycle_id", "=", self.cycle.id), ("id", ">", last_id)],
                    limit=CHUNK_SIZE,
                    order="id",
                )
            )
            if not ids:
                return
            yield ids
            last_id = ids[-1]

    def write_csv(self, binary_file):
        """Write the CSV (UTF-8 with a byte order mark, for spreadsheets)."""
        text = io.TextIOWrapper(binary_file, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow(self.header())
        for row, decimals in self.rows():
            writer.writerow(
                [
                    _csv_cell(value, kind, decimals)
                    for value, kind in zip(row, KINDS, strict=True)
                ]
            )
        text.flush()
        text.detach()

    def write_xlsx(self, binary_file):
        """Write the workbook, row by row (xlsxwriter's constant memory mode);
        past a sheet's row limit the payments go on to a new sheet."""
        book = xlsxwriter.Workbook(
            binary_file,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        styles = {
            "header": book.add_format({"bold": True}),
            "amount": book.add_format({"num_format": "#,##0.00"}),
            "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        }
        sheet, line = None, XLSX_MAX_ROWS
        for row, _decimals in self.rows():
            if line == XLSX_MAX_ROWS:
                sheet = self._xlsx_sheet(book, styles["header"])
                line = 1
            for column, (value, kind) in enumerate(zip(row, KINDS, strict=True)):
                _xlsx_cell(sheet, line, column, value, kind, styles)
            line += 1
        if sheet is None:
            self._xlsx_sheet(book, styles["header"])
        book.close()

    def _xlsx_sheet(self, book, header_style):
        number = len(book.worksheets()) + 1
        name = _("Payments")
        sheet = book.add_worksheet(f"{name} ({number})" if number > 1 else name)
        for column, (label, width) in enumerate(
            zip(self.header(), (c[3] for c in COLUMNS), strict=True)
        ):
            sheet.set_column(column, column, width)
            sheet.write_string(0, column, label, header_style)
        sheet.freeze_panes(1, 0)
        return sheet


def _csv_cell(value, kind, decimals):
    if value is None or value is False:
        return ""
    if kind == "amount":
        return f"{value:.{decimals if decimals is not None else 2}f}"
    if kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M:%S")
    value = str(value)
    return "'" + value if value.startswith(FORMULA_LEAD) else value


def _xlsx_cell(sheet, line, column, value, kind, styles):
    if value is None or value is False:
        return
    if kind == "amount":
        sheet.write_number(line, column, value, styles["amount"])
    elif kind == "datetime":
        sheet.write_datetime(line, column, value, styles["datetime"])
    else:
        sheet.write_string(line, column, str(value))
