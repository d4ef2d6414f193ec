"""`show_config()`: what this build of fastconv is and what it runs on."""
import os
import platform
import sys

import numpy

from fastconv._ext import gemm as _gemm
from fastconv._ext import threads as _omp
from fastconv._threads import get_num_threads

CPU_FEATURES = ("sse2", "avx", "avx2", "fma", "avx512f")


def available_processors():
    """Processors this process may run on (its CPU affinity), as OpenMP counts them."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def kernel_isa():
    """The GEMM engine's micro-kernels in use, and whether FASTCONV_ISA was refused."""
    isa = _gemm.isa()
    text = f"GEMM micro-kernels {isa}"
    forced = os.environ.get("FASTCONV_ISA")
    if _gemm.isa_forced_refused():
        text += (f" (FASTCONV_ISA={forced!r} refused: not one of avx512, avx2, generic "
                 f"that this CPU runs)")
    elif forced:
        text += " (forced by FASTCONV_ISA)"
    return text


def config():
    """The build and runtime facts as a dict (what show_config prints)."""
    from fastconv import __version__

    return {
        "version": __version__,
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "compiler": _omp.compiler(),
        "compile_flags": _omp.compile_flags(),
        "openmp": _omp.openmp_enabled(),
        "threads": get_num_threads(),
        "processors": available_processors(),
        "cpu_features": [f for f in CPU_FEATURES if _omp.cpu_supports(f)],
        "kernel_isa": kernel_isa(),
    }


def show_config(file=None):
    """Print version, compiler, OpenMP on/off, threads and the CPU features in use."""
    c = config()
    openmp = "on" if c["openmp"] else "off (serial build: no working OpenMP at build time)"
    lines = [
        f"fastconv {c['version']}",
        f"  python        {c['python']}  numpy {c['numpy']}",
        f"  platform      {c['platform']}",
        f"  compiler      {c['compiler']}  flags: {c['compile_flags']}",
        f"  openmp        {openmp}",
        f"  threads       {c['threads']} of {c['processors']} processors",
        f"  cpu features  {' '.join(c['cpu_features']) or 'none detected'}",
        f"  kernels       {c['kernel_isa']}",
    ]
    print("\n".join(lines), file=file or sys.stdout)
