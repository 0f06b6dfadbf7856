# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Resolve the payee identifier of many registrants at once (one query per kind)."""

import logging

import pandas as pd

_logger = logging.getLogger(__name__)


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

    def _query(self, sql, params):
        self.env.cr.execute(sql, params)
        rows = self.env.cr.fetchall()
        return pd.Series(
            [r[1] for r in rows], index=[r[0] for r in rows], dtype="object"
        )

    @staticmethod
    def _clean(series):
        values = series.dropna().astype(str).str.strip()
        return values[values != ""].to_dict()

    def _resolve_phone(self, partner_ids):
        phones = self._query(
            "SELECT id, phone FROM res_partner WHERE id = ANY(%s)", [partner_ids]
        )
        # `phone` may hold several comma-separated numbers; PHEE takes digits only.
        first = phones.dropna().astype(str).str.split(",").str[0]
        return self._clean(first.str.replace(r"[^0-9]", "", regex=True))

    def _resolve_email(self, partner_ids):
        return self._clean(
            self._query(
                "SELECT id, email FROM res_partner WHERE id = ANY(%s)", [partner_ids]
            )
        )

    def _resolve_bank_acc_no(self, partner_ids):
        return self._clean(
            self._query(
                """SELECT DISTINCT ON (partner_id) partner_id, acc_number
                     FROM res_partner_bank
                    WHERE partner_id = ANY(%s) AND active
                    ORDER BY partner_id, allow_out_payment DESC, sequence, id""",
                [partner_ids],
            )
        )

    def _resolve_bank_acc_iban(self, partner_ids):
        # `iban` is computed (not stored) by g2p_bank, so it needs the ORM.
        banks = self.env["res.partner.bank"].search(
            [("partner_id", "in", partner_ids)],
            order="partner_id, allow_out_payment desc, sequence, id",
        )
        result = {}
        for bank in banks:
            if bank.partner_id.id in result:
                continue
            try:
                iban = bank.iban
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
                [partner_ids, id_type.id],
            )
        )
