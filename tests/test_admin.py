# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo.tests import tagged
from odoo.tools import mute_logger

from .test_sync import SyncCommon

SYNC_LOGGER = "odoo.addons.g2p_payment_phee.models.phee_manager_sync"


@tagged("post_install", "-at_install")
class TestAdmin(SyncCommon):
    def test_test_connection_reports_success(self):
        action = self.manager.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("token", action["params"]["message"])

    def test_test_connection_reports_the_exact_error(self):
        self.manager.password = "wrong"
        action = self.manager.action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("401", action["params"]["message"])
        self.assertNotIn("wrong", action["params"]["message"])

    def test_settings_connection_test_and_defaults_for_new_managers(self):
        endpoints = self.server.endpoints()
        settings = self.env["res.config.settings"].create(
            {
                "phee_default_payment_endpoint_url": endpoints["payment_endpoint_url"],
                "phee_default_status_endpoint_url": endpoints["status_endpoint_url"],
                "phee_default_details_endpoint_url": endpoints["details_endpoint_url"],
                "phee_default_batches_endpoint_url": endpoints["batches_endpoint_url"],
                "phee_default_auth_endpoint_url": endpoints["auth_endpoint_url"],
                "phee_default_tenant_id": "gorilla",
                "phee_default_username": "mifos",
                "phee_default_password": "password",
                "phee_default_new_signing_key": self.private_key,
                "phee_status_sync_interval": 7,
            }
        )
        settings.execute()
        action = settings.action_phee_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        cron = self.env.ref("g2p_payment_phee.cron_phee_status_sync")
        self.assertEqual((cron.interval_number, cron.interval_type), (7, "minutes"))
        Manager = self.env["g2p.program.payment.manager.phee"]
        defaults = Manager.default_get(
            ["tenant_id", "password", "status_endpoint_url", "batch_type_header"]
        )
        self.assertEqual(defaults["tenant_id"], "gorilla")
        self.assertNotIn("password", defaults)
        self.assertEqual(
            defaults["status_endpoint_url"], endpoints["status_endpoint_url"]
        )
        self.assertEqual(defaults["batch_type_header"], "csv")
        created = Manager.create({"name": "New", "program_id": self.program.id})
        self.assertEqual(created.sudo().password, "password")
        self.assertEqual(created.action_test_connection()["params"]["type"], "success")

    def test_new_manager_defaults_are_what_phee_accepts(self):
        manager = self.env["g2p.program.payment.manager.phee"].new({})
        self.assertEqual(manager.batch_type_header, "csv")
        self.assertTrue(manager.tls_verify)
        self.assertTrue(manager.payment_endpoint_url.endswith("/batchtransactions"))
        self.assertTrue(manager.status_endpoint_url.endswith("/api/v1/batch"))
        self.assertTrue(manager.details_endpoint_url.endswith("/api/v1/batch/detail"))
        self.assertTrue(manager.batches_endpoint_url.endswith("/api/v1/batches"))
        self.assertTrue(manager.auth_endpoint_url.endswith("/oauth/token"))

    def test_tls_verification_settings_reach_the_client(self):
        self.assertIs(self.manager._phee_config().verify, True)
        self.manager.tls_ca_bundle = __file__
        self.assertEqual(self.manager._phee_config().verify, __file__)
        self.manager.tls_verify = False
        self.assertIs(self.manager._phee_config().verify, False)

    @mute_logger(SYNC_LOGGER)
    def test_malformed_answer_marks_one_batch_and_spares_the_others(self):
        self.manager.max_batch_size = 2
        self._send_mixed_cycle(paid=4, failing=0)
        first, second = self._batches()
        self.server.inject("summary", "malformed")
        self._run_cron(times=1)
        errors = (first | second).filtered("phee_last_error")
        self.assertEqual(len(errors), 1)
        self._run_cron(times=4)
        self.assertEqual(set((first | second).mapped("phee_state")), {"completed"})
        self.assertFalse((first | second).filtered("phee_last_error"))

    @mute_logger(SYNC_LOGGER)
    def test_wrong_credentials_are_shown_on_the_batch(self):
        self._send_mixed_cycle(paid=1, failing=0)
        self.manager.password = "wrong"
        self.manager.sudo().auth_token = False
        self._run_cron(times=1)
        batch = self._batches()
        self.assertIn("401", batch.phee_last_error)
        self.assertEqual(batch.phee_state, "submitted")

    def test_fractional_amount_refused_in_csv_unless_allowed(self):
        entitlement = self._entitlements(1, amount=100.0)
        self._prepare()
        batch = self._batches()
        self._force(entitlement.payment_ids, {"amount_issued": 100.25})
        self.cycle.send_payment()
        self.assertEqual(batch.phee_state, "error")
        self.assertIn("amount", batch.phee_last_error.lower())
        self.assertFalse(self.server.batches)

    def test_settings_security_defaults_reach_new_managers(self):
        settings = self.env["res.config.settings"].create(
            {
                "phee_default_tenant_id": "gorilla",
                "phee_default_new_signing_key": self.private_key,
                "phee_default_tls_verify": False,
                "phee_default_callback_enabled": True,
            }
        )
        settings.execute()
        Manager = self.env["g2p.program.payment.manager.phee"]
        defaults = Manager.default_get(
            ["signature_private_key", "tls_verify", "callback_enabled"]
        )
        self.assertNotIn("signature_private_key", defaults)
        self.assertIs(defaults["tls_verify"], False)
        self.assertIs(defaults["callback_enabled"], True)
        created = Manager.create({"name": "New", "program_id": self.program.id})
        self.assertEqual(
            created.sudo().signature_private_key.strip(), self.private_key.strip()
        )
        values = self.env["res.config.settings"].default_get(
            ["phee_default_tls_verify", "phee_default_callback_enabled"]
        )
        self.assertIs(values["phee_default_tls_verify"], False)
        self.assertIs(values["phee_default_callback_enabled"], True)
