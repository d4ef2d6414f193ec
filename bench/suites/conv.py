"""Conv2d float32 NCHW, PERF.md's twelve shapes: forward, backward-data, backward-weight.

Each backward row times one gradient alone on both sides: fastconv's ops.conv2d_backward
and PyTorch's aten.convolution_backward are each given an output_mask that asks for grad_x
only or grad_weight only (no bias gradient), so the two do the same work."""
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
FOOTNOTE = ("bwd-data / bwd-weight: grad_x alone / grad_weight alone, asked with an "
            "output_mask on both sides (fastconv ops.conv2d_backward, torch "
            "aten.convolution_backward); no bias gradient. GFLOP counts the direct "
            "convolution's multiply-adds; 3x3 stride-1 layers that take Winograd's F(2x2, 3x3) "
            "do fewer, so their rate can exceed the FMA limit.")


def unavailable():
    return None


def _backward_fns(x, weight, gy, stride, pad):
    """The backward candidates, keyed "<peer> <part>"."""
    def fastconv_backward(mask):
        return lambda: ops.conv2d_backward(gy, x, weight, stride=stride, padding=pad,
                                           output_mask=mask)
    fns = {
        "fastconv data": fastconv_backward((True, False, False)),
        "fastconv weight": fastconv_backward((False, True, False)),
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
        for part in ("data", "weight"):
            yield {"case": name, "pass": "bwd-" + part, "work": gflop, "unit": UNIT, "note": "",
                   "seconds": {peer: s.get(f"{peer} {part}") for peer in ("fastconv", "torch", "numpy")}}
