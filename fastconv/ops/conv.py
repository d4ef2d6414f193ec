"""Convolution (cross-correlation, as in PyTorch) in 2-D and 1-D, forward and backward.

    out[n, oc, oh, ow] = bias[oc] + sum over c in oc's group, kh, kw of
        x[n, g*Cg + c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw] * weight[oc, c, kh, kw]

with g = oc // (OC/groups), Cg = C/groups, and taps outside x reading zero (padding).
1-D convolution is the 2-D kernel with H = 1 (a reshape, no copy).
"""
from typing import NamedTuple

import numpy as np

from fastconv._ext import activation as _activation
from fastconv._ext import conv as _conv
from fastconv._ext import linear as _linear
from fastconv.ops._validate import (
    as_array, as_bool_tuple, as_choice, as_int, as_tuple, check_ndim, check_shape, check_size, contiguous,
    exact_key, float_dtype, get_num_threads, window_output_size,
)
from fastconv.ops.batchnorm import _batch_norm, _eval_args as _bn_eval_args
from fastconv.ops.pool import max_pool2d, max_pool_geometry

_LAYOUTS = {
    1: ("(N, C, L)", "(OC, C/groups, K)", "L"),
    2: ("(N, C, H, W)", "(OC, C/groups, KH, KW)", "(H, W)"),
}


class ConvGeometry(NamedTuple):
    """Normalised convolution arguments, one entry per spatial axis."""
    stride: tuple
    pads: tuple          # (before, after) per axis
    dilation: tuple
    groups: int
    out_size: tuple


def _padding_pairs(padding, kernel, stride, dilation):
    """Padding as a (before, after) pair per axis. 'same' follows PyTorch: the total
    dilation*(kernel-1) is split with the extra element after (bottom/right)."""
    nd = len(kernel)
    if isinstance(padding, str):
        as_choice(padding, "padding", ("valid", "same"))
        if padding == "valid":
            return ((0, 0),) * nd
        if any(s != 1 for s in stride):
            raise ValueError(f"padding='same' needs stride 1, got stride {stride}")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in as_tuple(padding, "padding", nd, minimum=0))


# conv_geometry's results by shapes and arguments: a network asks again and again for the
# geometry of the same few layers, and checking costs about 9 us a call, more than the
# kernels of a small layer at batch 1. Failed checks are never kept. Bounded: cleared
# when full (a program sweeping shapes would otherwise grow it without end).
_GEOMETRIES = {}
_GEOMETRIES_KEPT = 4096


def conv_geometry(x, weight, stride, padding, dilation, groups, nd):
    """Check x's and weight's shapes against each other and the arguments; return a
    ConvGeometry. x and weight are arrays already; `nd` is 1 or 2 spatial axes."""
    key = exact_key(x.shape, weight.shape, stride, padding, dilation, groups, nd)
    if key is None:
        return _check_geometry(x, weight, stride, padding, dilation, groups, nd)
    geometry = _GEOMETRIES.get(key)
    if geometry is None:
        geometry = _check_geometry(x, weight, stride, padding, dilation, groups, nd)
        if len(_GEOMETRIES) >= _GEOMETRIES_KEPT:
            _GEOMETRIES.clear()
        _GEOMETRIES[key] = geometry
    return geometry


def _check_geometry(x, weight, stride, padding, dilation, groups, nd):
    x_layout, w_layout, spatial = _LAYOUTS[nd]
    check_ndim(x, "x", nd + 2, x_layout)
    check_ndim(weight, "weight", nd + 2, w_layout)
    if any(d < 1 for d in x.shape[1:]):
        raise ValueError(f"x {x_layout} must have C and {spatial} >= 1, got shape {x.shape}")
    if any(d < 1 for d in weight.shape):
        raise ValueError(f"weight {w_layout} must have every dimension >= 1, got shape {weight.shape}")
    groups = as_int(groups, "groups", minimum=1)
    channels, out_channels = x.shape[1], weight.shape[0]
    if channels % groups:
        raise ValueError(f"groups={groups} must divide the input channels C={channels}")
    if out_channels % groups:
        raise ValueError(f"groups={groups} must divide the output channels OC={out_channels}")
    if weight.shape[1] * groups != channels:
        raise ValueError(
            f"weight {w_layout} has {weight.shape[1]} input channels per group, but x has "
            f"C={channels} channels and groups={groups} (C/groups={channels // groups})"
        )
    stride = as_tuple(stride, "stride", nd, minimum=1)
    dilation = as_tuple(dilation, "dilation", nd, minimum=1)
    kernel = weight.shape[2:]
    pads = _padding_pairs(padding, kernel, stride, dilation)
    size = x.shape[2:]
    out_size = tuple(window_output_size(n, k, s, p, d)
                     for n, k, s, p, d in zip(size, kernel, stride, pads, dilation))
    if any(o < 1 for o in out_size):
        raise ValueError(
            f"output size would be {out_size}: input size {spatial}={size} is too small for "
            f"kernel {kernel} with dilation {dilation}, padding {pads} and stride {stride}"
        )
    return ConvGeometry(stride, pads, dilation, groups, out_size)


