"""SGEMM C = A @ B, float32: square matrices and the shapes convolutions produce,
fastconv.ops.matmul beside NumPy's `@` (its bundled OpenBLAS) and torch.mm."""
import numpy as np

from fastconv import ops
from timing import median_seconds, torch

UNIT = "GFLOP"
# name, M, K, N
CASES = [
    ("square 1024", 1024, 1024, 1024),
    ("square 2048", 2048, 2048, 2048),
    ("square 4096", 4096, 4096, 4096),
    ("conv fwd 64x576 @ 576x1024", 64, 576, 1024),      # K x CRS times CRS x PQ, one image
    ("conv fwd 8192x576 @ 576x64", 8192, 576, 64),      # im2col rows of 8 images
    ("conv 256x2304 @ 2304x4096", 256, 2304, 4096),     # 256-channel 3x3, 64 images of 8x8
    ("conv bwd-w 64x65536 @ 65536x576", 64, 65536, 576),  # dW: long reduction
]
QUICK = ("square 1024", "conv fwd 64x576 @ 576x1024")


def unavailable():
    if not hasattr(ops, "matmul"):
        return "fastconv.ops.matmul does not exist yet (the gemm branch adds it): gemm suite skipped"
    return None


def run(quick, repeats):
    rng = np.random.default_rng(0)
    for name, m, k, n in CASES:
        if quick and name not in QUICK:
            continue
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        fns = {"fastconv": lambda: ops.matmul(a, b), "numpy": lambda: a @ b}
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            fns["torch"] = lambda: torch.mm(ta, tb)
        yield {"case": name, "pass": "C=A@B", "work": 2.0 * m * k * n / 1e9, "unit": UNIT,
               "seconds": median_seconds(fns, repeats), "note": ""}
