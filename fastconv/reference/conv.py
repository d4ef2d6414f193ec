"""Reference convolution: the definition, one output element at a time.

    out[n, oc, oh, ow] = bias[oc] + sum over c, kh, kw of
        x[n, g*Cg + c, oh*sh - pad_top + kh*dh, ow*sw - pad_left + kw*dw] * weight[oc, c, kh, kw]

where g = oc // (OC/groups) is oc's group, Cg = C/groups, and taps outside x count as zero.
The backward walks the same terms: each term x*w of out[n, oc, oh, ow] sends
grad_out[n, oc, oh, ow] * w to x's gradient and grad_out[n, oc, oh, ow] * x to w's.
Argument checks and padding rules ('same', 'valid') come from fastconv.ops.conv.
"""
import numpy as np

from fastconv.ops._validate import as_array, as_bool_tuple, check_shape, float_dtype
from fastconv.ops.conv import conv_geometry


def _setup(x, weight, stride, padding, dilation, groups, nd):
    x = as_array(x, "x")
    weight = as_array(weight, "weight")
    return x, weight, conv_geometry(x, weight, stride, padding, dilation, groups, nd)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out (N, OC, OH, OW) from x (N, C, H, W), weight (OC, C/groups, KH, KW), bias (OC,) or None."""
    x, weight, geo = _setup(x, weight, stride, padding, dilation, groups, nd=2)
    if bias is not None:
        bias = as_array(bias, "bias")
        check_shape(bias, "bias", (weight.shape[0],))
    dtype = float_dtype(x, weight, bias)
    N, C, H, W = x.shape
    OC, Cg, KH, KW = weight.shape
    OH, OW = geo.out_size
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    top, left = geo.pads[0][0], geo.pads[1][0]
    OCg = OC // geo.groups
    xs, ws = x.tolist(), weight.tolist()   # Python floats: the sums run in double precision
    out = np.zeros((N, OC, OH, OW), dtype=dtype)
    for n in range(N):
        for oc in range(OC):
            g = oc // OCg
            for oh in range(OH):
                for ow in range(OW):
                    total = 0.0 if bias is None else float(bias[oc])
                    for c in range(Cg):
                        for kh in range(KH):
                            for kw in range(KW):
                                ih = oh * sh - top + kh * dh
                                iw = ow * sw - left + kw * dw
                                if 0 <= ih < H and 0 <= iw < W:
                                    total += xs[n][g * Cg + c][ih][iw] * ws[oc][c][kh][kw]
                    out[n, oc, oh, ow] = total
    return out


def _masked(grads, output_mask):
    """The gradients output_mask asks for, None in place of the others."""
    return tuple(g if want else None for g, want in zip(grads, output_mask))


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, groups=1,
                    output_mask=(True, True, True)):
    """(grad_x, grad_weight, grad_bias) of conv2d for grad_out (N, OC, OH, OW), None in
    place of each gradient whose output_mask entry is False."""
    x, weight, geo = _setup(x, weight, stride, padding, dilation, groups, nd=2)
    grad_out = as_array(grad_out, "grad_out")
    N, C, H, W = x.shape
    OC, Cg, KH, KW = weight.shape
    OH, OW = geo.out_size
    check_shape(grad_out, "grad_out", (N, OC, OH, OW))
    output_mask = as_bool_tuple(output_mask, "output_mask", 3)
    dtype = float_dtype(grad_out, x, weight)
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    top, left = geo.pads[0][0], geo.pads[1][0]
    OCg = OC // geo.groups
    xs, ws, gos = x.tolist(), weight.tolist(), grad_out.tolist()
    grad_x = np.zeros((N, C, H, W))          # float64 accumulators
    grad_w = np.zeros((OC, Cg, KH, KW))
    grad_b = np.zeros(OC)
    for n in range(N):
        for oc in range(OC):
            g = oc // OCg
            for oh in range(OH):
                for ow in range(OW):
                    go = gos[n][oc][oh][ow]
                    grad_b[oc] += go
                    for c in range(Cg):
                        for kh in range(KH):
                            for kw in range(KW):
                                ih = oh * sh - top + kh * dh
                                iw = ow * sw - left + kw * dw
                                if 0 <= ih < H and 0 <= iw < W:
                                    grad_x[n, g * Cg + c, ih, iw] += go * ws[oc][c][kh][kw]
                                    grad_w[oc, c, kh, kw] += go * xs[n][g * Cg + c][ih][iw]
    return _masked((grad_x.astype(dtype), grad_w.astype(dtype), grad_b.astype(dtype)), output_mask)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out (N, OC, OL) from x (N, C, L), weight (OC, C/groups, K), bias (OC,) or None."""
    x, weight, geo = _setup(x, weight, stride, padding, dilation, groups, nd=1)
    if bias is not None:
        bias = as_array(bias, "bias")
        check_shape(bias, "bias", (weight.shape[0],))
    dtype = float_dtype(x, weight, bias)
    N, C, L = x.shape
    OC, Cg, K = weight.shape
    (OL,), (s,), (d,) = geo.out_size, geo.stride, geo.dilation
    left = geo.pads[0][0]
    OCg = OC // geo.groups
    xs, ws = x.tolist(), weight.tolist()
    out = np.zeros((N, OC, OL), dtype=dtype)
    for n in range(N):
        for oc in range(OC):
            g = oc // OCg
            for o in range(OL):
                total = 0.0 if bias is None else float(bias[oc])
                for c in range(Cg):
                    for k in range(K):
                        i = o * s - left + k * d
                        if 0 <= i < L:
                            total += xs[n][g * Cg + c][i] * ws[oc][c][k]
                out[n, oc, o] = total
    return out


def conv1d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, groups=1,
                    output_mask=(True, True, True)):
    """(grad_x, grad_weight, grad_bias) of conv1d for grad_out (N, OC, OL), None in place of
    each gradient whose output_mask entry is False."""
    x, weight, geo = _setup(x, weight, stride, padding, dilation, groups, nd=1)
    grad_out = as_array(grad_out, "grad_out")
    N, C, L = x.shape
    OC, Cg, K = weight.shape
    (OL,), (s,), (d,) = geo.out_size, geo.stride, geo.dilation
    check_shape(grad_out, "grad_out", (N, OC, OL))
    output_mask = as_bool_tuple(output_mask, "output_mask", 3)
    dtype = float_dtype(grad_out, x, weight)
    left = geo.pads[0][0]
    OCg = OC // geo.groups
    xs, ws, gos = x.tolist(), weight.tolist(), grad_out.tolist()
    grad_x = np.zeros((N, C, L))
    grad_w = np.zeros((OC, Cg, K))
    grad_b = np.zeros(OC)
    for n in range(N):
        for oc in range(OC):
            g = oc // OCg
            for o in range(OL):
                go = gos[n][oc][o]
                grad_b[oc] += go
                for c in range(Cg):
                    for k in range(K):
                        i = o * s - left + k * d
                        if 0 <= i < L:
                            grad_x[n, g * Cg + c, i] += go * ws[oc][c][k]
                            grad_w[oc, c, k] += go * xs[n][g * Cg + c][i]
    return _masked((grad_x.astype(dtype), grad_w.astype(dtype), grad_b.astype(dtype)), output_mask)
