"""Conv2d float32 NCHW, PERF.md's twelve shapes: forward, backward-data, backward-weight.

fastconv's ops.conv2d_backward returns grad_x, grad_weight and grad_bias in one call, so
its time stands in both backward rows (marked *: there it does twice the peer's work, and
the ratio is a lower bound); the "bwd d+w" row compares it with the peers' data + weight."""
import numpy as np

import numpy_baseline as base
from fastconv import ops
from timing import median_seconds, torch

UNIT = "GFLOP"
# name, N, C, H, W, K, R (square kernel), stride, pad
CASES = [
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
FOOTNOTE = ("* fastconv's backward computes data and weight gradients in one call "
            "(ops.conv2d_backward): its time covers both, so its ratio on the bwd-data and "
            "bwd-weight rows is a lower bound; 'bwd d+w' is the like-for-like row.")


def unavailable():
    return None


def _backward_fns(x, weight, gy, stride, pad):
    """The backward candidates, keyed "<peer> <part>"."""
    fns = {
        "fastconv d+w": lambda: ops.conv2d_backward(gy, x, weight, stride=stride, padding=pad),
        "numpy data": lambda: base.conv2d_backward_data_im2col(gy, x.shape, weight, stride, pad),
        "numpy weight": lambda: base.conv2d_backward_weight_im2col(gy, x, weight.shape, stride, pad),
    }
    if torch is not None:
        tx, tw, tgy = torch.from_numpy(x), torch.from_numpy(weight), torch.from_numpy(gy)

        def torch_backward(mask):
            return lambda: torch.ops.aten.convolution_backward(
                tgy, tx, tw, None, [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], 1, mask)
        fns["torch data"] = torch_backward([True, False, False])
        fns["torch weight"] = torch_backward([False, True, False])
        fns["torch d+w"] = torch_backward([True, True, False])
    return fns


def run(quick, repeats):
    rng = np.random.default_rng(0)
    for name, n, c, h, w, k, r, stride, pad in CASES:
        if quick and name not in QUICK:
            continue
        x = rng.standard_normal((n, c, h, w), dtype=np.float32)
        weight = rng.standard_normal((k, c, r, r), dtype=np.float32)
        y = ops.conv2d(x, weight, stride=stride, padding=pad)
        gy = rng.standard_normal(y.shape, dtype=np.float32)
        gflop = 2.0 * n * k * c * r * r * y.shape[2] * y.shape[3] / 1e9
        fwd = {"fastconv": lambda: ops.conv2d(x, weight, stride=stride, padding=pad),
               "numpy": lambda: base.conv2d_im2col(x, weight, stride, pad)}
        if torch is not None:
            tx, tw = torch.from_numpy(x), torch.from_numpy(weight)
            fwd["torch"] = lambda: torch.nn.functional.conv2d(tx, tw, stride=stride, padding=pad)
        yield {"case": name, "pass": "fwd", "work": gflop, "unit": UNIT,
               "seconds": median_seconds(fwd, repeats), "note": ""}
        s = median_seconds(_backward_fns(x, weight, gy, stride, pad), repeats)
        both = s["fastconv d+w"]
        yield {"case": name, "pass": "bwd-data", "work": gflop, "unit": UNIT, "note": "*",
               "seconds": {"fastconv": both, "torch": s.get("torch data"),
                           "numpy": s["numpy data"]}}
        yield {"case": name, "pass": "bwd-weight", "work": gflop, "unit": UNIT, "note": "*",
               "seconds": {"fastconv": both, "torch": s.get("torch weight"),
                           "numpy": s["numpy weight"]}}
        yield {"case": name, "pass": "bwd d+w", "work": 2 * gflop, "unit": UNIT, "note": "",
               "seconds": {"fastconv": both, "torch": s.get("torch d+w"),
                           "numpy": s["numpy data"] + s["numpy weight"]}}
