"""Convolution beyond the op table: gradients against finite differences, padding='same'
with asymmetric padding, depthwise and grouped semantics, every class of bad input,
empty batches, dtype rules, (when PyTorch is installed) agreement with torch, and the
fast kernels (implicit GEMM, depthwise) against their direct-loop twins."""
import platform

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastconv import ops, reference
from fastconv._ext import conv as _conv
from fastconv.ops._validate import window_output_size
from gradcheck import assert_gradient_close
from op_table import tolerance
from strategies import values
from thread_count import with_threads

rng = np.random.default_rng(1234)


def randn(*shape):
    return rng.standard_normal(shape)


# (x shape, weight shape, keyword arguments): small enough for finite differences
# through the pure-Python reference.
GRAD_CASES_2D = [
    ((2, 4, 5, 4), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)),
    ((1, 2, 4, 5), (3, 2, 4, 2), dict(padding="same", dilation=(1, 2))),   # asymmetric pads
    ((1, 3, 5, 5), (6, 1, 3, 3), dict(stride=2, padding=1, groups=3)),     # depthwise
    ((2, 2, 4, 4), (2, 2, 1, 1), dict(stride=3, padding="valid")),
]
GRAD_CASES_1D = [
    ((2, 4, 7), (2, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
    ((1, 2, 6), (3, 2, 4), dict(padding="same")),                           # asymmetric pads
    ((1, 3, 5), (3, 1, 2), dict(stride=3, padding=2, groups=3)),            # depthwise
]


@pytest.mark.parametrize("op", ["conv2d", "conv1d"])
def test_reference_backward_matches_finite_differences(op):
    forward = getattr(reference, op)
    backward = getattr(reference, op + "_backward")
    for x_shape, w_shape, kwargs in (GRAD_CASES_2D if op == "conv2d" else GRAD_CASES_1D):
        x, weight, bias = randn(*x_shape), randn(*w_shape), randn(w_shape[0])
        grad_out = randn(*forward(x, weight, bias, **kwargs).shape)
        grad_x, grad_weight, grad_bias = backward(grad_out, x, weight, **kwargs)
        assert_gradient_close(grad_x, lambda v: forward(v, weight, bias, **kwargs), x, grad_out)
        assert_gradient_close(grad_weight, lambda v: forward(x, v, bias, **kwargs), weight, grad_out)
        assert_gradient_close(grad_bias, lambda v: forward(x, weight, v, **kwargs), bias, grad_out)
        fast = getattr(ops, op + "_backward")(grad_out, x, weight, **kwargs)
        for f, r in zip(fast, (grad_x, grad_weight, grad_bias)):
            np.testing.assert_allclose(f, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("impl", [ops, reference], ids=["ops", "reference"])
def test_same_padding_puts_the_odd_pad_after(impl):
    # kernel 4 and dilation 1 need 3 padding rows: 1 on top, 2 at the bottom;
    # kernel 2 with dilation 3 needs 3 columns: 1 left, 2 right.
    x, weight, bias = randn(2, 3, 5, 6), randn(2, 3, 4, 2), randn(2)
    out = impl.conv2d(x, weight, bias, padding="same", dilation=(1, 3))
    padded = np.pad(x, ((0, 0), (0, 0), (1, 2), (1, 2)))
    assert out.shape == (2, 2, 5, 6)
    np.testing.assert_allclose(out, impl.conv2d(padded, weight, bias, dilation=(1, 3)), rtol=1e-12)

    x1, weight1 = randn(2, 3, 7), randn(4, 3, 4)
    out1 = impl.conv1d(x1, weight1, padding="same")
    assert out1.shape == (2, 4, 7)
    np.testing.assert_allclose(out1, impl.conv1d(np.pad(x1, ((0, 0), (0, 0), (1, 2))), weight1),
                               rtol=1e-12)


def test_same_padding_backward_matches_explicit_padding():
    x, weight = randn(1, 2, 5, 4), randn(3, 2, 2, 3)
    grad_out = randn(1, 3, 5, 4)
    grad_x, grad_weight, grad_bias = ops.conv2d_backward(grad_out, x, weight, padding="same")
    padded = np.pad(x, ((0, 0), (0, 0), (0, 1), (1, 1)))
    grad_padded, grad_weight_p, grad_bias_p = ops.conv2d_backward(grad_out, padded, weight)
    np.testing.assert_allclose(grad_x, grad_padded[:, :, 0:5, 1:5], rtol=1e-12)
    np.testing.assert_allclose(grad_weight, grad_weight_p, rtol=1e-12)
    np.testing.assert_allclose(grad_bias, grad_bias_p, rtol=1e-12)


def test_valid_padding_is_zero_padding():
    x, weight = randn(1, 2, 5, 5), randn(3, 2, 3, 3)
    np.testing.assert_array_equal(ops.conv2d(x, weight, padding="valid"), ops.conv2d(x, weight))


@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_convolves_each_channel_alone(multiplier):
    channels = 3
    x = randn(2, channels, 6, 5)
    weight = randn(channels * multiplier, 1, 3, 3)
    bias = randn(channels * multiplier)
    kwargs = dict(stride=(1, 2), padding=1, dilation=(2, 1))
    out = ops.conv2d(x, weight, bias, groups=channels, **kwargs)
    grad_out = randn(*out.shape)
    grad_x, grad_weight, grad_bias = ops.conv2d_backward(grad_out, x, weight, groups=channels, **kwargs)
    for c in range(channels):
        mine = slice(c * multiplier, (c + 1) * multiplier)
        alone = ops.conv2d(x[:, c:c + 1], weight[mine], bias[mine], **kwargs)
        np.testing.assert_allclose(out[:, mine], alone, rtol=1e-12)
        gx, gw, gb = ops.conv2d_backward(grad_out[:, mine], x[:, c:c + 1], weight[mine], **kwargs)
        np.testing.assert_allclose(grad_x[:, c:c + 1], gx, rtol=1e-12)
        np.testing.assert_allclose(grad_weight[mine], gw, rtol=1e-12)
        np.testing.assert_allclose(grad_bias[mine], gb, rtol=1e-12)


def test_conv1d_is_conv2d_with_one_row():
    x, weight, bias = randn(2, 4, 9), randn(6, 2, 3), randn(6)
    kwargs = dict(stride=2, padding=2, dilation=2, groups=2)
    kwargs2d = dict(stride=(1, 2), padding=(0, 2), dilation=(1, 2), groups=2)
    out = ops.conv1d(x, weight, bias, **kwargs)
    np.testing.assert_array_equal(out, ops.conv2d(x[:, :, None], weight[:, :, None], bias, **kwargs2d)[:, :, 0])
    grad_out = randn(*out.shape)
    grads = ops.conv1d_backward(grad_out, x, weight, **kwargs)
    grads2d = ops.conv2d_backward(grad_out[:, :, None], x[:, :, None], weight[:, :, None], **kwargs2d)
    for g1, g2 in zip(grads, grads2d):
        np.testing.assert_array_equal(g1, g2.reshape(g1.shape))


# ---------------------------------------------------------------- zero-size batch

@pytest.mark.parametrize("impl", [ops, reference], ids=["ops", "reference"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_batch(impl, dtype):
    x, weight = np.zeros((0, 4, 6, 5), dtype), np.ones((6, 2, 3, 2), dtype)
    kwargs = dict(stride=2, padding=1, groups=2)
    out = impl.conv2d(x, weight, np.ones(6, dtype), **kwargs)
    assert out.shape == (0, 6, 3, 3) and out.dtype == dtype
    grad_x, grad_weight, grad_bias = impl.conv2d_backward(np.zeros(out.shape, dtype), x, weight, **kwargs)
    assert grad_x.shape == x.shape and grad_x.dtype == dtype
    np.testing.assert_array_equal(grad_weight, np.zeros(weight.shape, dtype))
    np.testing.assert_array_equal(grad_bias, np.zeros(6, dtype))
    assert grad_weight.dtype == grad_bias.dtype == dtype

    x1, weight1 = np.zeros((0, 3, 7), dtype), np.ones((2, 3, 3), dtype)
    out1 = impl.conv1d(x1, weight1, padding="same")
    assert out1.shape == (0, 2, 7) and out1.dtype == dtype
    grads1 = impl.conv1d_backward(np.zeros(out1.shape, dtype), x1, weight1, padding="same")
    assert [g.shape for g in grads1] == [x1.shape, weight1.shape, (2,)]
    assert not np.any(grads1[1]) and not np.any(grads1[2])


# ---------------------------------------------------------------- output_mask

MASKS = [(want_x, want_w, want_b) for want_x in (True, False) for want_w in (True, False)
         for want_b in (True, False)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op, x_shape, w_shape, kwargs", [
    ("conv2d_backward", (3, 4, 9, 8), (6, 4, 3, 3), dict(padding=1)),             # stride-1 path
    ("conv2d_backward", (2, 4, 9, 8), (6, 2, 3, 2), dict(stride=2, groups=2)),    # col2im path
    ("conv2d_backward", (2, 3, 7, 7), (6, 1, 3, 3), dict(padding=1, groups=3)),   # depthwise
    ("conv1d_backward", (2, 3, 11), (5, 3, 3), dict(padding="same")),
    ("conv2d_backward", (3, 4, 5, 5), (6, 4, 5, 5), {}),                          # linear path
])
def test_output_mask_computes_the_same_arrays_and_none_elsewhere(dtype, op, x_shape, w_shape, kwargs):
    x, weight = randn(*x_shape).astype(dtype), randn(*w_shape).astype(dtype)
    grad_out = randn(*getattr(ops, op[:-len("_backward")])(x, weight, **kwargs).shape).astype(dtype)
    full = getattr(ops, op)(grad_out, x, weight, **kwargs)
    for mask in MASKS:
        masked = getattr(ops, op)(grad_out, x, weight, output_mask=mask, **kwargs)
        assert isinstance(masked, tuple) and len(masked) == 3
        for want, got, expected in zip(mask, masked, full):
            if want:
                assert got.dtype == expected.dtype
                assert got.tobytes() == expected.tobytes()
            else:
                assert got is None


# A window covering the whole unpadded input (LeNet-5's C5) runs on the linear kernels.
DENSE_CASES = [
    ("conv2d", (5, 16, 5, 5), (12, 16, 5, 5), {}),
    ("conv2d", (3, 4, 3, 2), (6, 4, 3, 2), dict(stride=(2, 3))),
    ("conv1d", (4, 3, 7), (5, 3, 7), dict(padding="valid")),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op, x_shape, w_shape, kwargs", DENSE_CASES)
def test_whole_input_window_matches_reference(dtype, op, x_shape, w_shape, kwargs):
    x, weight, bias = (randn(*s).astype(dtype) for s in (x_shape, w_shape, w_shape[:1]))
    tol = tolerance(dtype, int(np.prod(w_shape[1:])))
    for b in (bias, None):
        out = getattr(ops, op)(x, weight, b, **kwargs)
        assert out.dtype == dtype
        assert out.shape == (x_shape[0], w_shape[0]) + (1,) * (len(x_shape) - 2)
        np.testing.assert_allclose(out, getattr(reference, op)(x, weight, b, **kwargs),
                                   rtol=tol, atol=tol)
    grad_out = randn(*out.shape).astype(dtype)
    expected = getattr(reference, op + "_backward")(grad_out, x, weight, **kwargs)
    for mask in MASKS:
        got = getattr(ops, op + "_backward")(grad_out, x, weight, output_mask=mask, **kwargs)
        for want, g, e in zip(mask, got, expected):
            if want:
                assert g.dtype == dtype and g.shape == e.shape
                np.testing.assert_allclose(g, e, rtol=tol, atol=tol)
            else:
                assert g is None
    if op == "conv2d":
        from fastconv.ops.conv import _conv2d_bias_relu
        np.testing.assert_array_equal(_conv2d_bias_relu(x, weight, bias, **kwargs),
                                      np.maximum(ops.conv2d(x, weight, bias, **kwargs), 0))


@pytest.mark.parametrize("impl", [ops, reference], ids=["ops", "reference"])
def test_output_mask_on_an_empty_batch(impl):
    x, weight = np.zeros((0, 2, 4, 4), np.float32), np.ones((3, 2, 3, 3), np.float32)
    grad_x, grad_weight, grad_bias = impl.conv2d_backward(
        np.zeros((0, 3, 2, 2), np.float32), x, weight, output_mask=(False, True, True))
    assert grad_x is None
    np.testing.assert_array_equal(grad_weight, np.zeros(weight.shape, np.float32))
    np.testing.assert_array_equal(grad_bias, np.zeros(3, np.float32))


@pytest.mark.parametrize("impl", [ops, reference], ids=["ops", "reference"])
@pytest.mark.parametrize("mask", [(True, True), (True, True, True, True), "TTT", (1, 1, 0),
                                  (True, None, False), True])
def test_bad_output_mask(impl, mask):
    with pytest.raises(TypeError, match=r"output_mask must be a sequence of 3 bools"):
        impl.conv2d_backward(np.ones((1, 6, 3, 3)), X, W, groups=2, output_mask=mask)
    with pytest.raises(TypeError, match=r"output_mask must be a sequence of 3 bools"):
        impl.conv1d_backward(np.ones((1, 6, 3)), X1, W1, groups=2, output_mask=mask)


# ---------------------------------------------------------------- dtypes

def test_dtype_rules():
    x32, w32, w64 = randn(1, 2, 4, 4).astype(np.float32), randn(3, 2, 2, 2).astype(np.float32), randn(3, 2, 2, 2)
    assert ops.conv2d(x32, w32).dtype == np.float32
    assert ops.conv2d(x32, w64).dtype == np.float64                    # mixed -> float64
    assert ops.conv2d(x32.astype(np.float16), w32).dtype == np.float32
    assert ops.conv2d(x32, w32, np.zeros(3)).dtype == np.float64       # float64 bias
    grad_out = np.ones((1, 3, 3, 3), np.float32)
    assert all(g.dtype == np.float64 for g in ops.conv2d_backward(grad_out, x32, w64))
    assert all(g.dtype == np.float32 for g in ops.conv2d_backward(grad_out, x32, w32))


@pytest.mark.parametrize("impl", [ops, reference], ids=["ops", "reference"])
def test_integer_inputs_are_converted(impl):
    x = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5) % 7 - 3
    weight = np.arange(4 * 3 * 2 * 2).reshape(4, 3, 2, 2) % 5 - 2
    out = impl.conv2d(x, weight, [1, 2, 3, 4], padding=1)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, impl.conv2d(x.astype(float), weight.astype(float),
                                                   np.array([1.0, 2, 3, 4]), padding=1))
    grads = impl.conv1d_backward(np.ones((2, 4, 4), np.int32), x[:, :, 0], weight[:, :, 0])
    assert all(g.dtype == np.float64 for g in grads)


# ---------------------------------------------------------------- bad inputs

X, W = np.ones((1, 4, 5, 5)), np.ones((6, 2, 3, 3))     # valid with groups=2
X1, W1 = np.ones((1, 4, 5)), np.ones((6, 2, 3))

BAD_2D = [
    # (x, weight, keyword arguments, exception, message pattern)
    (np.ones((4, 5, 5)), W, dict(groups=2), ValueError, r"x must be 4-D \(N, C, H, W\)"),
    (X, np.ones((6, 2, 3)), dict(groups=2), ValueError, r"weight must be 4-D"),
    (X, W, dict(), ValueError, r"weight .* 2 input channels per group.*C=4.*groups=1"),
    (np.ones((1, 3, 5, 5)), np.ones((6, 1, 3, 3)), dict(groups=2), ValueError, r"groups=2 must divide the input channels C=3"),
    (X, np.ones((5, 2, 3, 3)), dict(groups=2), ValueError, r"groups=2 must divide the output channels OC=5"),
    (X, W, dict(groups=0), ValueError, r"groups must be >= 1"),
    (X, W, dict(groups=2.0), TypeError, r"groups must be an int"),
    (X, W, dict(groups=2, stride=0), ValueError, r"stride must be >= 1"),
    (X, W, dict(groups=2, stride=(1, 0)), ValueError, r"stride must be >= 1"),
    (X, W, dict(groups=2, stride=1.5), TypeError, r"stride"),
    (X, W, dict(groups=2, stride=(1, 1, 1)), ValueError, r"stride must be an int or a sequence of 2"),
    (X, W, dict(groups=2, dilation=0), ValueError, r"dilation must be >= 1"),
    (X, W, dict(groups=2, padding=-1), ValueError, r"padding must be >= 0"),
    (X, W, dict(groups=2, padding=(0, -2)), ValueError, r"padding must be >= 0"),
    (X, W, dict(groups=2, padding="full"), ValueError, r"padding must be one of 'valid', 'same'"),
    (X, W, dict(groups=2, padding="same", stride=2), ValueError, r"padding='same' needs stride 1"),
    (np.ones((1, 4, 2, 5)), W, dict(groups=2), ValueError,
     r"output size would be \(0, 3\): input size \(H, W\)=\(2, 5\).*kernel \(3, 3\).*padding"),
    (X, W, dict(groups=2, dilation=3), ValueError, r"output size would be .*dilation \(3, 3\)"),
    (np.ones((1, 0, 5, 5)), np.ones((6, 0, 3, 3)), dict(), ValueError, r"x .* must have C and \(H, W\) >= 1"),
    (np.ones((1, 4, 0, 5)), W, dict(groups=2, padding=2), ValueError, r"x .* must have C and \(H, W\) >= 1"),
    (X, np.ones((6, 2, 0, 3)), dict(groups=2), ValueError, r"weight .* must have every dimension >= 1"),
    (X.astype(complex), W, dict(groups=2), TypeError, r"x must hold real"),
    (X, W.astype(bool), dict(groups=2), TypeError, r"weight must hold real"),
    (X.astype(object), W, dict(groups=2), TypeError, r"x must hold real"),
    ("abc", W, dict(groups=2), TypeError, r"x must hold real"),
]


@pytest.mark.parametrize("impl", [ops, reference], ids=["ops", "reference"])
@pytest.mark.parametrize("x, weight, kwargs, error, match", BAD_2D)
def test_conv2d_bad_input(impl, x, weight, kwargs, error, match):
    with pytest.raises(error, match=match):
        impl.conv2d(x, weight, **kwargs)
    with pytest.raises(error, match=match):
        impl.conv2d_backward(np.ones((1, 6, 3, 3)), x, weight, **kwargs)


BAD_1D = [
    (np.ones((4, 5)), W1, dict(groups=2), ValueError, r"x must be 3-D \(N, C, L\)"),
    (X1, W, dict(groups=2), ValueError, r"weight must be 3-D \(OC, C/groups, K\)"),
    (X1, W1, dict(groups=3), ValueError, r"groups=3 must divide the input channels C=4"),
    (X1, W1, dict(groups=2, stride=0), ValueError, r"stride must be >= 1"),
    (X1, W1, dict(groups=2, dilation=(0,)), ValueError, r"dilation must be >= 1"),
    (X1, W1, dict(groups=2, padding=-1), ValueError, r"padding must be >= 0"),
    (X1, W1, dict(groups=2, padding="SAME"), ValueError, r"padding must be one of"),
    (X1, W1, dict(groups=2, padding="same", stride=3), ValueError, r"padding='same' needs stride 1"),
    (np.ones((1, 4, 2)), W1, dict(groups=2), ValueError, r"output size would be \(0,\): input size L=\(2,\)"),
    (X1.astype(np.complex64), W1, dict(groups=2), TypeError, r"x must hold real"),
]


@pytest.mark.parametrize("impl", [ops, reference], ids=["ops", "reference"])
@pytest.mark.parametrize("x, weight, kwargs, error, match", BAD_1D)
def test_conv1d_bad_input(impl, x, weight, kwargs, error, match):
    with pytest.raises(error, match=match):
        impl.conv1d(x, weight, **kwargs)
    with pytest.raises(error, match=match):
        impl.conv1d_backward(np.ones((1, 6, 3)), x, weight, **kwargs)


def test_checked_geometry_is_kept_only_for_the_exact_arguments():
    """conv_geometry keeps what it checked by shapes and arguments; True and 1.0 hash like 1
    but are refused, and a refused call is never kept."""
    from fastconv.ops.conv import _check_geometry, conv_geometry
    x, w = np.ones((2, 4, 7, 6)), np.ones((6, 2, 3, 3))
    for args in [(1, 0, 1, 2), ((2, 1), (1, 2), (1, 2), 2),
                 ([2, 1], [1, 0], 1, 2), (1, "same", 2, 1)]:
        stride, padding, dilation, groups = args
        weight = w if groups == 2 else np.ones((6, 4, 3, 3))
        for _ in range(2):  # the second call may come from what the first kept
            assert conv_geometry(x, weight, stride, padding, dilation, groups, 2) == \
                _check_geometry(x, weight, stride, padding, dilation, groups, 2)
    ops.conv2d(x, w, stride=1, groups=2)
    for stride in (True, 1.0, (1, True)):
        with pytest.raises(TypeError, match="stride"):
            ops.conv2d(x, w, stride=stride, groups=2)
    for _ in range(2):
        with pytest.raises(ValueError, match="groups=3 must divide"):
            ops.conv2d(x, w, groups=3)


@pytest.mark.parametrize("impl", [ops, reference], ids=["ops", "reference"])
def test_bad_bias_and_grad_out(impl):
    with pytest.raises(ValueError, match=r"bias must have shape \(6,\)"):
        impl.conv2d(X, W, np.ones(4), groups=2)
    with pytest.raises(TypeError, match=r"bias must hold real"):
        impl.conv2d(X, W, np.ones(6, complex), groups=2)
    with pytest.raises(ValueError, match=r"grad_out must have shape \(1, 6, 3, 3\)"):
        impl.conv2d_backward(np.ones((1, 6, 3, 4)), X, W, groups=2)
    with pytest.raises(ValueError, match=r"grad_out must have shape \(1, 6, 3\)"):
        impl.conv1d_backward(np.ones((1, 6, 3, 1)), X1, W1, groups=2)
    with pytest.raises(TypeError, match=r"grad_out must hold real"):
        impl.conv1d_backward(np.ones((1, 6, 3), bool), X1, W1, groups=2)


# ---------------------------------------------------------------- PyTorch, when installed

TORCH_CASES = [
    ((2, 4, 9, 8), (6, 2, 3, 3), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
    ((1, 6, 7, 7), (12, 1, 3, 3), dict(stride=2, padding=1, groups=6)),
    ((2, 3, 6, 7), (4, 3, 4, 2), dict(padding="same", dilation=(2, 1))),
    ((3, 8, 16, 16), (16, 4, 3, 3), dict(padding=1, groups=2)),
]


# torch warns that 'same' with an even kernel copies the input; that is its business.
ignore_same_padding_warning = pytest.mark.filterwarnings("ignore:Using padding='same'")


@ignore_same_padding_warning
@pytest.mark.parametrize("x_shape, w_shape, kwargs", TORCH_CASES)
def test_conv2d_matches_torch(x_shape, w_shape, kwargs):
    torch = pytest.importorskip("torch")
    x, weight, bias = randn(*x_shape), randn(*w_shape), randn(w_shape[0])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, weight, bias))
    t_out = torch.nn.functional.conv2d(tx, tw, tb, **kwargs)
    out = ops.conv2d(x, weight, bias, **kwargs)
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-10, atol=1e-10)
    grad_out = randn(*out.shape)
    t_out.backward(torch.tensor(grad_out))
    for mine, theirs in zip(ops.conv2d_backward(grad_out, x, weight, **kwargs), (tx, tw, tb)):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-10, atol=1e-10)


