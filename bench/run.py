"""fastconv's speed beside PyTorch (when installed) and plain NumPy, measured alternately
in one process: medians, rates, fractions of the machine's limits measured in the same
run, and ratios (peer time / fastconv time: above 1, fastconv is faster).

    python bench/run.py [--suite gemm,conv,pool,bn,networks] [--threads 1,2] [--quick] [--json FILE]

Suites (bench/suites/): gemm (ops.matmul vs NumPy @ and torch.mm), conv (forward,
backward-data, backward-weight), pool and bn (memory-bound: GB/s and % of copy bandwidth),
networks (training steps of LeNet-5, the simple CNN and CIFAR ResNet-18, and batch-1
inference: images/s). With the conv suite and more than one thread count, the run ends with
fastconv's thread scaling on the conv shapes of 1 GFLOP or more (bench/scaling.py).
Shapes are those of PERF.md. --quick: a few shapes, 3 repeats, under a minute.

NumPy's BLAS is slowed by OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which some of the
project's machines set; OpenBLAS reads them when NumPy is imported, so this script
re-executes itself without them (--keep-openblas-env to measure with them).
It also sets OPENBLAS_THREAD_TIMEOUT=4 (unless set): OpenBLAS's idle workers otherwise
keep spinning for over 0.2 s after each call (measured here), and on 2 cores the peer
timed next would share its cores with them. fastconv's and PyTorch's OpenMP workers
(one shared libgomp) stop spinning within a few ms, which the settle wait before each
sample (bench/timing.py) covers.
"""
import argparse
import json
import os
import platform
import sys
import time

OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# 2**4 cycles: OpenBLAS's workers go to sleep as soon as a call ends.
OPENBLAS_IDLE_TIMEOUT = ("OPENBLAS_THREAD_TIMEOUT", "4")


def _reexec_with_bench_environment(argv):
    """OpenBLAS reads its variables when NumPy is imported, so they are set by re-executing."""
    unset = [] if "--keep-openblas-env" in argv else [v for v in OPENBLAS_VARIABLES
                                                       if v in os.environ]
    timeout_name, timeout_value = OPENBLAS_IDLE_TIMEOUT
    if not unset and timeout_name in os.environ:
        return
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.setdefault(timeout_name, timeout_value)
    env["FASTCONV_BENCH_UNSET"] = ",".join(unset)
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + argv, env)


if __name__ == "__main__":
    _reexec_with_bench_environment(sys.argv[1:])

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))  # the work tree's fastconv, when not installed

import numpy as np  # noqa: E402

import fastconv  # noqa: E402
import peak  # noqa: E402
import report  # noqa: E402
import scaling  # noqa: E402
from suites import bn, conv, gemm, networks, pool  # noqa: E402
from timing import threads as limit_threads, torch  # noqa: E402

SUITES = {"gemm": gemm, "conv": conv, "pool": pool, "bn": bn, "networks": networks}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="gemm,conv,pool,bn,networks",
                        help="comma-separated suites among " + ",".join(SUITES))
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--quick", action="store_true", help="few shapes, 3 repeats")
    parser.add_argument("--repeats", type=int, help="timed rounds per case (default 5, quick 3)")
    parser.add_argument("--json", help="also write every result row and limit to this file")
    parser.add_argument("--keep-openblas-env", action="store_true",
                        help="do not unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE")
    args = parser.parse_args(argv)
    args.suites = [s.strip() for s in args.suite.split(",") if s.strip()]
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s) {unknown}; choose among {list(SUITES)}")
    try:
        args.thread_counts = [int(t) for t in args.threads.split(",")]
    except ValueError:
        parser.error(f"--threads must be comma-separated integers, got {args.threads!r}")
    if any(t < 1 for t in args.thread_counts):
        parser.error(f"--threads must be >= 1, got {args.threads!r}")
    args.repeats = args.repeats or (3 if args.quick else 5)
    return args


def print_preamble(args):
    blas = os.environ.get("FASTCONV_BENCH_UNSET")
    print(f"fastconv {fastconv.__version__} | numpy {np.__version__} | "
          f"torch {torch.__version__ if torch else 'not installed'} | "
          f"{platform.processor() or platform.machine()} | {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"command: python bench/run.py {' '.join(sys.argv[1:])}")
    print(f"note: OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT', 'unset')}"
          " (idle OpenBLAS workers stop spinning)")
    if blas:
        print(f"note: {blas} unset for this run so NumPy's OpenBLAS uses its normal kernels")
    elif any(v in os.environ for v in OPENBLAS_VARIABLES):
        print("note: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE kept (--keep-openblas-env): "
              "NumPy's BLAS may be slower than usual")
    print(f"median of {args.repeats}; ratio = peer time / fastconv time (above 1: fastconv "
          "is faster); %FMA / %copy = fastconv's rate over the limit measured below")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    print_preamble(args)
    rows, limits_seen = [], []
    for threads in args.thread_counts:
        with limit_threads(threads):
            limits = peak.measure(threads, args.quick)
            limits_seen.append(limits)
            print(f"\n=== {threads} thread(s): FMA limit {limits['fma_gflops_f32']:.0f} GFLOP/s "
                  f"f32 ({limits['isa']}), copy bandwidth {limits['copy_gbps']:.1f} GB/s")
            for name in args.suites:
                suite = SUITES[name]
                print(f"\n{name}, float32, {threads} thread(s):")
                reason = suite.unavailable()
                if reason:
                    print(f"  SKIPPED: {reason}")
                    continue
                report.print_header(suite.UNIT)
                suite_rows = []
                for row in suite.run(args.quick, args.repeats):
                    row.update(suite=name, threads=threads)
                    report.print_row(row, limits)
                    suite_rows.append(row)
                if getattr(suite, "FOOTNOTE", None):
                    print("  " + suite.FOOTNOTE)
                report.print_summary(name, threads, suite_rows, limits)
                rows.extend(suite_rows)
    scaling_rows = []
    if "conv" in args.suites and not args.quick:
        scaling_rows = scaling.print_scaling(args.thread_counts, args.repeats)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"limits": limits_seen, "rows": rows, "scaling": scaling_rows}, f,
                      indent=1)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
