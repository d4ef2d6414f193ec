"""fastconv.autograd: the tape, gradient accumulation, hooks, no_grad and the glue ops."""
import threading

import numpy as np
import pytest

import fastconv
from fastconv import Tensor, no_grad
from tensor_gradcheck import check_gradients

rng = np.random.default_rng(0)


def rand(*shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
    lambda a, b: a / (b * b + 1.0),
])
@pytest.mark.parametrize("shape_a, shape_b", [
    ((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 3), (2, 1)), ((4, 1, 3), (2, 1)), ((), (2, 2)),
])
def test_broadcasting_binary_ops_reduce_gradients_to_each_shape(op, shape_a, shape_b):
    a, b = check_gradients(op, rand(*shape_a), rand(*shape_b))
    assert a.grad.shape == shape_a and b.grad.shape == shape_b


def test_division_gradient_for_both_operands():
    check_gradients(lambda a, b: a / b, rand(3, 2), rng.uniform(1, 2, (3, 2)))


@pytest.mark.parametrize("op", [
    lambda a: -a, lambda a: a ** 3, lambda a: (a * a + 1.0) ** 0.5, lambda a: a.exp(),
    lambda a: (a * a + 1.0).log(), lambda a: a.abs(), lambda a: 2.0 - a, lambda a: 3.0 / (a * a + 1),
    lambda a: 2 * a + 1,
])
def test_unary_and_scalar_ops(op):
    check_gradients(op, rand(3, 4))


@pytest.mark.parametrize("op", [
    lambda a: a.sum(), lambda a: a.sum(axis=1), lambda a: a.sum(axis=(0, 2), keepdims=True),
    lambda a: a.mean(), lambda a: a.mean(axis=-1), lambda a: a.mean(axis=0, keepdims=True),
    lambda a: a.reshape(6, 4), lambda a: a.view(-1), lambda a: a.flatten(1),
    lambda a: a.transpose(2, 0, 1), lambda a: a.T, lambda a: a[1], lambda a: a[:, 1:, ::2],
    lambda a: a[np.array([0, 1, 0])],   # repeated indices add up
    lambda a: a.double(),
])
def test_reductions_reshapes_and_indexing(op):
    check_gradients(op, rand(2, 3, 4))


def test_cat_and_stack():
    check_gradients(lambda a, b: fastconv.cat([a, b], dim=1), rand(2, 3), rand(2, 5))
    check_gradients(lambda a, b: fastconv.stack([a, b], dim=-1), rand(2, 3), rand(2, 3))


def test_reused_tensor_and_diamond_graph_sum_their_paths():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 2
    z = (y * y + y * x).sum()      # 4x^2 + 2x^2 = 6x^2
    z.backward()
    np.testing.assert_allclose(x.grad, 12 * x.data)


def test_leaf_gradients_accumulate_and_non_leaf_gradients_are_not_kept():
    x = Tensor(np.ones(3), requires_grad=True)
    y = x * 3
    y.sum().backward()
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0, 5.0])
    assert y.grad is None and not y.is_leaf and x.is_leaf
    x.zero_grad()
    assert x.grad is None


def test_constants_get_no_gradient_and_float32_stays_float32():
    x = Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    c = Tensor(np.full((2, 2), 2.0, np.float32))
    (x * c + np.float32(1)).sum().backward()
    assert c.grad is None
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, 2.0)


def test_ndarray_on_the_left_gives_a_tensor():
    x = Tensor(np.ones(2), requires_grad=True)
    y = np.array([1.0, 2.0]) * x
    assert isinstance(y, Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])


def test_numpy_scalars_on_the_left_stay_recorded():
    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    y = np.float32(3) * x + np.float64(1)
    assert isinstance(y, Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, 3.0)
    np.testing.assert_array_equal(np.asarray(y), [4.0, 4.0])


def test_comparisons_give_bool_tensors_for_accuracy():
    logits = Tensor(np.array([[0.1, 2.0], [3.0, -1.0], [0.0, 1.0]]), requires_grad=True)
    correct = logits.argmax(axis=1) == np.array([1, 0, 0])
    assert correct.dtype == np.bool_ and not correct.requires_grad
    assert correct.sum().item() == 2
    assert ((logits > 0.5).data == [[False, True], [True, False], [False, True]]).all()
    assert {logits: 1}[logits] == 1      # still hashable by identity


def test_data_is_shared_not_copied():
    a = np.zeros(3)
    t = Tensor(a)
    assert t.data is a and t.numpy() is a
    assert t.detach().data is a and not t.detach().requires_grad


def test_no_grad_records_nothing_and_works_as_decorator():
    x = Tensor(np.ones(2), requires_grad=True)
    with no_grad():
        y = x * 2
        assert not fastconv.is_grad_enabled()
        with fastconv.enable_grad():
            z = x * 2
    assert fastconv.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @no_grad()
    def f(t):
        return t + 1
    assert not f(x).requires_grad


def test_no_grad_is_per_thread():
    seen = []
    with no_grad():
        worker = threading.Thread(target=lambda: seen.append(fastconv.is_grad_enabled()))
        worker.start()
        worker.join()
    assert seen == [True]


def test_hooks_see_and_can_replace_gradients():
    x = Tensor(np.ones(3), requires_grad=True)
    y = x * 2
    seen = []
    handle = y.register_hook(lambda g: seen.append(g.copy()))
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_array_equal(seen[0], 1.0)
    np.testing.assert_array_equal(x.grad, 20.0)
    handle.remove()
    x.zero_grad()
    y2 = x * 2
    y2.sum().backward()
    assert len(seen) == 1


def test_hook_on_leaf_runs_before_accumulation():
    x = Tensor(np.ones(2), requires_grad=True)
    x.register_hook(lambda g: g * 0)
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad, 0.0)


def test_graph_is_freed_unless_retained():
    x = Tensor(np.ones(2), requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, 4.0)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_errors():
    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="one-element"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(1)).backward()
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(np.ones(3))
    with pytest.raises(TypeError, match="floating-point"):
        Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(2)).register_hook(print)


def test_explicit_grad_argument():
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    (x * 3).backward(np.full((2, 2), 2.0))
    np.testing.assert_array_equal(x.grad, 6.0)


def test_attributes_and_repr():
    t = Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.dtype == np.float32 and len(t) == 2
    assert t.size() == (2, 3) and t.size(1) == 3 and t.numel() == 6
    assert "requires_grad=True" in repr(t)
    assert "grad_fn=<Mul>" in repr(t * 2)
    assert Tensor(np.array(3.5)).item() == 3.5


def test_manual_seed_repeats_the_shared_generator():
    fastconv.manual_seed(7)
    a = fastconv.random.generator().random(3)
    fastconv.manual_seed(7)
    np.testing.assert_array_equal(a, fastconv.random.generator().random(3))
    state = fastconv.random.get_rng_state()
    b = fastconv.random.generator().random(2)
    fastconv.random.set_rng_state(state)
    np.testing.assert_array_equal(b, fastconv.random.generator().random(2))
    with pytest.raises(ValueError, match="seed"):
        fastconv.manual_seed(-1)


def test_the_graph_keeps_only_what_backward_saved():
    import weakref
    from fastconv.nn import functional as F
    x = Tensor(np.ones(4), requires_grad=True)
    t = x + 1.0                      # Add saves nothing; ReLU keeps only its output
    y = F.relu(t)
    freed = weakref.ref(t.data)
    del t
    assert freed() is None
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, 1.0)


def test_deep_chain_does_not_recurse():
    x = Tensor(np.ones(1), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, 1.0)