def _forward_args(x, weight, bias, stride, padding, dilation, groups, nd):
    x = as_array(x, "x")
    weight = as_array(weight, "weight")
    geometry = conv_geometry(x, weight, stride, padding, dilation, groups, nd)
    if bias is not None:
        bias = as_array(bias, "bias")
        check_shape(bias, "bias", (weight.shape[0],))
    dtype = float_dtype(x, weight, bias)
    out_shape = check_size((x.shape[0], weight.shape[0]) + geometry.out_size, "output")
    return x, weight, bias, geometry, dtype, out_shape


def _backward_args(grad_out, x, weight, stride, padding, dilation, groups, output_mask, nd):
    grad_out = as_array(grad_out, "grad_out")
    x = as_array(x, "x")
    weight = as_array(weight, "weight")
    geometry = conv_geometry(x, weight, stride, padding, dilation, groups, nd)
    check_shape(grad_out, "grad_out", (x.shape[0], weight.shape[0]) + geometry.out_size)
    output_mask = as_bool_tuple(output_mask, "output_mask", 3)
    return grad_out, x, weight, geometry, float_dtype(grad_out, x, weight), output_mask


def _kernel_geometry(geometry):
    """The 2-D kernels' trailing arguments (without num_threads), with H = 1 for 1-D."""
    stride, pads, dilation = geometry.stride, geometry.pads, geometry.dilation
    if len(stride) == 1:
        stride, pads, dilation = (1,) + stride, ((0, 0),) + pads, (1,) + dilation
    return (stride[0], stride[1], pads[0][0], pads[1][0], dilation[0], dilation[1], geometry.groups)


def _as_2d(arr):
    """(A, B, L) -> (A, B, 1, L) view of a C-contiguous array; 4-D arrays unchanged."""
    return arr if arr.ndim == 4 else arr.reshape(arr.shape[0], arr.shape[1], 1, arr.shape[2])


def _is_dense(x, weight, geometry):
    """True when the window covers the whole unpadded input with one group (a 1x1 output,
    as LeNet-5's C5): the convolution is then a fully connected layer over the flattened
    input, and the linear kernels, with no im2col or col2im, run it several times faster
    (a 16->120 5x5 layer at batch 64: 5x on backward, 2x on forward, measured)."""
    return (geometry.groups == 1 and x.shape[2:] == weight.shape[2:]
            and all(pad == (0, 0) for pad in geometry.pads))


def _dense_forward(out, x, weight, bias, relu):
    rows, out_features = out.shape[0], out.shape[1]
    y = out.reshape(rows, out_features)
    _linear.linear_forward(y, x.reshape(rows, -1), weight.reshape(out_features, -1),
                           bias, get_num_threads())
    if relu:   # N*OC values: a second pass costs nothing beside the GEMM
        pre = y.copy()
        _activation.relu_forward(y.reshape(-1), pre.reshape(-1), get_num_threads())
    return out


def _forward(x, weight, bias, geometry, dtype, out_shape, relu=False):
    out = np.empty(out_shape, dtype=dtype)
    if out.size == 0:
        return out
    x = contiguous(x, dtype)
    weight = contiguous(weight, dtype)
    if _is_dense(x, weight, geometry):
        return _dense_forward(out, x, weight, None if bias is None else contiguous(bias, dtype),
                              relu)
    has_bias = bias is not None
    # The binding wants an array even when there is no bias; the kernel ignores it then.
    bias = contiguous(bias, dtype) if has_bias else np.zeros(1, dtype=dtype)
    _conv.conv2d_forward(_as_2d(out), _as_2d(x), _as_2d(weight), bias, has_bias, relu,
                         *_kernel_geometry(geometry), get_num_threads())
    return out


