"""Pooling over (N, C, H, W) arrays: max, average and adaptive average, each with its backward.

Arguments and results follow torch.nn.functional (max_pool2d, avg_pool2d,
adaptive_avg_pool2d). The geometry helpers below (`max_pool_geometry`,
`avg_pool_geometry`, `adaptive_output_size`) are shared with `fastconv.reference.pool`,
so both sides accept and refuse exactly the same arguments.
"""
import numpy as np

from fastconv._ext import pool as _pool
from fastconv.ops._validate import (
    as_array, as_bool, as_int, as_tuple, check_ndim, check_size, contiguous, float_dtype,
    get_num_threads, window_output_size,
)


def pool_input(x, name="x"):
    """`x` as a 4-D real array with a non-empty (H, W) plane (N and C may be 0)."""
    x = as_array(x, name)
    check_ndim(x, name, 4, "(N, C, H, W)")
    if x.shape[2] < 1 or x.shape[3] < 1:
        raise ValueError(f"{name} must have H >= 1 and W >= 1, got shape {x.shape}")
    return x


def input_shape_arg(input_shape):
    """`input_shape` as a tuple (N, C, H, W) of ints, N and C >= 0, H and W >= 1."""
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 4:
        raise ValueError(f"input_shape must be a sequence of 4 ints (N, C, H, W), "
                         f"got {input_shape!r}")
    n, c, h, w = (as_int(d, "input_shape", 0) for d in input_shape)
    if h < 1 or w < 1:
        raise ValueError(f"input_shape must have H >= 1 and W >= 1, got {input_shape!r}")
    return check_size((n, c, h, w), "input_shape")


def _check_padding(padding, kernel):
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"padding must be at most half of kernel_size, got padding="
                         f"{padding} for kernel_size={kernel}")


def _output_size(op, shape, kernel, stride, padding, dilation, ceil_mode):
    out = tuple(window_output_size(size, k, s, p, d, ceil_mode)
                for size, k, s, p, d in zip(shape[2:], kernel, stride, padding, dilation))
    if min(out) < 1:
        raise ValueError(
            f"{op} output size would be {out[0]}x{out[1]} for input {shape[2]}x{shape[3]} "
            f"with kernel_size={kernel}, stride={stride}, padding={padding}, "
            f"dilation={dilation}, ceil_mode={ceil_mode}")
    return out


def max_pool_geometry(shape, kernel_size, stride, padding, dilation, ceil_mode):
    """Checked max-pool arguments for input `shape`:
    (kernel, stride, padding, dilation, (OH, OW)), each an (h, w) pair of ints."""
    kernel = as_tuple(kernel_size, "kernel_size", 2, 1)
    stride = kernel if stride is None else as_tuple(stride, "stride", 2, 1)
    padding = as_tuple(padding, "padding", 2, 0)
    dilation = as_tuple(dilation, "dilation", 2, 1)
    ceil_mode = as_bool(ceil_mode, "ceil_mode")
    # PyTorch checks padding against kernel_size (which also bounds it by half the
    # dilated kernel), so that every window starts inside the input or its left padding.
    _check_padding(padding, kernel)
    out = _output_size("max_pool2d", shape, kernel, stride, padding, dilation, ceil_mode)
    # With dilation a window in the left padding can step over a small input altogether;
    # it would have no maximum (PyTorch returns -inf and an index outside the plane).
    for size, k, s, p, d, o in zip(shape[2:], kernel, stride, padding, dilation, out):
        for i in range(o):
            start = i * s - p
            if start >= 0:
                break  # later windows start inside the input
            if not any(0 <= start + j * d < size for j in range(k)):
                raise ValueError(
                    f"max_pool2d window {i} would cover only padding (input size {size}, "
                    f"kernel_size={kernel}, padding={padding}, dilation={dilation})")
    return kernel, stride, padding, dilation, out


