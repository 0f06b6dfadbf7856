# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""What a stock PHEE does that a reference-built server would not."""

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import PheeCommon


@tagged("post_install", "-at_install")
class TestFilesPheeProcesses(PheeCommon):
    def test_households_sharing_a_phone_never_share_a_file(self):
        shared = {"phone": "27710555000"}
        self._entitlements(4, **shared)  # one phone, same amount: PHEE duplicates
        self._entitlements(2)
        self._prepare()
        batches = self._batches()
        self.assertEqual(sum(len(b.payment_ids) for b in batches), 6)
        self.cycle.send_payment()
        for received in self.server.batches:
            keys = [
                tuple(line.split(",")[5:9]) for line in received["csv"].splitlines()[1:]
            ]
            self.assertEqual(len(keys), len(set(keys)), received["csv"])
        self._sync_until_settled()
        reasons = set(self._payments().mapped("phee_failure_reason"))
        self.assertNotIn("Duplicate transaction.", reasons)
        self.assertEqual(set(self._payments().mapped("status")), {"paid"})

    def test_decimal_amounts_are_refused_while_phee_splits_batches(self):
        with self.assertRaisesRegex(ValidationError, "sub-batches"):
            self.manager.allow_decimal_amounts = True

    def test_manager_warns_when_the_mode_cannot_look_up_the_payee_type(self):
        self.assertFalse(self.manager.phee_payee_type_warning)
        self.manager.payee_id_type = "email"
        self.assertIn("MSISDN", self.manager.phee_payee_type_warning)
        self.manager.payment_mode = "closedloop"
        self.assertFalse(self.manager.phee_payee_type_warning)
