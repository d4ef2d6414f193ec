"""Loss functions and their gradients: cross-entropy over class logits and mean squared error.

`reduction` is 'mean' (the average over the batch or the elements), 'sum', or 'none' (one
loss per sample or element). 'mean' and 'sum' return a NumPy scalar of the compute dtype
(np.float32 or np.float64); 'mean' of an empty batch is nan, as in PyTorch. The per-sample
losses are computed in C and summed in float64 in a fixed order, so the result does not
depend on the thread count.

Each backward returns the gradient of the loss itself; `grad_out` (the gradient flowing
into the loss, default 1) is a scalar for 'mean'/'sum' and has the loss's shape for 'none'.
"""
import numpy as np

from fastconv._ext import loss as _ext
from fastconv.ops._validate import (as_array, as_choice, as_float, check_ndim, check_shape,
                                    check_size, contiguous, float_dtype, get_num_threads)

REDUCTIONS = ("mean", "sum", "none")

# Elements per partial sum of mse_loss: fixed, so the partial sums do not depend on the
# thread count; large enough that combining them costs nothing.
MSE_CHUNK = 4096


def _reduce(losses, reduction, count, dtype):
    """The per-sample or per-element `losses` reduced as asked, summed in float64."""
    if reduction == "none":
        return losses
    if reduction == "mean" and count == 0:
        return dtype.type(np.nan)
    total = float(np.sum(losses, dtype=np.float64))
    return dtype.type(total / count if reduction == "mean" else total)


def _grad_out(grad_out, reduction, shape):
    """grad_out as an array (one value for 'mean'/'sum', `shape` for 'none'), or None for 1, and the
    arrays that take part in choosing the compute dtype: a plain Python number does not, so a
    float32 loss with grad_out=1.0 stays float32."""
    if grad_out is None:
        return None, ()
    python_number = isinstance(grad_out, (int, float)) and not isinstance(grad_out, np.generic)
    grad_out = as_array(grad_out, "grad_out")
    if reduction == "none":
        check_shape(grad_out, "grad_out", shape)
    elif grad_out.size != 1:
        raise ValueError(f"grad_out must be a scalar (one value) for reduction={reduction!r}, "
                         f"got shape {grad_out.shape}")
    return grad_out, (() if python_number else (grad_out,))


def _scale(grad_out, reduction, count, dtype):
    """The factor each sample's gradient is multiplied by: one value for all samples, or
    one per sample for 'none' with a grad_out, as a 1-D contiguous array."""
    if reduction == "none" and grad_out is not None:
        return contiguous(grad_out, dtype).reshape(-1)
    g = 1.0 if grad_out is None else float(grad_out.reshape(()))
    return np.array([g / count if reduction == "mean" else g], dtype=dtype)


def _check_cross_entropy(logits, target, reduction, label_smoothing):
    logits = as_array(logits, "logits")
    check_ndim(logits, "logits", 2, "(N, C)")
    batch, classes = logits.shape
    target = as_array(target, "target")
    if target.dtype.kind not in "iu":
        raise TypeError(f"target must hold integer class indices, got dtype {target.dtype} "
                        f"(probability targets are not supported)")
    check_ndim(target, "target", 1, "(N,)")
    check_shape(target, "target", (batch,))
    if target.size and (target.min() < 0 or target.max() >= classes):
        raise ValueError(f"target must hold class indices in [0, {classes}), "
                         f"got values in [{target.min()}, {target.max()}]")
    reduction = as_choice(reduction, "reduction", REDUCTIONS)
    label_smoothing = as_float(label_smoothing, "label_smoothing", 0.0, 1.0)
    return logits, contiguous(target, np.int64), reduction, label_smoothing


