"""Batch normalisation: gradients, numerics, running buffers, errors, edge cases, and torch."""
import math

import numpy as np
import pytest

from fastconv import ops, reference
from gradcheck import assert_gradient_close
from thread_count import with_threads

IMPLS = [ops, reference]
IMPL_IDS = ["ops", "reference"]
SHAPES = [(5, 3), (3, 2, 4), (2, 3, 2, 3)]


def axes(x):
    """Every axis but the channel axis."""
    return (0,) + tuple(range(2, x.ndim))


def per_channel(v, x):
    """A (C,) vector shaped to broadcast against x."""
    return np.asarray(v).reshape((1, -1) + (1,) * (x.ndim - 2))


def rng_for(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- gradients (float64)

@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_train_backward_matches_finite_differences(impl, shape):
    """In training y depends on x also through the batch mean and variance."""
    rng = rng_for(1)
    x = rng.standard_normal(shape)
    c = shape[1]
    weight, bias = rng.standard_normal(c), rng.standard_normal(c)
    grad_out = rng.standard_normal(shape)
    _, mean, invstd = impl.batch_norm(x, None, None, weight, bias, training=True, return_stats=True)
    grad_x, grad_weight, grad_bias = impl.batch_norm_backward(grad_out, x, mean, invstd, weight,
                                                              training=True)
    assert_gradient_close(grad_x, lambda v: impl.batch_norm(v, None, None, weight, bias,
                                                            training=True), x, grad_out)
    assert_gradient_close(grad_weight, lambda w: impl.batch_norm(x, None, None, w, bias,
                                                                 training=True), weight, grad_out)
    assert_gradient_close(grad_bias, lambda b: impl.batch_norm(x, None, None, weight, b,
                                                               training=True), bias, grad_out)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_eval_backward_matches_finite_differences(impl, shape):
    rng = rng_for(2)
    x = rng.standard_normal(shape)
    c = shape[1]
    weight, bias = rng.standard_normal(c), rng.standard_normal(c)
    running_mean, running_var = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    grad_out = rng.standard_normal(shape)

    def forward(v, w=weight, b=bias):
        return impl.batch_norm(v, running_mean, running_var, w, b, training=False)

    _, mean, invstd = impl.batch_norm(x, running_mean, running_var, weight, bias,
                                      return_stats=True)
    grad_x, grad_weight, grad_bias = impl.batch_norm_backward(grad_out, x, mean, invstd, weight,
                                                              training=False)
    assert_gradient_close(grad_x, forward, x, grad_out)
    assert_gradient_close(grad_weight, lambda w: forward(x, w=w), weight, grad_out)
    assert_gradient_close(grad_bias, lambda b: forward(x, b=b), bias, grad_out)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_eval_without_running_stats_backward_is_the_training_form(impl):
    """Eval with running buffers None uses batch statistics, so its gradient is the training one."""
    rng = rng_for(3)
    x, grad_out = rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 2, 3))
    _, mean, invstd = impl.batch_norm(x, None, None, training=False, return_stats=True)
    grad_x, _, _ = impl.batch_norm_backward(grad_out, x, mean, invstd, training=True)
    assert_gradient_close(grad_x, lambda v: impl.batch_norm(v, None, None), x, grad_out)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_backward_without_weight_means_weight_one(impl):
    rng = rng_for(4)
    x, grad_out = rng.standard_normal((3, 2, 4)), rng.standard_normal((3, 2, 4))
    _, mean, invstd = impl.batch_norm(x, None, None, training=True, return_stats=True)
    for training in (True, False):
        without = impl.batch_norm_backward(grad_out, x, mean, invstd, None, training=training)
        with_ones = impl.batch_norm_backward(grad_out, x, mean, invstd, np.ones(2), training=training)
        for a, b in zip(without, with_ones):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- numerics

@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [0.1, -3.7, 1e4, 1.0 / 3.0, 1e8])
def test_constant_channel_normalises_to_exactly_zero(impl, dtype, value):
    rng = rng_for(5)
    x = rng.standard_normal((7, 3, 5, 3)).astype(dtype)
    x[:, 1] = dtype(value)
    running_mean, running_var = np.zeros(3, dtype), np.ones(3, dtype)
    y, mean, _ = impl.batch_norm(x, running_mean, running_var, training=True, return_stats=True)
    assert np.all(y[:, 1] == 0)
    assert mean[1] == dtype(value)
    assert running_var[1] == dtype(0.9)  # unbiased variance 0 mixed in
    bias = np.array([0.0, 2.5, 0.0], dtype)
    y = impl.batch_norm(x, None, None, bias=bias, training=True)
    assert np.all(y[:, 1] == dtype(2.5))


