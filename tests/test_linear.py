"""linear and linear_backward: gradients, bad inputs, empty shapes, thread counts, torch."""
import numpy as np
import pytest

from fastconv import ops, reference
from gradcheck import assert_gradient_close
from thread_count import with_threads

RNG = np.random.default_rng(0)


def random(*shape):
    return RNG.uniform(-1.0, 1.0, size=shape)




# (1) the reference's backward against finite differences

@pytest.mark.parametrize("x_shape", [(3,), (2, 3), (2, 2, 3), (1, 2, 1, 3)])
def test_reference_backward_matches_finite_differences(x_shape):
    x, weight, bias = random(*x_shape), random(4, 3), random(4)
    grad_out = random(*x_shape[:-1], 4)
    grad_x, grad_weight, grad_bias = reference.linear_backward(grad_out, x, weight)
    assert_gradient_close(grad_x, lambda v: reference.linear(v, weight, bias), x, grad_out)
    assert_gradient_close(grad_weight, lambda v: reference.linear(x, v, bias), weight, grad_out)
    assert_gradient_close(grad_bias, lambda v: reference.linear(x, weight, v), bias, grad_out)


# (2) bad inputs

def test_in_features_mismatch_names_x_and_weight():
    with pytest.raises(ValueError, match=r"x's last axis.*weight.*in_features"):
        ops.linear(random(2, 3), random(4, 5))
    with pytest.raises(ValueError, match=r"x's last axis.*weight.*in_features"):
        ops.linear_backward(random(2, 4), random(2, 3), random(4, 5))


@pytest.mark.parametrize("bias_shape", [(3,), (5,), (1, 4), ()])
def test_bias_shape(bias_shape):
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        ops.linear(random(2, 3), random(4, 3), random(*bias_shape))


@pytest.mark.parametrize("weight_shape", [(3,), (4, 3, 1), ()])
def test_weight_ndim(weight_shape):
    with pytest.raises(ValueError, match="weight must be 2-D"):
        ops.linear(random(2, 3), random(*weight_shape))
    with pytest.raises(ValueError, match="weight must be 2-D"):
        ops.linear_backward(random(2, 4), random(2, 3), random(*weight_shape))


def test_zero_dimensional_x():
    with pytest.raises(ValueError, match="x must be at least 1-D"):
        ops.linear(np.float64(1.0), random(4, 1))
    with pytest.raises(ValueError, match="x must be at least 1-D"):
        ops.linear_backward(random(4), np.float64(1.0), random(4, 1))


@pytest.mark.parametrize("grad_shape", [(2, 3), (4,), (3, 4), (2, 4, 1)])
def test_grad_out_shape(grad_shape):
    with pytest.raises(ValueError, match=r"grad_out must have shape \(2, 4\)"):
        ops.linear_backward(random(*grad_shape), random(2, 3), random(4, 3))


@pytest.mark.parametrize("bad", [np.ones((2, 3), complex), np.ones((2, 3), bool),
                                 np.ones((2, 3), object), "abc"])
@pytest.mark.parametrize("position", ["x", "weight", "bias", "grad_out"])
def test_refused_dtypes(bad, position):
    args = {"x": random(2, 3), "weight": random(3, 3), "bias": random(3), "grad_out": random(2, 3)}
    if position == "bias":
        bad = bad[0] if isinstance(bad, np.ndarray) else bad
    args[position] = bad
    with pytest.raises(TypeError, match=position):
        if position == "grad_out":
            ops.linear_backward(args["grad_out"], args["x"], args["weight"])
        else:
            ops.linear(args["x"], args["weight"], args["bias"])


def test_integers_are_converted_to_float64():
    x, weight, bias = np.arange(6).reshape(2, 3), np.arange(12).reshape(4, 3) - 5, np.arange(4)
    y = ops.linear(x, weight, bias)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, x @ weight.T + bias)
    grad_out = np.arange(8).reshape(2, 4) - 3
    grads = ops.linear_backward(grad_out, x, weight)
    assert [g.dtype for g in grads] == [np.float64] * 3
    np.testing.assert_array_equal(grads[0], grad_out @ weight)
    np.testing.assert_array_equal(grads[1], grad_out.T @ x)
    np.testing.assert_array_equal(grads[2], grad_out.sum(axis=0))
    # Python lists are arrays too.
    np.testing.assert_array_equal(ops.linear([1, 2, 3], [[1, 0, 1]]), [4.0])


