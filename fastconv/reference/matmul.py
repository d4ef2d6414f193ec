"""Reference matrix product: out[i, j] = sum over k of a[i, k] * b[k, j]."""
import numpy as np

from fastconv.ops._validate import as_array, float_dtype


def matmul(a, b):
    a, b = as_array(a, "a"), as_array(b, "b")
    rows, depth = a.shape
    cols = b.shape[1]
    out = np.zeros((rows, cols), float_dtype(a, b))
    for i in range(rows):
        for j in range(cols):
            total = 0.0
            for k in range(depth):
                total += float(a[i, k]) * float(b[k, j])
            out[i, j] = total
    return out


def matmul_backward(grad_out, a, b):
    grad_out, a, b = as_array(grad_out, "grad_out"), as_array(a, "a"), as_array(b, "b")
    rows, depth = a.shape
    cols = b.shape[1]
    dtype = float_dtype(grad_out, a, b)

    # grad_a[i, k] = sum over j of grad_out[i, j] * b[k, j]
    grad_a = np.zeros((rows, depth), dtype)
    for i in range(rows):
        for k in range(depth):
            total = 0.0
            for j in range(cols):
                total += float(grad_out[i, j]) * float(b[k, j])
            grad_a[i, k] = total

    # grad_b[k, j] = sum over i of a[i, k] * grad_out[i, j]
    grad_b = np.zeros((depth, cols), dtype)
    for k in range(depth):
        for j in range(cols):
            total = 0.0
            for i in range(rows):
                total += float(a[i, k]) * float(grad_out[i, j])
            grad_b[k, j] = total

    return grad_a, grad_b
