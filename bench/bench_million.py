"""A whole PHEE payment cycle at national scale: N beneficiaries, end to end.

Runs inside ``odoo shell`` on a database where this addon is installed. For
each N it creates a program, an approved cycle and N registrants with approved
entitlements in plain SQL (at the database's speed, not through the ORM), then
runs and measures, phase by phase, what officers, queue jobs and the status
cron do:

* prepare: ``g2p.cycle.prepare_payment()`` (queue jobs of 10,000 entitlements
  above 10,000);
* send: ``g2p.cycle.send_payment()`` (one queue job per batch above 50
  batches): each batch's file rendered from its payments (as every send
  does, whether or not prepare attached one), signed and posted to the local
  PHEE-compatible server;
* sync: the status cron (``_cron_phee_status_sync``), run until every payment
  of the cycle is final; or, with ``BENCH_SYNC=jobs``, the open batches synced
  by queue jobs of 50 batches (``_phee_sync_batches``) on the PHEE channel,
  so that several workers share them.

The PHEE server is ``python -m phee_sandbox`` in its own process, stock-like
(signatures required and checked against a key pair made for the run,
correlation ids replaced, sub-batches of 5) except ``--settle-polls 0``:
transfers are final at the first status call. Payees whose phone number ends in
999 are unknown to it, so about one payment in a thousand fails. The manager
has no pacing limits (``max_batches_in_flight`` and
``max_submissions_per_minute`` at 0): the bench measures Odoo, not PHEE.

Queue jobs run either here (``BENCH_RUNNER=inline``, the default: pending jobs
are taken one at a time, each in its own transaction, as the job runner would
but without HTTP) or by the job runner of an Odoo server started separately on
the same database (``BENCH_RUNNER=workers``; give its ``--pidfile`` as
``BENCH_SERVER_PIDFILE`` to get the peak RSS of its processes).

For each phase it prints the wall time, the CPU time of this process, the SQL
queries run by this process (``cr.sql_log_count``; inline jobs included), the
HTTP calls made to PHEE, the peak RSS (of this process; with
``BENCH_RUNNER=workers`` also the largest of the server's processes) and the
growth of the database (``pg_database_size``), then the size of the payment
tables.

Unlike ``bench_odoo.py``, this benchmark COMMITS (queue jobs, the commits
around each POST and the cron are measured as they run): run it on a
throwaway copy of a database, e.g. ``createdb -T <db> <db>_bench``.

Usage (environment variables, defaults in brackets)::

    BENCH_N=10000,100000,1000000 odoo shell -d DB --no-http < bench/bench_million.py

* ``BENCH_N`` [``10000,100000``]: the cycle sizes, one cycle each;
* ``BENCH_BATCH_SIZE`` [500]: payments per batch;
* ``BENCH_CSV_AT_PREPARE`` [0]: also attach each file at prepare (for review);
* ``BENCH_RUNNER`` [``inline``] and ``BENCH_SERVER_PIDFILE``: see above;
* ``BENCH_SYNC`` [``cron``]: ``jobs`` to sync in queue jobs (see above);
* ``BENCH_SANDBOX_ARGS``: more options for ``python -m phee_sandbox``;
* ``BENCH_OUT``: a file to write the results to, as JSON;
* ``BENCH_PROFILE``: a phase to profile (``cProfile``, wall clock), e.g.
  ``sync``: its 40 most expensive functions are printed.
"""

# pylint: disable=print-used
# ruff: noqa: F821  (``env`` and ``odoo`` come from ``odoo shell``)

import cProfile
import json
import os
import pstats
import resource
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager, suppress
from unittest import mock
from urllib.parse import urlsplit

SIZES = [int(n) for n in os.environ.get("BENCH_N", "10000,100000").split(",") if n]
BATCH_SIZE = int(os.environ.get("BENCH_BATCH_SIZE", "500"))
CSV_AT_PREPARE = os.environ.get("BENCH_CSV_AT_PREPARE", "0") == "1"
RUNNER = os.environ.get("BENCH_RUNNER", "inline")
SERVER_PIDFILE = os.environ.get("BENCH_SERVER_PIDFILE")
SANDBOX_ARGS = shlex.split(os.environ.get("BENCH_SANDBOX_ARGS", ""))
OUT = os.environ.get("BENCH_OUT")
PROFILE = os.environ.get("BENCH_PROFILE")
SYNC = os.environ.get("BENCH_SYNC", "cron")
SYNC_JOB_BATCHES = 50  # batches per sync job (BENCH_SYNC=jobs)
SYNC_ROUNDS = 20  # status cron runs at most
PAYMENT_TABLES = (
    "g2p_payment",
    "g2p_payment_g2p_payment_batch_rel",
    "g2p_payment_batch",
    "ir_attachment",
    "queue_job",
    "mail_message",
)


