# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
import logging

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import PheeCommon, officer

SECRET_FIELDS = ("password", "authorization", "auth_token", "signature_private_key")


@tagged("post_install", "-at_install")
class TestSecurity(PheeCommon):
    def test_validator_and_program_manager_cannot_read_credentials(self):
        for login, group in (
            ("phee_validator", "g2p_programs.g2p_program_validator"),
            ("phee_program_manager", "g2p_programs.g2p_program_manager"),
        ):
            user = officer(self.env, login, group)
            manager = self.manager.with_user(user)
            with self.subTest(group=group):
                self.assertTrue(manager.read(["name", "tenant_id"]))
                for fname in SECRET_FIELDS:
                    with self.assertRaises(AccessError):
                        manager.read([fname])
                view = manager.get_view(view_type="form")["arch"]
                self.assertNotIn('name="password"', view)
                self.assertNotIn('name="signature_private_key"', view)

    def test_admin_can_read_credentials(self):
        admin = officer(self.env, "phee_admin", "g2p_registry_base.group_g2p_admin")
        values = self.manager.with_user(admin).read(["password"])[0]
        self.assertEqual(values["password"], "password")

    def test_program_manager_can_send_without_seeing_credentials(self):
        user = officer(self.env, "phee_officer", "g2p_programs.g2p_program_manager")
        self._entitlements(2)
        self.cycle.with_user(user).prepare_payment()
        self.cycle.with_user(user).send_payment()
        self.assertEqual(self._batches().phee_state, "submitted")

    def test_csv_attachment_is_readable_by_another_officer(self):
        self.manager.make_csv_at_prepare = True
        self._entitlements(1)
        self._prepare()
        other = officer(self.env, "phee_other", "g2p_programs.g2p_program_manager")
        attachment = self._batches().phee_csv_attachment_id.with_user(other)
        self.assertTrue(attachment.datas)

    def test_no_secret_or_identifier_in_logs_during_a_full_flow(self):
        self.manager.signature_private_key = self.private_key
        self._restart_server(require_auth=True)
        entitlements = self._entitlements(3)
        # Everything the addon, its PHEE client and the HTTP stack log.
        with self.assertLogs("odoo.addons.g2p_payment_phee", logging.DEBUG) as logs:
            with self.assertLogs("urllib3", logging.DEBUG) as http_logs:
                self._prepare()
                self.cycle.send_payment()
                for _ in range(4):
                    self.env["g2p.payment.batch"]._cron_phee_status_sync()
        text = "\n".join(logs.output + http_logs.output)
        self.assertIn("/oauth/token", text)
        secrets = [
            "password=password",
            self.manager.sudo().auth_token,
            "PRIVATE KEY",
            "Y2xpZW50Og",
        ] + entitlements.partner_id.mapped("phone")
        for secret in filter(None, secrets):
            self.assertNotIn(secret, text)
        self.assertEqual(set(entitlements.payment_ids.mapped("status")), {"paid"})

    def test_endpoints_must_be_http_urls(self):
        from odoo.exceptions import ValidationError

        with self.assertRaisesRegex(ValidationError, "http"):
            self.manager.status_endpoint_url = "ftp://ops/api/v1/batch"

    def test_invalid_signing_key_is_refused(self):
        from odoo.exceptions import ValidationError

        with self.assertRaisesRegex(ValidationError, "Signing key"):
            self.manager.signature_private_key = "-----BEGIN PRIVATE KEY-----\nnope"
