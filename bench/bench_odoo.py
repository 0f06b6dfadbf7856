"""Benchmark of prepare (with CSV attachments), send and status sync in Odoo.

Runs inside ``odoo shell`` on an existing database where this addon is
installed. For each N it creates, in a throwaway program and cycle, N
registrants and N approved entitlements (plain SQL, in seconds), then times:

* prepare: ``g2p.cycle.prepare_payment()`` with ``make_csv_at_prepare`` on,
  queue jobs run inline (``queue_job__no_delay``) when N is above the
  synchronous limit;
* send: ``g2p.cycle.send_payment()`` against a local ``phee_sandbox.PheeServer``
  on 127.0.0.1, stock-like (signatures required, with a key pair made for the
  run; sub-batches of 5) but settling at once (``settle_polls=0``); one queue
  job per batch, run inline, above 50 batches; no pacing limits;
* sync: one ``_phee_sync_batches`` round that reconciles every payment.

Each phase starts with cold ORM caches, as a new request, job or cron run
would. It prints wall and CPU seconds (of this process: PostgreSQL's are in the
wall time), SQL queries (``cr.sql_log_count``) and the peak RSS of each phase,
and whether the foreign keys of bulk inserts were checked set-based (see
``phee_bulk.run_insert``; this needs a superuser, or a role granted ``SET`` on
``session_replication_role``), then rolls the transaction back: nothing is
committed (the CSV files written to the filestore are left for Odoo's
attachment garbage collector). As every phase runs in the transaction that
inserted the payments, PostgreSQL re-checks all their foreign keys on each
UPDATE (it skips unchanged keys of rows from earlier transactions): send and
sync are measured pessimistically.

Usage (N values comma-separated, default ``1000,10000``)::

    BENCH_N=1000,10000,100000 odoo shell -d DB --no-http < bench/bench_odoo.py

or, inside an ``odoo shell`` session: ``exec(open("bench/bench_odoo.py").read())``.
With ``BENCH_ROLE=name``, the phases run as a role of that name created for the
run (and rolled back) without superuser rights, which may only read and write
the tables: a superuser must start the run. On a database with OpenG2P's
original ``g2p_payment_phee`` instead of this addon, the same command times
its prepare (same entitlements and settings), for comparison.
For a whole cycle at 1,000,000 payments, committed, with the PHEE server in its
own process, see ``bench_million.py``.
"""

# pylint: disable=print-used
# ruff: noqa: F821  (``env`` and ``odoo`` come from ``odoo shell``)

import os
import resource
import time
from contextlib import ExitStack, contextmanager, suppress
from datetime import date, timedelta
from unittest import mock

BATCH_SIZE = int(os.environ.get("BENCH_BATCH_SIZE", "500"))
SIZES = [int(n) for n in os.environ.get("BENCH_N", "1000,10000").split(",") if n]
ROLE = os.environ.get("BENCH_ROLE")


def _rss_mb(key):
    """VmRSS / VmHWM of this process in MiB (``ru_maxrss`` when unavailable)."""
    with suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak():
    """Reset the kernel's peak-RSS mark so each phase reports its own peak."""
    with suppress(OSError), open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


@contextmanager
def measure(env, label, results):
    """Time a phase that starts with cold caches, as a new request or job does."""
    cr = env.cr
    env.flush_all()
    env.invalidate_all()
    _reset_peak()
    queries = cr.sql_log_count
    start, cpu = time.perf_counter(), time.process_time()
    yield
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    results[label] = (seconds, cpu, cr.sql_log_count - queries, _rss_mb("VmHWM"))