@ignore_same_padding_warning
def test_conv1d_matches_torch():
    torch = pytest.importorskip("torch")
    for x_shape, w_shape, kwargs in GRAD_CASES_1D:
        x, weight, bias = randn(*x_shape), randn(*w_shape), randn(w_shape[0])
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, weight, bias))
        t_out = torch.nn.functional.conv1d(tx, tw, tb, **kwargs)
        out = ops.conv1d(x, weight, bias, **kwargs)
        np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-10, atol=1e-10)
        grad_out = randn(*out.shape)
        t_out.backward(torch.tensor(grad_out))
        for mine, theirs in zip(ops.conv1d_backward(grad_out, x, weight, **kwargs), (tx, tw, tb)):
            np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------- fast paths vs direct twins
# fastconv.ops runs convolutions as implicit GEMMs (or the depthwise kernels); the foundation's
# direct loops stay bound as *_direct: the naive twins every fast path is held to here, over
# larger shapes than the pure-Python reference could afford.


@st.composite
def kernel_configs(draw):
    """Shapes and geometry for the C kernels: x, w shapes, output size, geometry args."""
    kind = draw(st.sampled_from(["dense", "dense", "grouped", "depthwise", "1x1", "3x3"]),
                label="kind")
    groups = 1 if kind in ("dense", "1x1", "3x3") else draw(st.integers(2, 4), label="groups")
    in_per_group = 1 if kind == "depthwise" else draw(st.integers(1, 12), label="C/groups")
    out_per_group = draw(st.integers(1, 3) if kind == "depthwise" else st.integers(1, 20),
                         label="OC/groups")
    if kind == "1x1":
        kernel, dilation = (1, 1), (1, 1)
    elif kind == "3x3":   # Winograd's shapes (stride 1 below)
        kernel, dilation = (3, 3), (1, 1)
    else:
        kernel = (draw(st.integers(1, 5), label="KH"), draw(st.integers(1, 5), label="KW"))
        dilation = (draw(st.integers(1, 2), label="dh"), draw(st.integers(1, 2), label="dw"))
    stride = (draw(st.integers(1, 3), label="sh"), draw(st.integers(1, 3), label="sw"))
    if (kind == "1x1" and draw(st.booleans(), label="plain 1x1")) or kind == "3x3":
        stride = (1, 1)
    if draw(st.booleans(), label="same"):
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        stride = (1, 1)   # 'same': asymmetric when the total is odd, extra after
        pads = tuple((t // 2, t - t // 2) for t in totals)
    else:
        pads = tuple((p, p) for p in (draw(st.integers(0, 3), label="ph"),
                                      draw(st.integers(0, 3), label="pw")))
    if kind == "1x1" and stride == (1, 1) and draw(st.booleans(), label="no pad"):
        pads = ((0, 0), (0, 0))
    size = tuple(draw(st.integers(max(1, d * (k - 1) + 1 - p[0] - p[1]), 24), label="size")
                 for k, d, p in zip(kernel, dilation, pads))
    out_size = tuple(window_output_size(n, k, s, p, d)
                     for n, k, s, p, d in zip(size, kernel, stride, pads, dilation))
    batch = draw(st.sampled_from([1, 1, 2, 3, 5]), label="N")
    x_shape = (batch, groups * in_per_group) + size
    w_shape = (groups * out_per_group, in_per_group) + kernel
    geometry = (stride[0], stride[1], pads[0][0], pads[1][0], dilation[0], dilation[1], groups)
    return x_shape, w_shape, out_size, geometry


def _abs_sums(kind, shape, a, b, geometry, bias=None):
    """Per element of a direct kernel's result, the sum of its terms' absolute values, in
    float64: the same direct loops over |a| and |b| (and |bias|). kind 'forward': a = x,
    b = w; 'data': a = grad_out, b = w; 'weight': a = grad_out, b = x, giving (grad_w sums,
    grad_bias sums). geometry: (stride_h, stride_w, pad_top, pad_left, dilation_h,
    dilation_w, groups)."""
    a, b = np.abs(a).astype(np.float64), np.abs(b).astype(np.float64)
    out = np.empty(shape)
    if kind == "forward":
        bias = np.zeros(shape[1]) if bias is None else np.abs(bias).astype(np.float64)
        _conv.conv2d_forward_direct(out, a, b, bias, *geometry, 1)
        return out
    if kind == "data":
        _conv.conv2d_backward_data_direct(out, a, b, *geometry, 1)
        return out
    bias_sums = np.empty(shape[0])
    _conv.conv2d_backward_weight_direct(out, bias_sums, np.empty((1, a.shape[3])), a, b,
                                        *geometry, 1)
    return out, bias_sums


def _check_close(fast, direct, abs_sums, dtype, reduction, exact):
    """fast and direct are sums of at most `reduction` products in `dtype`, in any order
    (fused or not): each lies within reduction * eps/2 (to first order) of the exact sum,
    relative to the sum of the terms' absolute values (abs_sums, see _abs_sums), so they
    differ by less than twice that; exact: integer-valued terms, no rounding at all."""
    if exact:
        np.testing.assert_array_equal(fast, direct)
        return
    eps = np.finfo(dtype).eps
    bound = 2.0 * reduction * eps * abs_sums + 2.0 * reduction * np.finfo(dtype).tiny
    excess = np.abs(fast.astype(np.float64) - direct) - bound
    assert excess.max(initial=-1.0) <= 0, (
        f"fast and direct differ by up to {np.abs(fast - direct).max()}, beyond the rounding "
        f"bound of {reduction} terms (worst excess {excess.max()})")


def _winograd_terms(reduction):
    """The reduction length to hold Winograd's results to: its transforms add their own
    roundings (up to 16 points summed, 4 adds a transform) and work on values up to 4x the
    inputs' (each input enters up to 4 of a patch's 16 points, each filter tap up to 4 of
    U's), so the direct sums' bound, scaled for both."""
    return 4 * (reduction + 16)


@settings(max_examples=60)
@given(config=kernel_configs(), dtype=st.sampled_from([np.float32, np.float64]),
       integer_valued=st.booleans(), data=st.data())
def test_fast_kernels_match_direct_twins(config, dtype, integer_valued, data):
    x_shape, w_shape, out_size, geometry = config
    x = values(data.draw, x_shape, dtype, integer_valued)
    w = values(data.draw, w_shape, dtype, integer_valued)
    bias = values(data.draw, w_shape[:1], dtype, integer_valued)
    out_shape = (x_shape[0], w_shape[0]) + out_size
    grad_out = values(data.draw, out_shape, dtype, integer_valued)
    taps = int(np.prod(w_shape[1:]))

    def run(fn, shape, *args, threads=1, **extra):
        out = np.full(shape, np.nan, dtype)   # kernels must overwrite every element
        fn(out, *args, *geometry, threads)
        return out

    direct = run(_conv.conv2d_forward_direct, out_shape, x, w, bias)
    direct_nobias = run(_conv.conv2d_forward_direct, out_shape, x, w, np.zeros_like(bias))
    sums = _abs_sums("forward", out_shape, x, w, geometry, bias)
    sums_nobias = _abs_sums("forward", out_shape, x, w, geometry)
    for forward in (_conv.conv2d_forward, _conv.conv2d_forward_depthwise):
        outs = {}
        for threads in (1, 2, 3):
            outs[threads] = run(forward, out_shape, x, w, bias, True, False, threads=threads)
            np.testing.assert_array_equal(outs[threads], outs[1])
        _check_close(outs[1], direct, sums, dtype, taps + 1, integer_valued)
        _check_close(run(forward, out_shape, x, w, bias, False, False), direct_nobias,
                     sums_nobias, dtype, taps, integer_valued)
        fused = run(forward, out_shape, x, w, bias, True, True)
        np.testing.assert_array_equal(fused, np.maximum(outs[1], 0))
    stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, groups = geometry
    tapwise = groups == 1 and dilation_h == dilation_w == 1
    if tapwise:   # the small-image kernels, on any shape they take
        tapwise_geometry = (stride_h, stride_w, pad_top, pad_left)
        outs = {}
        for threads in (1, 2, 3):
            outs[threads] = np.full(out_shape, np.nan, dtype)
            _conv.conv2d_forward_tapwise(outs[threads], x, w, bias, True, False,
                                         *tapwise_geometry, threads)
            np.testing.assert_array_equal(outs[threads], outs[1])
        _check_close(outs[1], direct, sums, dtype, taps + 1, integer_valued)
        fused = np.full(out_shape, np.nan, dtype)
        _conv.conv2d_forward_tapwise(fused, x, w, bias, True, True, *tapwise_geometry, 2)
        np.testing.assert_array_equal(fused, np.maximum(outs[1], 0))
    # Winograd's F(2x2, 3x3), on any 3x3 stride-1 shape (its backward-data form: pads to 2)
    winograd = tapwise and w_shape[2:] == (3, 3) and stride_h == stride_w == 1
    if winograd:
        outs = [np.full(out_shape, np.nan, dtype) for _ in (1, 2, 3)]
        for threads, out in zip((1, 2, 3), outs):
            assert _conv.conv2d_winograd(out, x, w, False, bias, True, False, *out_shape[2:],
                                         pad_top, pad_left, threads)
            np.testing.assert_array_equal(out, outs[0])
        _check_close(outs[0], direct, sums, dtype, _winograd_terms(taps + 1), integer_valued)

    grad_x_direct = run(_conv.conv2d_backward_data_direct, x_shape, grad_out, w)
    sums = _abs_sums("data", x_shape, grad_out, w, geometry)
    reduction = w_shape[0] // geometry[-1] * w_shape[2] * w_shape[3]
    grads = [run(_conv.conv2d_backward_data, x_shape, grad_out, w, threads=t) for t in (1, 2, 3)]
    for g in grads[1:]:
        np.testing.assert_array_equal(g, grads[0])
    _check_close(grads[0], grad_x_direct, sums, dtype, reduction, integer_valued)
    if tapwise and stride_h == stride_w == 1:
        grads = [np.full(x_shape, np.nan, dtype) for _ in (1, 2, 3)]
        for threads, g in zip((1, 2, 3), grads):
            _conv.conv2d_backward_data_tapwise(g, grad_out, w, pad_top, pad_left, threads)
            np.testing.assert_array_equal(g, grads[0])
        _check_close(grads[0], grad_x_direct, sums, dtype, reduction, integer_valued)
        # the stems' kernel, where it runs (float32 on AVX-512, up to 3 input channels)
        stem = _optional_kernel(_conv.conv2d_backward_data_stem, x_shape, dtype, grad_out, w,
                                pad_top, pad_left)
        if stem is not None:
            _check_close(stem, grad_x_direct, sums, dtype, reduction, integer_valued)
    if winograd and pad_top <= 2 and pad_left <= 2:
        grads = [np.full(x_shape, np.nan, dtype) for _ in (1, 2, 3)]
        for threads, g in zip((1, 2, 3), grads):
            _conv.conv2d_winograd(g, grad_out, w, True, np.empty(0, dtype), False, False,
                                  *x_shape[2:], 2 - pad_top, 2 - pad_left, threads)
            np.testing.assert_array_equal(g, grads[0])
        _check_close(grads[0], grad_x_direct, sums, dtype, _winograd_terms(reduction),
                     integer_valued)

    row_sums = np.empty((1, out_size[1]), dtype)
    grad_w_direct, grad_b_direct = np.empty(w_shape, dtype), np.empty(w_shape[0], dtype)
    _conv.conv2d_backward_weight_direct(grad_w_direct, grad_b_direct, row_sums, grad_out, x,
                                        *geometry, 1)
    sums_w, sums_b = _abs_sums("weight", w_shape, grad_out, x, geometry)
    reduction = x_shape[0] * out_size[0] * out_size[1]
    for backward_weight in (_conv.conv2d_backward_weight, _conv.conv2d_backward_weight_depthwise):
        results = []
        for threads in (1, 2, 3):
            grad_w, grad_b = np.full(w_shape, np.nan, dtype), np.full(w_shape[0], np.nan, dtype)
            backward_weight(grad_w, grad_b, grad_out, x, *geometry, threads)
            results.append((grad_w, grad_b))
        for grad_w, grad_b in results[1:]:
            np.testing.assert_array_equal(grad_w, results[0][0])
            np.testing.assert_array_equal(grad_b, results[0][1])
        _check_close(results[0][0], grad_w_direct, sums_w, dtype, reduction, integer_valued)
        _check_close(results[0][1], grad_b_direct, sums_b, dtype, reduction, integer_valued)
        # an empty grad_bias: the bias sums are skipped, grad_w unchanged
        grad_w = np.full(w_shape, np.nan, dtype)
        backward_weight(grad_w, np.empty(0, dtype), grad_out, x, *geometry, 2)
        np.testing.assert_array_equal(grad_w, results[0][0])
    grad_b = np.full(w_shape[0], np.nan, dtype)
    _conv.conv2d_backward_bias(grad_b, grad_out, 2)
    np.testing.assert_array_equal(grad_b, results[0][1])
    if tapwise:
        results = [np.full(w_shape, np.nan, dtype) for _ in (1, 2, 3)]
        for threads, grad_w in zip((1, 2, 3), results):
            _conv.conv2d_backward_weight_tapwise(grad_w, grad_out, x, *tapwise_geometry, threads)
            np.testing.assert_array_equal(grad_w, results[0])
        _check_close(results[0], grad_w_direct, sums_w, dtype, reduction, integer_valued)
    if winograd:
        results = [np.full(w_shape, np.nan, dtype) for _ in (1, 2, 3)]
        for threads, grad_w in zip((1, 2, 3), results):
            _conv.conv2d_backward_weight_winograd(grad_w, grad_out, x, pad_top, pad_left, threads)
            np.testing.assert_array_equal(grad_w, results[0])
        _check_close(results[0], grad_w_direct, sums_w, dtype, _winograd_terms(reduction),
                     integer_valued)
    if groups == 1:   # the stems' few-tap kernel, where it runs (float32 on AVX-512)
        fewtaps = _optional_kernel(_conv.conv2d_backward_weight_fewtaps, w_shape, dtype,
                                   grad_out, x, *geometry[:-1])
        if fewtaps is not None:
            _check_close(fewtaps, grad_w_direct, sums_w, dtype, reduction, integer_valued)


def _optional_kernel(kernel, shape, dtype, *args):
    """The output of a kernel that runs on some CPUs only (it returns whether it ran), checked
    to be the same bits at 1, 2 and 3 threads; None where it does not run."""
    outs = [np.full(shape, np.nan, dtype) for _ in (1, 2, 3)]
    ran = [kernel(out, *args, threads) for threads, out in zip((1, 2, 3), outs)]
    assert len(set(ran)) == 1
    if not ran[0]:
        return None
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])
    return outs[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_bias_relu_is_relu_of_conv2d(dtype):
    from fastconv.ops.conv import _conv2d_bias_relu
    for x_shape, w_shape, kwargs in GRAD_CASES_2D + [((3, 8, 9, 9), (16, 8, 3, 3), dict(padding=1))]:
        x, weight, bias = (randn(*s).astype(dtype) for s in (x_shape, w_shape, w_shape[:1]))
        for b in (bias, None):
            expected = np.maximum(ops.conv2d(x, weight, b, **kwargs), 0)
            out = _conv2d_bias_relu(x, weight, b, **kwargs)
            assert out.dtype == dtype
            np.testing.assert_array_equal(out, expected)
    nan_bias = np.array([np.nan, 0.0, -np.inf], dtype)
    out = _conv2d_bias_relu(np.ones((1, 1, 2, 2), dtype), np.ones((3, 1, 1, 1), dtype), nan_bias)
    assert np.isnan(out[0, 0]).all() and (out[0, 1] == 1).all() and (out[0, 2] == 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_images_take_the_tapwise_kernels(dtype):
    # 64 channels of 4x4 images, a batch of 16, a 'same' 3x3 layer: a third of the im2col
    # GEMM would read padding, so ops runs the tap-wise kernels (conv_tapwise_impl.h),
    # which must give their own bits for any thread count and agree with the direct loops.
    x, weight, bias = (randn(*s).astype(dtype) for s in ((16, 64, 4, 4), (64, 64, 3, 3), (64,)))
    geometry = (1, 1, 1, 1)
    tapwise = np.empty((16, 64, 4, 4), dtype)
    _conv.conv2d_forward_tapwise(tapwise, x, weight, bias, True, False, *geometry, 1)
    direct = np.empty_like(tapwise)
    _conv.conv2d_forward_direct(direct, x, weight, bias, *geometry, 1, 1, 1, 1)
    for threads in (1, 2):
        np.testing.assert_array_equal(with_threads(threads, ops.conv2d, x, weight, bias, padding=1),
                                      tapwise)
    geometry_2d = geometry + (1, 1, 1)
    _check_close(tapwise, direct, _abs_sums("forward", x.shape, x, weight, geometry_2d, bias),
                 dtype, 64 * 9 + 1, False)
    grad_out = randn(16, 64, 4, 4).astype(dtype)
    grad_x = np.empty_like(x)
    _conv.conv2d_backward_data_tapwise(grad_x, grad_out, weight, 1, 1, 1)
    for threads in (1, 2):
        mine = with_threads(threads, ops.conv2d_backward, grad_out, x, weight, padding=1,
                            output_mask=(True, False, False))[0]
        np.testing.assert_array_equal(mine, grad_x)
    grad_x_direct = np.empty_like(x)
    _conv.conv2d_backward_data_direct(grad_x_direct, grad_out, weight, *geometry, 1, 1, 1, 1)
    _check_close(grad_x, grad_x_direct, _abs_sums("data", x.shape, grad_out, weight, geometry_2d),
                 dtype, 64 * 9, False)
    grad_w = np.empty_like(weight)
    _conv.conv2d_backward_weight_tapwise(grad_w, grad_out, x, *geometry, 1)
    for threads in (1, 2):
        _, mine, grad_b = with_threads(threads, ops.conv2d_backward, grad_out, x, weight, padding=1)
        np.testing.assert_array_equal(mine, grad_w)
        np.testing.assert_allclose(grad_b, grad_out.sum(axis=(0, 2, 3)), rtol=1e-5)
    grad_w_direct, grad_b_direct = np.empty_like(weight), np.empty(64, dtype)
    _conv.conv2d_backward_weight_direct(grad_w_direct, grad_b_direct, np.empty((1, 4), dtype),
                                        grad_out, x, *geometry, 1, 1, 1, 1)
    _check_close(grad_w, grad_w_direct,
                 _abs_sums("weight", weight.shape, grad_out, x, geometry_2d)[0], dtype, 16 * 16,
                 False)


# (kernel, N, C, H, W, OC, K, pad). The stems' forward ("stem"), two output rows a block:
# the CIFAR stem (rows of 2 vectors, blocks of 6 channels, a short last one), LeNet-5's C1
# (one block), the simple CNN's conv1 (unpadded, 26-wide rows), 9 rows of 40 (two chunks,
# the second partial; an odd last row), 7 rows of 5 (one vector, blocks of 12 channels), one
# image. The forward over output-channel vectors ("ocvec"): LeNet-5's C3 (16 channels,
# one vector), the simple CNN's conv2 at batch 3 (two vectors of 32 channels, 12-pixel
# blocks; at batch 8 and more ops takes Winograd's kernel for it), padded,
# one image, 48 channels (a single vector after the pairs), rows of 1.
DIRECT_FORWARDS = [("stem",) + shape for shape in [
    (3, 3, 32, 32, 64, 3, 1), (2, 1, 28, 28, 6, 5, 2), (2, 1, 28, 28, 32, 3, 0),
    (3, 2, 9, 40, 30, 3, 1), (2, 4, 7, 5, 13, 5, 2), (1, 3, 6, 17, 25, 3, 2)]] + [
    ("ocvec",) + shape for shape in [
    (8, 6, 14, 14, 16, 5, 0), (3, 32, 13, 13, 64, 3, 0), (3, 5, 9, 11, 32, 3, 1),
    (1, 4, 5, 15, 16, 3, 1), (2, 7, 6, 6, 48, 3, 2), (2, 3, 4, 1, 16, 3, 1)]]


@pytest.mark.parametrize("case", DIRECT_FORWARDS)
def test_direct_forwards_give_the_gemms_bits(case):
    which, n, c, h, w, oc, k, pad = case

    def kernel(*args):
        return _conv.conv2d_forward_direct_simd(which, *args)
    x, weight, bias = (randn(*s).astype(np.float32) for s in ((n, c, h, w), (oc, c, k, k), (oc,)))
    x[0, 0, 0, min(2, w - 1)] = np.nan   # NaN reaches every output whose window holds it
    out_h, out_w = (window_output_size(size, k, 1, (pad, pad), 1) for size in (h, w))
    runs = {}
    for relu in (False, True):
        for threads in (1, 2, 3):
            out = np.full((n, oc, out_h, out_w), np.inf, np.float32)
            if not kernel(out, x, weight, bias, True, relu, pad, pad, threads):
                pytest.skip("the direct forward kernels run on AVX-512 only")
            runs[relu, threads] = out
            np.testing.assert_array_equal(out, runs[relu, 1])
    plain = runs[False, 1]
    # ReLU: v where v > 0 or NaN, else +0
    np.testing.assert_array_equal(runs[True, 1], np.where(plain > 0, plain, 0) + 0 * plain)
    # the GEMM's sums (same taps in the same order, fused, then the bias), so whichever the
    # policy picks, ops gives these bits
    np.testing.assert_array_equal(ops.conv2d(x, weight, bias, padding=pad), plain)
    direct = np.empty(plain.shape)
    _conv.conv2d_forward_direct(direct, x.astype(np.float64), weight.astype(np.float64),
                                bias.astype(np.float64), 1, 1, pad, pad, 1, 1, 1, 1)
    assert np.array_equal(np.isnan(plain), np.isnan(direct)) and np.isnan(plain).any()
    finite = ~np.isnan(direct)
    sums = _abs_sums("forward", plain.shape, np.nan_to_num(x), weight, (1, 1, pad, pad, 1, 1, 1),
                     bias)
    _check_close(plain[finite], direct[finite], sums[finite], np.float32, c * k * k + 1, False)
    no_bias = np.full(plain.shape, np.inf, np.float32)
    kernel(no_bias, x, weight, np.empty(0, np.float32), False, False, pad, pad, 2)
    np.testing.assert_array_equal(no_bias, ops.conv2d(x, weight, padding=pad))


# (N, C, H, W, OC, K, pad) of layers whose direct forward can pool its output. The stems':
# the simple CNN's conv1 (26-wide rows: 13 pooled columns of one 32-wide chunk), LeNet-5's C1
# (6 channels, one block), the CIFAR stem (a short last block), 9 rows of 40 (two chunks; an
# odd last row and column that the pool drops), rows of 5 (one vector), one image. Over
# output-channel vectors: the simple CNN's conv2 (11x11: the last row and column dropped),
# LeNet-5's C3 (16 channels), padded 48 channels (virtual runs over 13-wide rows), rows of 14
# (the simple CNN's conv2 at batch 8 now takes Winograd's: 288 tiles).
# Winograd's (conv_winograd_impl.h): 64 -> 64 padded on 9x11 (an odd last row and column;
# 5 images, 150 tiles).
ONE_PASS_POOLS = [(3, 1, 28, 28, 32, 3, 0), (2, 1, 28, 28, 6, 5, 2), (2, 3, 32, 32, 64, 3, 1),
                  (3, 2, 9, 40, 30, 3, 1), (2, 1, 7, 5, 13, 5, 2), (1, 3, 6, 17, 25, 3, 2),
                  (8, 32, 13, 13, 64, 3, 0), (8, 6, 14, 14, 16, 5, 0), (8, 7, 13, 13, 48, 3, 1),
                  (8, 5, 16, 16, 32, 3, 0), (5, 64, 9, 11, 64, 3, 1)]


@pytest.mark.parametrize("shape", ONE_PASS_POOLS)
@pytest.mark.parametrize("integers", [False, True])
def test_conv_relu_max_pool_in_one_pass_gives_the_two_steps_bits(shape, integers):
    """A direct forward pooling its own output (2x2, stride 2): values, indices (ties to the
    first maximum: integer inputs tie often, and ReLU makes zeros), NaN, any threads."""
    from fastconv.ops.conv import _conv2d_bias_relu, _conv2d_relu_max_pool2d
    n, c, h, w, oc, k, pad = shape
    rng = np.random.default_rng(sum(shape))
    if integers:
        x = rng.integers(-2, 3, (n, c, h, w)).astype(np.float32)
        weight = rng.integers(-1, 2, (oc, c, k, k)).astype(np.float32)
    else:
        x, weight = randn(n, c, h, w).astype(np.float32), randn(oc, c, k, k).astype(np.float32)
    x[0, 0, min(3, h - 1), min(2, w - 1)] = np.nan
    bias = randn(oc).astype(np.float32)
    for b in (bias, None):
        activation = _conv2d_bias_relu(x, weight, b, padding=pad)
        expected, expected_indices = ops.max_pool2d(activation, 2, return_indices=True)
        for threads in (1, 2, 3):
            pooled, indices, conv_shape = with_threads(
                threads, _conv2d_relu_max_pool2d, x, weight, b, padding=pad,
                pool=dict(kernel_size=2))
            assert conv_shape == activation.shape
            assert pooled.tobytes() == expected.tobytes()
            np.testing.assert_array_equal(indices, expected_indices)
    out_h, out_w = activation.shape[2:]
    pooled = np.empty(expected.shape, np.float32)
    ran = _conv.conv2d_forward_relu_max_pool(pooled, np.empty(expected.shape, np.int64), x,
                                             weight, bias, True, out_h, out_w, 1, 1, pad, pad,
                                             1, 1, 1, 1)
    if not ran:
        pytest.skip("the direct forwards' one-pass pooling runs on AVX-512 only")


@pytest.mark.parametrize("pool", [dict(kernel_size=3, stride=2), dict(kernel_size=2, ceil_mode=True),
                                  dict(kernel_size=2, padding=1), dict(kernel_size=2, stride=1)])
def test_conv_relu_max_pool_takes_two_steps_where_one_pass_cannot(pool):
    """Pools other than 2x2 stride 2 (or with a window added by ceil_mode on odd sizes), a
    layer with many input channels, float64: the two steps, the same result."""
    from fastconv.ops.conv import _conv2d_bias_relu, _conv2d_relu_max_pool2d
    for x, weight in ((randn(2, 3, 9, 11), randn(8, 3, 3, 3)),
                      (randn(2, 16, 8, 8), randn(8, 16, 3, 3))):
        for dtype in (np.float32, np.float64):
            x, weight = x.astype(dtype), weight.astype(dtype)
            expected = ops.max_pool2d(_conv2d_bias_relu(x, weight, padding=1), return_indices=True,
                                      **pool)
            pooled, indices, _ = _conv2d_relu_max_pool2d(x, weight, padding=1, pool=pool)
            assert pooled.dtype == dtype and pooled.tobytes() == expected[0].tobytes()
            np.testing.assert_array_equal(indices, expected[1])


@pytest.mark.parametrize("shape", [
    # (N, C, H, W, OC, K, pad): LeNet-5's C3 (one 16-channel vector, blocks of 5 filter rows
    # of 5 taps), the simple CNN's conv2 (4 vectors, blocks of 9 rows of 3, the last one
    # short), padded (bordered copies), 48 channels with pad 2 < K - 1, one image, rows of 1
    (8, 6, 14, 14, 16, 5, 0), (8, 32, 13, 13, 64, 3, 0), (3, 5, 9, 11, 32, 3, 1),
    (2, 7, 6, 6, 48, 5, 2), (1, 5, 5, 15, 16, 3, 1), (2, 3, 4, 1, 16, 3, 1)])
def test_few_output_channels_backward_weight_takes_the_ocvec_kernel(shape):
    n, c, h, w, oc, k, pad = shape
    x, weight = randn(n, c, h, w).astype(np.float32), randn(oc, c, k, k).astype(np.float32)
    out_h, out_w = (window_output_size(size, k, 1, (pad, pad), 1) for size in (h, w))
    grad_out = randn(n, oc, out_h, out_w).astype(np.float32)
    runs = {}
    for threads in (1, 2, 3):
        grad_w = np.full(weight.shape, np.nan, np.float32)
        if not _conv.conv2d_backward_weight_ocvec(grad_w, grad_out, x, pad, pad, threads):
            pytest.skip("the output-channel-vector kernel runs on AVX-512 only")
        runs[threads] = grad_w
        np.testing.assert_array_equal(grad_w, runs[1])
    geometry = (1, 1, pad, pad, 1, 1, 1)
    direct, grad_b = np.empty(weight.shape), np.empty(oc)
    _conv.conv2d_backward_weight_direct(direct, grad_b, np.empty((1, out_w)), grad_out.astype(np.float64),
                                        x.astype(np.float64), 1, 1, pad, pad, 1, 1, 1, 1)
    sums = _abs_sums("weight", weight.shape, grad_out, x, geometry)[0]
    _check_close(runs[1], direct, sums, np.float32, n * out_h * out_w, False)
    # where the policy takes it (64+ output pixels, more than the stems' 4 channels), ops
    # gives these bits at any thread count
    if out_h * out_w >= 64:
        for threads in (1, 2):
            mine = with_threads(threads, ops.conv2d_backward, grad_out, x, weight, padding=pad,
                                output_mask=(False, True, False))[1]
            np.testing.assert_array_equal(mine, runs[1])


@pytest.mark.parametrize("shape", [
    # (N, C, H, W, OC, K, stride, pad): simple CNN conv1, CIFAR stem, ImageNet stem; images
    # whose padded planes (1.9 MB each) are staged two at a time, the sums carried across runs
    (8, 1, 28, 28, 32, 3, 1, 0), (8, 3, 32, 32, 64, 3, 1, 1), (2, 3, 60, 60, 64, 7, 2, 3),
    (3, 3, 400, 400, 8, 3, 1, 1)])
def test_stems_backward_weight_takes_the_fewtap_kernel(shape):
    n, c, h, w, oc, k, stride, pad = shape
    x, weight = randn(n, c, h, w).astype(np.float32), randn(oc, c, k, k).astype(np.float32)
    out_size = window_output_size(h, k, stride, (pad, pad), 1)
    grad_out = randn(n, oc, out_size, out_size).astype(np.float32)
    fewtaps = np.full(weight.shape, np.nan, np.float32)
    if not _conv.conv2d_backward_weight_fewtaps(fewtaps, grad_out, x, stride, stride, pad, pad,
                                                1, 1, 1):
        pytest.skip("the few-tap kernel runs on AVX-512 only")
    for threads in (1, 2):
        mine = with_threads(threads, ops.conv2d_backward, grad_out, x, weight, stride=stride,
                            padding=pad, output_mask=(False, True, False))[1]
        np.testing.assert_array_equal(mine, fewtaps)
    direct = np.empty(weight.shape)
    _conv.conv2d_backward_weight_direct(direct, np.empty(oc), np.empty((1, out_size)),
                                        grad_out.astype(np.float64), x.astype(np.float64),
                                        stride, stride, pad, pad, 1, 1, 1, 1)
    # measured: at most 5e-6 of the largest sum, up to 480,000 terms (_check_close's bound
    # grows as the terms' count to the power 1.5, too loose to see a lost run at that size)
    np.testing.assert_allclose(fewtaps, direct, rtol=0, atol=1e-4 * np.abs(direct).max())


@pytest.mark.parametrize("shape", [
    # (N, C, H, W, OC, K, pad): simple CNN conv1, CIFAR stem, a 2-channel 5x5 layer on 19x21,
    # rows of 70 (three column blocks, the last partial); over few output channels, channels
    # 3 at a time: LeNet-5's C3 (8 rows x 1 vector blocks), 7 channels (a last pass of one)
    # on rows of 15, 6 channels on rows of 40 (4 x 2 blocks)
    (8, 1, 28, 28, 32, 3, 0), (8, 3, 32, 32, 64, 3, 1), (3, 2, 19, 21, 10, 5, 2),
    (2, 3, 9, 70, 7, 3, 1), (4, 6, 14, 14, 16, 5, 0), (2, 7, 12, 15, 5, 3, 1),
    (2, 6, 10, 40, 9, 3, 1)])
def test_stems_backward_data_takes_the_stem_kernel(shape):
    n, c, h, w, oc, k, pad = shape
    x, weight = randn(n, c, h, w).astype(np.float32), randn(oc, c, k, k).astype(np.float32)
    out_h, out_w = (window_output_size(size, k, 1, (pad, pad), 1) for size in (h, w))
    grad_out = randn(n, oc, out_h, out_w).astype(np.float32)
    stem = np.full(x.shape, np.nan, np.float32)
    if not _conv.conv2d_backward_data_stem(stem, grad_out, weight, pad, pad, 1):
        pytest.skip("the stems' backward-data kernel runs on AVX-512 only")
    for threads in (1, 2):
        mine = with_threads(threads, ops.conv2d_backward, grad_out, x, weight, padding=pad,
                            output_mask=(True, False, False))[0]
        np.testing.assert_array_equal(mine, stem)
    direct = np.empty(x.shape)
    _conv.conv2d_backward_data_direct(direct, grad_out.astype(np.float64),
                                      weight.astype(np.float64), 1, 1, pad, pad, 1, 1, 1, 1)
    sums = _abs_sums("data", x.shape, grad_out, weight, (1, 1, pad, pad, 1, 1, 1))
    _check_close(stem, direct, sums, np.float32, oc * k * k, False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel,pad", [(1, 1), (3, 3), (1, (0, 2))])
def test_backward_data_of_layers_padded_beyond_their_filters(dtype, kernel, pad):
    # grad_x of a layer padded by more than its filter reaches (a 1x1 layer with padding 1):
    # the transposed convolution would need negative padding, so col2im takes it (found by
    # the property test: the stride-1 form used to read the wrong columns)
    x, weight = randn(2, 8, 5, 6).astype(dtype), randn(6, 8, kernel, kernel).astype(dtype)
    out = ops.conv2d(x, weight, padding=pad)
    grad_out = randn(*out.shape).astype(dtype)
    grad_x = ops.conv2d_backward(grad_out, x, weight, padding=pad,
                                 output_mask=(True, False, False))[0]
    pads = (pad, pad) if isinstance(pad, int) else pad
    direct = np.empty(x.shape, dtype)
    _conv.conv2d_backward_data_direct(direct, grad_out, weight, 1, 1, *pads, 1, 1, 1, 1)
    _check_close(grad_x, direct,
                 _abs_sums("data", x.shape, grad_out, weight, (1, 1, *pads, 1, 1, 1)), dtype,
                 6 * kernel * kernel, False)


def test_large_batch_runs_and_threads():
    # Backward-weight cuts 40 images of 32x32 into 10 fixed runs (about 4096 pixels each)
    # whose partial sums are added in run order; the forward and backward-data GEMMs take
    # one image each. More tasks than threads, and the same bits for any thread count.
    x, weight, bias = randn(40, 3, 32, 32), randn(5, 3, 3, 3), randn(5)
    grad_out = randn(40, 5, 32, 32)
    results = [with_threads(t, ops.conv2d_backward, grad_out, x, weight, padding=1) for t in (1, 2, 3)]
    outs = [with_threads(t, ops.conv2d, x, weight, bias, padding=1) for t in (1, 2, 3)]
    for r, out in zip(results[1:], outs[1:]):
        np.testing.assert_array_equal(out, outs[0])
        for a, b in zip(r, results[0]):
            np.testing.assert_array_equal(a, b)
    geometry = (1, 1, 1, 1, 1, 1, 1)
    direct_out = np.empty_like(outs[0])
    _conv.conv2d_forward_direct(direct_out, x, weight, bias, *geometry, 1)
    np.testing.assert_allclose(outs[0], direct_out, rtol=1e-12, atol=1e-12)
    grad_x = np.empty_like(x)
    _conv.conv2d_backward_data_direct(grad_x, grad_out, weight, *geometry, 1)
    gw, gb = np.empty(weight.shape), np.empty(5)
    _conv.conv2d_backward_weight_direct(gw, gb, np.empty((1, 32)), grad_out, x, *geometry, 1)
    for fast, direct in zip(results[0], (grad_x, gw, gb)):
        np.testing.assert_allclose(fast, direct, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", [
    ((1, 13, 17, 17), (24, 13, 3, 3), 2, 1),    # 13 channels: uneven shares of 2 and 3
    ((1, 6, 9, 9), (8, 6, 1, 1), 2, 0),         # a strided 1x1 layer stages one phase
    ((2, 7, 6, 6), (12, 7, 3, 3), 1, 1),        # two images in one run
])
def test_one_run_shares_its_phase_staging_among_threads(x_shape, w_shape, stride, padding):
    # A batch too small to give each thread its own run of images stages the run's phase
    # planes with the threads splitting the channels; every plane must still be written,
    # whatever the split, and the GEMM over them keep its bits. The staging workspace is
    # kept across calls, so a call on NaNs goes first, on one thread (it stages every
    # plane): a plane the split leaves unwritten then shows.
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    weight = rng.standard_normal(w_shape, dtype=np.float32)

    def staged_afresh(threads):
        with_threads(1, ops.conv2d, np.full_like(x, np.nan), weight, stride=stride,
                     padding=padding)
        return with_threads(threads, ops.conv2d, x, weight, stride=stride, padding=padding)

    outs = [staged_afresh(t) for t in (1, 2, 3)]
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])
    direct = np.empty_like(outs[0])
    geometry = (stride, stride, padding, padding, 1, 1, 1)
    _conv.conv2d_forward_direct(direct, x, weight, np.zeros(w_shape[0], np.float32),
                                *geometry, 1)
    _check_close(outs[0], direct, _abs_sums("forward", outs[0].shape, x, weight, geometry),
                 np.float32, int(np.prod(w_shape[1:])), False)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64", "i686", "i386"),
                    reason="denormals are flushed on x86 only")
