"""relu, leaky_relu, sigmoid, tanh and their backwards: gradients, bad inputs, odd shapes,
NaN/inf/signed zeros, saturation, the parallel path, torch."""
import warnings

import numpy as np
import pytest

from fastconv import ops, reference
from gradcheck import assert_gradient_close
from thread_count import with_threads

RNG = np.random.default_rng(0)
FORWARDS = ["relu", "leaky_relu", "sigmoid", "tanh"]


def random(*shape, scale=1.0):
    return RNG.uniform(-scale, scale, size=shape)




def backward_of(name, module, grad_out, x):
    """The backward called as PyTorch calls it: relus take the input, sigmoid and tanh
    the forward's output."""
    backward = getattr(module, name + "_backward")
    if name in ("sigmoid", "tanh"):
        return backward(grad_out, getattr(module, name)(x))
    return backward(grad_out, x)


# (1) the reference's backward against finite differences

@pytest.mark.parametrize("name", FORWARDS)
def test_reference_backward_matches_finite_differences(name):
    x = random(3, 4, scale=3.0)
    x[np.abs(x) < 1e-3] = 0.5  # keep the relus' kink out of the finite differences
    grad_out = random(3, 4)
    analytic = backward_of(name, reference, grad_out, x)
    assert_gradient_close(analytic, getattr(reference, name), x, grad_out)


def test_reference_leaky_relu_backward_with_other_slopes():
    x, grad_out = random(10), random(10)
    for slope in (0.0, 0.3, -0.5, 2.0):
        analytic = reference.leaky_relu_backward(grad_out, x, slope)
        assert_gradient_close(analytic, lambda v: reference.leaky_relu(v, slope), x, grad_out)


# (2) bad inputs

@pytest.mark.parametrize("name", FORWARDS)
@pytest.mark.parametrize("bad", [np.ones(3, complex), np.ones(3, bool), np.ones(3, object), "abc"])
def test_refused_dtypes(name, bad):
    with pytest.raises(TypeError, match="x must hold real"):
        getattr(ops, name)(bad)
    saved = "output" if name in ("sigmoid", "tanh") else "x"
    backward = getattr(ops, name + "_backward")
    with pytest.raises(TypeError, match=f"{saved} must hold real"):
        backward(np.ones(3), bad)
    with pytest.raises(TypeError, match="grad_out must hold real"):
        backward(bad, np.ones(3))


@pytest.mark.parametrize("name", FORWARDS)
@pytest.mark.parametrize("shapes", [((3,), (4,)), ((2, 3), (3, 2)), ((6,), (2, 3)), ((), (1,))])
def test_grad_out_shape_must_match(name, shapes):
    grad_shape, saved_shape = shapes
    with pytest.raises(ValueError, match=r"grad_out must have the shape of (x|output)"):
        getattr(ops, name + "_backward")(np.ones(grad_shape), np.ones(saved_shape))


@pytest.mark.parametrize("slope, error", [(float("nan"), ValueError), (float("inf"), ValueError),
                                          ("0.1", TypeError), (True, TypeError),
                                          (None, TypeError), (np.ones(2), TypeError)])
def test_negative_slope_must_be_a_finite_real(slope, error):
    with pytest.raises(error, match="negative_slope"):
        ops.leaky_relu(np.ones(3), slope)
    with pytest.raises(error, match="negative_slope"):
        ops.leaky_relu_backward(np.ones(3), np.ones(3), slope)


def test_negative_slope_accepts_numpy_and_int_scalars():
    x = np.array([-2.0, 3.0])
    np.testing.assert_array_equal(ops.leaky_relu(x, np.float32(0.5)), [-1.0, 3.0])
    np.testing.assert_array_equal(ops.leaky_relu(x, 2), [-4.0, 3.0])


@pytest.mark.parametrize("name", FORWARDS)
def test_integers_are_converted_to_float64(name):
    x = np.arange(-3, 4)
    y = getattr(ops, name)(x)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, getattr(ops, name)(x.astype(np.float64)), rtol=0)
    grad = getattr(ops, name + "_backward")(np.ones(7, np.int32), x)
    assert grad.dtype == np.float64


@pytest.mark.parametrize("name", FORWARDS)
def test_output_dtype_follows_the_inputs(name):
    forward, backward = getattr(ops, name), getattr(ops, name + "_backward")
    assert forward(np.ones(3, np.float32)).dtype == np.float32
    assert forward(np.ones(3, np.float16)).dtype == np.float32
    assert backward(np.ones(3, np.float32), np.ones(3, np.float32)).dtype == np.float32
    assert backward(np.ones(3, np.float32), np.ones(3, np.float64)).dtype == np.float64


# (3) odd shapes

@pytest.mark.parametrize("name", FORWARDS)
@pytest.mark.parametrize("shape", [(0,), (2, 0, 3), (0, 0)])
def test_empty_arrays(name, shape):
    y = getattr(ops, name)(np.ones(shape, np.float32))
    assert y.shape == shape and y.dtype == np.float32
    grad = getattr(ops, name + "_backward")(np.ones(shape), np.ones(shape))
    assert grad.shape == shape and grad.dtype == np.float64


