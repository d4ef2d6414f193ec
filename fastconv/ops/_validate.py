"""Argument checks and coercions shared by every op in `fastconv.ops`.

Each op validates all of its arguments here, in Python, before any C runs; errors
are ValueError or TypeError and name the argument and the value it had.
"""
import math
import operator
import sys

import numpy as np

from fastconv._threads import get_num_threads  # noqa: F401  (re-exported for the op modules)

# A buffer's element count times its item size must fit a signed 64-bit index.
MAX_ELEMENTS = sys.maxsize // 8


_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)


def float_dtype(*arrays):
    """The dtype an op computes in: float32 if every float input is float32 or
    float16, else float64; integer-only inputs compute in float64 (NumPy's rule)."""
    any_float = False
    for a in arrays:
        if a is not None:
            dtype = a.dtype
            if dtype == _FLOAT64:     # a dtype beside a dtype: far cheaper than beside a type
                return _FLOAT64
            any_float = any_float or dtype.kind == "f"
    return _FLOAT32 if any_float else _FLOAT64


def as_array(x, name):
    """`x` as an ndarray of real numbers; refuse bool, complex, object, strings."""
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be array-like, got {type(x).__name__}") from exc
    if arr.dtype.kind not in "fiu":
        raise TypeError(
            f"{name} must hold real floating-point or integer numbers, got dtype {arr.dtype}"
        )
    if arr.dtype.kind == "f" and arr.dtype not in (np.float16, np.float32, np.float64):
        raise TypeError(f"{name} has unsupported dtype {arr.dtype}; use float32 or float64")
    return arr


def check_ndim(arr, name, ndim, layout):
    """`layout` names the axes, e.g. "(N, C, H, W)"."""
    ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be {want} {layout}, got shape {arr.shape}")


def check_shape(arr, name, shape):
    if tuple(arr.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(arr.shape)}")


def contiguous(arr, dtype):
    """A C-contiguous array of `dtype` with `arr`'s values; `arr` itself when it already is one.
    The result may be read-only or alias the input, so callers must never write to it."""
    return np.asarray(arr, dtype=dtype, order="C")


def as_int(value, name, minimum=None):
    """An int (bools refused), at least `minimum` when given."""
    if type(value) is not int:      # a plain int, the common case, needs no conversion
        if isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be an int, got bool {value}")
        try:
            value = operator.index(value)
        except TypeError:
            raise TypeError(f"{name} must be an int, got {type(value).__name__} "
                            f"{value!r}") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def as_bool(value, name):
    """A Python bool; ints and other truthy values refused, so flags are never guessed."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def as_bool_tuple(value, name, n):
    """A sequence of exactly `n` bools (each checked as as_bool does) as a tuple."""
    if not isinstance(value, (tuple, list)) or len(value) != n:
        raise TypeError(f"{name} must be a sequence of {n} bools, got {value!r}")
    for item in value:
        if not isinstance(item, (bool, np.bool_)):
            raise TypeError(f"{name} must be a sequence of {n} bools, got {value!r}")
    return tuple(bool(item) for item in value)


def as_tuple(value, name, n, minimum=None):
    """An int or a sequence of `n` ints as an n-tuple of ints, each at least `minimum`."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{name} must be an int or a sequence of {n} ints, got {value!r}")
        items = value
    else:
        items = (value,) * n
    out = []
    for item in items:
        try:
            out.append(as_int(item, name, minimum))
        except ValueError:
            raise ValueError(f"{name} must be >= {minimum}, got {value!r}") from None
        except TypeError:
            raise TypeError(f"{name} must be an int or a sequence of {n} ints, got {value!r}") from None
    return tuple(out)


def as_float(value, name, minimum=None, maximum=None, min_inclusive=True, max_inclusive=True):
    """A finite Python float within the given bounds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value < minimum or (not min_inclusive and value == minimum)):
        op = ">=" if min_inclusive else ">"
        raise ValueError(f"{name} must be {op} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (not max_inclusive and value == maximum)):
        op = "<=" if max_inclusive else "<"
        raise ValueError(f"{name} must be {op} {maximum}, got {value}")
    return value


def as_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def exact_key(*values):
    """`values` as a dict key when each is None, an int, a str or a tuple of ints, else
    None. Exact types only: a bool or a float hashes like the int it equals but is checked
    differently, so a result checked for one must not be handed out for the other."""
    for value in values:
        kind = type(value)
        if value is None or kind is int or kind is str:
            continue
        if kind is tuple and all(type(item) is int for item in value):
            continue
        return None
    return values


def check_size(shape, name):
    """Refuse shapes whose element count would overflow 64-bit index arithmetic."""
    shape = tuple(map(int, shape))
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise ValueError(f"{name} would have {count} elements (shape {shape}), "
                         f"more than 64-bit indexing allows")
    return shape


def window_output_size(size, kernel, stride, padding, dilation=1, ceil_mode=False):
    """How many windows of a sliding-window op (conv, pooling) fit along one axis:
    floor((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1, or with ceil_mode
    the ceiling, minus one if the last window would start in the right padding (PyTorch's rule).
    `padding` may be a (before, after) pair; then 2*padding is their sum.
    A result below 1 means the window does not fit; callers turn it into an error.
    (With ceil_mode a kernel longer than the padded input still gives windows, as in PyTorch.)"""
    before, after = padding if isinstance(padding, tuple) else (padding, padding)
    span = size + before + after - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + before:
            out -= 1
        return out
    return span // stride + 1