@pytest.mark.parametrize("dtypes, expected", [
    ((np.float32, np.float32, np.float32), np.float32),
    ((np.float16, np.float32, None), np.float32),
    ((np.float32, np.float64, np.float32), np.float64),
    ((np.float32, np.float32, np.int64), np.float32),  # the floats decide (float_dtype's rule)
    ((np.int32, np.int64, np.int8), np.float64),
])
def test_output_dtype(dtypes, expected):
    x_dtype, w_dtype, b_dtype = dtypes
    bias = None if b_dtype is None else np.ones(4, b_dtype)
    assert ops.linear(np.ones((2, 3), x_dtype), np.ones((4, 3), w_dtype), bias).dtype == expected


# (3) empty shapes

@pytest.mark.parametrize("x_shape", [(0, 3), (2, 0, 3), (0, 0, 3)])
def test_zero_size_batch(x_shape):
    x, weight, bias = np.ones(x_shape, np.float32), np.ones((4, 3), np.float32), np.ones(4, np.float32)
    y = ops.linear(x, weight, bias)
    assert y.shape == x_shape[:-1] + (4,) and y.dtype == np.float32
    grad_x, grad_weight, grad_bias = ops.linear_backward(np.ones(x_shape[:-1] + (4,)), x, weight)
    assert grad_x.shape == x_shape
    np.testing.assert_array_equal(grad_weight, np.zeros((4, 3)))
    np.testing.assert_array_equal(grad_bias, np.zeros(4))


def test_zero_features():
    x, grad_out = random(2, 5, 0), random(2, 5, 4)
    np.testing.assert_array_equal(ops.linear(x, random(4, 0)), np.zeros((2, 5, 4)))
    bias = random(4)
    np.testing.assert_array_equal(ops.linear(x, random(4, 0), bias), np.broadcast_to(bias, (2, 5, 4)))
    grad_x, grad_weight, grad_bias = ops.linear_backward(grad_out, x, random(4, 0))
    assert grad_x.shape == (2, 5, 0) and grad_weight.shape == (4, 0)
    np.testing.assert_allclose(grad_bias, grad_out.sum(axis=(0, 1)))

    y = ops.linear(random(2, 3), random(0, 3), random(0))
    assert y.shape == (2, 0)
    grad_x, grad_weight, grad_bias = ops.linear_backward(random(2, 0), random(2, 3), random(0, 3))
    np.testing.assert_array_equal(grad_x, np.zeros((2, 3)))
    assert grad_weight.shape == (0, 3) and grad_bias.shape == (0,)


# Shapes large enough for several row tiles, weight tiles, column chunks and dot lanes.

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_shapes_against_numpy_and_thread_counts(dtype):
    x = random(3, 23, 301).astype(dtype)
    weight, bias = random(70, 301).astype(dtype), random(70).astype(dtype)
    grad_out = random(3, 23, 70).astype(dtype)
    tol = 1e-4 if dtype == np.float32 else 1e-12

    y = with_threads(1, ops.linear, x, weight, bias)
    np.testing.assert_allclose(y, x @ weight.T + bias, rtol=tol, atol=tol)
    grads = with_threads(1, ops.linear_backward, grad_out, x, weight)
    rows_x, rows_g = x.reshape(-1, 301), grad_out.reshape(-1, 70)
    expected = (grad_out @ weight, rows_g.T @ rows_x, rows_g.sum(axis=0))
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)

    for n in (2, 3):
        assert with_threads(n, ops.linear, x, weight, bias).tobytes() == y.tobytes()
        for got, want in zip(with_threads(n, ops.linear_backward, grad_out, x, weight), grads):
            assert got.tobytes() == want.tobytes()


# (5) PyTorch, when installed

@pytest.mark.parametrize("x_shape", [(5,), (3, 5), (2, 3, 5)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_matches_torch(x_shape, with_bias):
    torch = pytest.importorskip("torch")
    x, weight = random(*x_shape), random(4, 5)
    bias = random(4) if with_bias else None
    grad_out = random(*x_shape[:-1], 4)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(weight, requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True) if with_bias else None
    ty = torch.nn.functional.linear(tx, tw, tb)
    ty.backward(torch.tensor(grad_out))
    np.testing.assert_allclose(ops.linear(x, weight, bias), ty.detach().numpy(), rtol=1e-12)
    grad_x, grad_weight, grad_bias = ops.linear_backward(grad_out, x, weight)
    np.testing.assert_allclose(grad_x, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad_weight, tw.grad.numpy(), rtol=1e-12)
    if with_bias:
        np.testing.assert_allclose(grad_bias, tb.grad.numpy(), rtol=1e-12)
