"""Benchmark of the PHEE CSV renderer and X-SIGNATURE signer (no Odoo needed).

Measures, for ``BENCH_ROWS`` rows (default 100,000):

* ``per-batch``: ``build_frame`` + ``render_csv`` per batch of ``BENCH_BATCH``
  rows (default 500), as ``_phee_render_batch`` does for a batch;
* ``slices``: one frame for every row, ``render_csv`` of each batch slice, as
  prepare does;
* ``split``: one big frame cut by ``split_to_fit`` into files under PHEE's
  100,000-byte limit, each one rendered;
* signing: ``sign()`` of one rendered batch file (signatures per second);
* peak memory: Python allocations (tracemalloc) of the ``slices`` run and the
  process's peak RSS.

Usage, from the repository root (only requirements-test.txt is needed)::

    python bench/bench_render.py [--rows 100000] [--batch 500] [--repeat 3]

Timings are the best of ``--repeat`` runs; nothing is asserted.
"""

# pylint: disable=print-used
from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from phee.csv_render import build_frame, render_csv, split_to_fit  # noqa: E402
from phee.signer import generate_key_pair, load_private_key, sign  # noqa: E402


def make_rows(n: int) -> dict:
    """Per-row arrays of a realistic cycle: uuid request ids, msisdns, amounts."""
    return {
        "request_ids": [str(uuid.uuid4()) for _ in range(n)],
        "payee_identifiers": [f"2771{i:07d}" for i in range(n)],
        "amounts": [(500, 750, 1000, 1250)[i % 4] for i in range(n)],
    }


def frame(rows: dict, lo: int = 0, hi: int | None = None):
    return build_frame(
        request_ids=rows["request_ids"][lo:hi],
        payee_identifier_types="msisdn",
        payee_identifiers=rows["payee_identifiers"][lo:hi],
        amounts=rows["amounts"][lo:hi],
        payment_mode="mojaloop",
        payer_identifier_type="msisdn",
        payer_identifier="27710101999",
        currency="USD",
        note="National Cash Transfer Programme Cycle 12",
    )


def per_batch(rows: dict, n: int, batch: int) -> int:
    size = 0
    for lo in range(0, n, batch):
        size += len(render_csv(frame(rows, lo, lo + batch)))
    return size


def slices(rows: dict, n: int, batch: int) -> int:
    whole = frame(rows)
    return sum(
        len(render_csv(whole.iloc[lo : lo + batch])) for lo in range(0, n, batch)
    )


def split(rows: dict, n: int, batch: int) -> int:
    whole = frame(rows)
    return sum(len(render_csv(whole.iloc[lo:hi])) for lo, hi in split_to_fit(whole))


def best_of(repeat: int, fn, *args) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    n, batch = args.rows, args.batch

    rows = make_rows(n)
    print(f"bench_render: {n} rows, batches of {batch}, best of {args.repeat}")
    for label, fn in (("per-batch", per_batch), ("slices", slices), ("split", split)):
        seconds, size = best_of(args.repeat, fn, rows, n, batch)
        print(
            f"  {label:10s} {seconds:7.3f} s  {n / seconds:12,.0f} rows/s  "
            f"{size / seconds / 1e6:6.1f} MB/s of CSV"
        )

    private_pem, _public = generate_key_pair()
    key = load_private_key(private_pem)  # the client loads its key once
    payload = render_csv(frame(rows, 0, batch))
    count = max(10, args.repeat * 10)
    seconds, _ = best_of(
        args.repeat,
        lambda: [sign(payload, key, correlation_id=str(i)) for i in range(count)],
    )
    rate = count / seconds
    print(
        f"  signing    {rate:10,.0f} signatures/s of a {len(payload):,}-byte file "
        f"({rate * len(payload) / 1e6:.1f} MB/s)"
    )

    tracemalloc.start()
    slices(rows, n, batch)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  memory     {peak / 2**20:.1f} MiB peak Python allocations (slices run), "
        f"{max_rss:.0f} MiB peak RSS of the process"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
