# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Browser tests: the officer's and the administrator's day, as Odoo tours.

The tours (static/tests/tours/) run in headless Chromium against the test
server; the PHEE-compatible server of `PheeCommon` answers on 127.0.0.1.
"""

from unittest.mock import patch

from odoo.tests import HttpCase, tagged

from .common import PheeCommon, officer


@tagged("post_install", "-at_install")
class TestUiTours(PheeCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program_manager = officer(
            cls.env, "phee_tour_officer", "g2p_programs.g2p_program_manager"
        )
        cls.validator = officer(
            cls.env, "phee_tour_validator", "g2p_programs.g2p_program_validator"
        )
        cls.admin = officer(
            cls.env,
            "phee_tour_admin",
            "base.group_system",
            "g2p_registry_base.group_g2p_admin",
        )

    @staticmethod
    def _form_url(record):
        return f"/web#model={record._name}&id={record.id}&view_type=form"

    def _mixed_cycle(self):
        """3 payable registrants, 1 unknown to PHEE and 1 without a phone."""
        for index in range(3):
            self._entitlement(
                self._registrant(f"Beneficiary {index}", phone=f"2771000000{index}")
            )
        self._entitlement(self._registrant("Unknown Payee", phone="27719000999"))
        self._entitlement(self._registrant("No Phone Beneficiary"))

    def test_officer_prepares_sends_checks_and_retries(self):
        self._mixed_cycle()
        self.start_tour(
            self._form_url(self.cycle),
            "g2p_payment_phee_officer_tour",
            login=self.program_manager.login,
        )
        self.assertEqual(
            self._batches().mapped("phee_state"), ["completed", "completed_failures"]
        )
        self.assertEqual(
            (self.cycle.phee_retry_count, self.cycle.phee_retry_unchanged_count), (0, 1)
        )
        self.env["res.partner"].search(
            [("name", "=", "No Phone Beneficiary")]
        ).phone = "27710000009"
        self.start_tour(
            self._form_url(self.cycle),
            "g2p_payment_phee_officer_retry_tour",
            login=self.program_manager.login,
        )
        batches = self._batches()
        self.assertEqual(
            batches.mapped("phee_state"), ["completed", "completed_failures", "draft"]
        )
        self.assertEqual(len(self.server.batches), 2)
        self._assert_phee_holds_each_batch_once()
        self.assertEqual(self.cycle.phee_paid_count, 3)
        self.assertEqual(self.cycle.phee_paid_amount, 1500.0)

    def test_officer_sees_progress_while_jobs_send_the_batches(self):
        self._entitlements(4)
        self._prepare()
        manager_class = type(self.manager)
        with patch.object(manager_class, "MAX_BATCHES_FOR_SYNC_SEND", 1):
            self.start_tour(
                self._form_url(self.cycle),
                "g2p_payment_phee_officer_async_tour",
                login=self.program_manager.login,
            )
        self.assertTrue(self.cycle.locked)
        jobs = self.env["queue.job"].search(
            [("identity_key", "=like", "g2p_payment_phee.send.%")]
        )
        self.assertEqual(
            sorted(jobs.mapped("identity_key")),
            sorted(f"g2p_payment_phee.send.{b.id}" for b in self._batches()),
        )
        self.assertFalse(self.server.batches)

    def test_admin_tests_the_connection_of_a_manager(self):
        self.start_tour(
            self._form_url(self.manager),
            "g2p_payment_phee_admin_manager_tour",
            login=self.admin.login,
        )
        self.assertTrue(self.manager.callback_enabled)
        self.assertEqual(self.manager.sudo().password, "not-the-password")

    def test_admin_tests_the_connection_from_settings(self):
        store = self.env["g2p.phee.settings"]
        store._phee_save(
            dict(
                self.server.endpoints(),
                tenant_id="gorilla",
                username="mifos",
                password="password",
                signature_private_key=self.private_key,
            )
        )
        self.start_tour(
            "/web#action=g2p_payment_phee.action_g2p_payment_manager_phee_configuration",
            "g2p_payment_phee_admin_settings_tour",
            login=self.admin.login,
        )
        # Testing a connection saves nothing.
        self.assertEqual(store._phee_current().password, "password")

    def test_validator_and_program_manager_see_no_credentials(self):
        for user in (self.validator, self.program_manager):
            with self.subTest(login=user.login):
                self.start_tour(
                    self._form_url(self.manager),
                    "g2p_payment_phee_no_secrets_tour",
                    login=user.login,
                )
