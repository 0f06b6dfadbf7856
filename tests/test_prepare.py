# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
import base64

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import PheeCommon

CSV_HEADER = (
    "id,request_id,payment_mode,payer_identifier_type,payer_identifier,"
    "payee_identifier_type,payee_identifier,amount,currency,note"
)


@tagged("post_install", "-at_install")
class TestPrepare(PheeCommon):
    def test_manager_is_offered_in_the_selection(self):
        selection = self.env["g2p.program.payment.manager"]._selection_manager_ref_id()
        self.assertIn(("g2p.program.payment.manager.phee", "Payment Hub EE"), selection)

    def test_prepare_creates_linked_payments_in_bounded_batches(self):
        entitlements = self._entitlements(7)
        action = self._prepare()
        self.assertEqual(action["params"]["type"], "success")
        payments = entitlements.payment_ids
        self.assertEqual(len(payments), 7)
        self.assertEqual(len(set(payments.mapped("name"))), 7)
        batches = self._batches()
        self.assertEqual([len(b.payment_ids) for b in batches], [3, 3, 1])
        self.assertEqual(len(set(batches.mapped("name"))), 3)
        for batch in batches:
            self.assertEqual(batch.phee_state, "draft")
            for payment in batch.payment_ids:
                self.assertEqual(payment.batch_id, batch)
        self.assertEqual(set(payments.mapped("state")), {"issued"})
        self.assertEqual(set(payments.mapped("phee_payee_id_type")), {"msisdn"})
        self.assertEqual(sum(batches.mapped("stats_issued_amount")), 3500.0)

    def test_prepare_twice_issues_nothing_new_and_never_distributes(self):
        self._entitlements(2)
        self._prepare()
        action = self._prepare()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertEqual(len(self.cycle.payment_batch_ids), 1)
        self.assertEqual(self.cycle.state, "approved")

    def test_registrant_without_identifier_is_held_back_and_reported(self):
        good = self._entitlements(2)
        nobody = self._registrant("No Phone Person")
        held = self._entitlement(nobody)
        action = self._prepare()
        payment = held.payment_ids
        self.assertEqual(payment.status, "failed")
        self.assertFalse(payment.batch_id)
        self.assertIn("phone", payment.phee_failure_reason.lower())
        self.assertIn("No Phone Person", action["params"]["message"])
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("No Phone Person", self.cycle.message_ids[0].body)
        self.assertEqual(len(good.payment_ids.batch_id), 1)
        self.assertEqual(len(self._batches().payment_ids), 2)

    def test_bad_amounts_are_held_back_with_a_reason(self):
        self._entitlements(1)
        zero = self._entitlement(self._registrant("Zero", phone="27710009991"), 0.0)
        frac = self._entitlement(self._registrant("Frac", phone="27710009992"), 10.5)
        self._prepare()
        for entitlement in zero | frac:
            self.assertEqual(entitlement.payment_ids.status, "failed")
            self.assertTrue(entitlement.payment_ids.phee_failure_reason)
            self.assertFalse(entitlement.payment_ids.batch_id)
        self.assertEqual(len(self._batches().payment_ids), 1)

    def test_decimal_amounts_pass_when_the_admin_allows_them(self):
        self.manager.write(
            {"allow_decimal_amounts": True, "phee_splits_batches": False}
        )
        self.manager.make_csv_at_prepare = True
        self._entitlement(self._registrant("Frac", phone="27710009992"), 10.5)
        self._prepare()
        csv_text = self._batches()._phee_csv_text()
        self.assertIn(",10.5,USD,", csv_text)

    def test_program_without_currency_is_refused(self):
        self._entitlements(1)
        self.program.journal_id.currency_id = False
        with self.assertRaisesRegex(UserError, "currency"):
            self._prepare()
        self.assertFalse(
            self.env["g2p.payment"].search([("cycle_id", "=", self.cycle.id)])
        )

    def test_csv_attachment_is_linked_to_the_batch(self):
        self.manager.make_csv_at_prepare = True
        entitlements = self._entitlements(2)
        self._prepare()
        batch = self._batches()
        attachment = batch.phee_csv_attachment_id
        self.assertEqual(
            (attachment.res_model, attachment.res_id), (batch._name, batch.id)
        )
        lines = base64.b64decode(attachment.datas).decode().split("\n")
        self.assertEqual(lines[0], CSV_HEADER)
        self.assertEqual(len(lines), 3)
        first = entitlements[0].payment_ids
        self.assertEqual(
            lines[1],
            f"0,{first.name},mojaloop,msisdn,27710101999,msisdn,"
            f"{first.account_number},500,USD,PHEE Test Program Cycle 1",
        )

    def test_payee_identifier_per_payee_type(self):
        partner = self._registrant(
            "All Ids",
            phone="+27 71 000 0001, 27710000002",
            email="all@example.org",
            account="ACC-0001",
            reg_id="NID-42",
        )
        expected = {
            "phone": ("msisdn", "27710000001"),
            "email": ("email", "all@example.org"),
            "bank_acc_no": ("accountNumber", "ACC-0001"),
            "reg_id": ("accountNumber", "NID-42"),
        }
        self.manager.reg_id_type_for_payee_id = self.id_type
        for payee_type, (id_type, identifier) in expected.items():
            with self.subTest(payee_type=payee_type):
                self.manager.payee_id_type = payee_type
                entitlement = self._entitlement(partner)
                self.manager._phee_prepare(self.cycle, entitlement.ids)
                payment = entitlement.payment_ids
                self.assertEqual(payment.account_number, identifier)
                self.assertEqual(payment.phee_payee_id_type, id_type)

    def test_payee_id_type_to_send_overrides_the_default(self):
        self.manager.payee_id_type_to_send = "MSISDN"
        entitlement = self._entitlements(1)
        self._prepare()
        self.assertEqual(entitlement.payment_ids.phee_payee_id_type, "MSISDN")

    def test_entitlement_with_failed_payment_is_issued_again(self):
        entitlement = self._entitlements(1)
        self._prepare()
        first = entitlement.payment_ids
        first._phee_set_state("failed")
        self._prepare()
        self.assertEqual(len(entitlement.payment_ids), 2)
        self.assertNotEqual((entitlement.payment_ids - first).name, first.name)

    def test_batches_respect_tag_sizes(self):
        tag = self.env["g2p.payment.batch.tag"].create(
            {"name": "All", "order": 1, "domain": "[]", "max_batch_size": 2}
        )
        self.manager.batch_tag_ids = [(6, 0, tag.ids)]
        self._entitlements(5)
        self._prepare()
        batches = self._batches()
        self.assertEqual([len(b.payment_ids) for b in batches], [2, 2, 1])
        self.assertEqual(batches.tag_id, tag)

    def test_prepare_requires_an_approved_cycle(self):
        self._entitlements(1)
        self.cycle.state = "draft"
        with self.assertRaises(UserError):
            self._prepare()