def avg_pool_geometry(shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                      divisor_override):
    """Checked avg-pool arguments for input `shape`: (kernel, stride, padding, (OH, OW),
    count_include_pad, divisor_override or None)."""
    kernel = as_tuple(kernel_size, "kernel_size", 2, 1)
    stride = kernel if stride is None else as_tuple(stride, "stride", 2, 1)
    padding = as_tuple(padding, "padding", 2, 0)
    ceil_mode = as_bool(ceil_mode, "ceil_mode")
    count_include_pad = as_bool(count_include_pad, "count_include_pad")
    if divisor_override is not None:
        divisor_override = as_int(divisor_override, "divisor_override")
        if divisor_override == 0:
            raise ValueError("divisor_override must be a nonzero int, got 0")
    _check_padding(padding, kernel)
    out = _output_size("avg_pool2d", shape, kernel, stride, padding, (1, 1), ceil_mode)
    return kernel, stride, padding, out, count_include_pad, divisor_override


def adaptive_output_size(shape, output_size):
    """(OH, OW) from an int, or a pair whose None entries keep the input's size."""
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"output_size must be an int or a pair, got {output_size!r}")
        pair = tuple(shape[2 + i] if s is None else s for i, s in enumerate(output_size))
    else:
        pair = (output_size, output_size)
    try:
        return tuple(as_int(s, "output_size", 1) for s in pair)
    except ValueError:
        raise ValueError(f"output_size must be >= 1, got {output_size!r}") from None


def _check_grad_out(grad_out, shape):
    check_ndim(grad_out, "grad_out", 4, "(N, C, OH, OW)")
    if tuple(grad_out.shape) != tuple(shape):
        raise ValueError(f"grad_out must have shape {tuple(shape)} (the forward output for "
                         f"these arguments), got {grad_out.shape}")


# ----------------------------------------------------------------------------- max pool

def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Maximum over each (dilated) window of each (H, W) plane.

    x: (N, C, H, W). kernel_size, stride (default kernel_size), padding, dilation:
    an int or an (h, w) pair; padding is at most half the kernel and pads with -inf.
    ceil_mode rounds the output size up (PyTorch's rule: a window that would start in
    the right padding is dropped). Ties go to the first maximum in row-major window
    order; NaN propagates (the last NaN in the window wins).

    Returns y (N, C, OH, OW), or (y, indices) when return_indices: indices int64, the
    flat position h*W + w of each maximum inside its plane (for max_pool2d_backward).
    """
    x = pool_input(x)
    kernel, stride, padding, dilation, (oh, ow) = max_pool_geometry(
        x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    n, c = x.shape[:2]
    dtype = float_dtype(x)
    shape = check_size((n, c, oh, ow), "max_pool2d output")
    out = np.empty(shape, dtype)
    indices = np.empty(shape, np.int64)
    if out.size:
        _pool.max_pool2d_forward(out, indices, contiguous(x, dtype), *kernel, *stride,
                                 *padding, *dilation, get_num_threads())
    return (out, indices) if return_indices else out


def max_pool2d_backward(grad_out, indices, input_shape):
    """Gradient of max_pool2d with respect to x: each grad_out element is added to the
    input position its window's maximum came from (overlapping windows add up).

    grad_out: (N, C, OH, OW); indices: integers of the same shape, as returned by
    max_pool2d(..., return_indices=True), each in [0, H*W); input_shape: (N, C, H, W).
    Returns grad_x of shape input_shape.
    """
    input_shape = input_shape_arg(input_shape)
    grad_out = as_array(grad_out, "grad_out")
    check_ndim(grad_out, "grad_out", 4, "(N, C, OH, OW)")
    if grad_out.shape[:2] != input_shape[:2]:
        raise ValueError(f"grad_out must have (N, C) = {input_shape[:2]} like input_shape, "
                         f"got shape {grad_out.shape}")
    indices = as_array(indices, "indices")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"indices must hold integers, got dtype {indices.dtype}")
    if indices.shape != grad_out.shape:
        raise ValueError(f"indices must have grad_out's shape {grad_out.shape}, "
                         f"got {indices.shape}")
    plane = input_shape[2] * input_shape[3]
    dtype = float_dtype(grad_out)
    if grad_out.size == 0:
        return np.zeros(input_shape, dtype)
    grad_x = np.empty(input_shape, dtype)
    # The kernel range-checks each index as it scatters (a separate min/max here would
    # read the int64 indices twice more), skips the bad ones and counts them. A uint64
    # index too big for int64 wraps to a negative one, so it is refused as well.
    if _pool.max_pool2d_backward(grad_x, contiguous(grad_out, dtype),
                                 contiguous(indices, np.int64), get_num_threads()):
        raise ValueError(f"indices must lie in [0, H*W) = [0, {plane}), got values from "
                         f"{indices.min()} to {indices.max()}")
    return grad_x



# ----------------------------------------------------------------------------- avg pool

def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over each window of each (H, W) plane, with PyTorch's divisor:
    divisor_override if given; else with count_include_pad the window's size counting
    zero padding (but not the part past the right padding that ceil_mode windows reach);
    else the number of input elements in the window.

    x: (N, C, H, W). kernel_size, stride (default kernel_size), padding: an int or an
    (h, w) pair; padding is at most half the kernel. Returns (N, C, OH, OW).
    """
    x = pool_input(x)
    kernel, stride, padding, (oh, ow), include_pad, divisor = avg_pool_geometry(
        x.shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    n, c = x.shape[:2]
    dtype = float_dtype(x)
    out = np.empty(check_size((n, c, oh, ow), "avg_pool2d output"), dtype)
    if out.size:
        _pool.avg_pool2d_forward(out, contiguous(x, dtype), *kernel, *stride, *padding,
                                 include_pad, divisor or 0, get_num_threads())
    return out


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True, divisor_override=None):
    """Gradient of avg_pool2d with respect to x: each grad_out element, divided by its
    window's divisor, is added to every input element of the window.

    grad_out: (N, C, OH, OW), the forward output's shape for these arguments;
    input_shape: (N, C, H, W); the other arguments as given to avg_pool2d.
    Returns grad_x of shape input_shape.
    """
    input_shape = input_shape_arg(input_shape)
    kernel, stride, padding, (oh, ow), include_pad, divisor = avg_pool_geometry(
        input_shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
        divisor_override)
    grad_out = as_array(grad_out, "grad_out")
    _check_grad_out(grad_out, input_shape[:2] + (oh, ow))
    dtype = float_dtype(grad_out)
    grad_x = np.empty(input_shape, dtype)
    if grad_x.size == 0:
        return grad_x
    _pool.avg_pool2d_backward(grad_x, contiguous(grad_out, dtype), *kernel, *stride,
                              *padding, include_pad, divisor or 0, get_num_threads())
    return grad_x


