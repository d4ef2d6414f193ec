"""Side-by-side timing: peers run alternately, several times; medians in seconds."""
import contextlib
import math
import time

import numpy as np

import fastconv

try:
    import torch
except ImportError:
    torch = None
try:
    import threadpoolctl
except ImportError:
    threadpoolctl = None

# A sample shorter than this is repeated inside the sample, so the timer's resolution
# and Python's call overhead do not dominate small ops (a 0.2 ms global pool), nor the
# first call after the settle pause: on the KVM machines here, threads woken from idle
# made that call up to several times slower (measured: a 0.35 ms 2-thread batch-norm
# backward took 0.6-2 ms per call for the first few calls after 0.1-0.3 s idle), which a
# 2 ms sample of a 0.3 ms op could not amortise.
MIN_SAMPLE_SECONDS = 0.01
# Idle worker threads spin for a while before sleeping: libgomp's (shared by fastconv and
# PyTorch) for a few ms here, OpenBLAS's for over 0.2 s unless OPENBLAS_THREAD_TIMEOUT is
# low (bench/run.py sets it). Timed straight after another library, a peer would share the
# cores with those spinning threads, so each sample waits first.
SETTLE_SECONDS = 0.03


def _loops(fn):
    """Calls per sample: enough to last MIN_SAMPLE_SECONDS (the first call is a warm-up)."""
    fn()
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    return max(1, math.ceil(MIN_SAMPLE_SECONDS / max(elapsed, 1e-9)))


def median_seconds(fns, repeats):
    """Seconds per call of each function in `fns` (a dict name -> callable): warm-up, then
    `repeats` rounds calling each in turn, so slow phases of a noisy machine hit all peers
    alike. Returns a dict name -> median seconds."""
    loops = {name: _loops(fn) for name, fn in fns.items()}
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            for _ in range(loops[name]):
                fn()
            samples[name].append((time.perf_counter() - start) / loops[name])
    return {name: float(np.median(s)) for name, s in samples.items()}


@contextlib.contextmanager
def threads(n):
    """fastconv, PyTorch and NumPy's BLAS all limited to `n` threads inside the block."""
    fastconv.set_num_threads(n)
    if torch is not None:
        previous_torch = torch.get_num_threads()
        torch.set_num_threads(n)
    limits = threadpoolctl.threadpool_limits(n) if threadpoolctl is not None else None
    try:
        yield
    finally:
        if limits is not None:
            limits.restore_original_limits()
        if torch is not None:
            torch.set_num_threads(previous_torch)
