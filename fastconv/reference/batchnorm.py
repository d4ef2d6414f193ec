"""Batch normalisation, forward and backward, as plain loops (see fastconv.ops.batchnorm).

x of shape (N, C, *spatial) is read as (N, C, S): channel c holds the n = N * S values
x3[i, c, s]. Every sum runs over i, then s, in Python floats (double precision).
"""
import math

import numpy as np

from fastconv.ops.batchnorm import _backward_args, _batch_norm_args


def _as_ncs(x, dtype, N, C, S):
    """x's values in the compute dtype (as the fast op converts them), viewed as (N, C, S)."""
    return np.asarray(x, dtype=dtype).reshape(N, C, S)


def _channel_values(v, dtype):
    return None if v is None else np.asarray(v, dtype=dtype)


def _channel_mean_var(x3, c):
    """Mean and BIASED variance of channel c. The values are summed as differences from the
    channel's first value: a large mean then does not swamp the small deviations, and a
    constant channel gets exactly its value as mean and exactly 0 as variance."""
    N, _, S = x3.shape
    n = N * S
    shift = float(x3[0, c, 0])
    total = 0.0
    for i in range(N):
        for s in range(S):
            total += float(x3[i, c, s]) - shift
    mean = shift + total / n
    squares = 0.0
    for i in range(N):
        for s in range(S):
            d = float(x3[i, c, s]) - mean
            squares += d * d
    return mean, squares / n


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, num_batches_tracked=None, return_stats=False):
    """y = (x - mean) / sqrt(var + eps) * weight + bias per channel; see fastconv.ops.batch_norm
    for the arguments. Returns y, or (y, save_mean, save_invstd) with return_stats=True."""
    a = _batch_norm_args(x, running_mean, running_var, weight, bias, training, momentum, eps,
                         num_batches_tracked, return_stats)
    N, C, S, n = a.N, a.C, a.S, a.count
    x3 = _as_ncs(a.x, a.dtype, N, C, S)
    weight, bias = _channel_values(a.weight, a.dtype), _channel_values(a.bias, a.dtype)
    y3 = np.zeros((N, C, S), dtype=a.dtype)
    save_mean = np.zeros(C, dtype=a.dtype)
    save_invstd = np.zeros(C, dtype=a.dtype)
    for c in range(C):
        w = 1.0 if weight is None else float(weight[c])
        b = 0.0 if bias is None else float(bias[c])
        if a.use_batch_stats:
            if n == 0:  # nothing to normalise; the statistics are undefined
                save_mean[c] = save_invstd[c] = math.nan
                continue
            mean, var = _channel_mean_var(x3, c)
        else:
            mean, var = float(a.running_mean[c]), float(a.running_var[c])
        invstd = 1.0 / math.sqrt(var + a.eps) if var + a.eps >= 0 else math.nan
        for i in range(N):
            for s in range(S):
                y3[i, c, s] = (float(x3[i, c, s]) - mean) * invstd * w + b
        save_mean[c], save_invstd[c] = mean, invstd
        if a.update_running and n > 0:
            m = a.factor
            unbiased_var = var * n / (n - 1)
            a.running_mean[c] = (1.0 - m) * float(a.running_mean[c]) + m * mean
            a.running_var[c] = (1.0 - m) * float(a.running_var[c]) + m * unbiased_var
    y = y3.reshape(a.x.shape)
    if a.return_stats:
        return y, save_mean, save_invstd
    return y


def batch_norm_backward(grad_out, x, save_mean, save_invstd, weight=None, training=False):
    """Gradients (grad_x, grad_weight, grad_bias) of batch_norm; see
    fastconv.ops.batch_norm_backward. With xhat = (x - mean) * invstd, per channel:
    grad_bias = sum(dy), grad_weight = sum(dy * xhat), and grad_x =
    weight * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)) when the forward used batch
    statistics (training=True), else dy * weight * invstd."""
    a = _backward_args(grad_out, x, save_mean, save_invstd, weight, training)
    N, C, S = a.N, a.C, a.S
    n = N * S
    x3 = _as_ncs(a.x, a.dtype, N, C, S)
    dy3 = _as_ncs(a.grad_out, a.dtype, N, C, S)
    weight = _channel_values(a.weight, a.dtype)
    grad_x3 = np.zeros((N, C, S), dtype=a.dtype)
    grad_weight = np.zeros(C, dtype=a.dtype)
    grad_bias = np.zeros(C, dtype=a.dtype)
    for c in range(C):
        mean, invstd = float(a.save_mean[c]), float(a.save_invstd[c])
        w = 1.0 if weight is None else float(weight[c])
        sum_dy = 0.0
        sum_dy_xhat = 0.0
        for i in range(N):
            for s in range(S):
                dy = float(dy3[i, c, s])
                sum_dy += dy
                sum_dy_xhat += dy * ((float(x3[i, c, s]) - mean) * invstd)
        grad_bias[c] = sum_dy
        grad_weight[c] = sum_dy_xhat
        if n == 0:
            continue
        for i in range(N):
            for s in range(S):
                dy = float(dy3[i, c, s])
                if a.training:
                    xhat = (float(x3[i, c, s]) - mean) * invstd
                    grad_x3[i, c, s] = w * invstd * (dy - sum_dy / n - xhat * (sum_dy_xhat / n))
                else:
                    grad_x3[i, c, s] = dy * w * invstd
    return grad_x3.reshape(a.x.shape), grad_weight, grad_bias