# ----------------------------------------------------------------- measuring


def _status_kb(pid, key):
    with suppress(OSError), open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def _rss_mib(pid="self", key="VmHWM"):
    """VmHWM (peak) or VmRSS of a process in MiB (``ru_maxrss`` when
    ``/proc`` is unavailable)."""
    kb = _status_kb(pid, key)
    if kb is None and pid == "self":
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (kb or 0) / 1024


def _reset_peak():
    """Reset the kernel's peak-RSS mark so each phase reports its own peak."""
    with suppress(OSError), open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _server_pids():
    """The Odoo server's processes (the one in the pidfile and its children)."""
    if not SERVER_PIDFILE:
        return []
    with suppress(OSError, ValueError), open(SERVER_PIDFILE) as pidfile:
        root = int(pidfile.read().strip())
        pids, todo = [], [root]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            with suppress(OSError), open(f"/proc/{pid}/task/{pid}/children") as f:
                todo.extend(int(child) for child in f.read().split())
        return pids
    return []


class ServerRss:
    """Largest RSS seen in the Odoo server's processes (sampled while waiting:
    workers are recycled, and their peak goes with them)."""

    def __init__(self):
        self.peak = 0.0

    def sample(self):
        for pid in _server_pids():
            self.peak = max(self.peak, _rss_mib(pid, "VmRSS"))


class HttpCalls:
    """HTTP requests this process makes, counted by path."""

    def __init__(self):
        self.calls = Counter()

    @contextmanager
    def counting(self):
        from requests.adapters import HTTPAdapter

        original = HTTPAdapter.send
        calls = self.calls

        def send(adapter, request, *args, **kwargs):
            path = "/".join(
                "{id}" if len(part) > 8 and any(c.isdigit() for c in part) else part
                for part in urlsplit(request.url).path.rstrip("/").split("/")
            )
            calls[f"{request.method} {path}"] += 1
            return original(adapter, request, *args, **kwargs)

        with mock.patch.object(HTTPAdapter, "send", send):
            yield


def _database_size(cr):
    cr.execute("SELECT pg_database_size(current_database())")
    return cr.fetchone()[0]


def _table_sizes(cr):
    cr.execute(
        "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
        "WHERE relname = ANY(%s) AND relkind = 'r'",
        [list(PAYMENT_TABLES)],
    )
    return dict(cr.fetchall())


@contextmanager
def measure(env, label, results, http, server_rss):
    """Time a phase that starts with cold ORM caches, as a new job or cron run
    would."""
    cr = env.cr
    env.flush_all()
    env.cr.commit()
    env.invalidate_all()
    _reset_peak()
    server_rss.peak = 0.0
    size = _database_size(cr)
    queries = cr.sql_log_count
    calls = Counter(http.calls)
    profile = cProfile.Profile() if label == PROFILE else None
    cpu = time.process_time()
    start = time.perf_counter()
    if profile:
        profile.enable()
    yield
    env.flush_all()
    env.cr.commit()
    if profile:
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    results[label] = {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "queries": cr.sql_log_count - queries,
        "http_calls": sum((http.calls - calls).values()),
        "http_calls_by_route": dict(http.calls - calls),
        "peak_rss_mib": _rss_mib(),
        "server_peak_rss_mib": server_rss.peak,
        "db_growth_mib": (_database_size(cr) - size) / 2**20,
    }


# ----------------------------------------------------------------- PHEE server


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def sandbox(public_key):
    """``python -m phee_sandbox`` in its own process; yields (base URL, pid)."""
    import odoo.addons.g2p_payment_phee as addon

    root = os.path.dirname(addon.__file__)
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        key_file = os.path.join(tmp, "public.pem")
        with open(key_file, "w") as out:
            out.write(public_key)
        log = open(os.path.join(tmp, "sandbox.log"), "w")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "phee_sandbox", "--port", str(port)]
            + ["--public-key", key_file, "--settle-polls", "0", *SANDBOX_ARGS],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                with suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"phee_sandbox did not start ({log.name})")
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            process.terminate()
            process.wait(timeout=10)
            log.close()