def _backward(grad_out, x, weight, geometry, dtype, output_mask):
    if x.shape[0] and _is_dense(x, weight, geometry):
        return _dense_backward(grad_out, x, weight, dtype, output_mask)
    want_x, want_weight, want_bias = output_mask
    grad_x = np.empty(x.shape, dtype=dtype) if want_x else None
    grad_weight = np.empty(weight.shape, dtype=dtype) if want_weight else None
    grad_bias = np.empty(weight.shape[0], dtype=dtype) if want_bias else None
    if x.shape[0] == 0:
        # Every gradient but grad_x (itself empty) is a sum over the empty batch.
        for grad in (grad_weight, grad_bias):
            if grad is not None:
                grad.fill(0)
        return grad_x, grad_weight, grad_bias
    grad_out = _as_2d(contiguous(grad_out, dtype))
    args = _kernel_geometry(geometry) + (get_num_threads(),)
    if want_x:
        _conv.conv2d_backward_data(_as_2d(grad_x), grad_out, _as_2d(contiguous(weight, dtype)), *args)
    if want_weight:
        # The weight kernel sums grad_bias on the way (an empty array: it skips it).
        _conv.conv2d_backward_weight(
            _as_2d(grad_weight), grad_bias if want_bias else np.empty(0, dtype=dtype),
            grad_out, _as_2d(contiguous(x, dtype)), *args)
    elif want_bias:
        _conv.conv2d_backward_bias(grad_bias, grad_out, get_num_threads())
    return grad_x, grad_weight, grad_bias


