# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from ..models.phee_manager import ROUTING_FIELDS
from ..phee_sandbox import PheeServer
from .common import PheeCommon, officer

PROGRAM_MANAGER = "g2p_programs.g2p_program_manager"
# Values a routing field may take besides the test manager's.
KNOWN_VALUES = {
    "tls_ca_bundle": "/etc/ssl/other/ca.pem",
    "payment_mode": "gsma",
    "resubmit_grace_minutes": 30,
    "import_deadline_minutes": 5,
    "settle_deadline_hours": 1,
    "ops_timezone": "UTC",
}


def other_values(manager):
    """A valid value other than ``manager``'s for every routing field."""
    values = {}
    for fname in ROUTING_FIELDS:
        field = manager._fields[fname]
        if fname in KNOWN_VALUES:
            values[fname] = KNOWN_VALUES[fname]
        elif fname.endswith("_url"):
            values[fname] = f"https://elsewhere.example/{fname}"
        elif field.type == "boolean":
            values[fname] = not manager[fname]
        elif field.type == "integer":
            values[fname] = manager[fname] + 7
        elif field.type == "selection":
            keys = field.get_values(manager.env)
            values[fname] = next(k for k in keys if k != manager[fname])
        else:
            values[fname] = f"other-{fname}"
    return values


@tagged("post_install", "-at_install")
class TestAdminOnlyFields(PheeCommon):
    """What decides where credentials and payment files go is an administrator's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program_manager = officer(cls.env, "phee_fields_pm", PROGRAM_MANAGER)
        cls.validator = officer(
            cls.env, "phee_fields_validator", "g2p_programs.g2p_program_validator"
        )
        cls.plain_user = officer(cls.env, "phee_fields_user")
        cls.admin = officer(
            cls.env, "phee_fields_admin", "g2p_registry_base.group_g2p_admin"
        )

    def _as(self, user):
        self.env.invalidate_all()
        return self.manager.with_user(user)

    def _settings_defaults(self, **values):
        """Settings saved by an administrator (the test's PHEE server)."""
        endpoints = {f"phee_default_{k}": v for k, v in self.server.endpoints().items()}
        self.env["res.config.settings"].create(
            dict(
                endpoints,
                phee_default_tenant_id="gorilla",
                phee_default_username="mifos",
                phee_default_password="password",
                **values,
            )
        ).execute()

    def test_a_program_manager_cannot_change_where_things_go(self):
        manager = self._as(self.program_manager)
        for fname, value in other_values(self.manager).items():
            with self.subTest(field=fname):
                with self.assertRaisesRegex(AccessError, "Only an administrator"):
                    manager.write({fname: value})
        self.assertEqual(
            self.manager.payment_endpoint_url,
            self.server.endpoints()["payment_endpoint_url"],
        )

    def test_a_program_manager_edits_the_other_fields(self):
        tag = self.env["g2p.payment.batch.tag"].create(
            {"name": "All", "domain": "[]", "order": 1}
        )
        self._as(self.program_manager).write(
            {
                "name": "PHEE renamed",
                "max_batch_size": 50,
                "batch_tag_ids": [(6, 0, tag.ids)],
                "payee_id_type": "email",
                "make_csv_at_prepare": True,
                "batch_request_timeout": 30,
                # Unchanged values are accepted (a form may send them back).
                "tenant_id": self.manager.tenant_id,
                "tls_verify": True,
            }
        )
        self.assertEqual(self.manager.max_batch_size, 50)

    def test_validators_and_plain_users_change_nothing(self):
        for user in (self.validator, self.plain_user):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    self._as(user).write({"max_batch_size": 7})

    def test_an_administrator_changes_them(self):
        values = other_values(self.manager)
        self._as(self.admin).write(values)
        self.assertEqual(self.manager.tenant_id, values["tenant_id"])

    def test_a_program_manager_creates_a_manager_with_the_administrators_defaults(self):
        self._settings_defaults()
        Manager = self.env["g2p.program.payment.manager.phee"].with_user(
            self.program_manager
        )
        vals = {"name": "PHEE 2", "program_id": self.program.id}
        others = other_values(self.manager)
        with self.assertRaisesRegex(AccessError, "Payment Endpoint URL"):
            Manager.create(dict(vals, **others))
        # A context default is no way round it.
        context = {f"default_{k}": v for k, v in others.items()}
        created = Manager.with_context(**context).create(vals).sudo()
        endpoints = self.server.endpoints()
        for fname, value in endpoints.items():
            self.assertEqual(created[fname], value, fname)
        self.assertEqual(created.tenant_id, "gorilla")
        self.assertEqual((created.username, created.password), ("mifos", "password"))
        self.assertTrue(created.tls_verify)
        self.assertFalse(created.callback_enabled)
        self.assertEqual(created.resubmit_grace_minutes, 10)
        self.assertFalse(created.payer_id)
        self.assertTrue(created.callback_token)

    def test_an_administrators_new_manager_follows_settings_or_the_context(self):
        self._settings_defaults(phee_default_auth_endpoint_url=False)
        Manager = self.env["g2p.program.payment.manager.phee"].with_user(self.admin)
        vals = {"name": "PHEE 4", "program_id": self.program.id}
        self.assertFalse(Manager.create(vals).auth_endpoint_url)  # authorization off
        created = Manager.with_context(default_tenant_id="other").create(vals)
        self.assertEqual(created.tenant_id, "other")

    def test_program_manager_connection_test_never_reaches_another_server(self):
        """Credentials go only where an administrator sent them."""
        self._settings_defaults()
        elsewhere = PheeServer(**self.server_options).start()
        self.addCleanup(elsewhere.stop)
        manager = self._as(self.program_manager)
        with self.assertRaises(AccessError):
            manager.write(elsewhere.endpoints())
        context = {f"default_{k}": v for k, v in elsewhere.endpoints().items()}
        created = (
            self.env["g2p.program.payment.manager.phee"]
            .with_user(self.program_manager)
            .with_context(**context)
            .create({"name": "PHEE 3", "program_id": self.program.id})
        )
        for record in (manager, created):
            action = record.action_test_connection()
            self.assertIn("Connected", action["params"]["message"])
        self.assertFalse(elsewhere.requests)
        self.assertTrue(self.server.requests)

    def test_resubmit_wait_below_the_floor_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "at least 5 minutes"):
            self.manager.resubmit_grace_minutes = 4
        self.manager.resubmit_grace_minutes = 5
