"""Pooling: gradients against finite differences, PyTorch's edge-case semantics
(NaN, ties, ceil_mode, padding divisors, adaptive bins), zero-size batches and errors."""
import sys

import numpy as np
import pytest

import fastconv.ops as F
import fastconv.reference as R
from gradcheck import assert_gradient_close
from strategies import after_a_guard_page, before_a_guard_page

rng = np.random.default_rng(0)


def distinct_values(shape):
    """Values with gaps far wider than the finite-difference step, so no max is ever tied."""
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape)


# ----------------------------------------------------------- gradients (reference, float64)

@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0), dilation=(2, 1)),
    dict(kernel_size=2, stride=1, ceil_mode=True),
])
def test_max_pool2d_backward_matches_finite_differences(kwargs):
    x = distinct_values((2, 2, 5, 6))
    y, indices = R.max_pool2d(x, return_indices=True, **kwargs)
    grad_out = rng.standard_normal(y.shape)
    analytic = R.max_pool2d_backward(grad_out, indices, x.shape)
    assert_gradient_close(analytic, lambda v: R.max_pool2d(v, **kwargs), x, grad_out)
    np.testing.assert_allclose(F.max_pool2d_backward(grad_out, indices, x.shape), analytic)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 1), divisor_override=5),
    dict(kernel_size=2, stride=2, ceil_mode=True),
])
def test_avg_pool2d_backward_matches_finite_differences(kwargs):
    x = rng.standard_normal((2, 2, 5, 6))
    grad_out = rng.standard_normal(R.avg_pool2d(x, **kwargs).shape)
    analytic = R.avg_pool2d_backward(grad_out, x.shape, **kwargs)
    assert_gradient_close(analytic, lambda v: R.avg_pool2d(v, **kwargs), x, grad_out)
    np.testing.assert_allclose(F.avg_pool2d_backward(grad_out, x.shape, **kwargs), analytic)


@pytest.mark.parametrize("shape, output_size", [
    ((1, 2, 7, 7), 3), ((2, 1, 5, 6), 1), ((1, 2, 5, 4), (3, None)), ((1, 1, 3, 2), (5, 4)),
])
def test_adaptive_avg_pool2d_backward_matches_finite_differences(shape, output_size):
    x = rng.standard_normal(shape)
    grad_out = rng.standard_normal(R.adaptive_avg_pool2d(x, output_size).shape)
    analytic = R.adaptive_avg_pool2d_backward(grad_out, shape)
    assert_gradient_close(analytic, lambda v: R.adaptive_avg_pool2d(v, output_size), x, grad_out)
    np.testing.assert_allclose(F.adaptive_avg_pool2d_backward(grad_out, shape), analytic)


# ------------------------------------------------------------------------- max semantics

@pytest.mark.parametrize("pool", [F.max_pool2d, R.max_pool2d])
def test_max_pool2d_nan_propagates_and_the_last_nan_wins(pool):
    x = np.array([[[[np.nan, 1.0, np.nan, 2.0]]]])
    y, indices = pool(x, (1, 4), return_indices=True)
    assert np.isnan(y[0, 0, 0, 0]) and indices[0, 0, 0, 0] == 2
    y, indices = pool(np.array([[[[3.0, np.nan, 5.0, 1.0]]]]), (1, 2), return_indices=True)
    assert np.isnan(y[0, 0, 0, 0]) and indices[0, 0, 0, 0] == 1
    assert y[0, 0, 0, 1] == 5.0 and indices[0, 0, 0, 1] == 2


@pytest.mark.parametrize("pool", [F.max_pool2d, R.max_pool2d])
def test_max_pool2d_ties_go_to_the_first_maximum(pool):
    x = np.array([[[[1.0, 7.0, 7.0], [7.0, 2.0, 7.0], [0.0, 7.0, 7.0]]]])
    y, indices = pool(x, 3, return_indices=True)
    assert y[0, 0, 0, 0] == 7.0 and indices[0, 0, 0, 0] == 1
    y, indices = pool(np.full((1, 1, 2, 2), -np.inf), 2, padding=1, return_indices=True)
    assert np.all(y == -np.inf)
    np.testing.assert_array_equal(indices[0, 0], [[0, 1], [2, 3]])