def float64_normalised(x, eps=1e-5):
    """(x - mean) / sqrt(var + eps) of x's exact values, with exactly rounded sums."""
    x = x.astype(np.float64)
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        v = x[:, c].ravel()
        mean = math.fsum(v) / v.size
        var = math.fsum((v - mean) ** 2) / v.size
        out[:, c] = (x[:, c] - mean) / math.sqrt(var + eps)
    return out


def test_large_mean_float32_keeps_precision():
    rng = rng_for(6)
    x = (1e4 + rng.standard_normal((64, 3, 8, 8)) * np.array([0.1, 1.0, 10.0])[None, :, None, None])
    x = x.astype(np.float32)
    y = ops.batch_norm(x, None, None, training=True)
    assert y.dtype == np.float32
    # A float32 result can be no closer than its own rounding, ~6e-8 relative.
    np.testing.assert_allclose(y, float64_normalised(x), rtol=0, atol=2e-6)


def test_large_mean_float64_keeps_precision():
    rng = rng_for(7)
    x = 1e8 + rng.standard_normal((32, 2, 50))
    running_mean, running_var = np.zeros(2), np.ones(2)
    y = ops.batch_norm(x, running_mean, running_var, training=True, momentum=1.0)
    np.testing.assert_allclose(y, float64_normalised(x), rtol=0, atol=1e-7)
    n = 32 * 50
    for c in range(2):
        v = x[:, c].ravel()
        mean = math.fsum(v) / n
        assert running_mean[c] == pytest.approx(mean, rel=1e-15)
        assert running_var[c] == pytest.approx(math.fsum((v - mean) ** 2) / (n - 1), rel=1e-9)


# ---------------------------------------------------------------- running buffers

