"""fastconv.nn.functional: every differentiable op against finite differences (float64),
the fused paths against their unfused compositions, batch-norm buffers and dropout."""
import numpy as np
import pytest

import fastconv
from fastconv import Tensor, ops
from fastconv.nn import functional as F
from tensor_gradcheck import check_gradients

rng = np.random.default_rng(1)


def rand(*shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("kwargs", [
    dict(), dict(stride=2, padding=1), dict(padding=2, dilation=2), dict(groups=2, padding=1),
])
def test_conv2d_gradients(kwargs):
    check_gradients(lambda x, w, b: F.conv2d(x, w, b, **kwargs),
                    rand(2, 4, 5, 5), rand(4, 4 // kwargs.get("groups", 1), 3, 3), rand(4))


def test_conv2d_without_bias_and_conv1d():
    check_gradients(lambda x, w: F.conv2d(x, w, stride=(1, 2)), rand(1, 2, 4, 5), rand(3, 2, 2, 2))
    check_gradients(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2),
                    rand(2, 3, 9), rand(4, 3, 3), rand(4))


def test_conv2d_relu_gradients_and_equality_with_unfused():
    check_gradients(lambda x, w, b: F.conv2d_relu(x, w, b, padding=1),
                    rand(2, 3, 4, 4), rand(4, 3, 3, 3), rand(4))
    x, w, b = rand(2, 3, 6, 6), rand(5, 3, 3, 3), rand(5)
    fused = [Tensor(a.copy(), requires_grad=True) for a in (x, w, b)]
    plain = [Tensor(a.copy(), requires_grad=True) for a in (x, w, b)]
    g = rand(2, 5, 3, 3)
    y1 = F.conv2d_relu(*fused, stride=2, padding=1)
    y2 = F.relu(F.conv2d(*plain, stride=2, padding=1))
    np.testing.assert_allclose(y1.data, y2.data, rtol=0, atol=0)
    y1.backward(g)
    y2.backward(g)
    for a, c in zip(fused, plain):
        np.testing.assert_allclose(a.grad, c.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool", [dict(kernel_size=2), dict(kernel_size=3, pool_stride=2,
                                                              pool_padding=1, ceil_mode=True)])
def test_conv2d_relu_max_pool2d_is_bitwise_the_unfused_chain(dtype, pool):
    check_gradients(lambda x, w, b: F.conv2d_relu_max_pool2d(x, w, b, padding=1, **pool),
                    rand(2, 2, 5, 5), rand(3, 2, 3, 3), rand(3))
    x, w, b = rand(2, 3, 8, 8).astype(dtype), rand(5, 3, 3, 3).astype(dtype), rand(5).astype(dtype)
    b[0] = -100.0              # a channel all zero after ReLU: its windows' maxima are ties at 0
    x[0, 0, 0, 0] = np.nan     # NaN reaches every channel of some windows
    fused = [Tensor(a.copy(), requires_grad=True) for a in (x, w, b)]
    plain = [Tensor(a.copy(), requires_grad=True) for a in (x, w, b)]
    y1 = F.conv2d_relu_max_pool2d(*fused, padding=1, **pool)
    y2 = F.max_pool2d(F.relu(F.conv2d(*plain, padding=1)), pool["kernel_size"],
                      pool.get("pool_stride"), pool.get("pool_padding", 0),
                      ceil_mode=pool.get("ceil_mode", False))
    assert y1.dtype == dtype
    np.testing.assert_array_equal(y1.data, y2.data)
    g = rand(*y1.shape).astype(dtype)
    y1.backward(g)
    y2.backward(g)
    for a, c in zip(fused, plain):
        assert a.grad.tobytes() == c.grad.tobytes()


