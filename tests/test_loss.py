"""cross_entropy and mse_loss: gradients, stability, bad inputs, empty batches, torch agreement."""
import warnings

import numpy as np
import pytest

from fastconv import ops, reference
from fastconv.ops.loss import MSE_CHUNK
from gradcheck import assert_gradient_close
from thread_count import with_threads

REDUCTIONS = ("mean", "sum", "none")


def draw_grad_out(rng, reduction, shape):
    return rng.normal(size=shape) if reduction == "none" else np.float64(rng.normal())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2, 1.0])
def test_reference_cross_entropy_backward_matches_finite_differences(reduction, label_smoothing):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 5)) * 2
    target = np.array([0, 4, 2, 2])
    grad_out = draw_grad_out(rng, reduction, (4,))
    analytic = reference.cross_entropy_backward(logits, target, reduction, label_smoothing, grad_out)
    assert_gradient_close(
        analytic, lambda v: reference.cross_entropy(v, target, reduction, label_smoothing),
        logits, grad_out)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reference_mse_backward_matches_finite_differences(reduction):
    rng = np.random.default_rng(1)
    input, target = rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 3, 2))
    grad_out = draw_grad_out(rng, reduction, input.shape)
    analytic = reference.mse_loss_backward(input, target, reduction, grad_out)
    assert_gradient_close(analytic, lambda v: reference.mse_loss(v, target, reduction),
                          input, grad_out)
    # the gradient with respect to target is the negative one
    assert_gradient_close(-analytic, lambda v: reference.mse_loss(input, v, reduction),
                          target, grad_out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_huge_logits_give_finite_loss_and_gradient_without_warnings(dtype, label_smoothing):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [3e4, 3e4, -3e4]], dtype=dtype)
    target = np.array([0, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses = ops.cross_entropy(logits, target, "none", label_smoothing)
        grad = ops.cross_entropy_backward(logits, target, "mean", label_smoothing)
    assert np.all(np.isfinite(losses)) and np.all(np.isfinite(grad))
    expected = reference.cross_entropy(logits, target, "none", label_smoothing)
    np.testing.assert_allclose(losses, expected, rtol=1e-6)
    if label_smoothing == 0:
        np.testing.assert_allclose(losses, [0.0, 2e4, np.log(2)], rtol=1e-6, atol=1e-6)


def test_scalar_results_are_numpy_scalars_of_the_compute_dtype():
    logits, target = np.zeros((2, 3), np.float32), np.array([0, 1])
    for reduction in ("mean", "sum"):
        assert type(ops.cross_entropy(logits, target, reduction)) is np.float32
        assert type(reference.cross_entropy(logits, target, reduction)) is np.float32
        assert type(ops.mse_loss(logits, logits, reduction)) is np.float32
    assert type(ops.cross_entropy(logits.astype(np.float64), target)) is np.float64
    assert type(ops.mse_loss(logits, np.zeros((2, 3)))) is np.float64
    assert ops.cross_entropy(logits, target, "none").shape == (2,)
    np.testing.assert_allclose(ops.cross_entropy(logits, target), np.log(3), rtol=1e-6)


def test_grad_out_python_number_keeps_float32_but_float64_array_promotes():
    logits, target = np.zeros((2, 3), np.float32), np.array([0, 1])
    assert ops.cross_entropy_backward(logits, target, grad_out=2.0).dtype == np.float32
    assert ops.cross_entropy_backward(logits, target, grad_out=np.float64(2)).dtype == np.float64
    assert ops.mse_loss_backward(logits, logits, grad_out=3).dtype == np.float32
    np.testing.assert_allclose(ops.cross_entropy_backward(logits, target, "sum", grad_out=2.0),
                               2 * ops.cross_entropy_backward(logits, target, "sum"))


def test_cross_entropy_bad_inputs():
    logits, target = np.zeros((3, 4)), np.array([0, 1, 3])
    for fn in (ops.cross_entropy, ops.cross_entropy_backward, reference.cross_entropy):
        with pytest.raises(ValueError, match=r"target must hold class indices in \[0, 4\)"):
            fn(logits, np.array([0, 4, 1]))
        with pytest.raises(ValueError, match="target must hold class indices"):
            fn(logits, np.array([0, -1, 1]))
        with pytest.raises(ValueError, match="target must have shape"):
            fn(logits, np.array([0, 1]))
        with pytest.raises(ValueError, match="target must be 1-D"):
            fn(logits, target.reshape(3, 1))
        with pytest.raises(TypeError, match="target must hold integer class indices"):
            fn(logits, target.astype(np.float32))
        with pytest.raises(TypeError, match="target"):
            fn(logits, target.astype(bool))
        with pytest.raises(ValueError, match="logits must be 2-D"):
            fn(np.zeros(4), np.array([1]))
        with pytest.raises(ValueError, match="logits must be 2-D"):
            fn(np.zeros((3, 4, 1)), target)
        with pytest.raises(TypeError, match="logits"):
            fn(logits.astype(complex), target)
        with pytest.raises(ValueError, match="reduction must be one of"):
            fn(logits, target, "avg")
        with pytest.raises(ValueError, match="reduction"):
            fn(logits, target, None)
        for bad in (-0.1, 1.5, float("nan")):
            with pytest.raises(ValueError, match="label_smoothing"):
                fn(logits, target, "mean", bad)
        with pytest.raises(TypeError, match="label_smoothing"):
            fn(logits, target, "mean", "0.1")
    with pytest.raises(ValueError, match="grad_out must be a scalar"):
        ops.cross_entropy_backward(logits, target, "mean", grad_out=np.ones(3))
    with pytest.raises(ValueError, match="grad_out must have shape"):
        ops.cross_entropy_backward(logits, target, "none", grad_out=np.ones(2))
    with pytest.raises(TypeError, match="grad_out"):
        ops.cross_entropy_backward(logits, target, "sum", grad_out=1j)


def test_mse_bad_inputs():
    for fn in (ops.mse_loss, ops.mse_loss_backward, reference.mse_loss):
        with pytest.raises(ValueError, match="target must have shape"):
            fn(np.zeros((2, 3)), np.zeros((3, 2)))
        with pytest.raises(ValueError, match="target must have shape"):
            fn(np.zeros((2, 3)), np.zeros(3))
        with pytest.raises(TypeError, match="input"):
            fn(np.zeros(3, complex), np.zeros(3))
        with pytest.raises(TypeError, match="target"):
            fn(np.zeros(3), np.zeros(3, bool))
        with pytest.raises(ValueError, match="reduction must be one of"):
            fn(np.zeros(3), np.zeros(3), "max")
    with pytest.raises(ValueError, match="grad_out must have shape"):
        ops.mse_loss_backward(np.zeros((2, 3)), np.zeros((2, 3)), "none", grad_out=np.ones(3))


def test_integer_inputs_are_converted():
    logits = np.array([[1, 2, 3], [3, 0, 0]], dtype=np.int32)
    target = np.array([2, 0], dtype=np.uint8)
    assert ops.cross_entropy(logits, target).dtype == np.float64
    assert ops.cross_entropy(logits, target) == ops.cross_entropy(logits.astype(float), target)
    np.testing.assert_array_equal(ops.cross_entropy_backward(logits, target),
                                  ops.cross_entropy_backward(logits.astype(float), target))
    assert ops.mse_loss(logits, np.zeros((2, 3), np.int64), "sum") == 1 + 4 + 9 + 9
    # lists are arrays too
    assert ops.cross_entropy([[0.0, 0.0]], [1]) == pytest.approx(np.log(2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_batch(dtype):
    logits, target = np.zeros((0, 5), dtype), np.zeros(0, np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn in (ops.cross_entropy, reference.cross_entropy):
            mean = fn(logits, target)
            assert np.isnan(mean) and type(mean) is np.dtype(dtype).type
            total = fn(logits, target, "sum")
            assert total == 0 and type(total) is np.dtype(dtype).type
            none = fn(logits, target, "none")
            assert none.shape == (0,) and none.dtype == dtype
        for reduction in REDUCTIONS:
            grad = ops.cross_entropy_backward(logits, target, reduction)
            assert grad.shape == (0, 5) and grad.dtype == dtype
        x = np.zeros((2, 0, 3), dtype)
        assert np.isnan(ops.mse_loss(x, x)) and ops.mse_loss(x, x, "sum") == 0
        assert ops.mse_loss(x, x, "none").shape == (2, 0, 3)
        assert ops.mse_loss_backward(x, x).shape == (2, 0, 3)
        assert np.isnan(reference.mse_loss(x, x))


def test_mse_of_zero_dimensional_arrays():
    # The op table cannot hold 0-D inputs (its C layout makes them 1-D), so they are here.
    a, b = np.array(3.0), np.array(1.0)
    assert ops.mse_loss(a, b) == 4.0 and ops.mse_loss(a, b, "none").shape == ()
    assert ops.mse_loss_backward(a, b, "none", grad_out=np.array(0.5)) == 2.0
    assert ops.mse_loss_backward(a, b).shape == ()




def test_large_reductions_give_the_same_bits_for_any_thread_count():
    rng = np.random.default_rng(4)
    # several MSE chunks, and a batch long enough to split across threads
    n = 3 * MSE_CHUNK + 17
    input, target = (rng.normal(size=n).astype(np.float32) for _ in range(2))
    logits, classes = rng.normal(size=(999, 10)).astype(np.float32), rng.integers(0, 10, 999)
    calls = ((ops.mse_loss, (input, target)), (ops.cross_entropy, (logits, classes, "mean", 0.1)))
    for fn, args in calls:
        one = with_threads(1, fn, *args)
        for n in (2, 3):
            assert with_threads(n, fn, *args).tobytes() == one.tobytes()
    np.testing.assert_allclose(ops.mse_loss(input, target), reference.mse_loss(input, target), rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_matches_torch(reduction, label_smoothing, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    logits = (rng.normal(size=(6, 7)) * 3).astype(dtype)
    target = rng.integers(0, 7, 6)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    t_logits = torch.tensor(logits, requires_grad=True)
    t_loss = torch.nn.functional.cross_entropy(t_logits, torch.tensor(target), reduction=reduction,
                                               label_smoothing=label_smoothing)
    grad_out = rng.normal(size=t_loss.shape).astype(dtype)
    t_loss.backward(torch.tensor(grad_out))
    np.testing.assert_allclose(ops.cross_entropy(logits, target, reduction, label_smoothing),
                               t_loss.detach().numpy(), rtol=rtol)
    grad = ops.cross_entropy_backward(logits, target, reduction, label_smoothing, grad_out)
    np.testing.assert_allclose(grad, t_logits.grad.numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    input, target = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 4, 5))
    t_input = torch.tensor(input, requires_grad=True)
    t_loss = torch.nn.functional.mse_loss(t_input, torch.tensor(target), reduction=reduction)
    grad_out = rng.normal(size=t_loss.shape)
    t_loss.backward(torch.tensor(grad_out))
    np.testing.assert_allclose(ops.mse_loss(input, target, reduction), t_loss.detach().numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(ops.mse_loss_backward(input, target, reduction, grad_out),
                               t_input.grad.numpy(), rtol=1e-12)