@pytest.mark.parametrize("threads", [1, 2])
def test_depthwise_kernels_flush_denormals_inside_the_kernel_only(threads):
    tiny = np.float32(1e-40)  # a float32 denormal
    x = np.full((2, 4, 8, 8), tiny, np.float32)
    weight = np.ones((4, 1, 3, 3), np.float32)
    out = with_threads(threads, ops.conv2d, x, weight, None, padding=1, groups=4)
    assert not out.any(), "denormal inputs should read as zero inside the depthwise kernel"
    grad_x, grad_weight, grad_bias = with_threads(
        threads, ops.conv2d_backward, x, np.ones_like(x), weight, padding=1, groups=4)
    assert not grad_weight.any() and not grad_bias.any()
    # The calling thread's floating-point mode is given back: NumPy still sees denormals.
    assert np.float32(tiny) * np.float32(1.0) != 0


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-4), (np.float64, 1e-12)])
@pytest.mark.parametrize("x_shape, w_shape, geometry", [
    ((3, 64, 7, 6), (5, 64, 3, 3), (1, 1, 1, 1, 1, 1, 1)),    # 32-channel runs of one tap
    ((2, 96, 5, 9), (4, 48, 2, 3), (2, 1, 1, 2, 1, 2, 2)),    # groups, dilation, stride
    ((2, 40, 9, 9), (6, 40, 1, 1), (2, 3, 1, 0, 1, 1, 1)),    # strided, padded 1x1
    ((2, 40, 6, 37), (6, 40, 1, 1), (2, 2, 1, 1, 1, 1, 1)),   # stride-2 rows of 19: the
    ((3, 20, 7, 34), (5, 20, 1, 1), (2, 2, 0, 0, 1, 1, 1)),   # SIMD subsample's partial blocks
])
def test_backward_weight_with_many_channels_per_group(x_shape, w_shape, geometry, dtype, tol):
    # Backward-weight stages x channels last, so each tap reads C/groups adjacent values;
    # these shapes give whole 32-wide slivers of one tap and edges in the padding.
    x, grad_w_direct = randn(*x_shape).astype(dtype), np.empty(w_shape, dtype)
    stride, pads, kernel = geometry[:2], geometry[2:4], w_shape[2:]
    out_size = tuple(window_output_size(n, k, s, p, d) for n, k, s, p, d in
                     zip(x_shape[2:], kernel, stride, pads, geometry[4:6]))
    grad_out = randn(x_shape[0], w_shape[0], *out_size).astype(dtype)
    _conv.conv2d_backward_weight_direct(grad_w_direct, np.empty(w_shape[0], dtype),
                                        np.empty((1, out_size[1]), dtype), grad_out, x, *geometry, 1)
    results = []
    for threads in (1, 2):
        grad_w = np.full(w_shape, np.nan, dtype)
        _conv.conv2d_backward_weight(grad_w, np.empty(0, dtype), grad_out, x, *geometry, threads)
        results.append(grad_w)
    np.testing.assert_array_equal(results[1], results[0])
    np.testing.assert_allclose(results[0], grad_w_direct, rtol=tol, atol=tol)


