"""The benchmark suite runs (a smoke test: no timing is asserted) and the machine-limit
bindings it relies on return sensible numbers."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fastconv._ext import peak

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fma_peak_is_a_positive_rate(dtype):
    gflops, isa = peak.fma_peak_gflops(dtype, threads=1, seconds=0.01, repeats=1)
    assert gflops > 0
    assert isa in ("avx512f", "avx2", "portable")


def test_fma_peak_refuses_bad_arguments():
    with pytest.raises(ValueError, match="dtype"):
        peak.fma_peak_gflops("int32")
    with pytest.raises(ValueError, match="threads"):
        peak.fma_peak_gflops("float32", threads=0)
    with pytest.raises(ValueError, match="seconds"):
        peak.fma_peak_gflops("float32", seconds=0)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_parallel_copy_copies(threads):
    src = np.arange(1001, dtype=np.uint8)
    dst = np.zeros_like(src)
    peak.copy(dst, src, threads)
    assert np.array_equal(dst, src)


def test_quick_pool_and_bn_run_and_report(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "run.py"), "--quick", "--suite", "pool,bn,networks",
         "--threads", "1", "--repeats", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "SUMMARY pool 1T" in run.stdout and "SUMMARY bn 1T" in run.stdout
    result = json.loads(out.read_text())
    assert result["limits"][0]["copy_gbps"] > 0
    rows = result["rows"]
    assert {row["suite"] for row in rows} == {"pool", "bn", "networks"}
    assert all(row["seconds"]["fastconv"] > 0 for row in rows)


def test_unknown_suites_are_refused():
    run = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "run.py"), "--suite", "nope"],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode != 0 and "unknown suite" in run.stderr


def test_thread_scaling_times_each_pass_at_every_count():
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        import scaling
    finally:
        sys.path.remove(os.path.join(ROOT, "bench"))
    import fastconv
    small = [("small", 2, 4, 8, 8, 8, 3, 1, 1), ("too small", 1, 1, 4, 4, 1, 1, 1, 0)]
    before = fastconv.get_num_threads()
    rows = list(scaling.measure([2], 1, cases=small, min_gflop=5e-5))
    assert fastconv.get_num_threads() == before
    assert [(row["case"], row["pass"]) for row in rows] == [
        ("small", "fwd"), ("small", "bwd-data"), ("small", "bwd-weight")]
    assert all(set(row["speedups"]) == {2} and row["speedups"][2] > 0 for row in rows)
    assert list(scaling.measure([1], 1, cases=small, min_gflop=0)) == []
