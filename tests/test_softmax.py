"""softmax / log_softmax: gradients, stability, bad inputs, empty arrays, torch agreement."""
import warnings

import numpy as np
import pytest

from fastconv import ops, reference
from gradcheck import assert_gradient_close

SHAPES_AND_DIMS = [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -3),
                   ((2, 2, 3, 2), 2)]


@pytest.mark.parametrize("shape,dim", SHAPES_AND_DIMS)
def test_reference_softmax_backward_matches_finite_differences(shape, dim):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape) * 2
    grad_out = rng.normal(size=shape)
    analytic = reference.softmax_backward(grad_out, reference.softmax(x, dim), dim)
    assert_gradient_close(analytic, lambda v: reference.softmax(v, dim), x, grad_out)


@pytest.mark.parametrize("shape,dim", SHAPES_AND_DIMS)
def test_reference_log_softmax_backward_matches_finite_differences(shape, dim):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape) * 2
    grad_out = rng.normal(size=shape)
    analytic = reference.log_softmax_backward(grad_out, reference.log_softmax(x, dim), dim)
    assert_gradient_close(analytic, lambda v: reference.log_softmax(v, dim), x, grad_out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits_stay_finite_without_warnings(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [3e4, 3e4, -3e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = ops.softmax(x)
        log_y = ops.log_softmax(x)
        grads = (ops.softmax_backward(np.ones_like(x), y),
                 ops.log_softmax_backward(np.ones_like(x), log_y))
    for result in (y, log_y) + grads:
        assert np.all(np.isfinite(result))
    np.testing.assert_allclose(y, [[1, 0, 0], [1 / 3] * 3, [0.5, 0.5, 0]], atol=1e-7)
    np.testing.assert_allclose(log_y[0], [0, -2e4, -1e4], rtol=1e-6)
    np.testing.assert_allclose(log_y[1], [-np.log(3)] * 3, rtol=1e-6)


def test_rows_sum_to_one_and_log_softmax_is_its_log():
    x = np.random.default_rng(2).normal(size=(3, 70, 5)).astype(np.float32) * 4
    for dim in range(3):
        y = ops.softmax(x, dim)
        np.testing.assert_allclose(y.sum(axis=dim), 1.0, rtol=1e-5)
        np.testing.assert_allclose(np.exp(ops.log_softmax(x, dim)), y, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("op", [ops.softmax, ops.log_softmax])
def test_dim_out_of_range_or_not_an_int(op):
    x = np.zeros((2, 3))
    for dim in (2, -3, 7):
        with pytest.raises(ValueError, match=r"dim must be in \[-2, 1\].*got"):
            op(x, dim)
    with pytest.raises(TypeError, match="dim"):
        op(x, 1.0)
    with pytest.raises(TypeError, match="dim"):
        op(x, True)


@pytest.mark.parametrize("op", [ops.softmax, ops.log_softmax, reference.softmax, reference.log_softmax])
def test_bad_inputs(op):
    with pytest.raises(ValueError, match="x must have at least 1 dimension"):
        op(np.float64(1.0))
    for bad in (np.zeros(3, complex), np.zeros(3, bool), np.array([object()]), ["a", "b"]):
        with pytest.raises(TypeError, match="x"):
            op(bad)


@pytest.mark.parametrize("backward", [ops.softmax_backward, ops.log_softmax_backward])
def test_backward_bad_inputs(backward):
    with pytest.raises(ValueError, match="output must have shape"):
        backward(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="dim"):
        backward(np.zeros((2, 3)), np.zeros((2, 3)), dim=2)
    with pytest.raises(TypeError, match="grad_out"):
        backward(np.zeros((2, 3), complex), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="output"):
        backward(np.zeros((2, 3)), np.zeros((2, 3), bool))


def test_integers_are_converted_and_float16_computes_in_float32():
    ints = np.array([[1, 2, 3], [0, 0, 5]])
    assert ops.softmax(ints).dtype == np.float64
    np.testing.assert_array_equal(ops.softmax(ints), ops.softmax(ints.astype(np.float64)))
    np.testing.assert_array_equal(ops.log_softmax(ints.astype(np.uint8), 0),
                                  ops.log_softmax(ints.astype(np.float64), 0))
    assert ops.log_softmax(ints.astype(np.float16)).dtype == np.float32
    assert ops.softmax_backward(ints.astype(np.float32), ints).dtype == np.float32


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0), (2, 0, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_arrays(shape, dtype):
    x = np.zeros(shape, dtype)
    for op in (ops.softmax, ops.log_softmax, reference.softmax, reference.log_softmax):
        out = op(x, dim=-1)
        assert out.shape == shape and out.dtype == dtype
    for op in (ops.softmax_backward, ops.log_softmax_backward):
        out = op(x, x, dim=0)
        assert out.shape == shape and out.dtype == dtype


def test_output_is_fresh_and_input_may_be_readonly():
    x = np.arange(6.0).reshape(2, 3)
    x.flags.writeable = False
    y = ops.softmax(x)
    assert y.flags.c_contiguous and y.flags.writeable and not np.shares_memory(x, y)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch(dim, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(3, 66, 4)) * 3).astype(dtype)
    grad_out = rng.normal(size=x.shape).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for op, backward, torch_op in ((ops.softmax, ops.softmax_backward, torch.softmax),
                                   (ops.log_softmax, ops.log_softmax_backward, torch.log_softmax)):
        tx = torch.tensor(x, requires_grad=True)
        ty = torch_op(tx, dim)
        ty.backward(torch.tensor(grad_out))
        y = op(x, dim)
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=rtol, atol=rtol)
        np.testing.assert_allclose(backward(grad_out, y, dim), tx.grad.numpy(), rtol=rtol,
                                   atol=rtol * 10)


def test_float32_rows_hold_the_vector_exp_bound():
    """Contiguous float32 rows may take a vector exp (softmax_avx512.h: below 1.3 ulp for
    normal results, below 2^-149 absolute for subnormal ones). Rows [0, t], t over
    [-104, 0]: both outputs, 1 / (1 + e^t) and e^t / (1 + e^t), within 3 ulp of float64
    (1.3 for exp, 0.5 each for the sum and the division, and slack for where the ulp
    steps), plus 2^-149 absolute."""
    t = np.concatenate([-np.linspace(0, 104, 200_001),
                        -np.random.default_rng(22).random(100_000) * 104]).astype(np.float32)
    x = np.stack([np.zeros_like(t), t], axis=1)
    e = np.exp(t.astype(np.float64))
    expected = np.stack([1 / (1 + e), e / (1 + e)], axis=1)
    ulp = np.spacing(expected.astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(ops.softmax(x, -1) - expected) <= 3 * ulp + 2.0**-149)
    np.testing.assert_allclose(ops.log_softmax(x, -1), np.log(expected), rtol=1e-6, atol=1e-7)


def test_float32_rows_special_values():
    """-inf entries get 0; a NaN, or +inf (inf - inf), makes the whole row NaN; an all -inf
    row is NaN -- on every path (a row of 37 spans vector blocks and a partial one)."""
    x = np.zeros((4, 37), np.float32)
    x[0, [3, 20, 36]] = -np.inf
    x[1, 17] = np.nan
    x[2, 33] = np.inf
    x[3] = -np.inf
    y = ops.softmax(x, -1)
    np.testing.assert_allclose(y[0], np.where(np.isinf(x[0]), 0, 1 / 34), rtol=1e-6)
    assert np.isnan(y[1:]).all()
