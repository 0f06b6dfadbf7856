# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
from urllib.parse import urlparse

from odoo.modules.neutralize import get_neutralization_queries, neutralize_database
from odoo.tests import tagged

from ..models.phee_utils import job_identity_key
from .common import PheeCommon

MODULE = "g2p_payment_phee"


@tagged("post_install", "-at_install")
class TestNeutralize(PheeCommon):
    """``odoo-bin neutralize`` on a copy of a live database."""

    def setUp(self):
        super().setUp()
        self.manager.write(
            {
                "authorization": "Basic bGl2ZS1jbGllbnQ6czNjcjN0",
                "auth_token": "live-token",
                "signature_private_key": self.private_key,
                "callback_enabled": True,
            }
        )
        self.env["res.config.settings"].create(
            {
                "phee_default_username": "live-user",
                "phee_default_password": "live-password",
                "phee_default_authorization": "Basic bGl2ZQ==",
                "phee_default_new_signing_key": self.private_key,
                "phee_default_payment_endpoint_url": "https://phee.example.org:8443/batchtransactions",
                "phee_default_callback_enabled": True,
            }
        ).execute()
        self.ours = (
            self.manager.with_delay(identity_key=job_identity_key("send", 1))
            .mark_job_as_done(self.cycle, "x")
            .db_record()
        )
        self.unrelated = self.env.user.with_delay().exists().db_record()

    def _neutralize_this_module(self):
        self.env.flush_all()
        for query in get_neutralization_queries([MODULE]):
            self.env.cr.execute(query)
        self.env.invalidate_all()

    def test_whole_database_neutralization_runs(self):
        self.env.flush_all()
        neutralize_database(self.env.cr)
        self.env.invalidate_all()
        self.assertFalse(self.manager.sudo().password)

    def test_secrets_are_blanked_and_endpoints_lead_nowhere(self):
        before = self.manager.payment_endpoint_url
        self._neutralize_this_module()
        manager = self.manager.sudo()
        store = self.env["g2p.phee.settings"]._phee_current()
        for record, fnames in (
            (manager, ("auth_token", "auth_token_expires_at", "callback_token")),
            (store, ()),
        ):
            for fname in (
                "username",
                "password",
                "authorization",
                "signature_private_key",
                "callback_enabled",
            ) + fnames:
                self.assertFalse(record[fname], f"{record._name}.{fname}")
            for fname in (
                "auth_endpoint_url",
                "payment_endpoint_url",
                "status_endpoint_url",
                "details_endpoint_url",
                "batches_endpoint_url",
            ):
                url = urlparse(record[fname])
                self.assertEqual(
                    (url.scheme, url.netloc), ("https", "phee.invalid"), fname
                )
        self.assertEqual(
            urlparse(manager.payment_endpoint_url).path, urlparse(before).path
        )
        self.assertFalse(self.manager._phee_config().signature_private_key)
        # The Settings page starts from the neutralized defaults.
        self.assertFalse(self.env["res.config.settings"].create({}).phee_default_signs)

    def test_sync_stops_and_pending_phee_jobs_are_cancelled(self):
        self._neutralize_this_module()
        self.assertFalse(self.env.ref(f"{MODULE}.cron_phee_status_sync").active)
        self.assertEqual(self.ours.state, "cancelled")
        self.assertEqual(self.unrelated.state, "pending")

    def test_callbacks_can_be_turned_on_again_with_a_new_secret(self):
        self._neutralize_this_module()
        self.manager.callback_enabled = True
        self.assertTrue(self.manager.sudo().callback_token)