def _dense_backward(grad_out, x, weight, dtype, output_mask):
    """_backward of a convolution that _is_dense: the linear kernel makes the gradients
    output_mask asks for (an empty array tells it to skip one)."""
    rows, out_features = x.shape[0], weight.shape[0]
    want_x, want_weight, want_bias = output_mask
    skipped, skipped_bias = np.empty((0, 0), dtype=dtype), np.empty(0, dtype=dtype)
    grad_x = np.empty(x.shape, dtype=dtype) if want_x else None
    grad_weight = np.empty(weight.shape, dtype=dtype) if want_weight else None
    grad_bias = np.empty(out_features, dtype=dtype) if want_bias else None
    _linear.linear_backward(skipped if grad_x is None else grad_x.reshape(rows, -1),
                            skipped if grad_weight is None
                            else grad_weight.reshape(out_features, -1),
                            skipped_bias if grad_bias is None else grad_bias,
                            contiguous(grad_out, dtype).reshape(rows, out_features),
                            contiguous(x, dtype).reshape(rows, -1),
                            contiguous(weight, dtype).reshape(out_features, -1),
                            get_num_threads())
    return grad_x, grad_weight, grad_bias


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of a batch of images, as torch.nn.functional.conv2d.

    x: (N, C, H, W); weight: (OC, C/groups, KH, KW); bias: (OC,) or None.
    stride, dilation: int or (h, w) pair, each >= 1.
    padding: int or (h, w) pair of zero rows/columns added on both sides, or 'valid' (none)
        or 'same' (output size = input size; stride must be 1; an odd total padding puts the
        extra row/column at the bottom/right).
    groups: C and OC split into `groups` independent convolutions (groups == C: depthwise).
    Returns out: (N, OC, OH, OW), OH = floor((H + pad_h_total - dh*(KH-1) - 1)/sh) + 1,
    in float32 if every float input is float32 (or float16), else float64.
    """
    x, weight, bias, geometry, dtype, out_shape = _forward_args(
        x, weight, bias, stride, padding, dilation, groups, nd=2)
    return _forward(x, weight, bias, geometry, dtype, out_shape)


def _conv2d_bias_relu(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """relu(conv2d(x, weight, bias, ...)) in one pass: the ReLU is applied as each output
    tile is written (NaN kept, as relu does). Private: for the autograd layer's fused
    conv + bias + ReLU; same arguments and result dtype as conv2d."""
    x, weight, bias, geometry, dtype, out_shape = _forward_args(
        x, weight, bias, stride, padding, dilation, groups, nd=2)
    return _forward(x, weight, bias, geometry, dtype, out_shape, relu=True)


def _conv2d_relu_max_pool2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
                            pool):
    """max_pool2d(relu(conv2d(x, weight, bias, ...)), **pool, return_indices=True) as
    (pooled, indices, the convolution's output shape). Private: for the autograd layer's fused
    conv + ReLU + max-pool node. A 2x2 stride-2 pool (no padding or dilation, no window added
    by ceil_mode) over a layer that a direct kernel runs (the stems', the one over output-
    channel vectors) is done in one pass, without writing the convolution's output; other
    layers take the two steps. Same bits either way."""
    x, weight, bias, geometry, dtype, out_shape = _forward_args(
        x, weight, bias, stride, padding, dilation, groups, nd=2)
    window, pool_stride, pool_padding, pool_dilation, pooled_size = max_pool_geometry(
        out_shape, pool["kernel_size"], pool.get("stride"), pool.get("padding", 0),
        pool.get("dilation", 1), pool.get("ceil_mode", False))
    oh, ow = out_shape[2:]
    one_pass = (window == (2, 2) and pool_stride == (2, 2) and pool_padding == (0, 0)
                and pool_dilation == (1, 1) and pooled_size == (oh // 2, ow // 2)
                and out_shape[0] > 0 and min(pooled_size) > 0
                and not _is_dense(x, weight, geometry))
    if one_pass:
        pooled = np.empty(out_shape[:2] + pooled_size, dtype=dtype)
        indices = np.empty(pooled.shape, dtype=np.int64)
        # The binding wants an array even when there is no bias; the kernel ignores it then.
        bias_values = np.zeros(1, dtype=dtype) if bias is None else contiguous(bias, dtype)
        if _conv.conv2d_forward_relu_max_pool(
                pooled, indices, contiguous(x, dtype), contiguous(weight, dtype), bias_values,
                bias is not None, oh, ow, *_kernel_geometry(geometry), get_num_threads()):
            return pooled, indices, out_shape
    activation = _forward(x, weight, bias, geometry, dtype, out_shape, relu=True)
    pooled, indices = max_pool2d(activation, return_indices=True, **pool)
    return pooled, indices, out_shape


def _conv2d_batch_norm(x, weight, bias, stride, padding, dilation, groups, *, running_mean,
                       running_var, bn_weight, bn_bias, eps, relu, keep_conv_output):
    """batch_norm(conv2d(x, weight, bias, ...), running_mean, running_var, bn_weight,
    bn_bias, training=False, eps=eps), then ReLU if relu (as batch-norm's fused ReLU), with
    the same kernels in the same order, so the same bits, but one check of the arguments:
    eval-mode batch-norm folded onto its convolution, whose output is a (N, OC, OH, OW)
    tensor that batch-norm's checks need not see again. Private: for the autograd layer's
    fused conv + batch-norm node. Returns y, or with keep_conv_output (conv_out, y, mean,
    invstd), the last two as batch_norm's return_stats gives them (for backward)."""
    x, weight, bias, geometry, dtype, out_shape = _forward_args(
        x, weight, bias, stride, padding, dilation, groups, nd=2)
    if out_shape[1] < 1:
        raise ValueError(f"weight must have at least 1 output channel for batch-norm to "
                         f"normalise, got shape {weight.shape}")
    norm_args = _bn_eval_args(out_shape, dtype, running_mean, running_var, bn_weight, bn_bias,
                              eps, keep_conv_output, prefix="bn_")
    conv_out = norm_args.x = _forward(x, weight, bias, geometry, dtype, out_shape)
    normalised = _batch_norm(norm_args, relu=relu)
    return (conv_out,) + normalised if keep_conv_output else normalised


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, groups=1,
                    output_mask=(True, True, True)):
    """Gradients of conv2d: given grad_out = dL/dout (N, OC, OH, OW) and the forward's x,
    weight and arguments, return (grad_x (N, C, H, W), grad_weight (OC, C/groups, KH, KW),
    grad_bias (OC,)). grad_bias is the sum of grad_out over N, OH, OW, returned whether or
    not the forward had a bias. The dtype follows conv2d's rule over grad_out, x, weight.

    output_mask: three bools (grad_x, grad_weight, grad_bias), as in PyTorch's
        aten.convolution_backward: only the gradients marked True are computed, None is
        returned in place of the others. The arrays computed are the same, bit for bit,
        whatever else is asked. grad_bias is one pass over grad_out, made by the
        grad_weight kernel when both are asked.
    """
    grad_out, x, weight, geometry, dtype, output_mask = _backward_args(
        grad_out, x, weight, stride, padding, dilation, groups, output_mask, nd=2)
    return _backward(grad_out, x, weight, geometry, dtype, output_mask)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) of a batch of sequences, as
    torch.nn.functional.conv1d.

    x: (N, C, L); weight: (OC, C/groups, K); bias: (OC,) or None.
    stride, dilation: int >= 1; padding: int >= 0, 'valid' or 'same' (as in conv2d).
    Returns out: (N, OC, OL), OL = floor((L + pad_total - dilation*(K-1) - 1)/stride) + 1.
    """
    x, weight, bias, geometry, dtype, out_shape = _forward_args(
        x, weight, bias, stride, padding, dilation, groups, nd=1)
    return _forward(x, weight, bias, geometry, dtype, out_shape)


def conv1d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, groups=1,
                    output_mask=(True, True, True)):
    """Gradients of conv1d: given grad_out (N, OC, OL) and the forward's x, weight and
    arguments, return (grad_x (N, C, L), grad_weight (OC, C/groups, K), grad_bias (OC,)),
    with None in place of those output_mask marks False (see conv2d_backward).
    """
    grad_out, x, weight, geometry, dtype, output_mask = _backward_args(
        grad_out, x, weight, stride, padding, dilation, groups, output_mask, nd=1)
    return _backward(grad_out, x, weight, geometry, dtype, output_mask)
