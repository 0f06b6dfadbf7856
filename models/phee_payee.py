# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Resolve the payee identifier of many registrants at once (one query per kind)."""

import logging
import re

from odoo.tools import SQL

from .phee_bulk import array_literal

_logger = logging.getLogger(__name__)

_NON_DIGITS = re.compile(r"[^0-9]")


class PayeeResolver:
    """Payee identifiers of registrants, per the manager's `payee_id_type`."""

    def __init__(self, manager):
        self.manager = manager
        self.env = manager.env

    def resolve(self, partner_ids):
        """Return {partner_id: identifier} for partners that have one."""
        if not partner_ids:
            return {}
        self.env["res.partner"].check_access_rights("read")
        kind = self.manager.payee_id_type
        return getattr(self, f"_resolve_{kind}")(list(partner_ids))

    @staticmethod
    def _ids(partner_ids):
        """The ids as one array parameter (parsed faster than a list)."""
        return SQL("%s::int4[]", array_literal(partner_ids))

    def _query(self, sql, params):
        """{partner id: value} of a query returning (partner id, value) rows."""
        self.env.cr.execute(
            SQL(
                "SELECT array_agg(q.pid), array_agg(q.value) "
                "FROM (%s) AS q(pid, value)",
                SQL(sql, *params),
            )
        )
        partner_ids, values = self.env.cr.fetchone()
        return dict(zip(partner_ids or [], values or [], strict=True))

    @staticmethod
    def _clean(values):
        """The values as stripped text, without the empty ones."""
        texts = {pid: str(value).strip() for pid, value in values.items() if value}
        return {pid: text for pid, text in texts.items() if text}

    def _resolve_phone(self, partner_ids):
        phones = self._query(
            "SELECT id, phone FROM res_partner WHERE id = ANY(%s)",
            [self._ids(partner_ids)],
        )
        # `phone` may hold several comma-separated numbers; PHEE takes digits
        # only (most phones are stored so: they are kept as they are).
        return self._clean(
            {
                pid: phone
                if phone.isascii() and phone.isdigit()
                else _NON_DIGITS.sub("", phone.split(",", 1)[0])
                for pid, phone in phones.items()
                if phone
            }
        )

    def _resolve_email(self, partner_ids):
        return self._clean(
            self._query(
                "SELECT id, email FROM res_partner WHERE id = ANY(%s)",
                [self._ids(partner_ids)],
            )
        )

    def _resolve_bank_acc_no(self, partner_ids):
        return self._clean(
            self._query(
                """SELECT DISTINCT ON (partner_id) partner_id, acc_number
                     FROM res_partner_bank
                    WHERE partner_id = ANY(%s) AND active
                    ORDER BY partner_id, allow_out_payment DESC, sequence, id""",
                [self._ids(partner_ids)],
            )
        )

    def _resolve_bank_acc_iban(self, partner_ids):
        # `iban` is computed (not stored) by g2p_bank, so it needs the ORM. It is
        # computed account by account on prefetched data: a batch compute would
        # fail for every account of the batch when one account is invalid.
        banks = self.env["res.partner.bank"].search(
            [("partner_id", "in", partner_ids)],
            order="partner_id, allow_out_payment desc, sequence, id",
        )
        banks.mapped("bank_id.country.code")
        result = {}
        for bank in banks:
            if bank.partner_id.id in result:
                continue
            try:
                iban = bank.with_prefetch().iban
            except Exception:  # schwifty rejects invalid bank data
                _logger.info("IBAN of bank account %s could not be computed", bank.id)
                iban = False
            if iban:
                result[bank.partner_id.id] = str(iban).replace(" ", "")
        return result

    def _resolve_reg_id(self, partner_ids):
        id_type = self.manager.reg_id_type_for_payee_id
        return self._clean(
            self._query(
                """SELECT DISTINCT ON (partner_id) partner_id, value
                     FROM g2p_reg_id
                    WHERE partner_id = ANY(%s) AND id_type = %s
                      AND status IS DISTINCT FROM 'invalid'
                    ORDER BY partner_id, id""",
                [self._ids(partner_ids), id_type.id],
            )
        )