@pytest.mark.parametrize("pool", [F.max_pool2d, R.max_pool2d])
def test_max_pool2d_padding_never_wins(pool):
    x = -1.0 - np.arange(9.0).reshape(1, 1, 3, 3)
    y, indices = pool(x, 3, stride=1, padding=1, return_indices=True)
    np.testing.assert_array_equal(y[0, 0], [[-1, -1, -2], [-1, -1, -2], [-4, -4, -5]])
    np.testing.assert_array_equal(indices[0, 0], [[0, 0, 1], [0, 0, 1], [3, 3, 4]])


def test_max_pool2d_defaults_and_return_indices_false():
    x = rng.standard_normal((2, 3, 6, 4))
    y = F.max_pool2d(x, 2)
    assert isinstance(y, np.ndarray) and y.shape == (2, 3, 3, 2)
    np.testing.assert_array_equal(y, F.max_pool2d(x, (2, 2), stride=None, padding=0,
                                                   dilation=1, return_indices=True)[0])
    np.testing.assert_array_equal(y, x.reshape(2, 3, 3, 2, 2, 2).max(axis=(3, 5)))


def test_max_pool2d_backward_overlapping_windows_add_up():
    x = np.array([[[[0.0, 9.0, 0.0, 0.0]]]])
    y, indices = F.max_pool2d(x, (1, 2), stride=1, return_indices=True)
    np.testing.assert_array_equal(indices[0, 0, 0], [1, 1, 2])
    grad = F.max_pool2d_backward(np.array([[[[1.0, 2.0, 4.0]]]]), indices, x.shape)
    np.testing.assert_array_equal(grad[0, 0, 0], [0.0, 3.0, 4.0, 0.0])
    grad = F.max_pool2d_backward(np.ones((1, 1, 1, 3)), indices.astype(np.int32), x.shape)
    np.testing.assert_array_equal(grad[0, 0, 0], [0.0, 2.0, 1.0, 0.0])


# ---------------------------------------------------------------------------- ceil_mode

@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
def test_ceil_mode_output_sizes(pool):
    x = rng.standard_normal((1, 1, 5, 5))
    assert pool(x, 2, stride=2).shape == (1, 1, 2, 2)
    assert pool(x, 2, stride=2, ceil_mode=True).shape == (1, 1, 3, 3)
    # ceil(4/3) + 1 = 3 windows, but the third would start in the right padding: dropped.
    assert pool(x, 3, stride=3, padding=1, ceil_mode=True).shape == (1, 1, 2, 2)
    # A kernel longer than the input still gives one window in ceil_mode (stride > 1).
    assert pool(np.ones((1, 1, 1, 6)), (1, 2), stride=2, ceil_mode=True).shape == (1, 1, 1, 3)
    assert pool(np.ones((1, 1, 1, 1)), 2, stride=2, ceil_mode=True).shape == (1, 1, 1, 1)
    with pytest.raises(ValueError, match="output size"):
        pool(np.ones((1, 1, 1, 1)), 2, stride=2)


@pytest.mark.parametrize("pool", [F.avg_pool2d, R.avg_pool2d])
def test_avg_pool2d_ceil_mode_divisors(pool):
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    # Values from torch.nn.functional.avg_pool2d.
    np.testing.assert_allclose(pool(x, 2, stride=2, padding=1, ceil_mode=True)[0, 0],
                               [[0.0, 0.75, 1.75], [3.75, 9.0, 11.0], [8.75, 19.0, 21.0]])
    # The last window overhangs the input with no padding there: it counts 1 element
    # even with count_include_pad, as PyTorch does.
    y = pool(x, 2, stride=2, ceil_mode=True, count_include_pad=True)
    assert y[0, 0, 2, 2] == 24.0 and y[0, 0, 0, 2] == (4.0 + 9.0) / 2


@pytest.mark.parametrize("pool", [F.avg_pool2d, R.avg_pool2d])
def test_avg_pool2d_count_include_pad_and_divisor_override(pool):
    x = np.ones((1, 1, 3, 3))
    with_pad = pool(x, 3, stride=1, padding=1)
    np.testing.assert_allclose(with_pad[0, 0], np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) / 9)
    np.testing.assert_allclose(pool(x, 3, stride=1, padding=1, count_include_pad=False), 1.0)
    np.testing.assert_allclose(pool(x, 3, stride=1, padding=1, divisor_override=2)[0, 0],
                               np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) / 2)
    np.testing.assert_allclose(pool(x, 3, stride=1, padding=1, count_include_pad=False,
                                    divisor_override=-3)[0, 0, 1, 1], -3.0)


