# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import PheeCommon, officer
from .common import run_migration as run_script

LEGACY_PREFIX = "g2p_payment_phee.default_"
STORE = "g2p.phee.settings"


def run_migration(cr):
    run_script(cr, "17.0.1.1.0", "post-migration.py", "17.0.1.0.0")


@tagged("post_install", "-at_install")
class TestSettingsStore(PheeCommon):
    """Settings defaults live where only administrators can read them."""

    def _save_settings(self):
        self.env["res.config.settings"].create(
            {
                "phee_default_tenant_id": "store-tenant",
                "phee_default_username": "store-user",
                "phee_default_password": "store-password",
                "phee_default_authorization": "Basic c3RvcmU=",
                "phee_default_new_signing_key": self.private_key,
                "phee_default_tls_verify": False,
                "phee_default_callback_enabled": True,
            }
        ).execute()

    def test_no_default_is_kept_in_system_parameters(self):
        self._save_settings()
        params = self.env["ir.config_parameter"].sudo().search([])
        text = "\n".join(f"{p.key}={p.value}" for p in params)
        for value in ("store-user", "store-password", "c3RvcmU=", "store-tenant"):
            self.assertNotIn(value, text)
        self.assertNotIn("PRIVATE KEY", text)
        store = self.env[STORE]._phee_current()
        self.assertEqual(store.password, "store-password")
        self.assertIs(store.tls_verify, False)

    def test_only_administrators_read_or_write_the_defaults(self):
        self._save_settings()
        for login, groups in (
            ("phee_store_pm", ("g2p_programs.g2p_program_manager",)),
            ("phee_store_validator", ("g2p_programs.g2p_program_validator",)),
            ("phee_store_user", ()),
        ):
            user = officer(self.env, login, *groups)
            self.env.invalidate_all()
            with self.subTest(user=login), self.assertRaises(AccessError):
                self.env[STORE].with_user(user).search_read([], ["tenant_id"])
        admin = officer(
            self.env, "phee_store_admin", "g2p_registry_base.group_g2p_admin"
        )
        self.env.invalidate_all()
        rows = self.env[STORE].with_user(admin).search_read([], ["password"])
        self.assertEqual(rows[0]["password"], "store-password")

    def test_settings_page_shows_the_saved_defaults(self):
        self._save_settings()
        page = self.env["res.config.settings"].create({})
        self.assertEqual(page.phee_default_tenant_id, "store-tenant")
        self.assertEqual(page.phee_default_password, "store-password")
        self.assertIs(page.phee_default_tls_verify, False)
        self.assertIs(page.phee_default_callback_enabled, True)

    def test_upgrade_moves_system_parameters_into_the_defaults(self):
        self.env[STORE].sudo().search([]).unlink()
        params = self.env["ir.config_parameter"].sudo()
        legacy = {
            "tenant_id": "legacy-tenant",
            "username": "legacy-user",
            "password": "legacy-password",
            "signature_private_key": self.private_key,
            "payment_endpoint_url": "https://bulk.example/batchtransactions",
            "tls_verify": "0",
            "callback_enabled": "1",
        }
        for fname, value in legacy.items():
            params.set_param(LEGACY_PREFIX + fname, value)
        self.env.cr.execute(
            "UPDATE g2p_program_payment_manager_phee SET resubmit_grace_minutes = 0"
        )
        run_migration(self.env.cr)
        self.env.invalidate_all()
        self.assertFalse(params.search([("key", "=like", LEGACY_PREFIX + "%")]))
        store = self.env[STORE]._phee_current()
        self.assertTrue(store.id)
        self.assertEqual(store.password, "legacy-password")
        self.assertEqual(store.signature_private_key, self.private_key)
        self.assertEqual(store.payment_endpoint_url, legacy["payment_endpoint_url"])
        self.assertIs(store.tls_verify, False)
        self.assertIs(store.callback_enabled, True)
        self.assertEqual(self.manager.resubmit_grace_minutes, 5)

    def test_upgrade_drops_an_unreadable_legacy_key_and_keeps_the_rest(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param(LEGACY_PREFIX + "signature_private_key", "not a key")
        params.set_param(LEGACY_PREFIX + "password", "legacy-password")
        with self.assertLogs("phee_migration_17.0.1.1.0", "WARNING"):
            run_migration(self.env.cr)
        store = self.env[STORE]._phee_current()
        self.assertEqual(store.password, "legacy-password")
        self.assertFalse(store.signature_private_key)
