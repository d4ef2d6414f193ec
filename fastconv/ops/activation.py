"""Elementwise activations, as in torch: relu, leaky_relu, sigmoid, tanh, each with its
backward. Any shape (0-d included); the output has the input's shape and the compute dtype.
NaN propagates as in PyTorch."""
import numpy as np

from fastconv._ext import activation as _ext
from fastconv.ops._validate import as_array, as_float, contiguous, float_dtype, get_num_threads


def _map(kernel, x, *params):
    """kernel(y, x) over the flattened x: a fresh array shaped like x."""
    x = as_array(x, "x")
    dtype = float_dtype(x)
    y = np.empty(x.shape, dtype)
    if y.size:
        kernel(y.reshape(-1), contiguous(x, dtype).reshape(-1), *params,
               num_threads=get_num_threads())
    return y


def _map_backward(kernel, grad_out, saved, saved_name, *params):
    """kernel(grad_x, grad_out, saved) over the flattened arrays, `saved` being the
    forward's input or output (named `saved_name` in errors)."""
    grad_out = as_array(grad_out, "grad_out")
    saved = as_array(saved, saved_name)
    if grad_out.shape != saved.shape:
        raise ValueError(f"grad_out must have the shape of {saved_name} {saved.shape}, "
                         f"got {grad_out.shape}")
    dtype = float_dtype(grad_out, saved)
    grad_x = np.empty(saved.shape, dtype)
    if grad_x.size:
        kernel(grad_x.reshape(-1), contiguous(grad_out, dtype).reshape(-1),
               contiguous(saved, dtype).reshape(-1), *params, num_threads=get_num_threads())
    return grad_x


def relu(x):
    """max(x, 0) elementwise; NaN stays NaN and -0.0 stays -0.0 (as torch.relu).

    Args: x: any shape. Returns: an array of x's shape.
    """
    return _map(_ext.relu_forward, x)


def relu_backward(grad_out, x):
    """grad_out where x > 0, else 0 (also at x == 0, as PyTorch); grad_out passes where
    x is NaN.

    Args: grad_out, x: the same shape; x is the forward's input. Returns: grad_x.
    """
    return _map_backward(_ext.relu_backward, grad_out, x, "x")


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else x * negative_slope, elementwise.

    Args:
        x: any shape.
        negative_slope: a finite real number; in float32 it is rounded to float32 first,
            as PyTorch does.
    Returns: an array of x's shape.
    """
    negative_slope = as_float(negative_slope, "negative_slope")
    return _map(_ext.leaky_relu_forward, x, negative_slope)


def leaky_relu_backward(grad_out, x, negative_slope=0.01):
    """grad_out where x > 0, else grad_out * negative_slope (also at x == 0 and NaN).

    Args: grad_out, x: the same shape; x is the forward's input. negative_slope as in
    leaky_relu. Returns: grad_x.
    """
    negative_slope = as_float(negative_slope, "negative_slope")
    return _map_backward(_ext.leaky_relu_backward, grad_out, x, "x", negative_slope)


def sigmoid(x):
    """1 / (1 + exp(-x)) elementwise, computed without overflow: it saturates to exactly
    0 and 1 for large |x|.

    Args: x: any shape. Returns: an array of x's shape.
    """
    return _map(_ext.sigmoid_forward, x)


def sigmoid_backward(grad_out, output):
    """grad_out * y * (1 - y), where y = sigmoid(x) is the forward's OUTPUT (as PyTorch's
    sigmoid_backward takes it).

    Args: grad_out, output: the same shape. Returns: grad_x.
    """
    return _map_backward(_ext.sigmoid_backward, grad_out, output, "output")


def tanh(x):
    """tanh(x) elementwise.

    Args: x: any shape. Returns: an array of x's shape.
    """
    return _map(_ext.tanh_forward, x)


def tanh_backward(grad_out, output):
    """grad_out * (1 - y**2), where y = tanh(x) is the forward's OUTPUT.

    Args: grad_out, output: the same shape. Returns: grad_x.
    """
    return _map_backward(_ext.tanh_backward, grad_out, output, "output")
