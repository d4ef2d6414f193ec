"""The demo `python -m fastconv` runs: conv, pooling and batch-norm, forward and backward,
checked against the slow reference on small shapes and timed on a larger batch."""
import time

import numpy as np

import fastconv
from fastconv import ops, reference


def small_problem(rng, dtype):
    x = rng.standard_normal((2, 3, 7, 7)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    return x, w, b


def pipelines(lib, x, w, b):
    """conv -> max pool -> avg pool -> batch norm, forward and backward, with `lib` being
    fastconv.ops or fastconv.reference; returns every intermediate result by name."""
    out = {}
    out["conv2d"] = y = lib.conv2d(x, w, b, stride=1, padding=1)
    out["conv2d_backward"] = lib.conv2d_backward(np.ones_like(y), x, w, stride=1, padding=1)
    pooled, indices = lib.max_pool2d(y, 3, stride=2, padding=1, return_indices=True)
    out["max_pool2d"] = pooled
    out["max_pool2d_backward"] = lib.max_pool2d_backward(np.ones_like(pooled), indices, y.shape)
    out["avg_pool2d"] = avg = lib.avg_pool2d(y, 2, ceil_mode=True)
    out["avg_pool2d_backward"] = lib.avg_pool2d_backward(np.ones_like(avg), y.shape, 2, ceil_mode=True)
    running_mean, running_var = np.zeros(y.shape[1], y.dtype), np.ones(y.shape[1], y.dtype)
    normed, mean, invstd = lib.batch_norm(y, running_mean, running_var, training=True, return_stats=True)
    out["batch_norm"] = normed
    out["batch_norm_backward"] = lib.batch_norm_backward(normed, y, mean, invstd, training=True)
    return out


def max_abs_difference(a, b):
    if isinstance(a, tuple):
        return max(max_abs_difference(x, y) for x, y in zip(a, b) if x is not None)
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def median_ms(fn, repeats):
    fn()  # warm up: first-touch page faults and caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def run(quick=False, seed=0):
    rng = np.random.default_rng(seed)
    config = fastconv._config.config()
    print(f"fastconv {config['version']} demo: {config['threads']} threads, "
          f"OpenMP {'on' if config['openmp'] else 'off'}")

    print("\nCheck against fastconv.reference (float64, x of shape (2, 3, 7, 7)):")
    failures = 0
    small = small_problem(rng, np.float64)
    fast, slow = pipelines(ops, *small), pipelines(reference, *small)
    for name in fast:
        diff = max_abs_difference(fast[name], slow[name])
        verdict = "ok" if diff <= 1e-10 else "MISMATCH"
        failures += verdict != "ok"
        print(f"  {name:<22} max |fast - reference| = {diff:.1e}  {verdict}")

    n, c, k, hw = (8, 16, 32, 32) if quick else (32, 32, 64, 32)
    x = rng.standard_normal((n, c, hw, hw)).astype(np.float32)
    w = rng.standard_normal((k, c, 3, 3)).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32)
    y = ops.conv2d(x, w, b, padding=1)
    dy = np.ones_like(y)
    _, indices = ops.max_pool2d(y, 2, return_indices=True)
    pooled_grad = np.ones((n, k, hw // 2, hw // 2), np.float32)
    rm, rv = np.zeros(k, np.float32), np.ones(k, np.float32)
    _, mean, invstd = ops.batch_norm(y, rm, rv, training=True, return_stats=True)
    conv_gflop = 2.0 * n * k * c * 9 * hw * hw / 1e9
    cases = [
        ("conv2d forward", lambda: ops.conv2d(x, w, b, padding=1), conv_gflop),
        ("conv2d backward", lambda: ops.conv2d_backward(dy, x, w, padding=1), 2 * conv_gflop),
        ("max_pool2d 2x2 forward", lambda: ops.max_pool2d(y, 2, return_indices=True), None),
        ("max_pool2d backward", lambda: ops.max_pool2d_backward(pooled_grad, indices, y.shape), None),
        ("batch_norm train fwd", lambda: ops.batch_norm(y, rm.copy(), rv.copy(), training=True), None),
        ("batch_norm backward", lambda: ops.batch_norm_backward(dy, y, mean, invstd, training=True), None),
    ]
    repeats = 3 if quick else 7
    print(f"\nTiming, float32, x of shape {x.shape}, conv 3x3 to {k} channels, "
          f"median of {repeats}:")
    for name, fn, gflop in cases:
        ms = median_ms(fn, repeats)
        rate = f"  {gflop / (ms / 1e3):6.1f} GFLOP/s" if gflop else ""
        print(f"  {name:<24} {ms:8.2f} ms{rate}")
    print("\nAll checks passed." if failures == 0 else f"\n{failures} checks FAILED.")
    return failures