# ----------------------------------------------------------------- fixture


def _bench_odoo():
    """The definitions of ``bench_odoo.py`` (run without its main): one
    program, cycle and manager fixture for both benchmarks."""
    import odoo.addons.g2p_payment_phee as addon

    path = os.path.join(os.path.dirname(addon.__file__), "bench", "bench_odoo.py")
    namespace = {}
    with open(path) as source:
        exec(compile(source.read(), path, "exec"), namespace)  # noqa: S102
    return namespace


def make_program(env, n, base, private_key):
    """``bench_odoo.py``'s program, approved cycle and PHEE manager (no pacing
    limits), paying through the local server at ``base``; committed."""
    from odoo.addons.g2p_payment_phee.phee_sandbox import endpoint_urls

    cycle, manager = _bench_odoo()["make_program"](
        env,
        n,
        endpoint_urls(base),
        private_key,
        make_csv_at_prepare=CSV_AT_PREPARE,
    )
    env.cr.commit()
    return cycle, manager


def make_entitlements(env, cycle, n):
    """N registrants with phone numbers and N approved entitlements, in SQL
    (foreign keys checked set-based where allowed, see ``phee_bulk.run_insert``)."""
    from odoo.tools import SQL

    from odoo.addons.g2p_payment_phee.models.phee_bulk import run_insert

    cr = env.cr
    tag = f"bench-{cycle.id}"
    uid, company = env.uid, env.company.id
    now = SQL("now() AT TIME ZONE 'UTC'")
    constants = {
        "company_id": SQL("ARRAY[%s]::int4[]", company),
        "create_uid": SQL("ARRAY[%s]::int4[]", uid),
        "write_uid": SQL("ARRAY[%s]::int4[]", uid),
    }
    columns = ["name", "complete_name", "ref", "is_registrant", "is_group", "phone"]
    columns += ["active", "type", "company_id", "create_uid", "create_date"]
    columns += ["write_uid", "write_date"]
    run_insert(
        cr,
        "res_partner",
        columns,
        SQL(
            """INSERT INTO res_partner (%s)
               SELECT 'Bench ' || i, 'Bench ' || i, %s, TRUE, FALSE,
                      '2771' || lpad(i::text, 7, '0'), TRUE, 'contact', %s, %s,
                      %s, %s, %s
                 FROM generate_series(1, %s) AS i""",
            SQL(", ").join(map(SQL.identifier, columns)),
            tag,
            company,
            uid,
            now,
            uid,
            now,
            n,
        ),
        constants,
    )
    journal = cycle.program_id.journal_id.id
    columns = ["partner_id", "cycle_id", "code", "initial_amount", "transfer_fee"]
    columns += ["state", "is_cash_entitlement", "journal_id", "create_uid"]
    columns += ["create_date", "write_uid", "write_date"]
    run_insert(
        cr,
        "g2p_entitlement",
        columns,
        SQL(
            """INSERT INTO g2p_entitlement (%s)
               SELECT p.id, %s, %s || p.id, 500, 0, 'approved', TRUE, %s,
                      %s, %s, %s, %s
                 FROM res_partner p WHERE p.ref = %s ORDER BY p.id""",
            SQL(", ").join(map(SQL.identifier, columns)),
            cycle.id,
            f"BENCH-{cycle.id}-",
            journal,
            uid,
            now,
            uid,
            now,
            tag,
        ),
        {
            **constants,
            "partner_id": SQL("ARRAY(SELECT id FROM res_partner WHERE ref = %s)", tag),
            "cycle_id": SQL("ARRAY[%s]::int4[]", cycle.id),
            "journal_id": SQL("ARRAY[%s]::int4[]", journal),
        },
    )
    # As autovacuum would soon: plans for these tables then see their size.
    cr.execute("ANALYZE res_partner")
    cr.execute("ANALYZE g2p_entitlement")
    cr.commit()
    env.invalidate_all()


# ----------------------------------------------------------------- queue jobs


def _cycle_jobs_left(env):
    env.cr.execute(
        "SELECT count(*) FROM queue_job WHERE state NOT IN ('done', 'failed', "
        "'cancelled')"
    )
    return env.cr.fetchone()[0]