def test_conv_backward_asks_only_for_the_gradients_that_flow(monkeypatch):
    masks, conv2d_backward = [], ops.conv2d_backward

    def spy(grad_out, x, weight, output_mask, **geometry):
        masks.append(output_mask)
        return conv2d_backward(grad_out, x, weight, output_mask=output_mask, **geometry)

    monkeypatch.setattr(F.Conv2d, "backward_op", staticmethod(spy))
    monkeypatch.setattr(ops, "conv2d_backward", spy)        # the fused conv + ReLU's call
    image = Tensor(rand(2, 3, 5, 5))                        # data: needs no gradient
    weight, bias = Tensor(rand(4, 3, 3, 3), requires_grad=True), Tensor(rand(4))  # frozen bias
    F.conv2d(image, weight, bias, padding=1).sum().backward()
    assert masks == [(False, True, False)]
    assert weight.grad is not None and bias.grad is None and image.grad is None
    hidden = Tensor(rand(2, 3, 5, 5), requires_grad=True)
    F.conv2d_relu(hidden, Tensor(rand(4, 3, 3, 3)), bias.requires_grad_()).sum().backward()
    assert masks[1:] == [(True, False, True)]
    assert hidden.grad is not None and bias.grad is not None


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool2d(x, 2), lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda x: F.max_pool2d(x, 2, 1, dilation=2),
    lambda x: F.avg_pool2d(x, 2), lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, divisor_override=5),
    lambda x: F.adaptive_avg_pool2d(x, (2, 3)), lambda x: F.adaptive_avg_pool2d(x, 1),
])
def test_pooling_gradients(fn):
    check_gradients(fn, rand(2, 2, 5, 6))


@pytest.mark.parametrize("shape", [(6, 3), (3, 2, 5), (2, 3, 3, 4)])
def test_batch_norm_training_gradients(shape):
    C = shape[1]
    check_gradients(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                    rand(*shape), rand(C), rand(C))


def test_batch_norm_eval_gradients_use_running_statistics():
    mean, var = rand(3), rng.uniform(0.5, 2, 3)
    check_gradients(lambda x, w, b: F.batch_norm(x, mean, var, w, b, training=False),
                    rand(2, 3, 2, 2), rand(3), rand(3))
    # eval without buffers uses the batch statistics, and differentiates through them
    check_gradients(lambda x: F.batch_norm(x, None, None, training=False), rand(4, 3))


def test_batch_norm_updates_running_buffers_like_the_op():
    x = rand(4, 3, 2, 2)
    rm, rv = np.zeros(3), np.ones(3)
    rm2, rv2 = np.zeros(3), np.ones(3)
    y = F.batch_norm(Tensor(x), Tensor(rm), Tensor(rv), training=True, momentum=0.2)
    expected = ops.batch_norm(x, rm2, rv2, training=True, momentum=0.2)
    np.testing.assert_array_equal(y.data, expected)
    np.testing.assert_array_equal(rm, rm2)
    np.testing.assert_array_equal(rv, rv2)
    assert not np.allclose(rm, 0)


