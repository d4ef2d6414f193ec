"""Batch normalisation, forward and backward, with torch.nn.functional.batch_norm's semantics.

x is (N, C), (N, C, L) or (N, C, H, W); every statistic is per channel, over all axes but 1.
The kernels see x as (N, C, S), S the product of the spatial sizes. Statistics are summed
in double in C; the per-channel arithmetic (invstd, running-buffer updates) is C-sized
work done here in float64 NumPy.
"""
import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from fastconv._ext import batchnorm as _bn
from fastconv.ops._validate import (
    as_array, as_bool, as_float, as_int, check_ndim, check_shape, check_size, contiguous,
    float_dtype, get_num_threads,
)

_LAYOUT = "(N, C), (N, C, L) or (N, C, H, W)"


@dataclass
class _ForwardArgs:
    """batch_norm's arguments once checked: what the fast op and the reference both compute from."""
    x: np.ndarray
    dtype: np.dtype
    N: int
    C: int
    S: int
    weight: Optional[np.ndarray]
    bias: Optional[np.ndarray]
    running_mean: Any        # the user's object: written to in training, read in eval
    running_var: Any
    use_batch_stats: bool    # training, or eval without running buffers
    update_running: bool     # training with running buffers
    factor: float            # weight of this batch in the running average
    eps: float
    return_stats: bool

    @property
    def count(self):
        """Values per channel."""
        return self.N * self.S


def _check_x(x, name="x"):
    x = as_array(x, name)
    check_ndim(x, name, (2, 3, 4), _LAYOUT)
    if x.shape[1] < 1:
        raise ValueError(f"{name} must have at least 1 channel (axis 1), got shape {x.shape}")
    check_size(x.shape, name)
    N, C = x.shape[0], x.shape[1]
    S = math.prod(x.shape[2:])   # Python ints: exact, and 1 for (N, C)
    return x, N, C, S


def _channel_vector(value, name, C):
    if value is None:
        return None
    arr = as_array(value, name)
    check_shape(arr, name, (C,))
    return arr


def _running_buffer(value, name, C, training):
    """A running statistic: any real (C,) array in eval; in training it is updated in
    place, so it must be a writable float32/float64 ndarray."""
    if not training:
        return _channel_vector(value, name, C)
    if not isinstance(value, np.ndarray) or value.dtype not in (np.float32, np.float64):
        kind = f"dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
        raise TypeError(f"{name} is updated in place in training, so it must be a float32 or "
                        f"float64 ndarray, got {kind}")
    check_shape(value, name, (C,))
    if not value.flags.writeable:
        raise ValueError(f"{name} is updated in place in training, so it must be writable, "
                         f"got a read-only array")
    return value


def _batch_norm_args(x, running_mean, running_var, weight, bias, training, momentum, eps,
                     num_batches_tracked, return_stats):
    """Check and normalise batch_norm's arguments (shared with fastconv.reference)."""
    x, N, C, S = _check_x(x)
    weight = _channel_vector(weight, "weight", C)
    bias = _channel_vector(bias, "bias", C)
    training = as_bool(training, "training")
    return_stats = as_bool(return_stats, "return_stats")
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must both be given or both be None, "
                         f"got running_mean={'None' if running_mean is None else 'an array'}, "
                         f"running_var={'None' if running_var is None else 'an array'}")
    if running_mean is not None:
        running_mean = _running_buffer(running_mean, "running_mean", C, training)
        running_var = _running_buffer(running_var, "running_var", C, training)
    eps = as_float(eps, "eps", minimum=0.0, min_inclusive=False)
    if momentum is not None:
        momentum = as_float(momentum, "momentum", minimum=0.0, maximum=1.0)
    update_running = training and running_mean is not None
    if num_batches_tracked is not None:
        num_batches_tracked = as_int(num_batches_tracked, "num_batches_tracked", minimum=1)
    if momentum is None and update_running and num_batches_tracked is None:
        raise ValueError("num_batches_tracked (the number of batches including this one) is "
                         "required to update the running statistics when momentum is None, "
                         "got None")
    factor = momentum if momentum is not None else (
        1.0 / num_batches_tracked if num_batches_tracked is not None else 0.0)
    use_batch_stats = training or running_mean is None
    if use_batch_stats and N * S == 1:
        raise ValueError("batch statistics need more than 1 value per channel "
                         f"(training, or running stats None), got x of shape {x.shape}")
    dtype = float_dtype(x, weight, bias)
    return _ForwardArgs(x, dtype, N, C, S, weight, bias, running_mean, running_var,
                        use_batch_stats, update_running, factor, eps, return_stats)