def cross_entropy(logits, target, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between the softmax of `logits` and integer class `target`s.

    logits: (N, C) unnormalised scores. target: (N,) integers in [0, C).
    label_smoothing s in [0, 1] mixes the one-hot target with the uniform distribution
    (PyTorch's definition): loss_i = -(1 - s) * log_p[i, target_i] - s / C * sum_c log_p[i, c],
    log_p = log_softmax(logits, dim=1), computed stably in one fused pass per row.
    Returns a scalar for reduction 'mean' / 'sum', an (N,) array for 'none'.
    """
    logits, target, reduction, label_smoothing = _check_cross_entropy(
        logits, target, reduction, label_smoothing)
    dtype = float_dtype(logits)
    batch = logits.shape[0]
    losses = np.empty(batch, dtype=dtype)
    if batch:
        _ext.cross_entropy_forward(losses, contiguous(logits, dtype), target, label_smoothing,
                                   get_num_threads())
    return _reduce(losses, reduction, batch, dtype)


def cross_entropy_backward(logits, target, reduction="mean", label_smoothing=0.0, grad_out=None):
    """Gradient of cross_entropy(logits, target, reduction, label_smoothing) with respect to
    the logits: (softmax(logits) - (1 - s) * onehot(target) - s / C) * grad_out, divided by N
    for 'mean'. grad_out: None (1), a scalar for 'mean'/'sum', an (N,) array for 'none'.
    Returns an (N, C) array.
    """
    logits, target, reduction, label_smoothing = _check_cross_entropy(
        logits, target, reduction, label_smoothing)
    batch = logits.shape[0]
    grad_out, dtype_inputs = _grad_out(grad_out, reduction, (batch,))
    dtype = float_dtype(logits, *dtype_inputs)
    grad_logits = np.empty(check_size(logits.shape, "grad_logits"), dtype=dtype)
    if grad_logits.size == 0:
        return grad_logits
    _ext.cross_entropy_backward(grad_logits, contiguous(logits, dtype), target,
                                _scale(grad_out, reduction, batch, dtype), label_smoothing,
                                get_num_threads())
    return grad_logits


def _check_mse(input, target, reduction):
    input = as_array(input, "input")
    target = as_array(target, "target")
    check_shape(target, "target", input.shape)
    return input, target, as_choice(reduction, "reduction", REDUCTIONS)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error: (input - target)^2 elementwise, then averaged ('mean'), summed
    ('sum') or returned as is ('none', an array shaped like input).
    input, target: arrays of one shape (any shape)."""
    input, target, reduction = _check_mse(input, target, reduction)
    dtype = float_dtype(input, target)
    n = input.size
    flat_input = contiguous(input, dtype).reshape(-1)
    flat_target = contiguous(target, dtype).reshape(-1)
    if reduction == "none":
        losses = np.empty(check_size(input.shape, "output"), dtype=dtype)
        if n:
            _ext.mse_loss_elementwise(losses.reshape(-1), flat_input, flat_target,
                                      get_num_threads())
        return losses
    chunk_sums = np.empty(-(-n // MSE_CHUNK), dtype=dtype)
    if n:
        _ext.mse_loss_chunk_sums(chunk_sums, flat_input, flat_target, MSE_CHUNK,
                                 get_num_threads())
    return _reduce(chunk_sums, reduction, n, dtype)


def mse_loss_backward(input, target, reduction="mean", grad_out=None):
    """Gradient of mse_loss(input, target, reduction) with respect to input:
    2 * (input - target) * grad_out, divided by input.size for 'mean'. grad_out: None (1),
    a scalar for 'mean'/'sum', an array shaped like input for 'none'. Returns an array
    shaped like input."""
    input, target, reduction = _check_mse(input, target, reduction)
    grad_out, dtype_inputs = _grad_out(grad_out, reduction, input.shape)
    dtype = float_dtype(input, target, *dtype_inputs)
    grad_input = np.empty(check_size(input.shape, "grad_input"), dtype=dtype)
    if grad_input.size == 0:
        return grad_input
    _ext.mse_loss_backward(grad_input.reshape(-1), contiguous(input, dtype).reshape(-1),
                           contiguous(target, dtype).reshape(-1),
                           _scale(grad_out, reduction, input.size, dtype), get_num_threads())
    return grad_input
