"""The machine's limits, measured in the same run as the kernels they judge."""
import time

import numpy as np

from fastconv._ext import peak

COPY_BYTES = 256 << 20


def fma_gflops(threads, dtype="float32", seconds=0.2):
    """(GFLOP/s, isa) of independent FMA chains in `threads` threads: the compute ceiling."""
    return peak.fma_peak_gflops(dtype, threads, seconds)


def copy_gbps(threads, nbytes=COPY_BYTES, repeats=5):
    """Copy bandwidth in GB/s (bytes read + bytes written) of a 256 MiB memcpy split
    over `threads` threads, median of `repeats`: the ceiling of memory-bound ops."""
    src = np.ones(nbytes, np.uint8)
    dst = np.empty_like(src)
    peak.copy(dst, src, threads)  # touch the pages first: fresh pages are slow here
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        peak.copy(dst, src, threads)
        times.append(time.perf_counter() - start)
    return 2 * nbytes / float(np.median(times)) / 1e9


def measure(threads, quick=False):
    """The limits for one thread count, as a dict (printed and saved with the results)."""
    gflops, isa = fma_gflops(threads, seconds=0.05 if quick else 0.2)
    return {"threads": threads, "fma_gflops_f32": gflops, "isa": isa,
            "copy_gbps": copy_gbps(threads, repeats=3 if quick else 5)}
