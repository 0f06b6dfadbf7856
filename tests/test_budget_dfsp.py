# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..phee import csv_render
from .common import PheeCommon

BUDGET = {"123": {"SocialWelfare": ("ACCOUNT", "123456789")}}


@tagged("post_install", "-at_install")
class TestBudgetAccount(PheeCommon):
    """Budget-account mode: both headers on every submission, no payer sent."""

    server_options = {"budget_accounts": BUDGET}

    def _budget(self, **vals):
        self.manager.write(
            {
                "registering_institution_id": "123",
                "program_id_header": "SocialWelfare",
                "payer_id": False,
                **vals,
            }
        )

    def test_batches_carry_both_headers_and_phee_fills_in_the_payer(self):
        self._budget()
        self._entitlements(2)
        self._prepare()
        self.cycle.send_payment()
        received = self.server.batches[0]
        self.assertEqual(received["headers"]["x-registering-institution-id"], "123")
        self.assertEqual(received["headers"]["x-program-id"], "SocialWelfare")
        sent = self._batches()._phee_csv_text().split("\n")
        self.assertEqual(sent[0], csv_render.HEADER)
        self.assertEqual({line.split(",")[4] for line in sent[1:]}, {""})
        self.assertEqual(
            {r["payer_identifier"] for r in received["rows"]}, {"123456789"}
        )
        self._sync_until_settled()
        self.assertEqual(set(self._payments().mapped("status")), {"paid"})

    def test_without_budget_account_the_payer_is_still_required(self):
        self.manager.payer_id = False
        self._entitlements(1)
        with self.assertRaisesRegex(Exception, "payer identifier"):
            self._prepare()

    def test_half_a_budget_account_is_refused(self):
        with self.assertRaises(ValidationError):
            self.manager.write({"registering_institution_id": "123"})
        with self.assertRaises(ValidationError):
            self.manager.write({"program_id_header": "Social Welfare"})

    def test_account_lookup_needs_the_institution(self):
        with self.assertRaises(ValidationError):
            self.manager.phee_account_lookup = True
        self._budget(phee_account_lookup=True, payment_mode="mojaloop")
        self.assertFalse(self.manager.phee_payee_type_warning)

    def test_recovery_searches_the_institutions_batches(self):
        self.assertIsNone(self.manager._phee_institution_id())
        self._budget()
        self.assertEqual(self.manager._phee_institution_id(), "123")


@tagged("post_install", "-at_install")
class TestAccountLookup(PheeCommon):
    """A tenant on PHEE's account-lookup workflow fails unknown functional ids."""

    server_options = {
        "budget_accounts": BUDGET,
        "lookup_tenants": ("gorilla",),
        "mapper_payees": {"123": {"NID-1": ("ACC-1", "dfsp-a")}},
    }

    def test_unknown_functional_id_fails_with_phees_reason(self):
        self.manager.write(
            {
                "registering_institution_id": "123",
                "program_id_header": "SocialWelfare",
                "phee_account_lookup": True,
                "payee_id_type": "reg_id",
                "reg_id_type_for_payee_id": self.id_type.id,
            }
        )
        for index in (1, 2):
            partner = self._registrant(f"Person {index}", reg_id=f"NID-{index}")
            self._entitlement(partner)
        self._prepare()
        self.cycle.send_payment()
        self._sync_until_settled()
        payments = self._payments().sorted("account_number")
        self.assertEqual(payments.mapped("status"), ["paid", "failed"])
        self.assertEqual(payments[1].phee_failure_reason, "Payee Identifier not found")
        self.assertEqual(payments[1].phee_failure_code, "404")


@tagged("post_install", "-at_install")
class TestPayeeDfsp(PheeCommon):
    """The payee DFSP: one for all, or per registrant, in the 14-column layout."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dfsp_type = cls.env["g2p.id.type"].create({"name": "PHEE Test DFSP"})

    def _sent_lines(self):
        text = self._batches()[:1]._phee_csv_text()
        return [line.split(",") for line in text.split("\n")]

    def test_fixed_dfsp_in_every_row(self):
        self.manager.write(
            {"payee_dfsp_source": "fixed", "payee_dfsp_fixed_id": "dfsp-a"}
        )
        self._entitlements(2)
        self._prepare()
        self.cycle.send_payment()
        header, *rows = self._sent_lines()
        self.assertEqual(",".join(header), csv_render.DFSP_HEADER)
        self.assertEqual({(len(r), r[12]) for r in rows}, {(14, "dfsp-a")})
        self.assertEqual(set(self._payments().mapped("phee_payee_dfsp_id")), {"dfsp-a"})
        self.assertEqual(
            {r["payee_dfsp_id"] for r in self.server.batches[0]["rows"]}, {"dfsp-a"}
        )

    def test_registrant_without_dfsp_is_held_back_by_name(self):
        self.manager.write(
            {"payee_dfsp_source": "reg_id", "payee_dfsp_id_type": self.dfsp_type.id}
        )
        with_dfsp = self._registrant("Has DFSP", phone="27710000001")
        self.env["g2p.reg.id"].create(
            {
                "partner_id": with_dfsp.id,
                "id_type": self.dfsp_type.id,
                "value": "bank-b",
            }
        )
        self._entitlement(with_dfsp)
        self._entitlement(self._registrant("No DFSP", phone="27710000002"))
        self._prepare()
        held = self._payments().filtered(lambda p: p.phee_payment_state == "held_back")
        self.assertEqual(len(held), 1)
        self.assertIn("No DFSP", held.phee_failure_reason)
        self.cycle.send_payment()
        rows = self._sent_lines()[1:]
        self.assertEqual([r[12] for r in rows], ["bank-b"])

    def test_bank_bic_of_the_payees_account(self):
        self.manager.write({"payee_dfsp_source": "bank_bic"})
        bank = self.env["res.bank"].create(
            {"name": "PHEE Test Bank", "bic": "TESTBIC1"}
        )
        partner = self._registrant("Banked", phone="27710000003", account="ACC9")
        partner.bank_ids.bank_id = bank
        self._entitlement(partner)
        self._prepare()
        self.assertEqual(self._payments().phee_payee_dfsp_id, "TESTBIC1")

    def test_payments_prepared_without_dfsp_are_not_sent(self):
        self._entitlements(1)
        self._prepare()
        self.manager.write(
            {"payee_dfsp_source": "fixed", "payee_dfsp_fixed_id": "dfsp-a"}
        )
        self.cycle.send_payment()
        batch = self._batches()
        self.assertEqual(batch.phee_state, "error")
        self.assertIn("Beneficiary 0", batch.phee_last_error)
        self.assertFalse(self.server.batches)

    def test_fixed_dfsp_needs_a_value(self):
        with self.assertRaises(ValidationError):
            self.manager.payee_dfsp_source = "fixed"
        with self.assertRaises(ValidationError):
            self.manager.payee_dfsp_source = "reg_id"

    def test_without_dfsp_the_ten_columns_stay(self):
        self._entitlements(1)
        self._prepare()
        self.cycle.send_payment()
        self.assertEqual(len(self._sent_lines()[0]), 10)
