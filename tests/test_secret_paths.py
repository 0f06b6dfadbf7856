# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""No PHEE secret reaches a non-administrator through any JSON-RPC path."""

import json
import time
from unittest.mock import patch

from psycopg2 import errors as pg_errors

from odoo.tests import HttpCase, tagged
from odoo.tools import SQL

from ..models.phee_manager import SECRET_FIELDS
from ..phee import Token
from ..phee.signer import generate_key_pair
from .common import PheeCommon, officer

MANAGER = "g2p.program.payment.manager.phee"
STORE = "g2p.phee.settings"
SETTINGS = "res.config.settings"
MANAGER_SECRETS = {
    "username": "mgr-user-7Qx",
    "password": "mgr-pass-7Qx",
    "grant_type": "mgr-grant-7Qx",
    "authorization": "Basic bWdyLWNsaWVudC03UXg=",
    "auth_token": "mgr-token-7Qx",
}
DEFAULT_SECRETS = {
    "phee_default_username": "def-user-7Qx",
    "phee_default_password": "def-pass-7Qx",
    "phee_default_grant_type": "def-grant-7Qx",
    "phee_default_authorization": "Basic ZGVmLWNsaWVudC03UXg=",
}
# Fields of the manager that hold or show a secret.
MANAGER_SECRET_FIELDS = SECRET_FIELDS + ("phee_new_signing_key",)


def _key_line(pem):
    """A line of a PEM key's Base64 body: enough to recognise the key."""
    return pem.splitlines()[3]


