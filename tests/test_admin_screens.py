# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from ..phee.signer import public_key_fingerprint
from .common import PheeCommon, officer

SETTINGS = "res.config.settings"
NO_KEY = "without a key every batch is rejected"


def _bare_base64(pem):
    """A PEM key as PHEE ships tenant keys: the Base64 body on one line."""
    return "".join(line for line in pem.splitlines() if "-----" not in line)


@tagged("post_install", "-at_install")
class TestAdminScreens(PheeCommon):
    """Signing key, transport warnings and Settings as an administrator sees them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = officer(
            cls.env,
            "phee_screens_admin",
            "base.group_system",
            "g2p_registry_base.group_g2p_admin",
        )
        cls.program_manager = officer(
            cls.env, "phee_screens_pm", "g2p_programs.g2p_program_manager"
        )
        cls.fingerprint = public_key_fingerprint(cls.public_key)

    def setUp(self):
        super().setUp()
        self.manager.signature_private_key = False

    def _as(self, user, record=None):
        self.env.invalidate_all()
        return (record or self.manager).with_user(user)

    # Signing key ----------------------------------------------------------

    def test_a_new_key_is_write_only_and_shown_by_its_fingerprint(self):
        manager = self._as(self.admin)
        self.assertFalse(manager.phee_signs)
        manager.phee_new_signing_key = self.private_key
        self.assertEqual(self.manager.sudo().signature_private_key, self.private_key)
        manager = self._as(self.admin)
        self.assertFalse(
            manager.read(["phee_new_signing_key"])[0]["phee_new_signing_key"]
        )
        self.assertTrue(manager.phee_signs)
        self.assertEqual(manager.phee_signing_fingerprint, self.fingerprint)
        # Everyone sees that batches are signed, and by which key.
        manager = self._as(self.program_manager)
        self.assertTrue(manager.phee_signs)
        self.assertEqual(manager.phee_signing_fingerprint, self.fingerprint)

    def test_phee_bare_base64_key_is_accepted(self):
        self._as(self.admin).phee_new_signing_key = _bare_base64(self.private_key)
        self.assertEqual(self.manager.phee_signing_fingerprint, self.fingerprint)
        self.assertTrue(self.manager._phee_config().signature_private_key)

    def test_an_unreadable_key_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "Signing key"):
            self._as(self.admin).phee_new_signing_key = "-----BEGIN PRIVATE KEY-----x"

    def test_only_an_administrator_sets_or_removes_the_key(self):
        manager = self._as(self.program_manager)
        with self.assertRaises(AccessError):
            manager.write({"phee_new_signing_key": self.private_key})
        self.manager.signature_private_key = self.private_key
        with self.assertRaises(AccessError):
            self._as(self.program_manager).action_phee_remove_signing_key()
        self._as(self.admin).action_phee_remove_signing_key()
        self.assertFalse(self.manager.phee_signs)

    def test_connection_test_warns_when_batches_would_not_be_signed(self):
        action = self.manager.action_test_connection()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("Connected", action["params"]["message"])
        self.assertIn(NO_KEY, action["params"]["message"])
        self.manager.signature_private_key = self.private_key
        action = self.manager.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertNotIn(NO_KEY, action["params"]["message"])

    # Transport warnings ---------------------------------------------------

    def test_credentials_over_plain_http_are_flagged(self):
        self.manager.auth_endpoint_url = "http://ops.example/oauth/token"
        self.assertTrue(self.manager.phee_credentials_over_http)
        self.manager.password = False
        self.assertFalse(self.manager.phee_credentials_over_http)
        self.manager.write(
            {"auth_endpoint_url": "https://ops.example/oauth/token", "password": "x"}
        )
        self.assertFalse(self.manager.phee_credentials_over_http)

    def test_tls_verification_with_no_https_endpoint_is_flagged(self):
        # The test server is plain http on every endpoint.
        self.assertTrue(self.manager.phee_tls_unused)
        self.manager.tls_verify = False
        self.assertFalse(self.manager.phee_tls_unused)
        self.manager.write(
            {
                "tls_verify": True,
                "payment_endpoint_url": "https://bulk.example/batchtransactions",
            }
        )
        self.assertFalse(self.manager.phee_tls_unused)

    # Settings -------------------------------------------------------------

    def test_settings_default_key_is_write_only(self):
        Settings = self.env[SETTINGS].with_user(self.admin)
        settings = Settings.create({"phee_default_new_signing_key": self.private_key})
        self.assertEqual(settings.phee_default_signing_fingerprint, self.fingerprint)
        settings.execute()
        page = Settings.create({})
        self.assertFalse(page.phee_default_new_signing_key)
        self.assertTrue(page.phee_default_signs)
        self.assertEqual(page.phee_default_signing_fingerprint, self.fingerprint)
        created = self.env["g2p.program.payment.manager.phee"].create(
            {"name": "Signed", "program_id": self.program.id}
        )
        self.assertEqual(created.phee_signing_fingerprint, self.fingerprint)
        page.action_phee_remove_default_signing_key()
        self.assertFalse(Settings.create({}).phee_default_signs)

    def test_settings_connection_test_warns_and_flags_transport(self):
        endpoints = self.server.endpoints()
        settings = (
            self.env[SETTINGS]
            .with_user(self.admin)
            .create(
                dict(
                    {f"phee_default_{k}": v for k, v in endpoints.items()},
                    phee_default_tenant_id="gorilla",
                    phee_default_username="mifos",
                    phee_default_password="password",
                )
            )
        )
        self.assertTrue(settings.phee_default_credentials_over_http)
        self.assertTrue(settings.phee_default_tls_unused)
        action = settings.action_phee_test_connection()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn(NO_KEY, action["params"]["message"])
        settings.phee_default_new_signing_key = self.private_key
        action = settings.action_phee_test_connection()
        self.assertEqual(action["params"]["type"], "success")

    def test_settings_page_says_it_holds_defaults_and_tests_them(self):
        arch = (
            self.env[SETTINGS]
            .with_user(self.admin)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertIn("Each new manager starts with these values", arch)
        self.assertIn("Test Connection (these defaults)", arch)