@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("buffer_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.1, 0.0, 0.7, 1.0])
def test_running_buffer_update_uses_unbiased_variance(impl, shape, buffer_dtype, momentum):
    rng = rng_for(8)
    x = rng.standard_normal(shape)
    c = shape[1]
    start_mean = rng.standard_normal(c).astype(buffer_dtype)
    start_var = rng.uniform(0.5, 2.0, c).astype(buffer_dtype)
    running_mean, running_var = start_mean.copy(), start_var.copy()
    y = impl.batch_norm(x, running_mean, running_var, training=True, momentum=momentum)
    assert running_mean.dtype == buffer_dtype and running_var.dtype == buffer_dtype
    batch_mean, batch_var = x.mean(axis=axes(x)), x.var(axis=axes(x))
    n = x.size // c
    expected_mean = (1 - momentum) * start_mean.astype(np.float64) + momentum * batch_mean
    expected_var = (1 - momentum) * start_var.astype(np.float64) + momentum * batch_var * n / (n - 1)
    rtol = 1e-6 if buffer_dtype == np.float32 else 1e-12
    np.testing.assert_allclose(running_mean, expected_mean, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(running_var, expected_var, rtol=rtol, atol=rtol)
    # y uses the BIASED variance of the batch
    expected_y = (x - per_channel(batch_mean, x)) / np.sqrt(per_channel(batch_var, x) + 1e-5)
    np.testing.assert_allclose(y, expected_y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_cumulative_average_with_momentum_none(impl):
    rng = rng_for(9)
    running_mean, running_var = np.zeros(3), np.ones(3)
    means, variances = [], []
    for k in range(1, 6):
        x = rng.standard_normal((4, 3, 5)) * k + k
        impl.batch_norm(x, running_mean, running_var, training=True, momentum=None,
                        num_batches_tracked=k)
        means.append(x.mean(axis=(0, 2)))
        variances.append(x.var(axis=(0, 2), ddof=1))
        np.testing.assert_allclose(running_mean, np.mean(means, axis=0), rtol=1e-12)
        np.testing.assert_allclose(running_var, np.mean(variances, axis=0), rtol=1e-12)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_non_contiguous_running_buffers_updated_in_place(impl):
    rng = rng_for(10)
    x = rng.standard_normal((6, 3))
    storage = np.full((2, 6), 7.0, dtype=np.float32)
    running_mean, running_var = storage[0, ::2], storage[1, ::-2]
    impl.batch_norm(x, running_mean, running_var, training=True, momentum=1.0)
    np.testing.assert_allclose(storage[0, ::2], x.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(storage[1, ::-2], x.var(axis=0, ddof=1), rtol=1e-6)
    assert np.all(storage[0, 1::2] == 7.0) and np.all(storage[1, -2::-2] == 7.0)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_eval_uses_running_stats_and_leaves_them(impl):
    rng = rng_for(11)
    x = rng.standard_normal((3, 2, 2, 2)).astype(np.float32)
    running_mean = np.array([0.5, -1.0])
    running_var = np.array([2.0, 0.25])
    weight, bias = np.array([2.0, -1.0], np.float32), np.array([0.5, 0.0], np.float32)
    y, mean, invstd = impl.batch_norm(x, running_mean, running_var, weight, bias, eps=1e-3,
                                      return_stats=True)
    assert y.dtype == mean.dtype == invstd.dtype == np.float32
    expected = ((x - per_channel(running_mean, x)) / np.sqrt(per_channel(running_var, x) + 1e-3)
                * per_channel(weight, x) + per_channel(bias, x))
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(mean, running_mean)
    np.testing.assert_allclose(invstd, 1 / np.sqrt(running_var + 1e-3), rtol=1e-7)
    assert list(running_mean) == [0.5, -1.0] and list(running_var) == [2.0, 0.25]


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_eval_without_running_stats_uses_batch_stats(impl, shape):
    x = rng_for(12).standard_normal(shape)
    y, mean, invstd = impl.batch_norm(x, None, None, training=False, return_stats=True)
    np.testing.assert_array_equal(y, impl.batch_norm(x, None, None, training=True))
    np.testing.assert_allclose(mean, x.mean(axis=axes(x)), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(invstd, 1 / np.sqrt(x.var(axis=axes(x)) + 1e-5), rtol=1e-12)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_integer_inputs_are_converted(impl):
    x = np.arange(12).reshape(4, 3)
    y = impl.batch_norm(x, [0, 0, 0], [1, 1, 1])
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-5))
    y32 = impl.batch_norm(x, None, None, weight=np.ones(3, np.float32), training=True)
    assert y32.dtype == np.float32
    assert impl.batch_norm(x.astype(np.float16), None, None, training=True).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_bits_for_any_thread_count_on_a_larger_batch(dtype):
    rng = rng_for(15)
    x = rng.standard_normal((8, 7, 25, 26)).astype(dtype) + 3  # above the parallel threshold
    grad_out = rng.standard_normal(x.shape).astype(dtype)

    def run():
        buffers = np.zeros(7), np.ones(7)
        y, mean, invstd = ops.batch_norm(x, *buffers, training=True, return_stats=True)
        return (y, mean, invstd, *buffers,
                *ops.batch_norm_backward(grad_out, x, mean, invstd, training=True),
                *ops.batch_norm_backward(grad_out, x, mean, invstd, training=False))

    results = [with_threads(n, run) for n in (1, 2, 3)]
    for other in results[1:]:
        assert all(a.tobytes() == b.tobytes() for a, b in zip(results[0], other))


# ---------------------------------------------------------------- zero-size batches

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training, running", [(True, True), (False, True), (False, False)])
@pytest.mark.parametrize("shape", [(4, 3, 5, 7), (2, 5), (64, 8, 6, 6)])
def test_fused_relu_is_relu_of_batch_norm_bit_for_bit(dtype, training, running, shape):
    """The fused pass writes what relu(batch_norm(x)) writes, NaN, -0.0 and all, and
    returns (and updates) the same statistics."""
    rng = rng_for(3)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, 1] = np.nan                     # NaN passes the ReLU
    C = shape[1]
    weight = rng.standard_normal(C).astype(dtype)
    bias = rng.standard_normal(C).astype(dtype)
    weight[0], bias[0] = -1.0, -0.0      # -0.0 (x at the mean, negated) stays -0.0
    x[:, 0] = 2.5

    def buffers():
        return (rng_for(4).standard_normal(C), 1 + rng_for(5).random(C)) if running else (None, None)
    plain_buffers, fused_buffers = buffers(), buffers()
    expected = ops.batch_norm(x, *plain_buffers, weight, bias, training=training,
                              return_stats=True)
    got = ops.batchnorm._batch_norm_relu(x, *fused_buffers, weight, bias, training=training,
                                          return_stats=True)
    assert got[0].tobytes() == ops.relu(expected[0]).tobytes()
    assert np.isnan(got[0]).any()
    for a, b in zip(got[1:] + fused_buffers, expected[1:] + plain_buffers):
        assert (a is None and b is None) or np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4), (2, 3, 0), (0, 3, 2, 2), (1, 3, 0, 5)])