def _eval_args(x_shape, x_dtype, running_mean, running_var, weight, bias, eps, return_stats,
               prefix=""):
    """_batch_norm_args of batch_norm(x, running_mean, running_var, weight, bias,
    training=False, eps=eps, return_stats=return_stats) for an x still to be computed, of
    shape x_shape (4-D, at least 1 channel) and dtype x_dtype: set .x before _batch_norm.
    Errors name weight and bias with `prefix` (a fused op's names for them)."""
    N, C = x_shape[0], x_shape[1]
    if running_mean is None or running_var is None:
        raise ValueError("running_mean and running_var are required here (eval-mode "
                         "normalisation with running statistics), got None")
    weight = _channel_vector(weight, prefix + "weight", C)
    bias = _channel_vector(bias, prefix + "bias", C)
    dtype = float_dtype(np.empty(0, x_dtype), weight, bias)   # batch_norm's rule over x too
    return _ForwardArgs(None, dtype, N, C, x_shape[2] * x_shape[3], weight, bias,
                        _channel_vector(running_mean, "running_mean", C),
                        _channel_vector(running_var, "running_var", C),
                        use_batch_stats=False, update_running=False, factor=0.0,
                        eps=as_float(eps, "eps", minimum=0.0, min_inclusive=False),
                        return_stats=return_stats)


def _update_running(buffer, batch_stat, factor):
    """buffer = (1 - factor) * buffer + factor * batch_stat, in float64, rounded once into
    the buffer's own dtype and layout."""
    buffer[...] = (1.0 - factor) * buffer.astype(np.float64) + factor * batch_stat


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, num_batches_tracked=None, return_stats=False):
    """Batch normalisation: y = (x - mean) / sqrt(var + eps) * weight + bias, per channel.

    Shapes: x (N, C), (N, C, L) or (N, C, H, W); running_mean, running_var, weight, bias (C,).
    Statistics are per channel, over every axis but 1 (n = N * L or N * H * W values).

    training=True: normalise with the batch mean and the BIASED batch variance. If running
        buffers are given (writable float32/float64 ndarrays) they are updated IN PLACE, in
        their own dtype, after all checks and computation:
        r = (1 - momentum) * r + momentum * batch_stat, where running_var takes the UNBIASED
        variance (times n / (n - 1)). momentum=None means a cumulative average: the factor is
        1 / num_batches_tracked, the count of batches INCLUDING this one (then required when
        the buffers are given). Needs n > 1 (ValueError, as PyTorch).
    training=False: normalise with running_mean and running_var; when both are None, with
        the batch statistics (PyTorch's track_running_stats=False), which again needs n > 1.
    A batch with n == 0 returns an empty y and leaves the running buffers alone (as PyTorch).

    weight and bias default to 1 and 0. eps > 0; momentum in [0, 1] or None.
    The running buffers are the only arguments ever written to.

    Returns y (shape of x, the compute dtype of x, weight, bias), or with return_stats=True
    (y, save_mean, save_invstd): the (C,) mean and 1/sqrt(var + eps) actually used -- the
    batch's in training (NaN if n == 0), the running ones in eval -- in y's dtype. Pass them
    to batch_norm_backward, with training=True whenever batch statistics were used
    (including eval with running buffers None).
    """
    return _batch_norm(_batch_norm_args(x, running_mean, running_var, weight, bias, training,
                                        momentum, eps, num_batches_tracked, return_stats))


def _batch_norm_relu(x, running_mean, running_var, weight=None, bias=None, training=False,
                     momentum=0.1, eps=1e-5, num_batches_tracked=None, return_stats=False):
    """relu(batch_norm(...)) in one pass over the data: the ReLU is applied as each value is
    written (NaN and -0.0 kept, as relu does). Private: for the autograd layer's fused
    batch-norm + ReLU; same arguments and results as batch_norm, y rectified (the
    statistics are the batch-norm's own)."""
    return _batch_norm(_batch_norm_args(x, running_mean, running_var, weight, bias, training,
                                        momentum, eps, num_batches_tracked, return_stats),
                       relu=True)