# ----------------------------------------------------------------------------- adaptive

@pytest.mark.parametrize("pool", [F.adaptive_avg_pool2d, R.adaptive_avg_pool2d])
def test_adaptive_avg_pool2d_bins(pool):
    row = np.arange(7.0)
    x = np.broadcast_to(row, (1, 1, 7, 7))
    # Bins of 7 -> 3: [0, 3), [2, 5), [4, 7) (they overlap).
    np.testing.assert_allclose(pool(x, 3)[0, 0, 0], [1.0, 3.0, 5.0])
    np.testing.assert_allclose(pool(x, (None, 3)).shape, (1, 1, 7, 3))
    x = rng.standard_normal((2, 3, 5, 4))
    np.testing.assert_allclose(pool(x, 1)[..., 0, 0], x.mean(axis=(2, 3)))
    np.testing.assert_allclose(pool(x, (5, 4)), x)
    np.testing.assert_allclose(pool(x, (10, 4))[:, :, ::2], x)  # bins repeat rows


# ---------------------------------------------------------------------------- dtypes

def test_dtypes():
    x = rng.standard_normal((1, 2, 4, 4))
    assert F.max_pool2d(x.astype(np.float32), 2).dtype == np.float32
    assert F.avg_pool2d(x.astype(np.float16), 2).dtype == np.float32
    ints = np.arange(32).reshape(1, 2, 4, 4)
    y, indices = F.max_pool2d(ints, 2, return_indices=True)
    assert y.dtype == np.float64 and indices.dtype == np.int64
    np.testing.assert_array_equal(y, F.max_pool2d(ints.astype(np.float64), 2))
    assert F.adaptive_avg_pool2d(ints, 1).dtype == np.float64
    assert F.avg_pool2d_backward(np.ones((1, 2, 2, 2), np.int32), ints.shape, 2).dtype == np.float64
    assert F.max_pool2d_backward(np.ones((1, 2, 2, 2), np.float32), indices,
                                 ints.shape).dtype == np.float32
    for bad in (x.astype(np.complex128), x > 0, x.astype(object)):
        for call in (lambda a: F.max_pool2d(a, 2), lambda a: F.avg_pool2d(a, 2),
                     lambda a: F.adaptive_avg_pool2d(a, 1)):
            with pytest.raises(TypeError, match="x"):
                call(bad)
    for bad in (x.astype(np.complex128), x > 0):
        with pytest.raises(TypeError, match="grad_out"):
            F.avg_pool2d_backward(bad[:, :, :2, :2], x.shape, 2)
        with pytest.raises(TypeError, match="grad_out"):
            F.adaptive_avg_pool2d_backward(bad, x.shape)


# -------------------------------------------------------------------------- zero size

def test_zero_size_batch():
    x = np.zeros((0, 3, 5, 5), np.float32)
    y, indices = F.max_pool2d(x, 2, return_indices=True)
    assert y.shape == indices.shape == (0, 3, 2, 2) and y.dtype == np.float32
    assert F.avg_pool2d(x, 3, stride=1, padding=1).shape == (0, 3, 5, 5)
    assert F.adaptive_avg_pool2d(x, (2, None)).shape == (0, 3, 2, 5)
    grad = F.max_pool2d_backward(y, indices, x.shape)
    assert grad.shape == x.shape and grad.dtype == np.float32
    assert F.avg_pool2d_backward(np.zeros((0, 3, 5, 5)), x.shape, 3, 1, 1).shape == x.shape
    assert F.adaptive_avg_pool2d_backward(np.zeros((0, 3, 2, 2)), x.shape).shape == x.shape
    for fn in (R.max_pool2d, R.avg_pool2d):
        assert fn(x, 2).shape == (0, 3, 2, 2)


# ----------------------------------------------------------------------------- errors

