# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Download every payment of a cycle as CSV or XLSX (models/payment_export.py).

The file is written to a temporary file on disk, chunk by chunk, then streamed
from it: a cycle's size never decides how much memory a download takes.
"""

import logging
import re
import tempfile

from werkzeug.exceptions import NotFound
from werkzeug.wsgi import wrap_file

from odoo import _, http
from odoo.http import content_disposition, request

from ..models.payment_export import PaymentExport

_logger = logging.getLogger(__name__)

MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class PheePaymentExport(http.Controller):
    @http.route(
        "/g2p_payment_phee/cycle/<int:cycle_id>/payments/<any(csv,xlsx):file_format>",
        type="http",
        auth="user",
        methods=["GET"],
    )
    def export_cycle_payments(self, cycle_id, file_format):
        """Every payment of the cycle; only for users who can read the cycle and
        its payments (403 otherwise)."""
        cycle = request.env["g2p.cycle"].browse(cycle_id).exists()
        if not cycle:
            raise NotFound()
        export = PaymentExport(cycle)
        output = tempfile.TemporaryFile()
        if file_format == "csv":
            export.write_csv(output)
        else:
            export.write_xlsx(output)
        size = output.tell()
        output.seek(0)
        self._log_export(cycle, export.count, file_format)
        program, name = _slug(cycle.program_id.name), _slug(cycle.name)
        filename = f"payments-{program}-{name}.{file_format}"
        return request.make_response(
            wrap_file(request.httprequest.environ, output),
            headers=[
                ("Content-Type", MIMETYPES[file_format]),
                ("Content-Length", str(size)),
                ("Content-Disposition", content_disposition(filename)),
                ("Cache-Control", "no-store"),
            ],
        )

    @staticmethod
    def _log_export(cycle, count, file_format):
        """Beneficiary data left the system: the cycle's chatter says who took
        it and when."""
        user = request.env.user
        cycle.sudo().message_post(
            body=_(
                "%(user)s exported the cycle's %(count)s payments (%(format)s).",
                user=user.name,
                count=count,
                format=file_format.upper(),
            ),
            author_id=user.partner_id.id,
            subtype_xmlid="mail.mt_note",
        )
        _logger.info(
            "Cycle %s: %s payments exported as %s by user %s",
            cycle.id,
            count,
            file_format,
            user.id,
        )


def _slug(text):
    return re.sub(r"[^\w-]+", "-", text or "").strip("-") or "cycle"
