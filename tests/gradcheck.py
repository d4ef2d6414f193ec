"""Central finite differences, to check the reference's backward functions in float64."""
import numpy as np


def numerical_gradient(f, x, grad_out, eps=1e-6):
    """d/dx of sum(f(x) * grad_out), by central differences, one element of x at a time.
    `f` maps an array shaped like `x` to an array shaped like `grad_out` (or a scalar)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        plus = np.sum(np.asarray(f(x), dtype=np.float64) * grad_out)
        flat[i] = keep - eps
        minus = np.sum(np.asarray(f(x), dtype=np.float64) * grad_out)
        flat[i] = keep
        grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad


def assert_gradient_close(analytic, f, x, grad_out, rtol=1e-5, atol=1e-6):
    numeric = numerical_gradient(f, x, grad_out)
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)