def test_zero_size_batch(impl, shape):
    """Like torch.nn.functional.batch_norm: an empty y, and running buffers left alone."""
    x = np.zeros(shape, np.float32)
    running_mean, running_var = np.zeros(3, np.float32), np.ones(3, np.float32)
    for training in (True, False):
        y, mean, invstd = impl.batch_norm(x, running_mean, running_var, training=training,
                                          return_stats=True)
        assert y.shape == shape and y.dtype == np.float32
        assert np.all(running_mean == 0) and np.all(running_var == 1)
        assert mean.shape == invstd.shape == (3,)
    y, mean, _ = impl.batch_norm(x, None, None, training=True, return_stats=True)
    assert y.shape == shape and np.all(np.isnan(mean))
    grad_x, grad_weight, grad_bias = impl.batch_norm_backward(x, x, mean, mean, training=True)
    assert grad_x.shape == shape and grad_x.dtype == np.float32
    assert np.array_equal(grad_weight, np.zeros(3)) and np.array_equal(grad_bias, np.zeros(3))


# ---------------------------------------------------------------- bad inputs

def good():
    x = rng_for(13).standard_normal((4, 3, 2))
    return x, np.zeros(3), np.ones(3)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(x=np.zeros(3)), ValueError, "x must be 2-D or 3-D or 4-D"),
    (dict(x=np.zeros((2, 3, 2, 2, 2))), ValueError, "x must be"),
    (dict(x=np.zeros((2, 0, 2))), ValueError, "x must have at least 1 channel"),
    (dict(x=np.zeros((4, 3), complex)), TypeError, "x must hold real"),
    (dict(x=np.zeros((4, 3), bool)), TypeError, "x must hold real"),
    (dict(x=np.zeros((4, 3), object)), TypeError, "x must hold real"),
    (dict(running_mean=np.zeros(2)), ValueError, r"running_mean must have shape \(3,\)"),
    (dict(running_var=np.ones((3, 1))), ValueError, "running_var must have shape"),
    (dict(running_var=None), ValueError, "running_mean and running_var must both"),
    (dict(running_mean=None), ValueError, "running_mean and running_var must both"),
    (dict(weight=np.ones(4)), ValueError, "weight must have shape"),
    (dict(bias=np.ones(2)), ValueError, "bias must have shape"),
    (dict(weight=np.ones(3, complex)), TypeError, "weight must hold real"),
    (dict(bias=np.ones(3, bool)), TypeError, "bias must hold real"),
    (dict(eps=0.0), ValueError, "eps must be > 0"),
    (dict(eps=-1e-5), ValueError, "eps must be > 0"),
    (dict(eps="small"), TypeError, "eps must be a real number"),
    (dict(momentum=-0.1), ValueError, "momentum must be >= 0"),
    (dict(momentum=1.5), ValueError, "momentum must be <= 1"),
    (dict(momentum=None), ValueError, "num_batches_tracked"),
    (dict(momentum=None, num_batches_tracked=0), ValueError, "num_batches_tracked must be >= 1"),
    (dict(num_batches_tracked=1.5), TypeError, "num_batches_tracked must be an int"),
    (dict(training="yes"), TypeError, "training must be a bool"),
    (dict(return_stats=1), TypeError, "return_stats must be a bool"),
    (dict(x=np.zeros((1, 3))), ValueError, "more than 1 value per channel"),
    (dict(x=np.zeros((1, 3, 1, 1))), ValueError, "more than 1 value per channel"),
    (dict(running_mean=[0.0, 0.0, 0.0]), TypeError, "running_mean .*float32 or float64 ndarray"),
    (dict(running_var=np.ones(3, np.int64)), TypeError, "running_var .*float32 or float64"),
    (dict(running_mean=np.zeros(3, np.float16)), TypeError, "running_mean .*float32 or float64"),
])
def test_bad_training_arguments(impl, kwargs, error, match):
    x, running_mean, running_var = good()
    args = dict(x=x, running_mean=running_mean, running_var=running_var, training=True)
    args.update(kwargs)
    buffers = [np.array(b, copy=True) for b in (args["running_mean"], args["running_var"])
               if isinstance(b, np.ndarray)]
    with pytest.raises(error, match=match):
        impl.batch_norm(**args)
    after = [b for b in (args["running_mean"], args["running_var"]) if isinstance(b, np.ndarray)]
    assert all(np.array_equal(b, a) for b, a in zip(buffers, after)), "a failed call wrote a buffer"


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("which", ["running_mean", "running_var"])
def test_read_only_running_buffer_refused_in_training_only(impl, which):
    x, running_mean, running_var = good()
    buffers = dict(running_mean=running_mean, running_var=running_var)
    buffers[which].flags.writeable = False
    with pytest.raises(ValueError, match=f"{which} .*writable"):
        impl.batch_norm(x, training=True, **buffers)
    assert np.all(running_mean == 0) and np.all(running_var == 1)
    impl.batch_norm(x, training=False, **buffers)  # only read in eval


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_eval_needs_more_than_one_value_only_for_batch_stats(impl):
    x = np.ones((1, 3))
    impl.batch_norm(x, np.zeros(3), np.ones(3), training=False)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        impl.batch_norm(x, None, None, training=False)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(x=np.zeros((4,))), ValueError, "x must be 2-D or 3-D or 4-D"),
    (dict(grad_out=np.zeros((4, 3, 3))), ValueError, "grad_out must have shape"),
    (dict(grad_out=np.zeros((4, 3, 2), complex)), TypeError, "grad_out must hold real"),
    (dict(x=np.zeros((4, 3, 2), bool)), TypeError, "x must hold real"),
    (dict(save_mean=np.zeros(2)), ValueError, "save_mean must have shape"),
    (dict(save_invstd=np.ones(4)), ValueError, "save_invstd must have shape"),
    (dict(save_mean=None), ValueError, "save_mean and save_invstd are required"),
    (dict(weight=np.ones(2)), ValueError, "weight must have shape"),
    (dict(weight=np.ones(3, complex)), TypeError, "weight must hold real"),
    (dict(training=None), TypeError, "training must be a bool"),
])
def test_bad_backward_arguments(impl, kwargs, error, match):
    x = np.zeros((4, 3, 2))
    args = dict(grad_out=np.zeros((4, 3, 2)), x=x, save_mean=np.zeros(3), save_invstd=np.ones(3),
                weight=None, training=True)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        impl.batch_norm_backward(**args)


