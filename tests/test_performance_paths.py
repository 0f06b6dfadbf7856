# Part of OpenG2P. See LICENSE file for full copyright and licensing details.
"""The set-based paths: bulk insert equals create(), constant query counts,
queue jobs for large cycles. Correctness only: timings live in bench/."""

import base64
import uuid
from datetime import date, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from ..models import phee_bulk
from ..models.phee_bulk import BulkUnsupported, PaymentBulkInsert
from ..models.phee_payee import PayeeResolver
from .common import PheeCommon

PREPARE_LOGGER = "odoo.addons.g2p_payment_phee.models.phee_manager_prepare"
# Fresh per run: ids, payment references, PHEE batch references, audit dates.
IGNORED_COLUMNS = ("id", "name", "phee_correlation_id", "create_date", "write_date")


def _orm_only():
    """Make the bulk path refuse, so that payments are created by create()."""
    return patch.object(
        PaymentBulkInsert,
        "check_supported",
        side_effect=BulkUnsupported("forced by the test"),
    )


@tagged("post_install", "-at_install")
class TestPerformancePaths(PheeCommon):
    def _mixed_entitlements(self, count):
        """Payable entitlements with fees, plus three that are held back."""
        entitlements = self._entitlements(count, amount=750.0)
        entitlements[:2].write({"transfer_fee": 12.5})
        entitlements |= self._entitlement(self._registrant("No Phone"))
        entitlements |= self._entitlement(
            self._registrant("Zero", phone="27710009991"), 0.0
        )
        entitlements |= self._entitlement(
            self._registrant("Frac", phone="27710009992"), 10.5
        )
        return entitlements

    def _snapshot(self):
        """Every column of the cycle's payments and batches, the links and the
        CSV files, with payment references replaced by entitlement ids."""
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            "SELECT * FROM g2p_payment WHERE cycle_id = %s ORDER BY entitlement_id",
            [self.cycle.id],
        )
        columns = [d.name for d in cr.description]
        payments = [dict(zip(columns, row, strict=True)) for row in cr.fetchall()]
        cr.execute(
            "SELECT * FROM g2p_payment_batch WHERE cycle_id = %s ORDER BY id",
            [self.cycle.id],
        )
        columns = [d.name for d in cr.description]
        batches = [dict(zip(columns, row, strict=True)) for row in cr.fetchall()]
        batch_index = {b["id"]: i for i, b in enumerate(batches)}
        entitlement_of = {p["name"]: p["entitlement_id"] for p in payments}
        for payment in payments:
            payment["batch_id"] = batch_index.get(payment["batch_id"])
        records = self._batches()
        files = []
        for batch in records:
            text = batch._phee_csv_text()
            # The file attached at prepare is the one rendered again from the rows.
            self.assertEqual(text, self.manager._phee_render_batch(batch))
            lines = text.split("\n")
            files.append(
                [lines[0]]
                + [
                    line.replace(ref, str(entitlement_of[ref]))
                    for line in lines[1:]
                    for ref in [line.split(",")[1]]
                ]
            )
        links = sorted(
            (batch_index[batch.id], payment.entitlement_id.id)
            for batch in records
            for payment in batch.payment_ids
        )
        for batch in batches:
            batch.pop("phee_csv_attachment_id")
        strip = [
            {k: v for k, v in row.items() if k not in IGNORED_COLUMNS}
            for row in payments + batches
        ]
        return strip[: len(payments)], strip[len(payments) :], links, files

    def _prepare_and_snapshot(self):
        """Prepare the cycle, snapshot it, then roll everything back."""
        savepoint = self.env.cr.savepoint()
        try:
            action = self._prepare()
            snapshot = self._snapshot()
        finally:
            savepoint.close(rollback=True)
            self.env.invalidate_all()
        return action, snapshot

    def test_bulk_insert_leaves_the_rows_create_would(self):
        self.manager.make_csv_at_prepare = True
        self.manager.max_batch_size = 4
        self._mixed_entitlements(9)
        PaymentBulkInsert(self.env).check_supported()
        with freeze_time("2026-03-01 10:00:00"):
            with _orm_only(), self.assertLogs(PREPARE_LOGGER, "WARNING"):
                orm_action, orm = self._prepare_and_snapshot()
            bulk_action, bulk = self._prepare_and_snapshot()
        payments, batches, links, files = bulk
        self.assertEqual(len(payments), 12)
        self.assertEqual(len(batches), 3)
        self.assertEqual(len(links), 9)
        self.assertEqual(sum(len(f) - 1 for f in files), 9)
        self.assertEqual(len([p for p in payments if p["status"] == "failed"]), 3)
        self.assertTrue(all(p["journal_id"] for p in payments))
        self.assertEqual(payments, orm[0])
        self.assertEqual(batches, orm[1])
        self.assertEqual(links, orm[2])
        self.assertEqual(files, orm[3])
        self.assertEqual(
            bulk_action["params"]["message"], orm_action["params"]["message"]
        )

    def test_bulk_insert_updates_caches_and_inverse_fields(self):
        entitlements = self._entitlements(3)
        self.assertFalse(entitlements.payment_ids)  # cached empty before prepare
        self._prepare()
        payments = entitlements.payment_ids
        self.assertEqual(len(payments), 3)
        self.assertEqual(payments.journal_id, self.program.journal_id)
        self.assertEqual(payments.currency_id, self.currency)
        self.assertEqual(payments.company_id, self.env.company)
        self.assertEqual(set(payments.mapped("state")), {"issued"})
        self.assertTrue(all(payments.mapped("issuance_date")))
        self.assertEqual(self.cycle.payments_count, 3)
        self.assertEqual(self._batches().payment_ids, payments)

    def test_bulk_insert_keeps_any_text_and_fresh_references(self):
        self.manager.payee_id_type = "reg_id"
        self.manager.reg_id_type_for_payee_id = self.id_type
        odd = 'NID"4,2\\x {y}'
        entitlements = self._entitlement(self._registrant("Odd", reg_id=odd))
        entitlements |= self._entitlement(self._registrant("Plain", reg_id="NID-7"))
        self._prepare()
        payments = entitlements.payment_ids.sorted("id")
        self.assertEqual(payments.mapped("account_number"), [odd, "NID-7"])
        self.assertEqual(payments[0].status, "failed")
        self.assertIn("comma", payments[0].phee_failure_reason)
        self.assertFalse(payments[1].status)
        for name in payments.mapped("name"):
            self.assertEqual(str(uuid.UUID(name)), name)
            self.assertEqual(uuid.UUID(name).version, 4)
        references = phee_bulk.uuid4_texts(1000)
        self.assertEqual(len(set(references)), 1000)
        self.assertTrue(all(uuid.UUID(r).version == 4 for r in references))

    def test_unknown_stored_field_falls_back_to_create(self):
        known = phee_bulk.PLAIN_COLUMNS - {"account_number"}
        entitlements = self._entitlements(2)
        with patch.object(phee_bulk, "PLAIN_COLUMNS", known):
            with self.assertLogs(PREPARE_LOGGER, "WARNING") as logs:
                self._prepare()
        self.assertIn("account_number", logs.output[0])
        self.assertEqual(len(entitlements.payment_ids), 2)
        self.assertTrue(all(entitlements.payment_ids.mapped("account_number")))

    def _new_cycle(self, name):
        return self.env["g2p.cycle"].create(
            {
                "name": name,
                "program_id": self.program.id,
                "start_date": date.today(),
                "end_date": date.today() + timedelta(days=30),
                "state": "approved",
            }
        )

    def _count_prepare_queries(self, count, held):
        cycle = self._new_cycle(f"Cycle {count}")
        self._entitlements(count, cycle=cycle)
        for index in range(held):
            self._entitlement(self._registrant(f"Held {index}"), cycle=cycle)
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        cycle.prepare_payment()
        self.env.flush_all()
        self.assertEqual(len(cycle.payment_batch_ids.payment_ids), count)
        return self.env.cr.sql_log_count - before

    def test_prepare_runs_no_query_per_payment(self):
        self.manager.write({"make_csv_at_prepare": True, "max_batch_size": 1000})
        self._count_prepare_queries(3, held=1)  # warm the caches of settings
        small = self._count_prepare_queries(5, held=1)
        large = self._count_prepare_queries(40, held=6)
        self.assertEqual(large, small)

    def test_statistics_are_refreshed_after_a_large_insert(self):
        self._entitlements(4)
        with (
            patch.object(phee_bulk, "ANALYZE_THRESHOLD", 0),
            patch.object(phee_bulk, "ANALYZE_SCALE_FACTOR", 0),
        ):
            self._prepare()
        cr = self.env.cr
        cr.execute("SELECT count(*) FROM g2p_payment")
        count = cr.fetchone()[0]
        cr.execute("SELECT reltuples FROM pg_class WHERE oid = 'g2p_payment'::regclass")
        self.assertEqual(cr.fetchone()[0], count)

    def test_batch_wide_problem_refuses_the_whole_cycle(self):
        self.manager.payment_mode = "bank"
        self._entitlements(2)
        with self.assertRaisesRegex(UserError, "payment_mode"):
            self._prepare()
        self.assertFalse(self.cycle.payment_batch_ids)

    def test_oversized_chunk_is_split_to_fit_phee_file_limit(self):
        self.manager.write({"make_csv_at_prepare": True, "max_batch_size": 1000})
        self._entitlements(12)
        with patch.object(
            type(self.manager),
            "_phee_note",
            lambda manager, cycle: "x" * 9000,
        ):
            self._prepare()
        batches = self._batches()
        self.assertGreater(len(batches), 1)
        self.assertEqual(sum(batches.mapped("stats_issued_transactions")), 12)
        for batch in batches:
            data = base64.b64decode(batch.phee_csv_attachment_id.datas)
            self.assertLessEqual(len(data), 100_000)
            self.assertEqual(len(data.split(b"\n")) - 1, len(batch.payment_ids))

    def test_large_cycle_is_prepared_by_bounded_queue_jobs(self):
        manager_class = type(self.manager)
        entitlements = self._entitlements(7)
        with (
            patch.object(manager_class, "PHEE_SYNC_PREPARE_LIMIT", 4),
            patch.object(manager_class, "PHEE_PREPARE_JOB_SIZE", 3),
            trap_jobs() as trap,
        ):
            action = self._prepare()
            trap.assert_jobs_count(3, only=self.manager._phee_prepare_job)
            self.assertEqual(action["params"]["type"], "success")
            self.assertTrue(self.cycle.locked)
            self.assertTrue(self.cycle.locked_reason)
            self.assertFalse(entitlements.payment_ids)
            trap.perform_enqueued_jobs()
        self.assertEqual(len(entitlements.payment_ids), 7)
        self.assertFalse(self.cycle.locked)
        self.assertFalse(self.cycle.locked_reason)
        self.assertIn("PHEE payments prepared.", self.cycle.message_ids[0].body)
        self.assertEqual(sorted(len(b.payment_ids) for b in self._batches()), [1, 3, 3])
        # A job that runs again (retry) issues nothing twice.
        result = self.manager._phee_prepare_job(self.cycle, entitlements.ids)
        self.assertTrue(result.startswith("0 payments"))
        self.assertEqual(len(entitlements.payment_ids), 7)

    def test_one_invalid_bank_account_does_not_hide_the_others_iban(self):
        """g2p_bank computes IBANs in batches: an invalid account later in the
        batch must not cost the accounts before it their IBAN."""
        germany = self.env.ref("base.de")
        banks = self.env["res.bank"].create(
            [
                {"name": "Good", "bic": "37040044", "country": germany.id},
                {"name": "Bad", "bic": "ABC", "country": germany.id},
            ]
        )
        partners = self._registrant("Alpha Good") | self._registrant("Zulu Bad")
        self.env["res.partner.bank"].create(
            [
                {"partner_id": partner.id, "acc_number": account, "bank_id": bank.id}
                for partner, account, bank in zip(
                    partners, ("0532013000", "0532013001"), banks, strict=True
                )
            ]
        )
        self.manager.payee_id_type = "bank_acc_iban"
        self.env.invalidate_all()
        identifiers = PayeeResolver(self.manager).resolve(partners.ids)
        self.assertEqual(identifiers, {partners[0].id: "DE89370400440532013000"})

    def test_send_runs_no_query_per_payment(self):
        self.manager.max_batch_size = 1000

        def send_queries(count):
            cycle = self._new_cycle(f"Cycle {count}")
            self._entitlements(count, cycle=cycle)
            cycle.prepare_payment()
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            cycle.send_payment()
            self.env.flush_all()
            self.assertEqual(
                set(cycle.payment_batch_ids.mapped("phee_state")), {"submitted"}
            )
            return self.env.cr.sql_log_count - before

        send_queries(2)
        self.assertEqual(send_queries(30), send_queries(5))

    def test_status_sync_reads_payments_once_per_batch(self):
        self._restart_server(settle_polls=0)
        self.manager.max_batch_size = 1000

        def sync_queries(count):
            cycle = self._new_cycle(f"Cycle {count}")
            self._entitlements(count, cycle=cycle)
            cycle.prepare_payment()
            cycle.send_payment()
            batches = cycle.payment_batch_ids
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.manager._phee_sync_batches(batches)
            self.env.flush_all()
            self.assertEqual(set(batches.payment_ids.mapped("status")), {"paid"})
            return self.env.cr.sql_log_count - before

        sync_queries(2)
        self.assertEqual(sync_queries(30), sync_queries(5))
