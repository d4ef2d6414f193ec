"""Reference losses: cross-entropy and mean squared error, one sample or element at a time."""
import math

import numpy as np

from fastconv.ops._validate import float_dtype
from fastconv.ops.loss import _check_cross_entropy, _check_mse, _grad_out


def _reduce(losses, reduction, dtype):
    if reduction == "none":
        return np.array(losses, dtype=dtype)
    total = 0.0
    for value in losses:
        total += value
    if reduction == "sum":
        return dtype.type(total)
    return dtype.type(total / len(losses) if losses else math.nan)


def _scales(grad_out, reduction, count):
    """The factor applied to the gradient of each sample (or element) of the loss."""
    if reduction == "none":
        if grad_out is None:
            return [1.0] * count
        return [float(g) for g in grad_out.reshape(-1)]
    g = 1.0 if grad_out is None else float(grad_out.reshape(()))
    if reduction == "mean":
        return [g / count] * count if count else []
    return [g] * count


def _log_softmax_row(row):
    """log(exp(v) / sum_u exp(u)) = (v - m) - log(sum_u exp(u - m)), m = max(row)."""
    m = max(row)
    log_total = math.log(sum(math.exp(u - m) for u in row))
    return [(v - m) - log_total for v in row]


def cross_entropy(logits, target, reduction="mean", label_smoothing=0.0):
    logits, target, reduction, s = _check_cross_entropy(logits, target, reduction, label_smoothing)
    batch, classes = logits.shape
    losses = []
    for i in range(batch):
        log_p = _log_softmax_row([float(v) for v in logits[i]])
        # the target distribution: 1 - s on the true class, plus s spread over all C classes
        loss = -(1 - s) * log_p[int(target[i])] - s / classes * sum(log_p)
        losses.append(loss)
    return _reduce(losses, reduction, float_dtype(logits))


def cross_entropy_backward(logits, target, reduction="mean", label_smoothing=0.0, grad_out=None):
    logits, target, reduction, s = _check_cross_entropy(logits, target, reduction, label_smoothing)
    batch, classes = logits.shape
    grad_out, dtype_inputs = _grad_out(grad_out, reduction, (batch,))
    grad = np.zeros((batch, classes), dtype=float_dtype(logits, *dtype_inputs))
    scales = _scales(grad_out, reduction, batch)
    for i in range(batch):
        log_p = _log_softmax_row([float(v) for v in logits[i]])
        for c in range(classes):
            target_prob = (1 - s) * (c == target[i]) + s / classes
            grad[i, c] = (math.exp(log_p[c]) - target_prob) * scales[i]
    return grad


def mse_loss(input, target, reduction="mean"):
    input, target, reduction = _check_mse(input, target, reduction)
    losses = [(float(a) - float(b)) ** 2 for a, b in zip(input.reshape(-1), target.reshape(-1))]
    dtype = float_dtype(input, target)
    if reduction == "none":
        return np.array(losses, dtype=dtype).reshape(input.shape)
    return _reduce(losses, reduction, dtype)


def mse_loss_backward(input, target, reduction="mean", grad_out=None):
    input, target, reduction = _check_mse(input, target, reduction)
    grad_out, dtype_inputs = _grad_out(grad_out, reduction, input.shape)
    scales = _scales(grad_out, reduction, input.size)
    grads = [2 * (float(a) - float(b)) * g
             for a, b, g in zip(input.reshape(-1), target.reshape(-1), scales)]
    return np.array(grads, dtype=float_dtype(input, target, *dtype_inputs)).reshape(input.shape)