def _program_and_cycle(env, n):
    """A program with its journal and cycle manager, and an approved cycle."""
    currency = env.ref("base.USD")
    currency.active = True
    name = f"Bench {n} {time.time_ns()}"
    journal_id = env["g2p.program.create.wizard"].create_journal(name, currency.id)
    program = env["g2p.program"].create({"name": name, "journal_id": journal_id})
    cycle_manager = env["g2p.cycle.manager.default"].create(
        {"name": "Default", "program_id": program.id}
    )
    program.cycle_managers = [
        (
            0,
            0,
            {
                "program_id": program.id,
                "manager_ref_id": f"{cycle_manager._name},{cycle_manager.id}",
            },
        )
    ]
    cycle = env["g2p.cycle"].create(
        {
            "name": "Cycle 1",
            "program_id": program.id,
            "start_date": date.today(),
            "end_date": date.today() + timedelta(days=30),
            "state": "approved",
        }
    )
    return program, cycle


def _pay_with(program, vals):
    """The program's PHEE payment manager, created with ``vals``."""
    manager = program.env["g2p.program.payment.manager.phee"].create(
        {
            "name": "PHEE bench",
            "program_id": program.id,
            "tenant_id": "gorilla",
            "username": "mifos",
            "password": "password",
            "payer_id": "27710101999",
            "payee_id_type": "phone",
            "max_batch_size": BATCH_SIZE,
            "make_csv_at_prepare": True,
            **vals,
        }
    )
    program.payment_managers[:1].manager_ref_id = f"{manager._name},{manager.id}"
    return manager


def make_program(env, n, endpoints, private_key, **vals):
    """A program, an approved cycle and a PHEE manager paying through
    ``endpoints`` (signing with ``private_key``, without pacing limits; ``vals``:
    more settings of the manager)."""
    program, cycle = _program_and_cycle(env, n)
    Manager = env["g2p.program.payment.manager.phee"]
    vals = {"signature_private_key": private_key, **endpoints, **vals}
    for pacing in ("max_batches_in_flight", "max_submissions_per_minute"):
        if pacing in Manager._fields:
            vals[pacing] = 0
    return cycle, _pay_with(program, vals)


def make_upstream_program(env, n):
    """A program, an approved cycle and a manager of OpenG2P's original module
    (which needs every setting of its form; no server is called)."""
    program, cycle = _program_and_cycle(env, n)
    vals = {
        "grant_type": "password",
        "authorization": "Basic Y2xpZW50Og==",
        "payment_mode": "mojaloop",
        "payer_id_type": "msisdn",
        "create_batch": True,
    }
    for endpoint in ("auth", "payment", "status", "details"):
        vals[f"{endpoint}_endpoint_url"] = "http://127.0.0.1:9"
    return cycle, _pay_with(program, vals)


def make_entitlements(env, cycle, n):
    """N registrants with phone numbers and N approved entitlements, in SQL.

    Phone numbers ending in 999 are unknown to the local server, so about one
    payment in a thousand fails.
    """
    cr = env.cr
    cr.execute(
        """INSERT INTO res_partner (name, complete_name, is_registrant, is_group,
                                    phone, active, type, company_id, create_uid,
                                    create_date, write_uid, write_date)
           SELECT 'Bench ' || i, 'Bench ' || i, TRUE, FALSE,
                  '2771' || lpad(i::text, 7, '0'), TRUE, 'contact', %s, %s,
                  now() AT TIME ZONE 'UTC', %s, now() AT TIME ZONE 'UTC'
             FROM generate_series(1, %s) AS i
        RETURNING id""",
        [env.company.id, env.uid, env.uid, n],
    )
    partner_ids = [row[0] for row in cr.fetchall()]
    cr.execute(
        """INSERT INTO g2p_entitlement (partner_id, cycle_id, code, initial_amount,
                                        transfer_fee, state, is_cash_entitlement,
                                        journal_id, create_uid, create_date,
                                        write_uid, write_date)
           SELECT p, %s, 'BENCH-' || %s || '-' || p, 500, 0, 'approved', TRUE, %s,
                  %s, now() AT TIME ZONE 'UTC', %s, now() AT TIME ZONE 'UTC'
             FROM unnest(%s::int[]) AS p""",
        [
            cycle.id,
            cycle.id,
            cycle.program_id.journal_id.id,
            env.uid,
            env.uid,
            partner_ids,
        ],
    )
    env.invalidate_all()