X = rng.standard_normal((1, 2, 5, 5))


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.max_pool2d(X[0], 2), ValueError, "x must be 4-D"),
    (lambda: F.avg_pool2d(X[None], 2), ValueError, "x must be 4-D"),
    (lambda: F.adaptive_avg_pool2d(X[0, 0], 1), ValueError, "x must be 4-D"),
    (lambda: F.max_pool2d(np.zeros((1, 1, 0, 3)), 1), ValueError, "x must have H >= 1"),
    (lambda: F.max_pool2d(X, 0), ValueError, "kernel_size must be >= 1"),
    (lambda: F.avg_pool2d(X, (2, 0)), ValueError, "kernel_size must be >= 1"),
    (lambda: F.max_pool2d(X, 2, stride=0), ValueError, "stride must be >= 1"),
    (lambda: F.avg_pool2d(X, 2, stride=(1, 0)), ValueError, "stride must be >= 1"),
    (lambda: F.max_pool2d(X, 2, dilation=0), ValueError, "dilation must be >= 1"),
    (lambda: F.max_pool2d(X, 2, padding=-1), ValueError, "padding must be >= 0"),
    (lambda: F.avg_pool2d(X, 2, padding=(0, -1)), ValueError, "padding must be >= 0"),
    (lambda: F.max_pool2d(X, 3, padding=2), ValueError, r"padding must be at most half.*\(2, 2\)"),
    # PyTorch refuses this too: padding is held to kernel_size // 2, not the dilated kernel.
    (lambda: F.max_pool2d(X, 3, padding=2, dilation=2), ValueError, "padding must be at most"),
    (lambda: F.avg_pool2d(X, (2, 3), padding=(1, 2)), ValueError, "padding must be at most"),
    (lambda: F.max_pool2d(X, 6), ValueError, "output size would be 0x0"),
    (lambda: F.avg_pool2d(X, (1, 7), padding=0), ValueError, "output size would be 5x0"),
    (lambda: F.max_pool2d(X, 2, dilation=5), ValueError, "output size would be"),
    (lambda: F.max_pool2d(np.ones((1, 1, 2, 2)), 2, stride=1, padding=1, dilation=3),
     ValueError, "would cover only padding"),
    (lambda: F.max_pool2d(X, 2.0), TypeError, "kernel_size"),
    (lambda: F.max_pool2d(X, (2, 2, 2)), ValueError, "kernel_size"),
    (lambda: F.max_pool2d(X, 2, ceil_mode="yes"), TypeError, "ceil_mode"),
    (lambda: F.avg_pool2d(X, 2, count_include_pad=None), TypeError, "count_include_pad"),
    (lambda: F.avg_pool2d(X, 2, divisor_override=0), ValueError, "divisor_override"),
    (lambda: F.avg_pool2d(X, 2, divisor_override=1.5), TypeError, "divisor_override"),
    (lambda: F.adaptive_avg_pool2d(X, 0), ValueError, "output_size must be >= 1"),
    (lambda: F.adaptive_avg_pool2d(X, (2, 0)), ValueError, "output_size must be >= 1"),
    (lambda: F.adaptive_avg_pool2d(X, (1, 2, 3)), ValueError, "output_size"),
])
def test_forward_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


Y, IDX = F.max_pool2d(X, 2, return_indices=True)  # (1, 2, 2, 2)


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.max_pool2d_backward(Y, IDX, X.shape[1:]), ValueError, "input_shape"),
    (lambda: F.max_pool2d_backward(Y, IDX, (1, 2, 5, -5)), ValueError, "input_shape"),
    (lambda: F.max_pool2d_backward(Y, IDX, (1, 3, 5, 5)), ValueError, "grad_out"),
    (lambda: F.max_pool2d_backward(Y[0], IDX[0], X.shape), ValueError, "grad_out must be 4-D"),
    (lambda: F.max_pool2d_backward(Y, IDX[..., :1], X.shape), ValueError, "indices must have"),
    (lambda: F.max_pool2d_backward(Y, IDX.astype(float), X.shape), TypeError, "indices"),
    (lambda: F.max_pool2d_backward(Y, IDX > 0, X.shape), TypeError, "indices"),
    (lambda: F.max_pool2d_backward(Y, IDX - 7, X.shape), ValueError,
     r"indices must lie in \[0, H\*W\) = \[0, 25\)"),
    (lambda: F.max_pool2d_backward(Y, IDX + 25, X.shape), ValueError, "indices must lie"),
    # past int64's range: converted to int64 it wraps negative, and is refused all the same
    (lambda: F.max_pool2d_backward(Y, IDX.astype(np.uint64) + np.uint64(2**63), X.shape),
     ValueError, "indices must lie"),
    (lambda: F.avg_pool2d_backward(Y, X.shape, 3), ValueError, r"grad_out must have shape \(1, 2, 1, 1\)"),
    (lambda: F.avg_pool2d_backward(Y[0], X.shape, 2), ValueError, "grad_out must be 4-D"),
    (lambda: F.avg_pool2d_backward(Y, X.shape, 2, stride=0), ValueError, "stride"),
    (lambda: F.avg_pool2d_backward(Y, X.shape, 2, padding=2), ValueError, "padding"),
    (lambda: F.avg_pool2d_backward(Y, (1, 2, 5), 2), ValueError, "input_shape"),
    (lambda: F.adaptive_avg_pool2d_backward(Y, (1, 3, 5, 5)), ValueError, "grad_out"),
    (lambda: F.adaptive_avg_pool2d_backward(Y[0], X.shape), ValueError, "grad_out must be 4-D"),
    (lambda: F.adaptive_avg_pool2d_backward(Y, (1, 2, 0, 5)), ValueError, "input_shape"),
])
def test_backward_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- PyTorch (if installed)

