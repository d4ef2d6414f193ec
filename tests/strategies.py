"""Hypothesis building blocks shared by the op tests: values, dtypes and memory layouts."""
import ctypes
import mmap
import sys

import numpy as np
from hypothesis import strategies as st

DTYPES = (np.float32, np.float64)
# "guarded": C order, the last byte just before a page the process may not read (Linux).
LAYOUTS = ("C", "F", "reversed", "strided", "readonly") + (
    ("guarded",) if sys.platform.startswith("linux") else ())


def _guarded_copy(arr, guard_first):
    """A C-contiguous copy of `arr` in fresh pages, with a page the process may not read
    just before its first byte (guard_first) or just after its last."""
    size = arr.nbytes
    data_pages = -(-size // mmap.PAGESIZE)
    mapping = mmap.mmap(-1, (data_pages + 1) * mmap.PAGESIZE)
    start = ctypes.addressof(ctypes.c_char.from_buffer(mapping))
    guard = start if guard_first else start + data_pages * mmap.PAGESIZE
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mprotect(ctypes.c_void_p(guard), ctypes.c_size_t(mmap.PAGESIZE), 0) != 0:
        raise OSError(ctypes.get_errno(), "mprotect failed")
    offset = mmap.PAGESIZE if guard_first else data_pages * mmap.PAGESIZE - size
    out = np.frombuffer(mapping, arr.dtype, arr.size, offset).reshape(arr.shape)
    out[...] = arr
    return out


def before_a_guard_page(arr):
    """A copy of `arr` whose last byte is followed by an unreadable page, so a kernel that
    loads past the end of its input faults instead of passing unnoticed (masked vector
    loads with a wrong mask once did)."""
    return _guarded_copy(arr, guard_first=False)


def after_a_guard_page(arr):
    """A copy of `arr` whose first byte follows an unreadable page: a kernel that loads
    before the start of its input (a tap in the left padding) faults."""
    return _guarded_copy(arr, guard_first=True)


def values(draw, shape, dtype, integer_valued, low=-1.0, high=1.0, int_range=3):
    """An array of `shape`: uniform in [low, high), or when `integer_valued` integers in
    [-int_range, int_range] (then sums of products are exact in float32, so fast and
    reference must agree bit for bit). Numbers come from a drawn seed: fast to make,
    easy to replay."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    if integer_valued:
        return rng.integers(-int_range, int_range + 1, size=shape).astype(dtype)
    return rng.uniform(low, high, size=shape).astype(dtype)


def with_layout(arr, layout):
    """The same values as `arr` in another memory layout (never C-contiguous except for "C")."""
    if not isinstance(arr, np.ndarray):
        return arr
    if layout == "C":
        return np.array(arr, order="C", copy=True)
    if layout == "F":
        return np.asfortranarray(arr).copy()
    if layout == "reversed":
        if arr.ndim == 0:
            return arr.copy()
        flipped = np.ascontiguousarray(arr[..., ::-1])
        return flipped[..., ::-1]
    if layout == "strided":
        if arr.ndim == 0:
            return arr.copy()
        wide = np.zeros(arr.shape[:-1] + (arr.shape[-1] * 2,), dtype=arr.dtype)
        wide[..., ::2] = arr
        return wide[..., ::2]
    if layout == "guarded":
        return before_a_guard_page(arr)
    if layout == "readonly":
        out = arr.copy()
        out.flags.writeable = False
        return out
    raise ValueError(f"unknown layout {layout!r}")