# ---------------------------------------------------------------- torch

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_matches_torch(shape, dtype, momentum):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = rng_for(14)
    c = shape[1]
    x = rng.standard_normal(shape).astype(dtype) * 3 + 1
    weight = rng.standard_normal(c).astype(dtype)
    bias = rng.standard_normal(c).astype(dtype)
    grad_out = rng.standard_normal(shape).astype(dtype)
    rtol, atol = (1e-5, 1e-5) if dtype == np.float32 else (1e-10, 1e-10)
    nbt = 3 if momentum is None else None

    running_mean, running_var = np.zeros(c, dtype), np.ones(c, dtype)
    t_mean = torch.zeros(c, dtype=torch.from_numpy(x).dtype)
    t_var = torch.ones_like(t_mean)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(weight, requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    factor = 1.0 / nbt if momentum is None else momentum
    ty = F.batch_norm(tx, t_mean, t_var, tw, tb, training=True, momentum=factor, eps=1e-5)
    ty.backward(torch.tensor(grad_out))
    y, mean, invstd = ops.batch_norm(x, running_mean, running_var, weight, bias, training=True,
                                     momentum=momentum, num_batches_tracked=nbt, return_stats=True)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(running_mean, t_mean.numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(running_var, t_var.numpy(), rtol=rtol, atol=atol)
    grads = ops.batch_norm_backward(grad_out, x, mean, invstd, weight, training=True)
    for ours, theirs in zip(grads, (tx.grad, tw.grad, tb.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=10 * rtol, atol=10 * atol)

    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(weight, requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    ty = F.batch_norm(tx, t_mean, t_var, tw, tb, training=False, eps=1e-5)
    ty.backward(torch.tensor(grad_out))
    y, mean, invstd = ops.batch_norm(x, running_mean, running_var, weight, bias, training=False,
                                     return_stats=True)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=rtol, atol=atol)
    grads = ops.batch_norm_backward(grad_out, x, mean, invstd, weight, training=False)
    for ours, theirs in zip(grads, (tx.grad, tw.grad, tb.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=10 * rtol, atol=10 * atol)


# ------------------------------------------ fast kernels against their direct-loop twins

def _bn_twin_inputs(seed, shape, dtype):
    from fastconv._ext import batchnorm as kernels
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 3).astype(dtype)
    grad_out = rng.standard_normal(shape).astype(dtype)
    return kernels, x, grad_out


# S covers: below one block of lanes, exact blocks, a block plus a tail, odd sizes
@pytest.mark.parametrize("shape", [(3, 2, 1), (2, 3, 5), (4, 2, 16), (3, 2, 37), (2, 5, 64),
                                   (7, 3, 100)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_statistics_and_backward_sums_match_their_naive_twins(shape, dtype):
    kernels, x, grad_out = _bn_twin_inputs(15, shape, dtype)
    C = shape[1]
    fast, naive = (np.empty(C), np.empty(C)), (np.empty(C), np.empty(C))
    kernels.batch_norm_stats(*fast, x, 1)
    kernels.batch_norm_stats(*naive, x, 1, naive=True)
    np.testing.assert_allclose(fast[0], naive[0], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(fast[1], naive[1], rtol=1e-11, atol=1e-13)
    mean, invstd = naive[0], 1 / np.sqrt(naive[1] + 1e-5)
    fast, naive = (np.empty(C), np.empty(C)), (np.empty(C), np.empty(C))
    kernels.batch_norm_backward_reduce(*fast, grad_out, x, mean, invstd, 1)
    kernels.batch_norm_backward_reduce(*naive, grad_out, x, mean, invstd, 1, naive=True)
    for f, n in zip(fast, naive):
        np.testing.assert_allclose(f, n, rtol=1e-12, atol=1e-12)


def test_one_pass_statistics_keep_constant_channels_exact_and_large_means_precise():
    from fastconv._ext import batchnorm as kernels
    rng = np.random.default_rng(16)
    x = np.empty((5, 3, 37), np.float32)
    x[:, 0] = 1234.5                                        # constant channel
    x[:, 1] = 1e4 + rng.standard_normal((5, 37))            # large mean, unit variance
    x[:, 2] = rng.standard_normal((5, 37)) * 1e-3           # tiny spread
    mean, var = np.empty(3), np.empty(3)
    kernels.batch_norm_stats(mean, var, x, 1)
    assert mean[0] == 1234.5 and var[0] == 0.0
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mean[1:], x64[:, 1:].mean(axis=(0, 2)), rtol=1e-14)
    np.testing.assert_allclose(var[1:], x64[:, 1:].var(axis=(0, 2)), rtol=1e-9)


# Above the kernels' parallel threshold: more channels than threads, fewer channels than
# threads (the planes are shared out instead), more channels than one sweep's block.
@pytest.mark.parametrize("shape", [(6, 5, 37, 37), (40, 2, 25, 25), (2, 130, 11, 13)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_training_kernels_are_bitwise_identical_for_any_thread_count(shape, dtype):
    _, x, grad_out = _bn_twin_inputs(17, shape, dtype)
    weight = np.linspace(0.5, 2, shape[1]).astype(dtype)

    def run():
        y, mean, invstd = ops.batch_norm(x, None, None, weight, None, training=True,
                                         return_stats=True)
        return (y, mean, invstd) + ops.batch_norm_backward(grad_out, x, mean, invstd, weight,
                                                           training=True)
    results = [with_threads(n, run) for n in (1, 2, 3)]
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)