@tagged("post_install", "-at_install")
class TestSecretPaths(PheeCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager.write(
            dict(
                MANAGER_SECRETS,
                signature_private_key=cls.private_key,
                callback_enabled=True,
            )
        )
        default_key, _public = generate_key_pair()
        cls.env[SETTINGS].create(
            dict(DEFAULT_SECRETS, phee_default_new_signing_key=default_key)
        ).execute()
        cls.secrets = [
            *MANAGER_SECRETS.values(),
            *DEFAULT_SECRETS.values(),
            _key_line(cls.private_key),
            _key_line(default_key),
            cls.manager.callback_token,
        ]
        cls.users = [
            officer(cls.env, "phee_paths_pm", "g2p_programs.g2p_program_manager"),
            officer(
                cls.env, "phee_paths_validator", "g2p_programs.g2p_program_validator"
            ),
            officer(cls.env, "phee_paths_user", "base.group_allow_export"),
        ]
        cls.admin = officer(
            cls.env, "phee_paths_admin", "g2p_registry_base.group_g2p_admin"
        )

    def _rpc(self, model, method, *args, **kwargs):
        """The raw JSON-RPC answer (result or error) to a call_kw."""
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {
                "model": model,
                "method": method,
                "args": list(args),
                "kwargs": kwargs,
            },
        }
        response = self.url_open(
            f"/web/dataset/call_kw/{model}/{method}",
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
        )
        return response.text

    def _answers(self):
        """Every path a client has to a manager's or a default's value."""
        rid = self.manager.id
        every_field = list(self.env[MANAGER]._fields)
        settings_fields = [f for f in self.env[SETTINGS]._fields if "phee" in f]
        answers = [
            self._rpc(MANAGER, "default_get", every_field),
            self._rpc(MANAGER, "onchange", [], {}, [], {f: {} for f in every_field}),
            self._rpc(MANAGER, "onchange", [], {}, [], {"name": {}}),
            self._rpc(MANAGER, "copy_data", [rid]),
            self._rpc(MANAGER, "copy", [rid]),
            self._rpc(MANAGER, "fields_get"),
            self._rpc(
                MANAGER,
                "web_read",
                [rid],
                {"phee_signs": {}, "phee_signing_fingerprint": {}, "name": {}},
            ),
            self._rpc(SETTINGS, "default_get", settings_fields),
            self._rpc(
                SETTINGS, "onchange", [], {}, [], {"phee_status_sync_interval": {}}
            ),
            self._rpc(
                SETTINGS, "onchange", [], {}, [], {f: {} for f in settings_fields}
            ),
            self._rpc(STORE, "default_get", list(self.env[STORE]._fields)),
            self._rpc(STORE, "search_read", [], []),
            self._rpc(
                "ir.config_parameter",
                "search_read",
                [["key", "like", "phee"]],
                ["key", "value"],
            ),
        ]
        for fname in MANAGER_SECRET_FIELDS:
            value = MANAGER_SECRETS.get(fname, "x")
            answers += [
                self._rpc(MANAGER, "read", [rid], [fname]),
                self._rpc(MANAGER, "search_read", [], [fname]),
                self._rpc(MANAGER, "web_read", [rid], {fname: {}}),
                self._rpc(MANAGER, "web_search_read", [], {fname: {}}),
                self._rpc(MANAGER, "export_data", [rid], [fname]),
                self._rpc(MANAGER, "onchange", [rid], {}, ["name"], {fname: {}}),
                self._rpc(MANAGER, "name_search", "", [[fname, "=", value]]),
                self._rpc(MANAGER, "search_count", [[fname, "=like", value[:4] + "%"]]),
                self._rpc(MANAGER, "read_group", [], [f"{fname}:max"], ["name"]),
            ]
        return "\n".join(answers)

    def test_no_secret_reaches_a_non_administrator(self):
        for user in self.users:
            with self.subTest(user=user.login):
                self.authenticate(user.login, user.login)
                answers = self._answers()
                leaked = [s for s in self.secrets if s in answers]
                self.assertFalse(leaked, f"{user.login} received secrets")

    def test_an_administrator_reads_credentials_but_never_the_signing_key(self):
        self.authenticate(self.admin.login, self.admin.login)
        answer = self._rpc(MANAGER, "read", [self.manager.id], ["password"])
        self.assertIn(MANAGER_SECRETS["password"], answer)
        answer = self._rpc(
            MANAGER, "web_read", [self.manager.id], {"phee_new_signing_key": {}}
        )
        self.assertNotIn(_key_line(self.private_key), answer)
        # A new manager's credentials are filled in on the server, never sent.
        answer = self._rpc(MANAGER, "default_get", list(MANAGER_SECRET_FIELDS))
        self.assertFalse([s for s in self.secrets if s in answer])

    def test_no_secret_is_tracked_in_the_chatter(self):
        for model, fnames in (
            (MANAGER, MANAGER_SECRET_FIELDS),
            (STORE, ("username", "password", "authorization")),
        ):
            fields = self.env[model]._fields
            tracked = [f for f in fnames if getattr(fields[f], "tracking", False)]
            self.assertFalse(tracked, model)


@tagged("post_install", "-at_install")
class TestTokenCache(PheeCommon):
    def test_a_refreshed_token_is_kept_for_the_next_runs(self):
        self.manager._phee_store_token(Token("fresh-token", time.time() + 600))
        self.assertEqual(self.manager.sudo().auth_token, "fresh-token")

    def test_a_token_another_process_is_keeping_is_dropped_quietly(self):
        """Two syncs refreshing at once: the second does not fail its batch,
        and no failed query (token included) reaches the log."""
        cursor_class = type(self.env.cr)
        execute = cursor_class.execute

        def locked(cr, query, params=None, log_exceptions=True):
            if "NOWAIT" in (query.code if isinstance(query, SQL) else str(query)):
                raise pg_errors.LockNotAvailable("row locked by another process")
            return execute(cr, query, params, log_exceptions)

        with (
            patch.object(cursor_class, "execute", locked),
            self.assertNoLogs("odoo.sql_db", "ERROR"),
        ):
            self.manager._phee_store_token(Token("second-token", time.time() + 600))
        self.assertNotEqual(self.manager.sudo().auth_token, "second-token")
