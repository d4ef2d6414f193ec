"""dropout: statistics, edge values of p, evaluation mode, gradients, bad inputs, empty arrays."""
import numpy as np
import pytest

from fastconv import ops, reference
from gradcheck import assert_gradient_close


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_fraction_kept_and_expectation(p):
    n = 1_000_000
    x = np.full(n, 2.0, dtype=np.float32)
    y, mask = ops.dropout(x, p, np.random.default_rng(0))
    kept = mask.mean()
    # 6 standard deviations of a binomial proportion
    assert abs(kept - (1 - p)) < 6 * np.sqrt(p * (1 - p) / n)
    assert abs(y.mean(dtype=np.float64) - 2.0) < 6 * 2.0 * np.sqrt(p / ((1 - p) * n))
    np.testing.assert_allclose(y[mask], 2.0 / (1 - p), rtol=1e-6)
    assert np.all(y[~mask] == 0)


def test_mask_is_the_documented_draw_and_reproducible():
    x = np.random.default_rng(1).normal(size=(4, 5, 6))
    y, mask = ops.dropout(x, 0.3, np.random.default_rng(7))
    np.testing.assert_array_equal(mask, np.random.default_rng(7).random(x.shape) >= 0.3)
    y2, mask2 = ops.dropout(x, 0.3, np.random.default_rng(7))
    assert mask.dtype == bool and y.tobytes() == y2.tobytes()
    np.testing.assert_array_equal(mask, mask2)


def test_rng_none_draws_a_fresh_mask():
    y, mask = ops.dropout(np.ones(1000), 0.5)
    assert 0 < mask.sum() < 1000


def test_p_zero_keeps_everything_and_p_one_drops_everything():
    x = np.random.default_rng(2).normal(size=(3, 4)).astype(np.float32)
    y, mask = ops.dropout(x, 0.0, np.random.default_rng(0))
    assert mask.all() and np.array_equal(y, x)
    y, mask = ops.dropout(x, 1.0, np.random.default_rng(0))
    assert not mask.any() and np.all(y == 0)
    assert np.all(ops.dropout_backward(x, mask, 1.0) == 0)
    assert np.all(reference.dropout_backward(x, mask, 1) == 0)


def test_dropping_multiplies_by_zero_like_torch():
    x = np.array([np.inf, np.nan, -np.inf, 1.0] * 4)
    with np.errstate(invalid="ignore"):  # inf * 0 is the point of the test
        expected_zeroed = x * 0
    for fn in (ops.dropout, reference.dropout):
        y, mask = fn(x, 0.5, np.random.default_rng(3))
        np.testing.assert_array_equal(y, np.where(mask, x * 2, expected_zeroed))
        y, _ = fn(x, 1.0)
        np.testing.assert_array_equal(y, expected_zeroed)


def test_evaluation_mode_copies_and_draws_nothing():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    rng = np.random.default_rng(4)
    state = rng.bit_generator.state
    y, mask = ops.dropout(x, 0.7, rng, training=False)
    assert rng.bit_generator.state == state
    assert np.array_equal(y, x) and y.dtype == np.float32 and not np.shares_memory(x, y)
    assert mask.shape == x.shape and mask.all()
    y, _ = ops.dropout(np.arange(3), 0.5, training=False)
    assert y.dtype == np.float64


def test_backward_is_mask_over_keep_probability_and_matches_finite_differences():
    rng = np.random.default_rng(5)
    x, grad_out = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    _, mask = reference.dropout(x, 0.4, np.random.default_rng(9))
    analytic = reference.dropout_backward(grad_out, mask, 0.4)
    np.testing.assert_allclose(analytic, grad_out * mask / 0.6)
    assert_gradient_close(analytic, lambda v: reference.dropout(v, 0.4, np.random.default_rng(9))[0],
                          x, grad_out)
    np.testing.assert_allclose(ops.dropout_backward(grad_out, mask, 0.4), analytic, rtol=1e-15)


def test_bad_inputs():
    x = np.ones((2, 3))
    for fn in (ops.dropout, reference.dropout):
        for p in (-0.1, 1.01, float("nan")):
            with pytest.raises(ValueError, match="p must"):
                fn(x, p)
        with pytest.raises(TypeError, match="p must be a real number"):
            fn(x, "0.5")
        for rng in (42, np.random.RandomState(0), "rng"):
            with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
                fn(x, 0.5, rng)
        for bad in (np.zeros(3, complex), np.zeros(3, bool), np.array([object()])):
            with pytest.raises(TypeError, match="x"):
                fn(bad, 0.5)
    mask = np.ones((2, 3), bool)
    for fn in (ops.dropout_backward, reference.dropout_backward):
        with pytest.raises(TypeError, match="mask must be a bool array"):
            fn(x, mask.astype(np.uint8), 0.5)
        with pytest.raises(ValueError, match="mask must have shape"):
            fn(x, mask.T, 0.5)
        with pytest.raises(ValueError, match="p must"):
            fn(x, mask, 2.0)
        with pytest.raises(TypeError, match="grad_out"):
            fn(x.astype(complex), mask, 0.5)


def test_integers_are_converted():
    x = np.arange(12).reshape(3, 4)
    y, mask = ops.dropout(x, 0.5, np.random.default_rng(6))
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, np.where(mask, x * 2.0, 0.0))
    assert ops.dropout_backward(x.astype(np.int8), mask, 0.5).dtype == np.float64


@pytest.mark.parametrize("shape", [(0,), (3, 0), ()])
def test_empty_and_zero_dimensional(shape):
    x = np.ones(shape, np.float32)
    for fn in (ops.dropout, reference.dropout):
        y, mask = fn(x, 0.5, np.random.default_rng(0))
        assert y.shape == shape and mask.shape == shape and y.dtype == np.float32
        np.testing.assert_array_equal(y, np.where(mask, 2.0, 0.0))
        grad = ops.dropout_backward(x, mask, 0.5)
        assert grad.shape == shape and grad.dtype == np.float32
