"""Hypothesis building blocks shared by the op tests: values, dtypes and memory layouts."""
import numpy as np
from hypothesis import strategies as st

DTYPES = (np.float32, np.float64)
LAYOUTS = ("C", "F", "reversed", "strided", "readonly")


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
    if layout == "readonly":
        out = arr.copy()
        out.flags.writeable = False
        return out
    raise ValueError(f"unknown layout {layout!r}")