@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0), dilation=(2, 2), ceil_mode=True),
    dict(kernel_size=2, stride=3, dilation=2),
    dict(kernel_size=(3, 1), stride=2, padding=(1, 0), ceil_mode=True),
])
def test_max_pool2d_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    x = rng.integers(-2, 3, (2, 3, 7, 6)).astype(np.float32)  # many ties
    x[0, 0, 1, 1] = x[1, 2, 4, 3] = np.nan
    y, indices = F.max_pool2d(x, return_indices=True, **kwargs)
    y_t, indices_t = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True,
                                                    **kwargs)
    np.testing.assert_array_equal(y, y_t.numpy())
    np.testing.assert_array_equal(indices, indices_t.numpy())
    grad_out = rng.standard_normal(y.shape).astype(np.float32)
    x_t = torch.tensor(np.nan_to_num(x), requires_grad=True)
    y_t = torch.nn.functional.max_pool2d(x_t, **kwargs)
    y_t.backward(torch.tensor(grad_out))
    _, indices = F.max_pool2d(np.nan_to_num(x), return_indices=True, **kwargs)
    np.testing.assert_allclose(F.max_pool2d_backward(grad_out, indices, x.shape),
                               x_t.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(3, 2), padding=(1, 1), ceil_mode=True),
    dict(kernel_size=2, stride=1, padding=1, divisor_override=3),
    dict(kernel_size=(4, 2), stride=3, ceil_mode=True, count_include_pad=False),
])
def test_avg_pool2d_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 7, 6))
    x_t = torch.tensor(x, requires_grad=True)
    y_t = torch.nn.functional.avg_pool2d(x_t, **kwargs)
    np.testing.assert_allclose(F.avg_pool2d(x, **kwargs), y_t.detach().numpy(), rtol=1e-12)
    grad_out = rng.standard_normal(y_t.shape)
    y_t.backward(torch.tensor(grad_out))
    np.testing.assert_allclose(F.avg_pool2d_backward(grad_out, x.shape, **kwargs),
                               x_t.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("output_size", [3, 1, (None, 4), (4, 2), (9, 8)])
def test_adaptive_avg_pool2d_matches_torch(output_size):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 7, 6))
    x_t = torch.tensor(x, requires_grad=True)
    y_t = torch.nn.functional.adaptive_avg_pool2d(x_t, output_size)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, output_size), y_t.detach().numpy(),
                               rtol=1e-12)
    grad_out = rng.standard_normal(y_t.shape)
    y_t.backward(torch.tensor(grad_out))
    np.testing.assert_allclose(F.adaptive_avg_pool2d_backward(grad_out, x.shape),
                               x_t.grad.numpy(), rtol=1e-12, atol=1e-15)


# ------------------------------------------ fast kernels against their direct-loop twins