def _batch_norm(args, relu=False):
    dtype, N, C, S = args.dtype, args.N, args.C, args.S
    y = np.empty(args.x.shape, dtype=dtype)
    x3 = contiguous(args.x, dtype).reshape(N, C, S) if y.size else None
    if x3 is not None:
        weight = np.ones(C, dtype) if args.weight is None else contiguous(args.weight, dtype)
        bias = np.zeros(C, dtype) if args.bias is None else contiguous(args.bias, dtype)
    if args.use_batch_stats:
        if x3 is None:
            mean, invstd = np.full(C, np.nan), np.full(C, np.nan)
        else:  # statistics, invstd = 1 / sqrt(var + eps) and y in one kernel call
            mean, var, invstd = np.empty(C), np.empty(C), np.empty(C)
            _bn.batch_norm_train_forward(y.reshape(N, C, S), mean, var, invstd, x3, weight,
                                         bias, args.eps, relu, get_num_threads())
    else:
        mean = contiguous(args.running_mean, np.float64)
        invstd = np.empty(C)
        _bn.batch_norm_invstd(invstd, contiguous(args.running_var, np.float64), args.eps)
        if x3 is not None:
            _bn.batch_norm_forward(y.reshape(N, C, S), x3, mean, invstd, weight, bias, relu,
                                   get_num_threads())
    if x3 is not None:
        if args.update_running:
            _update_running(args.running_mean, mean, args.factor)
            _update_running(args.running_var, var * args.count / (args.count - 1), args.factor)
    if args.return_stats:
        return y, mean.astype(dtype), invstd.astype(dtype)
    return y


@dataclass
class _BackwardArgs:
    grad_out: np.ndarray
    x: np.ndarray
    save_mean: np.ndarray
    save_invstd: np.ndarray
    weight: Optional[np.ndarray]
    training: bool
    dtype: np.dtype
    N: int
    C: int
    S: int


def _backward_args(grad_out, x, save_mean, save_invstd, weight, training):
    """Check and normalise batch_norm_backward's arguments (shared with fastconv.reference)."""
    x, N, C, S = _check_x(x)
    grad_out = as_array(grad_out, "grad_out")
    check_shape(grad_out, "grad_out", x.shape)
    if save_mean is None or save_invstd is None:
        raise ValueError("save_mean and save_invstd are required: take them from "
                         "batch_norm(..., return_stats=True)")
    save_mean = _channel_vector(save_mean, "save_mean", C)
    save_invstd = _channel_vector(save_invstd, "save_invstd", C)
    weight = _channel_vector(weight, "weight", C)
    training = as_bool(training, "training")
    dtype = float_dtype(grad_out, x, save_mean, save_invstd, weight)
    return _BackwardArgs(grad_out, x, save_mean, save_invstd, weight, training, dtype, N, C, S)


def batch_norm_backward(grad_out, x, save_mean, save_invstd, weight=None, training=False):
    """Gradients of batch_norm with respect to x, weight and bias.

    grad_out, x: (N, C), (N, C, L) or (N, C, H, W), the same shape; save_mean, save_invstd,
    weight: (C,), with save_mean and save_invstd as returned by
    batch_norm(..., return_stats=True) and weight None meaning 1.
    With xhat = (x - save_mean) * save_invstd and sums per channel over every axis but 1:
      training=True (the forward used batch statistics -- training mode, or eval mode with
        running buffers None): grad_x = weight * invstd * (dy - mean(dy) - xhat * mean(dy * xhat));
      training=False (fixed running statistics): grad_x = dy * weight * invstd.
    Returns (grad_x, grad_weight, grad_bias): grad_x shaped like x, grad_weight = sum(dy * xhat)
    and grad_bias = sum(dy) of shape (C,) (returned even when weight is None), all in the
    compute dtype of grad_out, x, save_mean, save_invstd and weight.
    """
    args = _backward_args(grad_out, x, save_mean, save_invstd, weight, training)
    dtype, N, C, S = args.dtype, args.N, args.C, args.S
    grad_x = np.empty(args.x.shape, dtype=dtype)
    if grad_x.size == 0:
        return grad_x, np.zeros(C, dtype), np.zeros(C, dtype)
    dy3 = contiguous(args.grad_out, dtype).reshape(N, C, S)
    x3 = contiguous(args.x, dtype).reshape(N, C, S)
    mean = contiguous(args.save_mean, np.float64)
    invstd = contiguous(args.save_invstd, np.float64)
    weight = np.ones(C, dtype) if args.weight is None else contiguous(args.weight, dtype)
    sum_dy, sum_dy_xhat = np.empty(C), np.empty(C)
    threads = get_num_threads()
    if args.training:  # the sums and grad_x in one kernel call
        _bn.batch_norm_backward_train(grad_x.reshape(N, C, S), sum_dy, sum_dy_xhat, dy3, x3,
                                      mean, invstd, weight, threads)
    else:
        _bn.batch_norm_backward_reduce(sum_dy, sum_dy_xhat, dy3, x3, mean, invstd, threads)
        _bn.batch_norm_backward_eval(grad_x.reshape(N, C, S), dy3, invstd, weight, threads)
    return grad_x, sum_dy_xhat.astype(dtype), sum_dy.astype(dtype)
