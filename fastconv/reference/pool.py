"""Pooling, written from the definitions: for each output element, look at its window.

Argument checks and the output sizes come from fastconv.ops.pool, so the reference
accepts exactly what the fast ops accept; everything else is spelled out here.
"""
import math

import numpy as np

from fastconv.ops._validate import as_array, check_ndim, float_dtype
from fastconv.ops.pool import (
    adaptive_output_size, avg_pool_geometry, input_shape_arg, max_pool_geometry, pool_input,
)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    x = pool_input(x)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (OH, OW) = max_pool_geometry(
        x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    N, C, H, W = x.shape
    out = np.empty((N, C, OH, OW), float_dtype(x))
    indices = np.empty((N, C, OH, OW), np.int64)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    best, best_index = -math.inf, None
                    for i in range(kh):
                        for j in range(kw):
                            h = oh * sh - ph + i * dh
                            w = ow * sw - pw + j * dw
                            if not (0 <= h < H and 0 <= w < W):
                                continue  # padding never wins
                            value = float(x[n, c, h, w])
                            # The first input element starts the search (even if -inf);
                            # later ones win if strictly greater, or NaN (NaN propagates).
                            if best_index is None or value > best or math.isnan(value):
                                best, best_index = value, h * W + w
                    out[n, c, oh, ow] = best
                    indices[n, c, oh, ow] = best_index
    return (out, indices) if return_indices else out


def max_pool2d_backward(grad_out, indices, input_shape):
    # The fast op's checks (shapes, index range) are not repeated here.
    N, C, H, W = input_shape_arg(input_shape)
    grad_out = as_array(grad_out, "grad_out")
    indices = np.asarray(indices)
    sums = np.full((N, C, H, W), 0.0, dtype=object)  # Python floats (double precision)
    for n in range(N):
        for c in range(C):
            for oh in range(grad_out.shape[2]):
                for ow in range(grad_out.shape[3]):
                    index = int(indices[n, c, oh, ow])  # h * W + w
                    sums[n, c, index // W, index % W] += float(grad_out[n, c, oh, ow])
    return sums.astype(float_dtype(grad_out))


def _avg_window(o, size, kernel, stride, padding):
    """Input positions range(begin, end) of window `o` along one axis, and its length
    counting padding: the window [o*stride - padding, ... + kernel) cut at the end of the
    right padding (only ceil_mode windows reach past it)."""
    begin = o * stride - padding
    end = min(begin + kernel, size + padding)
    return max(begin, 0), min(end, size), end - begin


def _avg_divisor(h_window, w_window, count_include_pad, divisor_override):
    if divisor_override is not None:
        return divisor_override
    h0, h1, h_padded = h_window
    w0, w1, w_padded = w_window
    if count_include_pad:
        return h_padded * w_padded
    return (h1 - h0) * (w1 - w0)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    x = pool_input(x)
    (kh, kw), (sh, sw), (ph, pw), (OH, OW), include_pad, divisor_override = avg_pool_geometry(
        x.shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    N, C, H, W = x.shape
    out = np.empty((N, C, OH, OW), float_dtype(x))
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    h_window = _avg_window(oh, H, kh, sh, ph)
                    w_window = _avg_window(ow, W, kw, sw, pw)
                    total = 0.0
                    for h in range(h_window[0], h_window[1]):
                        for w in range(w_window[0], w_window[1]):
                            total += float(x[n, c, h, w])
                    out[n, c, oh, ow] = total / _avg_divisor(h_window, w_window, include_pad,
                                                             divisor_override)
    return out


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True, divisor_override=None):
    N, C, H, W = input_shape_arg(input_shape)
    (kh, kw), (sh, sw), (ph, pw), (OH, OW), include_pad, divisor_override = avg_pool_geometry(
        (N, C, H, W), kernel_size, stride, padding, ceil_mode, count_include_pad,
        divisor_override)
    grad_out = as_array(grad_out, "grad_out")
    sums = np.full((N, C, H, W), 0.0, dtype=object)  # Python floats (double precision)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    h_window = _avg_window(oh, H, kh, sh, ph)
                    w_window = _avg_window(ow, W, kw, sw, pw)
                    share = float(grad_out[n, c, oh, ow]) / _avg_divisor(
                        h_window, w_window, include_pad, divisor_override)
                    for h in range(h_window[0], h_window[1]):
                        for w in range(w_window[0], w_window[1]):
                            sums[n, c, h, w] += share
    return sums.astype(float_dtype(grad_out))


def _bin(i, size, out):
    """Input positions range(begin, end) of adaptive bin `i`:
    [floor(i*size/out), ceil((i+1)*size/out))."""
    return (i * size) // out, -((-(i + 1) * size) // out)


def adaptive_avg_pool2d(x, output_size):
    x = pool_input(x)
    OH, OW = adaptive_output_size(x.shape, output_size)
    N, C, H, W = x.shape
    out = np.empty((N, C, OH, OW), float_dtype(x))
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    h0, h1 = _bin(oh, H, OH)
                    w0, w1 = _bin(ow, W, OW)
                    total = 0.0
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            total += float(x[n, c, h, w])
                    out[n, c, oh, ow] = total / ((h1 - h0) * (w1 - w0))
    return out


def adaptive_avg_pool2d_backward(grad_out, input_shape):
    N, C, H, W = input_shape_arg(input_shape)
    grad_out = as_array(grad_out, "grad_out")
    check_ndim(grad_out, "grad_out", 4, "(N, C, OH, OW)")
    OH, OW = grad_out.shape[2:]
    sums = np.full((N, C, H, W), 0.0, dtype=object)  # Python floats (double precision)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    h0, h1 = _bin(oh, H, OH)
                    w0, w1 = _bin(ow, W, OW)
                    share = float(grad_out[n, c, oh, ow]) / ((h1 - h0) * (w1 - w0))
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            sums[n, c, h, w] += share
    return sums.astype(float_dtype(grad_out))