def run_jobs(env, server_rss):
    """Run the queue jobs until none is left to do; return (done, failed)."""
    if RUNNER == "workers":
        while _cycle_jobs_left(env):
            server_rss.sample()
            env.cr.commit()  # a fresh snapshot for the next count
            time.sleep(0.5)
        return _job_states(env)
    from odoo.addons.queue_job.exception import RetryableJobError
    from odoo.addons.queue_job.job import Job

    cr = env.cr
    while True:
        cr.execute(
            """SELECT uuid FROM queue_job WHERE state = 'pending'
                  AND (eta IS NULL OR eta <= now() AT TIME ZONE 'UTC')
                ORDER BY priority, date_created, id LIMIT 100"""
        )
        uuids = [row[0] for row in cr.fetchall()]
        if not uuids:
            if not _cycle_jobs_left(env):
                return _job_states(env)
            cr.commit()
            time.sleep(0.5)  # postponed jobs, or ones waiting for others
            continue
        for uuid in uuids:
            job = Job.load(env, uuid)
            job.set_started()
            job.store()
            cr.commit()
            try:
                job.perform()
                env.flush_all()
                job.set_done()
                job.store()
            except RetryableJobError as error:
                cr.rollback()
                env.invalidate_all()
                job = Job.load(env, uuid)
                job.postpone(result=str(error), seconds=error.seconds)
                job.set_pending(reset_retry=False)
                job.store()
            except Exception as error:  # pylint: disable=broad-except
                cr.rollback()
                env.invalidate_all()
                job = Job.load(env, uuid)
                job.set_failed(exc_name=type(error).__name__, exc_info=str(error))
                job.store()
            env.flush_all()
            cr.commit()
            job.enqueue_waiting()
            cr.commit()
            env.invalidate_all()


def sync_in_jobs(env, manager, batch_ids, server_rss):
    """One status sync of the cycle's open batches in queue jobs of
    ``SYNC_JOB_BATCHES`` batches each."""
    from odoo.addons.g2p_payment_phee.models.phee_states import SYNCED_STATES
    from odoo.addons.g2p_payment_phee.models.phee_utils import PHEE_JOB_CHANNEL

    open_ids = (
        env["g2p.payment.batch"]
        .search([("id", "in", batch_ids), ("phee_state", "in", SYNCED_STATES)])
        .ids
    )
    for i in range(0, len(open_ids), SYNC_JOB_BATCHES):
        chunk = env["g2p.payment.batch"].browse(open_ids[i : i + SYNC_JOB_BATCHES])
        manager.with_delay(
            channel=PHEE_JOB_CHANNEL, description="PHEE bench: status sync"
        )._phee_sync_batches(chunk)
    env.cr.commit()
    run_jobs(env, server_rss)


def _job_states(env):
    env.cr.execute("SELECT state, count(*) FROM queue_job GROUP BY 1")
    return dict(env.cr.fetchall())


# ----------------------------------------------------------------- one cycle


def _open_payments(env, cycle):
    env.cr.execute(
        "SELECT count(*) FROM g2p_payment WHERE cycle_id = %s "
        "AND phee_payment_state IS NOT NULL AND NOT coalesce(status_is_final, FALSE)",
        [cycle.id],
    )
    return env.cr.fetchone()[0]


