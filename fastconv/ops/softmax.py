"""Softmax and log-softmax along any axis, with their backwards.

Both subtract the maximum along the axis before exponentiating, so any finite input gives
finite results. The C kernels see the array as (outer, D, inner), D the softmax axis, and
need no transposed copy whichever axis it is.
"""
import math

import numpy as np

from fastconv._ext import softmax as _ext
from fastconv.ops._validate import (as_array, as_int, check_shape, check_size, contiguous,
                                    float_dtype, get_num_threads)


def normalize_dim(dim, ndim, name="dim"):
    """`dim` as an axis index in [0, ndim), negative values counting from the end."""
    dim = as_int(dim, name)
    if not -ndim <= dim < ndim:
        raise ValueError(f"{name} must be in [{-ndim}, {ndim - 1}] for a {ndim}-D array, got {dim}")
    return dim % ndim


def _three_axis_shape(shape, dim):
    """(outer, D, inner): the products of the axes before `dim`, `dim` itself, and after."""
    return math.prod(shape[:dim]), shape[dim], math.prod(shape[dim + 1:])


def _check_input(x, dim, name="x"):
    x = as_array(x, name)
    if x.ndim < 1:
        raise ValueError(f"{name} must have at least 1 dimension, got a 0-D array")
    return x, normalize_dim(dim, x.ndim)


def _forward(kernel, x, dim):
    x, dim = _check_input(x, dim)
    dtype = float_dtype(x)
    out = np.empty(check_size(x.shape, "output"), dtype=dtype)
    if out.size == 0:
        return out
    view = _three_axis_shape(x.shape, dim)
    kernel(out.reshape(view), contiguous(x, dtype).reshape(view), get_num_threads())
    return out


def _backward(kernel, grad_out, output, dim):
    grad_out, dim = _check_input(grad_out, dim, "grad_out")
    output = as_array(output, "output")
    check_shape(output, "output", grad_out.shape)
    dtype = float_dtype(grad_out, output)
    grad_x = np.empty(check_size(grad_out.shape, "grad_x"), dtype=dtype)
    if grad_x.size == 0:
        return grad_x
    view = _three_axis_shape(grad_out.shape, dim)
    kernel(grad_x.reshape(view), contiguous(grad_out, dtype).reshape(view),
           contiguous(output, dtype).reshape(view), get_num_threads())
    return grad_x


def softmax(x, dim=-1):
    """exp(x) / sum(exp(x)) along axis `dim`, computed as exp(x - max) / sum(exp(x - max)).

    x: array of any shape with at least one dimension. dim: the axis (negative counts
    from the end). Returns an array shaped like x, in x's compute dtype.
    """
    return _forward(_ext.softmax_forward, x, dim)


def softmax_backward(grad_out, output, dim=-1):
    """Gradient of softmax with respect to its input, from the forward OUTPUT y = softmax(x):
    grad_x = y * (grad_out - sum(grad_out * y, dim)). grad_out and output share one shape."""
    return _backward(_ext.softmax_backward, grad_out, output, dim)


def log_softmax(x, dim=-1):
    """log(softmax(x)) along axis `dim`, computed as (x - max) - log(sum(exp(x - max))), which
    stays finite where softmax itself would underflow to 0.

    x: array of any shape with at least one dimension. dim: the axis (negative counts
    from the end). Returns an array shaped like x, in x's compute dtype.
    """
    return _forward(_ext.log_softmax_forward, x, dim)


def log_softmax_backward(grad_out, output, dim=-1):
    """Gradient of log_softmax with respect to its input, from the forward OUTPUT
    y = log_softmax(x): grad_x = grad_out - exp(y) * sum(grad_out, dim)."""
    return _backward(_ext.log_softmax_backward, grad_out, output, dim)