def _random_geometry(rng):
    """A random pooling configuration (kernel, stride, padding, dilation), and an input."""
    H, W = rng.integers(1, 40, 2)
    kernel = tuple(int(k) for k in rng.integers(1, 5, 2))
    stride = tuple(int(s) for s in rng.integers(1, 4, 2))
    dilation = tuple(int(d) for d in rng.integers(1, 3, 2))
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
    return (2, 3, H, W), kernel, stride, padding, dilation


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_pooling_kernels_match_their_naive_twins_bitwise(dtype):
    """The fast kernels visit every window's taps in the naive order, so their results
    (values, indices, ties, NaN, -inf) are the same bits; 300 random geometries plus the
    specialised cases (2x2 s2, 3x3 s2 p1) with rows wider than one vector, and a row whose
    padding reaches into two vectors."""
    from fastconv._ext import pool as kernels
    from fastconv.ops.pool import avg_pool_geometry, max_pool_geometry
    rng = np.random.default_rng(18)
    configs = [_random_geometry(rng) for _ in range(300)]
    configs += [((2, 3, 70, 69), (2, 2), (2, 2), (0, 0), (1, 1)),
                ((2, 3, 70, 69), (3, 3), (2, 2), (1, 1), (1, 1)),
                ((1, 2, 33, 65), (3, 3), (1, 1), (1, 1), (1, 1)),
                # edge columns in a block that is neither the first nor the last
                ((1, 2, 9, 32), (3, 4), (1, 1), (1, 2), (1, 1))]
    for i, (shape, kernel, stride, padding, dilation) in enumerate(configs):
        x = rng.standard_normal(shape).astype(dtype)
        if i % 3 == 0:
            x = np.round(x)  # ties
        if i % 4 == 0:
            x.flat[rng.integers(0, x.size, 3)] = np.nan
        if i % 5 == 0:
            x.flat[rng.integers(0, x.size, 3)] = -np.inf
        ceil_mode = bool(i % 2)
        try:
            k, s, p, d, (oh, ow) = max_pool_geometry(shape, kernel, stride, padding, dilation,
                                                     ceil_mode)
        except ValueError:
            continue
        out = [np.empty(shape[:2] + (oh, ow), dtype) for _ in range(2)]
        idx = [np.empty(shape[:2] + (oh, ow), np.int64) for _ in range(2)]
        kernels.max_pool2d_forward(out[0], idx[0], x, *k, *s, *p, *d, 2)
        kernels.max_pool2d_forward(out[1], idx[1], x, *k, *s, *p, *d, 1, naive=True)
        assert np.array_equal(out[0], out[1], equal_nan=True), (shape, k, s, p, d)
        assert np.array_equal(idx[0], idx[1]), (shape, k, s, p, d)
        x = np.nan_to_num(x, nan=0.5, neginf=-3.0)
        for count_include_pad, divisor_override in [(1, 0), (0, 0), (1, 3), (0, -2)]:
            k, s, p, (oh, ow), _, _ = avg_pool_geometry(shape, kernel, stride, padding,
                                                        ceil_mode, bool(count_include_pad),
                                                        divisor_override or None)
            out = [np.empty(shape[:2] + (oh, ow), dtype) for _ in range(2)]
            kernels.avg_pool2d_forward(out[0], x, *k, *s, *p, count_include_pad,
                                       divisor_override, 2)
            kernels.avg_pool2d_forward(out[1], x, *k, *s, *p, count_include_pad,
                                       divisor_override, 1, naive=True)
            assert np.array_equal(out[0], out[1]), (shape, k, s, p)
            grad_out = rng.standard_normal(shape[:2] + (oh, ow)).astype(dtype)
            grad_x = [np.empty(shape, dtype) for _ in range(2)]
            kernels.avg_pool2d_backward(grad_x[0], grad_out, *k, *s, *p, count_include_pad,
                                        divisor_override, 2)
            kernels.avg_pool2d_backward(grad_x[1], grad_out, *k, *s, *p, count_include_pad,
                                        divisor_override, 1, naive=True)
            assert np.array_equal(grad_x[0], grad_x[1]), (shape, k, s, p)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5, 1, 1), (2, 3, 4, 4), (300, 2, 3, 7), (1, 2, 9, 9)])
