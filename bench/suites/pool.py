"""Pooling, forward and backward, float32 NCHW: PERF.md's shapes.
Memory-bound: the rate is GB/s of bytes read + written once (int64 indices included)."""
import numpy as np

import numpy_baseline as base
from fastconv import ops
from timing import median_seconds, torch

UNIT = "GB"
# name, kind, (N, C, H, W), kernel, stride, padding
CASES = [
    ("max 2x2 s2 64x64x32x32", "max", (64, 64, 32, 32), 2, 2, 0),
    ("max 3x3 s2 p1 64x64x32x32", "max", (64, 64, 32, 32), 3, 2, 1),
    ("avg 2x2 s2 64x64x32x32", "avg", (64, 64, 32, 32), 2, 2, 0),
    ("global avg 64x512x4x4", "global", (64, 512, 4, 4), None, None, 0),
]
QUICK = [c[0] for c in CASES]


def unavailable():
    return None


def _ops(kind, x, gy, kernel, stride, padding):
    """{pass: {peer: callable}}, and the bytes each pass moves."""
    if kind == "max":
        y, idx = ops.max_pool2d(x, kernel, stride, padding, return_indices=True)
        fwd = {"fastconv": lambda: ops.max_pool2d(x, kernel, stride, padding, return_indices=True),
               "numpy": lambda: base.max_pool2d(x, kernel, stride, padding)}
        bwd = {"fastconv": lambda: ops.max_pool2d_backward(gy, idx, x.shape),
               "numpy": lambda: base.max_pool2d_backward(gy, idx, x.shape)}
        moved = {"fwd": x.nbytes + y.nbytes + idx.nbytes,
                 "bwd": gy.nbytes + idx.nbytes + x.nbytes}
        if torch is not None:
            tx, tgy = torch.from_numpy(x), torch.from_numpy(gy)
            tidx = torch.from_numpy(idx)
            fwd["torch"] = lambda: torch.nn.functional.max_pool2d(
                tx, kernel, stride, padding, return_indices=True)
            bwd["torch"] = lambda: torch.ops.aten.max_pool2d_with_indices_backward(
                tgy, tx, [kernel] * 2, [stride] * 2, [padding] * 2, [1, 1], False, tidx)
    elif kind == "avg":
        y = ops.avg_pool2d(x, kernel, stride, padding)
        fwd = {"fastconv": lambda: ops.avg_pool2d(x, kernel, stride, padding),
               "numpy": lambda: base.avg_pool2d(x, kernel, stride)}
        bwd = {"fastconv": lambda: ops.avg_pool2d_backward(gy, x.shape, kernel, stride, padding),
               "numpy": lambda: base.avg_pool2d_backward(gy, x.shape, kernel, stride)}
        moved = {"fwd": x.nbytes + y.nbytes, "bwd": gy.nbytes + x.nbytes}
        if torch is not None:
            tx, tgy = torch.from_numpy(x), torch.from_numpy(gy)
            fwd["torch"] = lambda: torch.nn.functional.avg_pool2d(tx, kernel, stride, padding)
            bwd["torch"] = lambda: torch.ops.aten.avg_pool2d_backward(
                tgy, tx, [kernel] * 2, [stride] * 2, [padding] * 2, False, True, None)
    else:
        y = ops.adaptive_avg_pool2d(x, 1)
        fwd = {"fastconv": lambda: ops.adaptive_avg_pool2d(x, 1),
               "numpy": lambda: base.global_avg_pool2d(x)}
        bwd = {"fastconv": lambda: ops.adaptive_avg_pool2d_backward(gy, x.shape),
               "numpy": lambda: base.global_avg_pool2d_backward(gy, x.shape)}
        moved = {"fwd": x.nbytes + y.nbytes, "bwd": gy.nbytes + x.nbytes}
        if torch is not None:
            tx, tgy = torch.from_numpy(x), torch.from_numpy(gy)
            fwd["torch"] = lambda: torch.nn.functional.adaptive_avg_pool2d(tx, 1)
            bwd["torch"] = lambda: torch.ops.aten._adaptive_avg_pool2d_backward(tgy, tx)
    return {"fwd": fwd, "bwd": bwd}, moved


def _output_shape(kind, shape, kernel, stride, padding):
    n, c, h, w = shape
    if kind == "global":
        return (n, c, 1, 1)
    return (n, c, (h + 2 * padding - kernel) // stride + 1, (w + 2 * padding - kernel) // stride + 1)


def run(quick, repeats):
    """Yield one result row per case and pass."""
    rng = np.random.default_rng(0)
    for name, kind, shape, kernel, stride, padding in CASES:
        if quick and name not in QUICK:
            continue
        x = rng.standard_normal(shape, dtype=np.float32)
        gy = rng.standard_normal(_output_shape(kind, shape, kernel, stride, padding),
                                 dtype=np.float32)
        passes, moved = _ops(kind, x, gy, kernel, stride, padding)
        for pass_name, fns in passes.items():
            yield {"case": name, "pass": pass_name, "work": moved[pass_name] / 1e9, "unit": UNIT,
                   "seconds": median_seconds(fns, repeats), "note": ""}