# ------------------------------------------------------------------------ adaptive avg

def adaptive_avg_pool2d(x, output_size):
    """Mean over OH x OW bins that tile each (H, W) plane: output row i averages input
    rows floor(i*H/OH) to ceil((i+1)*H/OH) - 1 (bins overlap when OH does not divide H),
    and likewise for columns. output_size 1 is global average pooling.

    x: (N, C, H, W). output_size: an int, or an (OH, OW) pair where None keeps the
    input's size. Returns (N, C, OH, OW).
    """
    x = pool_input(x)
    oh, ow = adaptive_output_size(x.shape, output_size)
    n, c = x.shape[:2]
    dtype = float_dtype(x)
    out = np.empty(check_size((n, c, oh, ow), "adaptive_avg_pool2d output"), dtype)
    if out.size:
        _pool.adaptive_avg_pool2d_forward(out, contiguous(x, dtype), get_num_threads())
    return out


def adaptive_avg_pool2d_backward(grad_out, input_shape):
    """Gradient of adaptive_avg_pool2d with respect to x: each grad_out element, divided
    by its bin's size, is added to every input element of the bin.

    grad_out: (N, C, OH, OW) (its OH, OW give the output size); input_shape: (N, C, H, W).
    Returns grad_x of shape input_shape.
    """
    input_shape = input_shape_arg(input_shape)
    grad_out = as_array(grad_out, "grad_out")
    check_ndim(grad_out, "grad_out", 4, "(N, C, OH, OW)")
    if grad_out.shape[:2] != input_shape[:2] or min(grad_out.shape[2:]) < 1:
        raise ValueError(f"grad_out must have shape {input_shape[:2]} + (OH, OW) with "
                         f"OH, OW >= 1, got {grad_out.shape}")
    dtype = float_dtype(grad_out)
    grad_x = np.empty(input_shape, dtype)
    if grad_x.size == 0:
        return grad_x
    _pool.adaptive_avg_pool2d_backward(grad_x, contiguous(grad_out, dtype), get_num_threads())
    return grad_x