def _im2col(x, kh, kw, pad):
    """(C*kh*kw, N*OH*OW) columns of a stride-1 convolution, taps in the filters' order."""
    padded = np.pad(x, ((0, 0), (0, 0), pad[0], pad[1]))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))
    n, c, oh, ow = windows.shape[:4]
    columns = windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * oh * ow)
    return np.ascontiguousarray(columns)


# Output rows 16 or more wide at stride 1: the engine may read im2col's slivers in place
# instead of packing them (AVX-512 float); the product must keep the packed GEMM's bits,
# which ops.matmul of the explicit columns gives (same K, same blocks, same kernel chain).
@pytest.mark.parametrize("x_shape, w_shape, pad", [
    ((2, 5, 16, 16), (20, 5, 3, 3), ((1, 1), (1, 1))),     # half slivers in two output rows
    ((3, 4, 1, 16), (9, 4, 1, 3), ((0, 0), (1, 1))),       # slivers across images
    ((1, 3, 34, 34), (15, 3, 3, 3), ((0, 0), (0, 0))),     # 32 wide, x read unpadded
    ((1, 70, 16, 16), (30, 70, 3, 3), ((1, 1), (1, 1))),   # K = 630: two k blocks
    ((2, 6, 5, 24), (16, 6, 3, 3), ((1, 1), (1, 1))),      # 24 wide: some slivers packed
])
@pytest.mark.parametrize("threads", [1, 2])
def test_stride1_forward_keeps_the_packed_gemms_bits(x_shape, w_shape, pad, threads):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    weight = rng.standard_normal(w_shape, dtype=np.float32)
    padding = (pad[0][0], pad[1][0])
    out = with_threads(threads, ops.conv2d, x, weight, padding=padding)
    product = with_threads(threads, ops.matmul, weight.reshape(w_shape[0], -1),
                           _im2col(x, *w_shape[2:], pad))
    n, oc, oh, ow = out.shape
    np.testing.assert_array_equal(out, product.reshape(oc, n, oh, ow).transpose(1, 0, 2, 3))


