"""Reference dropout: the same mask draw, then each element kept and scaled, or zeroed."""
import numpy as np

from fastconv.ops._validate import as_array, as_float, float_dtype
from fastconv.ops.dropout import _as_mask


def _masked(values, mask, p, dtype):
    """values * mask / (1 - p), written as a multiply by 0 for dropped elements (so, as in
    PyTorch, a dropped inf or nan gives nan), and all dropped when p == 1."""
    out = np.empty(values.shape, dtype=dtype)
    for index in np.ndindex(values.shape):
        factor = 1 / (1 - p) if mask[index] else 0.0
        out[index] = float(values[index]) * factor
    return out


def dropout(x, p=0.5, rng=None, training=True):
    x = as_array(x, "x")
    p = as_float(p, "p", 0.0, 1.0)
    if rng is None:
        rng = np.random.default_rng()
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}")
    if not training:
        return np.array(x, dtype=float_dtype(x)), np.ones(x.shape, dtype=bool)
    # keep an element when its uniform draw in [0, 1) is at least p: probability 1 - p
    mask = rng.random(x.shape) >= p
    return _masked(x, mask, p, float_dtype(x)), mask


def dropout_backward(grad_out, mask, p):
    grad_out = as_array(grad_out, "grad_out")
    mask = _as_mask(mask, grad_out.shape)
    p = as_float(p, "p", 0.0, 1.0)
    return _masked(grad_out, mask, p, float_dtype(grad_out))
