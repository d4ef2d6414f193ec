"""Matrix product of 2-D arrays on fastconv's GEMM engine, and its backward."""
import numpy as np

from fastconv._ext import gemm as _ext
from fastconv.ops._validate import as_array, check_ndim, check_size, float_dtype, get_num_threads


def _check_operands(a, b):
    a = as_array(a, "a")
    b = as_array(b, "b")
    check_ndim(a, "a", 2, "(M, K)")
    check_ndim(b, "b", 2, "(K, N)")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"a's columns must equal b's rows: a has shape {a.shape}, "
                         f"b has shape {b.shape}")
    return a, b


def _operand(arr, dtype):
    """`arr` in `dtype` as the engine reads it: in its own strides (a transposed or sliced
    view costs no copy) when they are whole elements, else as a C-contiguous copy.
    May alias the caller's array: never written to."""
    arr = np.asarray(arr, dtype=dtype)  # converts only when the dtype differs
    if any(s % arr.itemsize for s in arr.strides):
        arr = np.ascontiguousarray(arr)
    return arr


def _product(a, b, dtype):
    """a @ b into a fresh C-contiguous (M, N) array; a and b already checked."""
    out = np.empty((a.shape[0], b.shape[1]), dtype)
    if out.size == 0:
        return out
    if a.shape[1] == 0:
        out[...] = 0  # every element is an empty sum
        return out
    _ext.gemm(out, _operand(a, dtype), _operand(b, dtype), None, None,
              num_threads=get_num_threads())
    return out


def matmul(a, b):
    """The matrix product a @ b.

    Args:
        a: (M, K) array.
        b: (K, N) array. Any memory layout (transposed, sliced, negative strides) is read in
           place when its strides are whole elements.
    Returns:
        (M, N) array, float32 if every float input is float32 (or float16), else float64.
        Each element is summed in increasing k within fixed blocks, so the result does not
        depend on the number of threads.
    """
    a, b = _check_operands(a, b)
    check_size((a.shape[0], b.shape[1]), "output")
    return _product(a, b, float_dtype(a, b))


def matmul_backward(grad_out, a, b):
    """Gradients of matmul(a, b) given grad_out = dL/d(a @ b).

    Args:
        grad_out: (M, N).
        a: (M, K), the forward's first operand.
        b: (K, N), the forward's second operand.
    Returns:
        (grad_a, grad_b): grad_a = grad_out @ b^T, (M, K); grad_b = a^T @ grad_out, (K, N).
    """
    a, b = _check_operands(a, b)
    grad_out = as_array(grad_out, "grad_out")
    check_ndim(grad_out, "grad_out", 2, "(M, N)")
    expected = (a.shape[0], b.shape[1])
    if grad_out.shape != expected:
        raise ValueError(f"grad_out must have shape {expected} (a's rows, b's columns), "
                         f"got {grad_out.shape}")
    dtype = float_dtype(grad_out, a, b)
    # The transposes are views: the engine reads them through swapped strides.
    return _product(grad_out, b.T, dtype), _product(a.T, grad_out, dtype)