def test_batch_norm_relu_matches_unfused():
    x, w, b = rand(4, 3, 3, 3), rand(3), rand(3)
    check_gradients(lambda x, w, b: F.batch_norm_relu(x, None, None, w, b, training=True), x, w, b)
    for training in (True, False):
        bufs = [(np.zeros(3), np.ones(3)) for _ in range(2)]
        t1 = [Tensor(a.copy(), requires_grad=True) for a in (x, w, b)]
        t2 = [Tensor(a.copy(), requires_grad=True) for a in (x, w, b)]
        y1 = F.batch_norm_relu(t1[0], *bufs[0], t1[1], t1[2], training=training)
        y2 = F.relu(F.batch_norm(t2[0], *bufs[1], t2[1], t2[2], training=training))
        np.testing.assert_array_equal(y1.data, y2.data)
        g = rand(*x.shape)
        y1.backward(g)
        y2.backward(g)
        for a, c in zip(t1, t2):
            np.testing.assert_allclose(a.grad, c.grad, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(bufs[0][0], bufs[1][0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("affine, has_bias", [(True, True), (False, False)])
def test_conv2d_batch_norm_is_bitwise_the_unfused_chain(dtype, relu, affine, has_bias):
    mean, var = rand(4), rng.uniform(0.5, 2, 4)
    check_gradients(lambda x, w, b, g, h: F.conv2d_batch_norm(x, w, b, mean, var, g, h, relu=relu,
                                                               stride=2, padding=1),
                    rand(2, 3, 5, 5), rand(4, 3, 3, 3), rand(4), rand(4), rand(4))
    x, w = rand(2, 4, 7, 7).astype(dtype), rand(6, 2, 3, 3).astype(dtype)
    b, g, h = (rand(6).astype(dtype) for _ in range(3))
    mean, var = rand(6).astype(np.float32), rng.uniform(0.5, 2, 6).astype(np.float32)
    x[0, 0, 0, 0] = np.nan
    inputs = [x, w, b if has_bias else None, g if affine else None, h if affine else None]
    fused = [None if a is None else Tensor(a.copy(), requires_grad=True) for a in inputs]
    plain = [None if a is None else Tensor(a.copy(), requires_grad=True) for a in inputs]
    geometry = dict(padding=1, groups=2)
    y1 = F.conv2d_batch_norm(*fused[:3], mean, var, *fused[3:], eps=1e-3, relu=relu, **geometry)
    y2 = F.batch_norm(F.conv2d(*plain[:3], **geometry), mean, var, *plain[3:], eps=1e-3)
    y2 = F.relu(y2) if relu else y2
    assert y1.dtype == dtype
    assert y1.data.tobytes() == y2.data.tobytes()
    grad = rand(*y1.shape).astype(dtype)
    y1.backward(grad)
    y2.backward(grad)
    for a, c in zip(fused, plain):
        assert a is None or a.grad.tobytes() == c.grad.tobytes()
    with fastconv.no_grad():      # unrecorded: nothing kept, the same output
        y3 = F.conv2d_batch_norm(x, w, inputs[2], mean, var, *inputs[3:], eps=1e-3, relu=relu,
                                 **geometry)
    assert y3.data.tobytes() == y1.data.tobytes() and y3.grad_fn is None


def test_conv2d_batch_norm_errors_name_the_argument():
    x, w, v = rand(1, 2, 4, 4), rand(3, 2, 3, 3), np.ones(3)
    with pytest.raises(ValueError, match="running_mean and running_var are required"):
        F.conv2d_batch_norm(x, w, None, None, v)
    with pytest.raises(ValueError, match="running_var must have shape"):
        F.conv2d_batch_norm(x, w, None, v, np.ones(2))
    with pytest.raises(ValueError, match="bn_weight must have shape"):
        F.conv2d_batch_norm(x, w, None, v, v, np.ones(4))
    with pytest.raises(ValueError, match="eps must be > 0"):
        F.conv2d_batch_norm(x, w, None, v, v, eps=0.0)
    with pytest.raises(ValueError, match="bn_bias must have shape"):
        F.conv2d_batch_norm(x, w, None, v, v, None, np.ones(2))
    with pytest.raises(ValueError, match="^bias must have shape"):
        F.conv2d_batch_norm(x, w, np.ones(2), v, v)


def test_add_relu_matches_unfused_with_broadcasting():
    check_gradients(F.add_relu, rand(2, 3, 4), rand(3, 1))
    a, b = rand(2, 3, 4), rand(2, 3, 4)
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    ua, ub = Tensor(a.copy(), requires_grad=True), Tensor(b.copy(), requires_grad=True)
    g = rand(2, 3, 4)
    y1, y2 = F.add_relu(ta, tb), F.relu(ua + ub)
    np.testing.assert_array_equal(y1.data, y2.data)
    y1.backward(g)
    y2.backward(g)
    np.testing.assert_array_equal(ta.grad, ua.grad)
    np.testing.assert_array_equal(tb.grad, ub.grad)


def test_linear_gradients():
    check_gradients(F.linear, rand(4, 5), rand(3, 5), rand(3))
    check_gradients(lambda x, w: F.linear(x, w), rand(2, 3, 5), rand(3, 5))


@pytest.mark.parametrize("fn", [
    F.relu, lambda x: F.leaky_relu(x, 0.2), F.sigmoid, F.tanh, lambda x: F.softmax(x, 1),
    lambda x: F.log_softmax(x, -1), lambda x: F.softmax(x, 0), lambda x: F.flatten(x),
])
def test_activation_gradients(fn):
    check_gradients(fn, rand(3, 4, 2))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_gradients(reduction, smoothing):
    target = np.array([0, 2, 1, 2])
    check_gradients(lambda x: F.cross_entropy(x, target, reduction, smoothing), rand(4, 3))
    # a Tensor target works the same and gets no gradient
    out = F.cross_entropy(Tensor(rand(4, 3), requires_grad=True), Tensor(target), reduction)
    assert out.requires_grad


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_gradients_for_input_and_target(reduction):
    check_gradients(lambda a, b: F.mse_loss(a, b, reduction), rand(3, 4), rand(3, 4))


def test_penalties():
    a, b = check_gradients(lambda a, b: F.l1_penalty([a, b]) + F.l2_penalty([a, b]) * 0.5,
                           rand(3, 2), rand(4))
    p = Tensor(np.array([[1.0, -2.0], [0.5, 0.0]]))
    assert F.l1_penalty([p]).item() == 3.5
    assert F.l2_penalty([p]).item() == 5.25
    assert F.l2_penalty([]).item() == 0.0


def test_dropout_gradient_with_a_fixed_mask():
    check_gradients(lambda x: F.dropout(x, 0.3, rng=np.random.default_rng(5)), rand(4, 5))


def test_dropout_uses_the_shared_generator_and_is_identity_in_eval():
    x = Tensor(np.ones((50, 40)))
    fastconv.manual_seed(3)
    a = F.dropout(x, 0.5)
    fastconv.manual_seed(3)
    b = F.dropout(x, 0.5)
    np.testing.assert_array_equal(a.data, b.data)
    assert set(np.unique(a.data)) <= {0.0, 2.0}
    assert 0.4 < (a.data == 0).mean() < 0.6
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="p must be in"):
        F.dropout(x, 1.5)


def test_ndarray_inputs_are_accepted():
    y = F.conv2d(rand(1, 1, 3, 3), rand(1, 1, 2, 2))
    assert isinstance(y, Tensor) and not y.requires_grad


def test_float32_gradients_stay_float32():
    x = Tensor(rand(2, 3, 5, 5).astype(np.float32), requires_grad=True)
    w = Tensor(rand(4, 3, 3, 3).astype(np.float32), requires_grad=True)
    F.max_pool2d(F.relu(F.conv2d(x, w)), 2).sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_op_errors_come_from_the_ops_layer():
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(Tensor(rand(1, 1, 3, 3)), Tensor(rand(1, 1, 2, 2)), stride=0)


def test_against_torch_functional():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x, w, b = rand(2, 3, 6, 6), rand(4, 3, 3, 3), rand(4)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    fx, fw, fb = (Tensor(a, requires_grad=True) for a in (x, w, b))
    target = np.array([1, 3])
    ours = F.cross_entropy(F.adaptive_avg_pool2d(F.batch_norm_relu(
        F.conv2d(fx, fw, fb, padding=1), None, None, training=True), 1).flatten(1), target)
    theirs = tF.cross_entropy(tF.adaptive_avg_pool2d(tF.relu(tF.batch_norm(
        tF.conv2d(tx, tw, tb, padding=1), None, None, training=True)), 1).flatten(1),
        torch.tensor(target))
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-10)
    for f, t in ((fx, tx), (fw, tw), (fb, tb)):
        np.testing.assert_allclose(f.grad, t.grad.numpy(), rtol=1e-8, atol=1e-10)
