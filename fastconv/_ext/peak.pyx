# distutils: sources = fastconv/_kernels/peak.c
"""Bindings for peak.h: the machine's FMA limit and copy bandwidth, measured now (bench/)."""
import time

import numpy as np
from libc.stdint cimport int64_t

cdef extern from "peak.h" nogil:
    double fma_peak_run(int double_precision, int64_t iterations, int num_threads,
                        const char **isa)
    void parallel_copy(char *dst, const char *src, int64_t bytes, int num_threads)


def _fma_run(bint double_precision, int64_t iterations, int num_threads):
    """(flops, seconds, isa) of one run of the FMA chains in `num_threads` threads."""
    cdef const char *isa = NULL
    cdef double flops
    start = time.perf_counter()
    with nogil:
        flops = fma_peak_run(double_precision, iterations, num_threads, &isa)
    return flops, time.perf_counter() - start, isa.decode()


def fma_peak_gflops(dtype="float32", int threads=1, double seconds=0.2, repeats=3):
    """GFLOP/s of independent FMA chains on registers in `threads` threads: the ceiling
    any float kernel (GEMM, convolution) can reach. Each of `repeats` runs lasts about
    `seconds`; the best is returned (interference only ever slows a run down).
    Returns (gflops, isa), isa the instruction set used: "avx512f", "avx2" or "portable"."""
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    double_precision = np.dtype(dtype) == np.float64
    iterations = 1000
    flops, elapsed, isa = _fma_run(double_precision, iterations, threads)
    while elapsed < 0.01:  # calibrate on a run long enough to time
        iterations *= 10
        flops, elapsed, isa = _fma_run(double_precision, iterations, threads)
    iterations = max(1, int(iterations * seconds / elapsed))
    best = 0.0
    for _ in range(repeats):
        flops, elapsed, isa = _fma_run(double_precision, iterations, threads)
        best = max(best, flops / elapsed / 1e9)
    return best, isa


def copy(unsigned char[::1] dst,          # OUT (bytes,)
         const unsigned char[::1] src,     # IN  (bytes,)
         int num_threads):
    """memcpy(dst, src) split into one contiguous block per thread."""
    if dst.shape[0] != src.shape[0]:
        raise ValueError(f"dst and src must have the same size, got {dst.shape[0]} and {src.shape[0]}")
    with nogil:
        parallel_copy(<char *>&dst[0], <const char *>&src[0], dst.shape[0], num_threads)