@pytest.mark.parametrize("name", FORWARDS)
def test_zero_dimensional_arrays(name):
    for x in (np.array(-0.7), np.float32(0.3), 2.5):
        y = getattr(ops, name)(x)
        assert isinstance(y, np.ndarray) and y.shape == ()
        np.testing.assert_allclose(y, getattr(reference, name)(x), rtol=1e-6)
        grad = backward_of(name, ops, np.array(1.5), x)
        assert isinstance(grad, np.ndarray) and grad.shape == ()
        np.testing.assert_allclose(grad, backward_of(name, reference, np.array(1.5), x), rtol=1e-6)


# (4) NaN, infinities, signed zeros, saturation

SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -1.5])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_special_values(dtype):
    x = SPECIAL.astype(dtype)
    y = ops.relu(x)
    np.testing.assert_array_equal(y, [np.nan, np.inf, 0.0, 0.0, -0.0, 1.5, 0.0])
    assert np.signbit(y[4]), "relu(-0.0) is -0.0, as in torch"
    grad = ops.relu_backward(np.full(7, 2.0, dtype), x)
    np.testing.assert_array_equal(grad, [2.0, 2.0, 0.0, 0.0, 0.0, 2.0, 0.0])
    # A NaN gradient is dropped where x <= 0: a select, not a product.
    np.testing.assert_array_equal(ops.relu_backward(np.full(2, np.nan), [-1.0, 0.0]), [0.0, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_leaky_relu_special_values(dtype):
    x = SPECIAL.astype(dtype)
    y = ops.leaky_relu(x, 0.5)
    np.testing.assert_array_equal(y, [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -0.75])
    grad = ops.leaky_relu_backward(np.full(7, 2.0, dtype), x, 0.5)
    np.testing.assert_array_equal(grad, [1.0, 2.0, 1.0, 1.0, 1.0, 2.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_tanh_special_values(dtype):
    x = SPECIAL.astype(dtype)
    np.testing.assert_array_equal(ops.sigmoid(x)[:5], [np.nan, 1.0, 0.0, 0.5, 0.5])
    np.testing.assert_array_equal(ops.tanh(x)[:5], [np.nan, 1.0, -1.0, 0.0, -0.0])
    assert np.isnan(ops.sigmoid_backward(np.ones(1), [np.nan])[0])
    assert np.isnan(ops.tanh_backward(np.ones(1), [np.nan])[0])


@pytest.mark.parametrize("module", [ops, reference], ids=["ops", "reference"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_saturates_without_warnings(module, dtype):
    x = np.array([-1000.0, -800.0, 800.0, 1000.0], dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        y = module.sigmoid(x)
        grad = module.sigmoid_backward(np.ones(4, dtype), y)
        t = module.tanh(x)
    np.testing.assert_array_equal(y, [0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(t, [-1.0, -1.0, 1.0, 1.0])


def test_sigmoid_is_accurate_in_both_tails():
    # The stable form keeps full relative precision for very negative x, where
    # 1 - sigmoid(-x) would round to 0.
    x = np.array([-30.0, -700.0])
    np.testing.assert_allclose(ops.sigmoid(x), np.exp(x) / (1 + np.exp(x)), rtol=1e-15)


# The parallel path: arrays above the kernels' parallel threshold.

@pytest.mark.parametrize("name", FORWARDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_arrays_against_numpy_and_thread_counts(name, dtype):
    x = random(3, 70001, scale=4.0).astype(dtype)
    grad_out = random(3, 70001).astype(dtype)
    expected = {
        "relu": lambda v: np.where(v < 0, 0, v),
        "leaky_relu": lambda v: np.where(v > 0, v, v * dtype(0.01)),
        "sigmoid": lambda v: 1 / (1 + np.exp(-v.astype(np.float64))),
        "tanh": lambda v: np.tanh(v.astype(np.float64)),
    }[name](x)
    y = with_threads(1, getattr(ops, name), x)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(y, expected, rtol=tol, atol=tol)
    grad = with_threads(1, backward_of, name, ops, grad_out, x)
    for n in (2, 3):
        assert with_threads(n, getattr(ops, name), x).tobytes() == y.tobytes()
        assert with_threads(n, backward_of, name, ops, grad_out, x).tobytes() == grad.tobytes()


# (5) PyTorch, when installed

@pytest.mark.parametrize("name", FORWARDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch(name, dtype):
    torch = pytest.importorskip("torch")
    x = np.concatenate([random(50, scale=5.0), [0.0, -0.0, 1000.0, -1000.0]]).astype(dtype)
    grad_out = random(54).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    torch_fn = {"relu": torch.relu, "leaky_relu": torch.nn.functional.leaky_relu,
                "sigmoid": torch.sigmoid, "tanh": torch.tanh}[name]
    ty = torch_fn(tx)
    ty.backward(torch.tensor(grad_out))
    tol = 2e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(getattr(ops, name)(x), ty.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(backward_of(name, ops, grad_out, x), tx.grad.numpy(),
                               rtol=tol, atol=tol)
