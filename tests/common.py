# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""Fixtures: a program paid through a PHEE-compatible server on 127.0.0.1."""

import importlib.util
from datetime import date, timedelta
from pathlib import Path

from odoo.tests.common import TransactionCase, new_test_user

from ..models.phee_guard import by_state_machine
from ..phee.signer import generate_key_pair
from ..phee_sandbox import PheeServer


class PheeCommon(TransactionCase):
    """A program, an approved cycle, registrants and a PHEE manager.

    Every test gets a fresh local PHEE server (real HTTP on loopback) that
    behaves like a stock PHEE: signatures checked, correlation ids replaced
    after import, sub-batches of 5, nested failure reasons.
    """

    server_options = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.currency = cls.env.ref("base.USD")
        cls.currency.active = True
        journal_id = cls.env["g2p.program.create.wizard"].create_journal(
            "PHEE Test Program", cls.currency.id
        )
        cls.program = cls.env["g2p.program"].create(
            {"name": "PHEE Test Program", "journal_id": journal_id}
        )
        cycle_manager = cls.env["g2p.cycle.manager.default"].create(
            {"name": "Default", "program_id": cls.program.id}
        )
        cls.program.cycle_managers = [
            (
                0,
                0,
                {
                    "program_id": cls.program.id,
                    "manager_ref_id": f"{cycle_manager._name},{cycle_manager.id}",
                },
            )
        ]
        cls.cycle = cls.env["g2p.cycle"].create(
            {
                "name": "Cycle 1",
                "program_id": cls.program.id,
                "start_date": date.today(),
                "end_date": date.today() + timedelta(days=30),
                "state": "approved",
            }
        )
        cls.id_type = cls.env["g2p.id.type"].create({"name": "PHEE Test National ID"})
        cls.private_key, cls.public_key = generate_key_pair()
        cls.manager = cls.env["g2p.program.payment.manager.phee"].create(
            {
                "name": "PHEE",
                "program_id": cls.program.id,
                "tenant_id": "gorilla",
                "username": "mifos",
                "password": "password",
                "payer_id": "27710101999",
                "payee_id_type": "phone",
                "signature_private_key": cls.private_key,
                "max_batch_size": 3,
                "batch_request_timeout": 5,
                "resubmit_grace_minutes": 10,
            }
        )
        cls.program.payment_managers[
            :1
        ].manager_ref_id = f"{cls.manager._name},{cls.manager.id}"

    def setUp(self):
        super().setUp()
        self.server = PheeServer(
            public_key_pem=self.public_key, **self.server_options
        ).start()
        self.addCleanup(self.server.stop)
        self.manager.write(self.server.endpoints())

    # ------------------------------------------------------------
    # DATA
    # ------------------------------------------------------------

    @classmethod
    def _registrant(cls, name, phone=None, email=None, account=None, reg_id=None):
        vals = {"name": name, "is_registrant": True, "is_group": False}
        if phone:
            vals["phone"] = phone
        if email:
            vals["email"] = email
        if account:
            vals["bank_ids"] = [(0, 0, {"acc_number": account})]
        if reg_id:
            vals["reg_ids"] = [(0, 0, {"id_type": cls.id_type.id, "value": reg_id})]
        return cls.env["res.partner"].create(vals)

    def _entitlements(self, count, amount=500.0, cycle=None, **registrant_vals):
        """Approved entitlements for `count` new registrants with phone numbers."""
        cycle = cycle or self.cycle
        entitlements = self.env["g2p.entitlement"]
        for index in range(count):
            vals = {"phone": f"2771{index:07d}"}
            vals.update(registrant_vals)
            partner = self._registrant(f"Beneficiary {index}", **vals)
            entitlements |= self._entitlement(partner, amount, cycle)
        return entitlements

    def _entitlement(self, partner, amount=500.0, cycle=None):
        return self.env["g2p.entitlement"].create(
            {
                "partner_id": partner.id,
                "cycle_id": (cycle or self.cycle).id,
                "initial_amount": amount,
                "is_cash_entitlement": True,
                "state": "approved",
            }
        )

    def _prepare(self):
        return self.cycle.prepare_payment()

    def _restart_server(self, **options):
        """Replace the test's PHEE server by one with other options."""
        self.server.stop()
        self.server = type(self.server)(
            **{"public_key_pem": self.public_key, **options}
        ).start()
        self.addCleanup(self.server.stop)
        self.manager.write(self.server.endpoints())

    def _payments(self):
        return self.env["g2p.payment"].search([("cycle_id", "=", self.cycle.id)])

    def _batches(self):
        return self.cycle.payment_batch_ids.sorted("id")

    def _sync_until_settled(self, runs=6):
        """Run the status cron until every batch of the cycle is final."""
        for _run in range(runs):
            self.env["g2p.payment.batch"]._cron_phee_status_sync()
            if all(
                b.phee_state in ("completed", "completed_failures")
                for b in self._batches()
            ):
                return

    @staticmethod
    def _force(records, vals):
        """Write fields only the state machine writes (to set up a test)."""
        by_state_machine(records).write(vals)

    def _assert_adopted(self, batch):
        """The batch carries the id of the one batch PHEE holds for it."""
        received = self.server.batches_with_correlation_id(batch.phee_correlation_id)
        self.assertEqual(len(received), 1)
        self.assertEqual(batch.external_batch_ref, received[0]["batch_id"])
        self.assertNotIn(batch.phee_state, ("draft", "submitting", "error"))

    def _assert_phee_holds_each_batch_once(self):
        """PHEE has exactly one batch per correlation id and no request id twice."""
        for batch in self.cycle.payment_batch_ids.filtered("external_batch_ref"):
            self.assertEqual(
                len(self.server.batches_with_correlation_id(batch.phee_correlation_id)),
                1,
                batch.name,
            )
        counts = self.server.request_id_counts()
        self.assertFalse([rid for rid, count in counts.items() if count > 1])


def run_migration(cr, folder, script, from_version):
    """Run one of the addon's migration scripts as an upgrade from ``from_version``."""
    path = Path(__file__).parent.parent / "migrations" / folder / script
    spec = importlib.util.spec_from_file_location(f"phee_migration_{folder}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.migrate(cr, from_version)


def officer(env, login, *groups):
    """A user in the given groups (xml ids)."""
    return new_test_user(
        env, login=login, groups=",".join(("base.group_user",) + groups)
    )
