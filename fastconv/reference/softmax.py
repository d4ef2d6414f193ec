"""Reference softmax and log-softmax: each row along `dim` handled by plain Python loops."""
import math

import numpy as np

from fastconv.ops._validate import as_array, check_shape, float_dtype
from fastconv.ops.softmax import normalize_dim


def _rows(arrays, dim):
    """Each array with axis `dim` moved last, as a list of rows of Python floats."""
    return [[[float(v) for v in row] for row in np.moveaxis(a, dim, -1).reshape(-1, a.shape[dim])]
            for a in arrays]


def _from_rows(rows, shape, dim, dtype):
    """The inverse of _rows for one array: rows back into `shape`, axis `dim` in place."""
    moved = shape[:dim] + shape[dim + 1:] + (shape[dim],)
    out = np.array(rows, dtype=dtype).reshape(moved)
    return np.ascontiguousarray(np.moveaxis(out, -1, dim))


def _prepare(x, dim, name="x"):
    x = as_array(x, name)
    if x.ndim < 1:
        raise ValueError(f"{name} must have at least 1 dimension, got a 0-D array")
    return x, normalize_dim(dim, x.ndim)


def _log_softmax_row(row):
    """log(exp(v) / sum_u exp(u)) for each v, written as (v - m) - log(sum_u exp(u - m)),
    m = max(row), so no exponential overflows."""
    m = max(row)
    log_total = math.log(sum(math.exp(u - m) for u in row))
    return [(v - m) - log_total for v in row]


def softmax(x, dim=-1):
    x, dim = _prepare(x, dim)
    if x.size == 0:
        return np.empty(x.shape, float_dtype(x))
    out = []
    for row in _rows([x], dim)[0]:
        m = max(row)
        exps = [math.exp(v - m) for v in row]
        total = sum(exps)
        out.append([e / total for e in exps])
    return _from_rows(out, x.shape, dim, float_dtype(x))


def softmax_backward(grad_out, output, dim=-1):
    grad_out, dim = _prepare(grad_out, dim, "grad_out")
    output = as_array(output, "output")
    check_shape(output, "output", grad_out.shape)
    dtype = float_dtype(grad_out, output)
    if grad_out.size == 0:
        return np.empty(grad_out.shape, dtype)
    grad_rows, y_rows = _rows([grad_out, output], dim)
    out = []
    for dy, y in zip(grad_rows, y_rows):
        dot = sum(dy[k] * y[k] for k in range(len(y)))
        out.append([y[k] * (dy[k] - dot) for k in range(len(y))])
    return _from_rows(out, grad_out.shape, dim, dtype)


def log_softmax(x, dim=-1):
    x, dim = _prepare(x, dim)
    if x.size == 0:
        return np.empty(x.shape, float_dtype(x))
    out = [_log_softmax_row(row) for row in _rows([x], dim)[0]]
    return _from_rows(out, x.shape, dim, float_dtype(x))


def log_softmax_backward(grad_out, output, dim=-1):
    grad_out, dim = _prepare(grad_out, dim, "grad_out")
    output = as_array(output, "output")
    check_shape(output, "output", grad_out.shape)
    dtype = float_dtype(grad_out, output)
    if grad_out.size == 0:
        return np.empty(grad_out.shape, dtype)
    grad_rows, y_rows = _rows([grad_out, output], dim)
    out = []
    for dy, y in zip(grad_rows, y_rows):
        total = sum(dy)
        out.append([dy[k] - math.exp(y[k]) * total for k in range(len(y))])
    return _from_rows(out, grad_out.shape, dim, dtype)
