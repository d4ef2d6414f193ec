"""Fully connected layer, as torch.nn.functional.linear: y = x W^T + b."""
import math

import numpy as np

from fastconv._ext import linear as _ext
from fastconv.ops._validate import (
    as_array, check_ndim, check_shape, check_size, contiguous, float_dtype, get_num_threads,
)


def _check_x_and_weight(x, weight):
    """x and weight as arrays, with x's last axis matching weight's in_features."""
    x = as_array(x, "x")
    weight = as_array(weight, "weight")
    if x.ndim < 1:
        raise ValueError(f"x must be at least 1-D (*, in_features), got shape {x.shape}")
    check_ndim(weight, "weight", 2, "(out_features, in_features)")
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"x's last axis must equal weight's in_features: x has shape {x.shape}, "
            f"weight has shape {weight.shape} (in_features {weight.shape[1]})"
        )
    return x, weight


def linear(x, weight, bias=None):
    """y = x W^T + b, over every leading axis of x.

    Args:
        x: (*, in_features), any number of leading axes (none for a single vector).
        weight: (out_features, in_features).
        bias: (out_features,), or None for no bias.
    Returns:
        y: (*, out_features), float32 if every float input is float32 (or float16),
        else float64.
    """
    x, weight = _check_x_and_weight(x, weight)
    out_features, in_features = weight.shape
    if bias is not None:
        bias = as_array(bias, "bias")
        check_shape(bias, "bias", (out_features,))
    dtype = float_dtype(x, weight, bias)
    y_shape = check_size(x.shape[:-1] + (out_features,), "y")
    rows = math.prod(x.shape[:-1])

    y = np.empty((rows, out_features), dtype)
    if y.size == 0:
        return y.reshape(y_shape)
    if in_features == 0:
        # Every dot product is an empty sum: only the bias is left.
        y[...] = 0 if bias is None else bias
        return y.reshape(y_shape)
    _ext.linear_forward(
        y,
        contiguous(x, dtype).reshape(rows, in_features),
        contiguous(weight, dtype),
        None if bias is None else contiguous(bias, dtype),
        num_threads=get_num_threads(),
    )
    return y.reshape(y_shape)


def linear_backward(grad_out, x, weight):
    """Gradients of linear(x, weight, bias) given grad_out = dL/dy.

    Args:
        grad_out: (*, out_features), the shape of linear's output.
        x: (*, in_features), the forward's input.
        weight: (out_features, in_features).
    Returns:
        (grad_x, grad_weight, grad_bias):
        grad_x = grad_out @ weight, shaped like x;
        grad_weight = grad_out^T @ x summed over every leading axis, (out_features, in_features);
        grad_bias = grad_out summed over every leading axis, (out_features,)
        (returned whether or not the forward had a bias).
    """
    x, weight = _check_x_and_weight(x, weight)
    out_features, in_features = weight.shape
    grad_out = as_array(grad_out, "grad_out")
    check_shape(grad_out, "grad_out", x.shape[:-1] + (out_features,))
    dtype = float_dtype(grad_out, x, weight)
    rows = math.prod(x.shape[:-1])

    if rows == 0 or out_features == 0:
        # Empty sums everywhere.
        return (np.zeros(x.shape, dtype), np.zeros(weight.shape, dtype),
                np.zeros(out_features, dtype))
    if in_features == 0:
        grad_bias = contiguous(grad_out, dtype).reshape(rows, out_features).sum(axis=0)
        return np.empty(x.shape, dtype), np.empty(weight.shape, dtype), grad_bias

    grad_x = np.empty((rows, in_features), dtype)
    grad_weight = np.empty((out_features, in_features), dtype)
    grad_bias = np.empty(out_features, dtype)
    _ext.linear_backward(
        grad_x, grad_weight, grad_bias,
        contiguous(grad_out, dtype).reshape(rows, out_features),
        contiguous(x, dtype).reshape(rows, in_features),
        contiguous(weight, dtype),
        num_threads=get_num_threads(),
    )
    return grad_x.reshape(x.shape), grad_weight, grad_bias
