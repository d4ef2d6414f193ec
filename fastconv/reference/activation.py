"""Reference elementwise activations, one Python float at a time."""
import math

import numpy as np

from fastconv.ops._validate import as_array, as_float, float_dtype


def _map(f, *arrays):
    """out[i] = f(a[i], b[i], ...) for every index i of the (equally shaped) arrays."""
    arrays = [as_array(a, "x") for a in arrays]
    out = np.zeros(arrays[0].shape, float_dtype(*arrays))
    for index in np.ndindex(out.shape):
        out[index] = f(*(float(a[index]) for a in arrays))
    return out


def relu(x):
    # A comparison rather than max(v, 0.0): NaN stays NaN and -0.0 stays -0.0, as in torch.
    return _map(lambda v: 0.0 if v < 0 else v, x)


def relu_backward(grad_out, x):
    # 0 at the kink x == 0, as PyTorch; a NaN x lets the gradient through.
    return _map(lambda g, v: 0.0 if v <= 0 else g, grad_out, x)


def _slope_in_dtype(negative_slope, *arrays):
    """The slope as the kernel sees it: rounded to float32 when computing in float32."""
    dtype = float_dtype(*(as_array(a, "x") for a in arrays))
    return float(dtype.type(as_float(negative_slope, "negative_slope")))


def leaky_relu(x, negative_slope=0.01):
    slope = _slope_in_dtype(negative_slope, x)
    return _map(lambda v: v if v > 0 else v * slope, x)


def leaky_relu_backward(grad_out, x, negative_slope=0.01):
    slope = _slope_in_dtype(negative_slope, grad_out, x)
    return _map(lambda g, v: g if v > 0 else g * slope, grad_out, x)


def _sigmoid(v):
    # 1 / (1 + exp(-v)), arranged so that exp only sees -|v| and cannot overflow.
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def sigmoid(x):
    return _map(_sigmoid, x)


def sigmoid_backward(grad_out, output):
    # d sigmoid / dx = y (1 - y), with y the forward's output.
    return _map(lambda g, y: g * (y * (1.0 - y)), grad_out, output)


def tanh(x):
    return _map(math.tanh, x)


def tanh_backward(grad_out, output):
    # d tanh / dx = 1 - y^2, with y the forward's output.
    return _map(lambda g, y: g * (1.0 - y * y), grad_out, output)