def test_fast_global_average_pool_matches_its_naive_twin(dtype, shape):
    """Global pooling sums in 16 interleaved partials (a different rounding from the
    row-major naive sum, the same value to within rounding); its backward is bitwise equal."""
    from fastconv._ext import pool as kernels
    rng = np.random.default_rng(19)
    x = rng.standard_normal(shape).astype(dtype)
    out = [np.empty(shape[:2] + (1, 1), dtype) for _ in range(2)]
    kernels.adaptive_avg_pool2d_forward(out[0], x, 2)
    kernels.adaptive_avg_pool2d_forward(out[1], x, 1, naive=True)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-5 if dtype == np.float32 else 1e-13,
                               atol=1e-6 if dtype == np.float32 else 1e-15)
    grad_out = rng.standard_normal(shape[:2] + (1, 1)).astype(dtype)
    grad_x = [np.empty(shape, dtype) for _ in range(2)]
    kernels.adaptive_avg_pool2d_backward(grad_x[0], grad_out, 2)
    kernels.adaptive_avg_pool2d_backward(grad_x[1], grad_out, 1, naive=True)
    assert np.array_equal(grad_x[0], grad_x[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5, 1, 1), (2, 3, 4, 4), (300, 2, 3, 7), (1, 2, 9, 9)])
def test_fast_global_average_pool_sums_in_its_documented_order(dtype, shape):
    """Value i of a plane goes to partial i % 16, the partials are added pairwise
    (k += k + width for width 8, 4, 2, 1), the sum is divided by the plane size: the same
    bits whichever vector loop (AVX-512 or portable) the machine runs."""
    from fastconv._ext import pool as kernels
    x = np.random.default_rng(20).standard_normal(shape).astype(dtype)
    size = shape[2] * shape[3]
    values = np.zeros((shape[0] * shape[1], -(-size // 16) * 16), dtype)
    values[:, :size] = x.reshape(-1, size)
    partial = np.zeros((values.shape[0], 16), dtype)
    for block in values.reshape(values.shape[0], -1, 16).transpose(1, 0, 2):
        partial += block
    for width in (8, 4, 2, 1):
        partial[:, :width] += partial[:, width:2 * width]
    out = np.empty(shape[:2] + (1, 1), dtype)
    kernels.adaptive_avg_pool2d_forward(out, x, 2)
    assert np.array_equal(out.ravel(), partial[:, 0] / dtype(size))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_bits_for_any_thread_count_above_the_parallel_threshold(dtype):
    """Every pooling op, forward and backward, on an input large enough to be shared out
    (2^16 values: pool_worth_threads in pool_impl.h); overlapping average windows and
    uneven adaptive bins take the direct loops."""
    from thread_count import with_threads
    rng = np.random.default_rng(21)
    x = rng.standard_normal((4, 64, 64, 65)).astype(dtype)

    def run():
        results = []
        for k, s, p in [(2, 2, 0), (3, 2, 1)]:
            y, idx = F.max_pool2d(x, k, s, p, return_indices=True)
            results += [y, idx, F.max_pool2d_backward(np.cos(y), idx, x.shape)]
            y = F.avg_pool2d(x, k, s, p)
            results += [y, F.avg_pool2d_backward(np.cos(y), x.shape, k, s, p)]
        for size in (1, (7, 6)):
            y = F.adaptive_avg_pool2d(x, size)
            results += [y, F.adaptive_avg_pool2d_backward(np.cos(y), x.shape)]
        return results

    one = with_threads(1, run)
    for n in (2, 3):
        assert all(a.tobytes() == b.tobytes() for a, b in zip(one, with_threads(n, run)))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs mprotect")
@pytest.mark.parametrize("guarded", [before_a_guard_page, after_a_guard_page])
@pytest.mark.parametrize("width", [7, 11, 13, 26, 33])
@pytest.mark.parametrize("pool, kwargs", [
    (F.max_pool2d, dict(kernel_size=2)),
    (F.max_pool2d, dict(kernel_size=3, stride=2)),
    (F.max_pool2d, dict(kernel_size=3, stride=2, padding=1)),
    (F.max_pool2d, dict(kernel_size=3, stride=3, padding=1)),
    (F.max_pool2d, dict(kernel_size=3, stride=1, padding=1, ceil_mode=True)),
    (F.avg_pool2d, dict(kernel_size=2)),
    (F.avg_pool2d, dict(kernel_size=3, stride=2, padding=1)),
])
def test_pooling_reads_nothing_outside_its_input(pool, kwargs, width, guarded):
    """The vector loops load strided rows with masks, and max pooling masks off the taps in
    the padding; a wrong mask would load past the end of a short last row (one once
    covered 16 lanes there) or before the first row, and fault on the guard page."""
    x = guarded(rng.standard_normal((2, 3, width, width)).astype(np.float32))
    expected = pool(np.array(x), **kwargs)
    np.testing.assert_array_equal(pool(x, **kwargs), expected)
