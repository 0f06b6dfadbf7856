"""Tier-1 smoke test of bench/bench_render.py: it runs and reports every figure
(no timing is asserted)."""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_render.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_render", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_render_runs_on_a_small_cycle(capsys):
    bench = load_bench()
    assert bench.main(["--rows", "1200", "--batch", "500", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for label in ("per-batch", "slices", "split", "signing", "memory"):
        assert f"  {label}" in out
    assert "1200 rows" in out


def test_bench_modes_render_the_same_rows():
    bench = load_bench()
    rows = bench.make_rows(1200)
    # Same batches rendered from one frame or from a frame each: same bytes.
    assert bench.per_batch(rows, 1200, 500) == bench.slices(rows, 1200, 500)
    assert bench.split(rows, 1200, 500) > 0