def run_once(env, n, base, private_key, http, server_rss):
    results = {}
    cycle, manager = make_program(env, n, base, private_key)
    start = time.perf_counter()
    size = _database_size(env.cr)
    make_entitlements(env, cycle, n)
    fixture = {
        "seconds": time.perf_counter() - start,
        "db_growth_mib": (_database_size(env.cr) - size) / 2**20,
    }
    with measure(env, "prepare", results, http, server_rss):
        cycle.prepare_payment()
        env.cr.commit()
        jobs = run_jobs(env, server_rss)
    batch_ids = cycle.payment_batch_ids.ids
    with measure(env, "send", results, http, server_rss):
        cycle.send_payment()
        env.cr.commit()
        jobs = run_jobs(env, server_rss)
    env.cr.execute(
        "SELECT phee_state, count(*) FROM g2p_payment_batch WHERE id = ANY(%s) "
        "GROUP BY 1",
        [batch_ids],
    )
    batch_states = dict(env.cr.fetchall())
    rounds, before = 0, None
    with measure(env, "sync", results, http, server_rss):
        # Until every payment is final, or a round settles nothing more (a
        # batch PHEE never starts, see BENCH_SANDBOX_ARGS).
        while rounds < SYNC_ROUNDS:
            left = _open_payments(env, cycle)
            if not left or left == before:
                break
            before = left
            rounds += 1
            if SYNC == "jobs":
                sync_in_jobs(env, manager, batch_ids, server_rss)
            else:
                env["g2p.payment.batch"]._cron_phee_status_sync()
            env.cr.commit()
            env.invalidate_all()
    env.cr.execute(
        "SELECT coalesce(status, 'none'), count(*) FROM g2p_payment "
        "WHERE cycle_id = %s GROUP BY 1",
        [cycle.id],
    )
    statuses = dict(env.cr.fetchall())
    # Posted once each: one attempt recorded before every POST, and as many
    # PHEE batch ids as batches.
    env.cr.execute(
        "SELECT phee_attempt_count, count(*), count(DISTINCT external_batch_ref) "
        "FROM g2p_payment_batch WHERE id = ANY(%s) GROUP BY 1",
        [batch_ids],
    )
    attempts = {f"{a} attempt(s)": [n, ids] for a, n, ids in env.cr.fetchall()}
    env.cr.execute(
        "SELECT phee_state, count(*) FROM g2p_payment_batch WHERE id = ANY(%s) "
        "GROUP BY 1",
        [batch_ids],
    )
    final_states = dict(env.cr.fetchall())
    return {
        "n": n,
        "batches": len(batch_ids),
        "batch_states_after_send": batch_states,
        "sync_rounds": rounds,
        "batch_states_after_sync": final_states,
        "payment_statuses": statuses,
        "attempts": attempts,
        "jobs": jobs,
        "fixture": fixture,
        "phases": results,
        "table_sizes_mib": {
            table: size / 2**20 for table, size in _table_sizes(env.cr).items()
        },
    }


def report(run):
    n = run["n"]
    print(
        f"N={n:,}: {run['batches']} batches; fixture {run['fixture']['seconds']:.1f} s "
        f"(+{run['fixture']['db_growth_mib']:.0f} MiB); after send "
        f"{run['batch_states_after_send']}; {run['sync_rounds']} sync rounds, then "
        f"{run['batch_states_after_sync']}; "
        f"payments {run['payment_statuses']}; batches by attempts [batches, "
        f"PHEE ids] {run['attempts']}"
    )
    total = 0.0
    for label, phase in run["phases"].items():
        total += phase["seconds"]
        server = (
            f", server {phase['server_peak_rss_mib']:.0f} MiB"
            if phase["server_peak_rss_mib"]
            else ""
        )
        print(
            f"  {label:8s} {phase['seconds']:8.1f} s "
            f"({phase['seconds'] / n * 1e6:6.0f} µs/payment) "
            f"cpu {phase['cpu_seconds']:7.1f} s {phase['queries']:8d} queries "
            f"{phase['http_calls']:6d} HTTP  peak RSS {phase['peak_rss_mib']:5.0f} MiB"
            f"{server}  DB +{phase['db_growth_mib']:.0f} MiB"
        )
    print(f"  total    {total:8.1f} s")
    for label, phase in run["phases"].items():
        if phase["http_calls"]:
            routes = ", ".join(
                f"{route} {count / run['batches']:.2f}"
                for route, count in sorted(phase["http_calls_by_route"].items())
            )
            print(f"  {label} HTTP calls per batch: {routes}")
    print(
        "  tables: "
        + ", ".join(f"{t} {s:.0f} MiB" for t, s in run["table_sizes_mib"].items())
    )
    sys.stdout.flush()


def main(env):
    from odoo.addons.g2p_payment_phee.phee.signer import generate_key_pair

    print(
        f"bench_million: N={SIZES}, batch size {BATCH_SIZE}, {os.cpu_count()} CPUs, "
        f"jobs {RUNNER}, CSV at prepare {CSV_AT_PREPARE}"
    )
    private_key, public_key = generate_key_pair()
    http, server_rss = HttpCalls(), ServerRss()
    runs = []
    with sandbox(public_key) as (base, sandbox_pid), http.counting():
        for n in SIZES:
            run = run_once(env, n, base, private_key, http, server_rss)
            run["sandbox_peak_rss_mib"] = _rss_mib(sandbox_pid)
            report(run)
            runs.append(run)
    if OUT:
        with open(OUT, "w") as out:
            json.dump(runs, out, indent=1)


if "env" in globals():
    main(env)
