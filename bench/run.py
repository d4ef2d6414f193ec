"""Convolution speed, fastconv beside PyTorch (when installed) and a NumPy im2col baseline,
measured alternately in one process; medians and ratios.

    python bench/run.py [--threads 1,2] [--quick] [--json FILE]

The shapes are those of ../shared/PERF.md (N, C, H, W, K, R, stride, pad).
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fastconv  # noqa: E402
from fastconv import ops  # noqa: E402
from numpy_baseline import conv2d_im2col  # noqa: E402

try:
    import torch
except ImportError:
    torch = None
try:
    import threadpoolctl
except ImportError:
    threadpoolctl = None

SHAPES = [
    ("CIFAR stem", 64, 3, 32, 32, 64, 3, 1, 1),
    ("64->64 3x3 32x32", 64, 64, 32, 32, 64, 3, 1, 1),
    ("128->128 3x3 16x16", 64, 128, 16, 16, 128, 3, 1, 1),
    ("256->256 3x3 8x8", 64, 256, 8, 8, 256, 3, 1, 1),
    ("512->512 3x3 4x4", 64, 512, 4, 4, 512, 3, 1, 1),
    ("64->128 3x3 s2", 64, 64, 32, 32, 128, 3, 2, 1),
    ("64->128 1x1 s2", 64, 64, 32, 32, 128, 1, 2, 0),
    ("ImageNet stem 7x7 s2", 8, 3, 224, 224, 64, 7, 2, 3),
    ("64->64 3x3 56x56", 8, 64, 56, 56, 64, 3, 1, 1),
    ("simple CNN conv1", 64, 1, 28, 28, 32, 3, 1, 0),
    ("simple CNN conv2", 64, 32, 13, 13, 64, 3, 1, 0),
    ("batch-1 inference", 1, 64, 56, 56, 64, 3, 1, 1),
]
QUICK = ("CIFAR stem", "simple CNN conv1", "simple CNN conv2", "batch-1 inference")


def median_seconds(fns, repeats):
    """Time each function `repeats` times, alternating between them; medians in seconds."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
    return [float(np.median(t)) for t in times]


def conv_case(shape, repeats):
    name, n, c, h, w, k, r, stride, pad = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    weight = rng.standard_normal((k, c, r, r), dtype=np.float32)
    y = ops.conv2d(x, weight, stride=stride, padding=pad)
    gy = rng.standard_normal(y.shape, dtype=np.float32)
    flop = 2.0 * n * k * c * r * r * y.shape[2] * y.shape[3]
    peers = {"fastconv": lambda: ops.conv2d(x, weight, stride=stride, padding=pad),
             "numpy": lambda: conv2d_im2col(x, weight, stride, pad)}
    backward = {"fastconv": lambda: ops.conv2d_backward(gy, x, weight, stride=stride, padding=pad)}
    if torch is not None:
        tx, tw, tgy = torch.from_numpy(x), torch.from_numpy(weight), torch.from_numpy(gy)
        tx_grad = tx.clone().requires_grad_(True)
        tw_grad = tw.clone().requires_grad_(True)
        peers["torch"] = lambda: torch.nn.functional.conv2d(tx, tw, stride=stride, padding=pad)

        def torch_backward():
            out = torch.nn.functional.conv2d(tx_grad, tw_grad, stride=stride, padding=pad)
            torch.autograd.grad(out, (tx_grad, tw_grad), tgy)
        backward["torch (fwd+bwd)"] = torch_backward
    names = list(peers)
    forward_s = dict(zip(names, median_seconds([peers[p] for p in names], repeats)))
    bnames = list(backward)
    backward_s = dict(zip(bnames, median_seconds([backward[p] for p in bnames], repeats)))
    return {"name": name, "gflop": flop / 1e9, "forward_s": forward_s, "backward_s": backward_s}


def set_threads(n):
    fastconv.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)


def print_case(result):
    fwd, bwd = result["forward_s"], result["backward_s"]
    gf = result["gflop"]
    fc = fwd["fastconv"]
    line = f"  {result['name']:<22} {gf:7.3f} GF | fwd fastconv {1e3 * fc:9.2f} ms {gf / fc:6.1f} GF/s"
    line += f" | numpy {1e3 * fwd['numpy']:9.2f} ms x{fwd['numpy'] / fc:5.2f}"
    if "torch" in fwd:
        line += f" | torch {1e3 * fwd['torch']:8.2f} ms x{fwd['torch'] / fc:5.2f}"
    line += f" | bwd fastconv {1e3 * bwd['fastconv']:9.2f} ms"
    if "torch (fwd+bwd)" in bwd:
        line += f" torch fwd+bwd {1e3 * bwd['torch (fwd+bwd)']:8.2f} ms"
    print(line, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--quick", action="store_true", help="four small shapes, fewer repeats")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    shapes = [s for s in SHAPES if not args.quick or s[0] in QUICK]
    repeats = 3 if args.quick else 5
    print(f"fastconv {fastconv.__version__} | numpy {np.__version__} | "
          f"torch {torch.__version__ if torch else 'not installed'} | {platform.processor() or platform.machine()}")
    print("x{ratio} = peer time / fastconv time (above 1: fastconv is faster)")
    results = []
    for threads in [int(t) for t in args.threads.split(",")]:
        set_threads(threads)
        print(f"\nconv2d float32, {threads} thread(s), median of {repeats}:")
        limits = threadpoolctl.threadpool_limits(threads) if threadpoolctl else None
        for shape in shapes:
            result = conv_case(shape, repeats)
            result["threads"] = threads
            print_case(result)
            results.append(result)
        if limits is not None:
            limits.restore_original_limits()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