# (N, C, H, W, OC, pad_top, pad_left) for the Winograd F(2x2, 3x3) convolution: odd output
# sizes (tiles cut by the edge), padding 0 to 2 and asymmetric, one pixel, runs of tiles
# crossing rows and images inside a sliver, channels not a multiple of the engine's rows,
# and 128 channels (one sliver a block: several blocks).
WINOGRAD_SHAPES = [(2, 3, 5, 5, 4, 1, 1), (3, 32, 13, 13, 64, 0, 0), (2, 5, 7, 9, 20, 2, 2),
                   (1, 1, 1, 1, 1, 2, 2), (2, 17, 11, 6, 33, 1, 0), (1, 8, 3, 30, 3, 0, 2),
                   (3, 128, 9, 9, 128, 1, 1)]


@pytest.mark.parametrize("shape", WINOGRAD_SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("integers", [False, True])
def test_winograd_matches_the_direct_twin(shape, dtype, integers):
    """Within the rounding bound of the direct sums (exact on small integers: every
    intermediate is a multiple of 1/4), the same bits for any thread count, the
    backward-data form (filters read flipped) the same bits as the forward over flipped
    filters, and its pooled output the bits of the two steps, ties and NaN included."""
    n, c, h, w, oc, pad_top, pad_left = shape
    rng = np.random.default_rng(sum(shape))
    if integers:
        x = rng.integers(-2, 3, (n, c, h, w)).astype(dtype)
        weight = rng.integers(-1, 2, (oc, c, 3, 3)).astype(dtype)
        bias = rng.integers(-2, 3, oc).astype(dtype)
    else:
        x, weight, bias = (rng.standard_normal(s).astype(dtype)
                           for s in ((n, c, h, w), (oc, c, 3, 3), (oc,)))
    out_h, out_w = h + 2 * pad_top - 2, w + 2 * pad_left - 2
    geometry = (1, 1, pad_top, pad_left, 1, 1, 1)
    runs = []
    for threads in (1, 2, 3):
        out = np.full((n, oc, out_h, out_w), np.inf, dtype)
        assert _conv.conv2d_winograd(out, x, weight, False, bias, True, False, out_h, out_w,
                                     pad_top, pad_left, threads)
        runs.append(out)
        assert out.tobytes() == runs[0].tobytes()
    direct = np.empty(out.shape)
    _conv.conv2d_forward_direct(direct, x.astype(np.float64), weight.astype(np.float64),
                                bias.astype(np.float64), *geometry, 1)
    _check_close(out, direct, _abs_sums("forward", out.shape, x, weight, geometry, bias), dtype,
                 _winograd_terms(9 * c + 1), integers)
    flipped = np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    read_flipped = np.empty_like(out)
    _conv.conv2d_winograd(read_flipped, x, flipped, True, bias, True, False, out_h, out_w,
                          pad_top, pad_left, 2)
    assert read_flipped.tobytes() == out.tobytes()
    x[0, 0, min(2, h - 1), min(1, w - 1)] = np.nan   # NaN reaches the outputs over it
    relu = np.empty_like(out)
    _conv.conv2d_winograd(relu, x, weight, False, bias, True, True, out_h, out_w, pad_top,
                          pad_left, 2)
    if out_h >= 2 and out_w >= 2:
        expected, expected_indices = ops.max_pool2d(relu, 2, return_indices=True)
        pooled = np.empty(expected.shape, dtype)
        indices = np.empty(expected.shape, np.int64)
        _conv.conv2d_winograd(pooled, x, weight, False, bias, True, True, out_h, out_w, pad_top,
                              pad_left, 3, indices)
        assert pooled.tobytes() == expected.tobytes()
        np.testing.assert_array_equal(indices, expected_indices)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, size", [(8, 8), (32, 4)])
def test_winograd_runs_where_its_policy_says(dtype, n, size):
    """64 -> 64 3x3 padded layers, 128 tiles: 8 images of 8x8, 32 of 4x4. ops' forward, its
    fused ReLU and backward-data (Winograd over the filters read flipped) give the kernels'
    bits; so does backward-weight on 8x8 outputs (4x4 ones keep the direct kernel)."""
    from fastconv.ops.conv import _conv2d_bias_relu
    x, weight, bias, grad_out = (randn(*s).astype(dtype) for s in
                                 ((n, 64, size, size), (64, 64, 3, 3), (64,),
                                  (n, 64, size, size)))
    for relu in (False, True):
        out = np.empty((n, 64, size, size), dtype)
        _conv.conv2d_winograd(out, x, weight, False, bias, True, relu, size, size, 1, 1, 2)
        layer = _conv2d_bias_relu if relu else ops.conv2d
        assert layer(x, weight, bias, padding=1).tobytes() == out.tobytes()
    grad_x = np.empty_like(x)
    _conv.conv2d_winograd(grad_x, grad_out, weight, True, np.empty(0, dtype), False, False,
                          size, size, 1, 1, 2)
    grad_w = np.empty_like(weight)
    _conv.conv2d_backward_weight_winograd(grad_w, grad_out, x, 1, 1, 2)
    grads = ops.conv2d_backward(grad_out, x, weight, padding=1)
    assert grads[0].tobytes() == grad_x.tobytes()
    assert (grads[1].tobytes() == grad_w.tobytes()) == (size >= 8)


@pytest.mark.parametrize("shape", WINOGRAD_SHAPES + [(40, 8, 9, 9, 8, 1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("integers", [False, True])
def test_winograd_backward_weight_matches_the_direct_twin(shape, dtype, integers):
    """Within the rounding bound of the direct sums over the batch's pixels (exact on small
    integers), the same bits for any thread count; 40 images of 9x9 make several chunks of
    blocks summed in order."""
    n, c, h, w, oc, pad_top, pad_left = shape
    rng = np.random.default_rng(sum(shape) + 1)
    out_h, out_w = h + 2 * pad_top - 2, w + 2 * pad_left - 2
    if integers:
        x = rng.integers(-2, 3, (n, c, h, w)).astype(dtype)
        grad_out = rng.integers(-2, 3, (n, oc, out_h, out_w)).astype(dtype)
    else:
        x = rng.standard_normal((n, c, h, w)).astype(dtype)
        grad_out = rng.standard_normal((n, oc, out_h, out_w)).astype(dtype)
    geometry = (1, 1, pad_top, pad_left, 1, 1, 1)
    runs = []
    for threads in (1, 2, 3):
        grad_w = np.full((oc, c, 3, 3), np.inf, dtype)
        _conv.conv2d_backward_weight_winograd(grad_w, grad_out, x, pad_top, pad_left, threads)
        runs.append(grad_w)
        assert grad_w.tobytes() == runs[0].tobytes()
    direct = np.empty(grad_w.shape)
    _conv.conv2d_backward_weight_direct(direct, np.empty(oc), np.empty((1, out_w)),
                                        grad_out.astype(np.float64), x.astype(np.float64),
                                        *geometry, 1)
    sums = _abs_sums("weight", grad_w.shape, grad_out, x, geometry)[0]
    _check_close(grad_w, direct, sums, dtype, _winograd_terms(n * out_h * out_w), integers)
