"""Inverted dropout, as in PyTorch: during training each element is kept with probability
1 - p and scaled by 1 / (1 - p), so the expectation of the output equals the input; at
evaluation the input passes unchanged. The mask is drawn with a numpy.random.Generator the
caller may pass, so a seeded generator reproduces the same mask."""
import numpy as np

from fastconv._ext import dropout as _ext
from fastconv.ops._validate import (as_array, as_float, check_shape, check_size, contiguous,
                                    float_dtype, get_num_threads)


def _apply_mask(x, mask, p, dtype):
    """x * mask / (1 - p) in C, a fresh array; x * 0 everywhere when p == 1."""
    out = np.empty(check_size(x.shape, "output"), dtype=dtype)
    if out.size:
        scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
        _ext.dropout_forward(out.reshape(-1), contiguous(x, dtype).reshape(-1),
                             np.ascontiguousarray(mask).reshape(-1).view(np.uint8), scale,
                             get_num_threads())
    return out


def dropout(x, p=0.5, rng=None, training=True):
    """Zero each element of x with probability p and scale the rest by 1 / (1 - p).
    Dropping multiplies by 0, as PyTorch does, so a dropped inf or nan becomes nan.

    x: array of any shape. p: drop probability in [0, 1]. rng: a numpy.random.Generator
    (None: a fresh np.random.default_rng()); the mask is `rng.random(x.shape) >= p`.
    training: when False, return a copy of x and an all-True mask, drawing nothing.
    Returns (y, mask): y shaped like x in the compute dtype, mask a bool array, True
    where the element was kept (pass it to dropout_backward).
    """
    x = as_array(x, "x")
    p = as_float(p, "p", 0.0, 1.0)
    if rng is None:
        rng = np.random.default_rng()
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}")
    dtype = float_dtype(x)
    if not training:
        return np.array(x, dtype=dtype, order="C"), np.ones(x.shape, dtype=bool)
    mask = rng.random(x.shape) >= p
    return _apply_mask(x, mask, p, dtype), mask


def _as_mask(mask, shape):
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask must be a bool array (the one dropout returned), got dtype {mask.dtype}")
    check_shape(mask, "mask", shape)
    return mask


def dropout_backward(grad_out, mask, p):
    """Gradient of dropout with respect to x: grad_out * mask / (1 - p), 0 where p == 1.
    grad_out: array shaped like x. mask: the bool mask dropout returned. p: as in dropout."""
    grad_out = as_array(grad_out, "grad_out")
    mask = _as_mask(mask, grad_out.shape)
    p = as_float(p, "p", 0.0, 1.0)
    return _apply_mask(grad_out, mask, p, float_dtype(grad_out))
