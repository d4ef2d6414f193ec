"""Batch normalisation in training mode, forward and backward, float32 NCHW: PERF.md's
shapes. Memory-bound: forward moves x in and y out (2 passes' worth), backward dy and x
in and dx out (3), whatever the kernels re-read."""
import numpy as np

import numpy_baseline as base
from fastconv import ops
from timing import median_seconds, torch

UNIT = "GB"
CASES = [
    ("bn train 64x64x32x32", (64, 64, 32, 32)),
    ("bn train 64x256x8x8", (64, 256, 8, 8)),
]
QUICK = [c[0] for c in CASES]
EPS = 1e-5


def unavailable():
    return None


def run(quick, repeats):
    rng = np.random.default_rng(0)
    for name, shape in CASES:
        if quick and name not in QUICK:
            continue
        c = shape[1]
        x = rng.standard_normal(shape, dtype=np.float32)
        gy = rng.standard_normal(shape, dtype=np.float32)
        weight = rng.standard_normal(c, dtype=np.float32)
        bias = rng.standard_normal(c, dtype=np.float32)
        running_mean, running_var = np.zeros(c, np.float32), np.ones(c, np.float32)
        _, mean, invstd = ops.batch_norm(x, None, None, weight, bias, training=True,
                                         eps=EPS, return_stats=True)
        fwd = {"fastconv": lambda: ops.batch_norm(x, running_mean, running_var, weight, bias,
                                                  training=True, eps=EPS, return_stats=True),
               "numpy": lambda: base.batch_norm_train(x, weight, bias, EPS)}
        bwd = {"fastconv": lambda: ops.batch_norm_backward(gy, x, mean, invstd, weight,
                                                           training=True),
               "numpy": lambda: base.batch_norm_train_backward(gy, x, mean, invstd, weight)}
        if torch is not None:
            tx, tgy, tw, tb = (torch.from_numpy(a) for a in (x, gy, weight, bias))
            trm, trv = torch.from_numpy(running_mean.copy()), torch.from_numpy(running_var.copy())
            tmean, tinvstd = torch.from_numpy(mean), torch.from_numpy(invstd)
            # The ATen ops autograd itself calls: no graph bookkeeping on either side.
            fwd["torch"] = lambda: torch.ops.aten.native_batch_norm(
                tx, tw, tb, trm, trv, True, 0.1, EPS)
            bwd["torch"] = lambda: torch.ops.aten.native_batch_norm_backward(
                tgy, tx, tw, trm, trv, tmean, tinvstd, True, EPS, [True, True, True])
        for pass_name, fns, moved in (("fwd", fwd, 2 * x.nbytes), ("bwd", bwd, 3 * x.nbytes)):
            yield {"case": name, "pass": pass_name, "work": moved / 1e9, "unit": UNIT,
                   "seconds": median_seconds(fns, repeats), "note": ""}