def use_role(env, role):
    """Go on in this transaction as ``role``, created for it without superuser
    rights, with every right on the tables and sequences."""
    from odoo.tools import SQL

    cr = env.cr
    name = SQL.identifier(role)
    cr.execute(SQL("CREATE ROLE %s NOLOGIN NOSUPERUSER", name))
    cr.execute(SQL("GRANT ALL ON ALL TABLES IN SCHEMA public TO %s", name))
    cr.execute(SQL("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO %s", name))
    cr.execute(SQL("SET LOCAL ROLE %s", name))


def run_once(env, n):
    from odoo.addons.g2p_payment_phee.models import phee_bulk, phee_utils
    from odoo.addons.g2p_payment_phee.phee.signer import generate_key_pair
    from odoo.addons.g2p_payment_phee.phee_sandbox import PheeServer

    results = {}
    private_key, public_key = generate_key_pair()
    with ExitStack() as stack:
        # Sending commits around each POST outside tests: never commit here.
        stack.enter_context(mock.patch.object(phee_utils, "testing", lambda: True))
        server = stack.enter_context(
            PheeServer(public_key_pem=public_key, settle_polls=0)
        )
        cycle, manager = make_program(env, n, server.endpoints(), private_key)
        start = time.perf_counter()
        make_entitlements(env, cycle, n)
        setup = time.perf_counter() - start
        if ROLE:
            use_role(env, ROLE)
        env.cr.execute("SELECT current_user")
        user = env.cr.fetchone()[0]
        set_based = phee_bulk._set_based_fk_checks(env.cr, "g2p_payment") is not None
        inline = {"queue_job__no_delay": True}
        with measure(env, "prepare", results):
            cycle.with_context(**inline).prepare_payment()
            env.flush_all()
        payments = env["g2p.payment"].search_count([("cycle_id", "=", cycle.id)])
        batches = cycle.payment_batch_ids
        csv_files = len(batches.filtered("phee_csv_attachment_id"))
        with measure(env, "send", results):
            cycle.with_context(**inline).send_payment()
            env.flush_all()
        sent = len(batches.filtered(lambda b: b.phee_state == "submitted"))
        with measure(env, "sync", results):
            manager._phee_sync_batches(batches)
            env.flush_all()
        env.cr.execute(
            "SELECT status, count(*) FROM g2p_payment WHERE cycle_id = %s GROUP BY 1",
            [cycle.id],
        )
        statuses = dict(env.cr.fetchall())
    env.cr.rollback()
    print(
        f"N={n}: setup {setup:.1f} s; {payments} payments, {len(batches)} batches, "
        f"{csv_files} CSV files, {sent} sent, statuses {statuses}; as {user}, "
        f"foreign keys checked {'set-based' if set_based else 'by row triggers'}"
    )
    for label, (seconds, cpu, queries, peak) in results.items():
        print(
            f"  {label:8s} {seconds:8.2f} s ({cpu:6.2f} s CPU) {queries:8d} queries"
            f"  peak RSS {peak:7.0f} MiB"
        )
    return results


def run_upstream(env, n):
    """Time prepare with OpenG2P's original module (it cannot send to the
    local server)."""
    results = {}
    cycle, _manager = make_upstream_program(env, n)
    make_entitlements(env, cycle, n)
    with measure(env, "prepare", results):
        cycle.prepare_payment()
        env.flush_all()
    payments = env["g2p.payment"].search_count([("cycle_id", "=", cycle.id)])
    env.cr.rollback()
    seconds, cpu, queries, _peak = results["prepare"]
    print(
        f"N={n}, original module: {payments} payments; prepare {seconds:8.2f} s "
        f"({cpu:6.2f} s CPU) {queries:8d} queries"
    )
    return results


def main(env):
    nproc = os.cpu_count()
    print(f"bench_odoo: N={SIZES}, batch size {BATCH_SIZE}, {nproc} CPUs")
    # The original module has no state machine on batches.
    run = run_once if "phee_state" in env["g2p.payment.batch"]._fields else run_upstream
    for n in SIZES:
        run(env, n)


if "env" in globals():
    main(env)
