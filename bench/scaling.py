"""fastconv's speed-up from 1 thread to n threads on the conv shapes of 1 GFLOP or more
(PERF.md's threads target), each pass timed at 1 thread and at n threads alternately in one
loop: the same phases of a noisy machine fall on both counts, where figures taken from the
1-thread and n-thread sections of a run, minutes apart, do not."""
import numpy as np

import fastconv
import peak
from fastconv import ops
from suites.conv import CASES
from timing import median_seconds

MIN_GFLOP = 1.0
# At least this many rounds: a 2-thread sample loses its second core to the host now and
# then (the same row measured x1.37 and x1.94 in two runs of 5 rounds), and the median of
# more rounds rides over more of those phases; the whole table takes well under a minute.
MIN_REPEATS = 9
PASSES = ("fwd", "bwd-data", "bwd-weight")


def _pass_fn(name, x, weight, gy, stride, pad):
    if name == "fwd":
        return lambda: ops.conv2d(x, weight, stride=stride, padding=pad)
    mask = (name == "bwd-data", name == "bwd-weight", False)
    return lambda: ops.conv2d_backward(gy, x, weight, stride=stride, padding=pad,
                                       output_mask=mask)


def _at_threads(count, fn):
    def call():
        fastconv.set_num_threads(count)
        return fn()
    return call


def measure(thread_counts, repeats, cases=CASES, min_gflop=MIN_GFLOP):
    """Yields {case, pass, work (GFLOP), speedups {n: 1-thread time / n-thread time}} for
    the cases (bench/suites/conv.py's form) of at least min_gflop."""
    counts = sorted(set(thread_counts) | {1})
    if len(counts) < 2:
        return
    previous = fastconv.get_num_threads()
    rng = np.random.default_rng(0)
    try:
        for name, n, c, h, w, k, r, stride, pad in cases:
            oh = (h + 2 * pad - r) // stride + 1
            ow = (w + 2 * pad - r) // stride + 1
            gflop = 2.0 * n * k * c * r * r * oh * ow / 1e9
            if gflop < min_gflop:
                continue
            x = rng.standard_normal((n, c, h, w), dtype=np.float32)
            weight = rng.standard_normal((k, c, r, r), dtype=np.float32)
            gy = rng.standard_normal((n, k, oh, ow), dtype=np.float32)
            for pass_name in PASSES:
                fn = _pass_fn(pass_name, x, weight, gy, stride, pad)
                seconds = median_seconds({t: _at_threads(t, fn) for t in counts},
                                         max(repeats, MIN_REPEATS))
                yield {"case": name, "pass": pass_name, "work": gflop,
                       "speedups": {t: seconds[1] / seconds[t] for t in counts if t > 1}}
    finally:
        fastconv.set_num_threads(previous)


def machine_scaling(thread_counts, repeats):
    """The control: the FMA loop's own speed-up {n: rate at n threads / rate at 1 thread},
    the counts measured alternately, median over the rounds. Below the thread count, the
    host did not give the run all of its cores."""
    counts = sorted(set(thread_counts) | {1})
    rounds = {t: [] for t in counts if t > 1}
    for _ in range(max(repeats, MIN_REPEATS)):
        rates = {t: peak.fma_gflops(t, seconds=0.05)[0] for t in counts}
        for t in rounds:
            rounds[t].append(rates[t] / rates[1])
    return {t: float(np.median(r)) for t, r in rounds.items()}


def print_scaling(thread_counts, repeats):
    """Measures and prints the table, after the control; returns its rows."""
    rows = []
    for row in measure(thread_counts, repeats):
        if not rows:
            print(f"\nfastconv thread scaling, conv rows of >= {MIN_GFLOP:g} GFLOP "
                  "(1-thread time / n-thread time, the counts timed alternately in one loop):")
            control = machine_scaling(thread_counts, repeats)
            figures = "  ".join(f"{t} threads: x{s:5.2f}" for t, s in control.items())
            print(f"  {'FMA loop (the machine)':<37} {figures}", flush=True)
        rows.append(row)
        figures = "  ".join(f"{t} threads: x{s:5.2f}" for t, s in row["speedups"].items())
        print(f"  {row['case']:<26} {row['pass']:<10} {figures}", flush=True)
    for t in sorted({t for row in rows for t in row["speedups"]}):
        speedups = [row["speedups"][t] for row in rows]
        print(f"  SUMMARY scaling to {t} threads: median x{float(np.median(speedups)):.2f}, "
              f"worst x{min(speedups):.2f}", flush=True)
    return rows
