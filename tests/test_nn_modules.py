"""fastconv.nn modules: registration and naming, state_dict, train/eval, hooks, init,
fusion, repr, a whole small model against finite differences, and a tiny overfit."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import fastconv
from fastconv import Tensor, nn
from fastconv.nn import functional as F
from tensor_gradcheck import check_gradients
from thread_count import with_threads

rng = np.random.default_rng(2)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        out = self.bn1.forward_relu(self.conv1(x))
        return F.add_relu(self.bn2(self.conv2(out)), x)


class TinyResNet(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(2)
        self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(Block(2), Block(2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, classes)

    def forward(self, x):
        x = self.layer1(self.relu(self.bn1(self.conv1(x))))
        return self.fc(self.pool(x).flatten(1))


def test_pytorch_style_names():
    names = [n for n, _ in TinyResNet().named_parameters()]
    assert names[:4] == ["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias"]
    assert "layer1.0.conv1.weight" in names and "layer1.1.bn2.bias" in names
    assert names[-2:] == ["fc.weight", "fc.bias"]
    buffers = [n for n, _ in TinyResNet().named_buffers()]
    assert buffers[:3] == ["bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked"]
    model = TinyResNet()
    assert [n for n, _ in model.named_children()] == ["conv1", "bn1", "relu", "layer1", "pool", "fc"]
    assert [n for n, _ in model.named_modules()][:5] == ["", "conv1", "bn1", "relu", "layer1"]
    assert len(list(model.modules())) == 1 + 6 + 2 * 5


def test_parameter_counts_match_the_formulas():
    assert sum(p.numel() for p in nn.Conv2d(3, 64, 7, 2, 3, bias=False).parameters()) == 9408
    assert sum(p.numel() for p in nn.Conv2d(4, 8, 3, groups=2).parameters()) == 8 * 2 * 9 + 8
    assert sum(p.numel() for p in nn.Linear(512, 1000).parameters()) == 513000
    assert sum(p.numel() for p in nn.BatchNorm2d(64).parameters()) == 128
    assert sum(p.numel() for p in nn.Conv1d(3, 5, 4).parameters()) == 65


def test_default_initialisation_statistics():
    fastconv.manual_seed(0)
    conv = nn.Conv2d(64, 128, 3)
    bound = 1 / math.sqrt(64 * 9)   # kaiming_uniform(a=sqrt(5)) gives U(+-1/sqrt(fan_in))
    w = conv.weight.data
    assert w.dtype == np.float32 and np.abs(w).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert abs(w.mean()) < 0.01 * bound
    assert np.abs(conv.bias.data).max() <= bound and conv.bias.data.std() > 0.4 * bound
    lin = nn.Linear(300, 200)
    assert np.abs(lin.weight.data).max() <= 1 / math.sqrt(300)
    bn = nn.BatchNorm2d(5)
    np.testing.assert_array_equal(bn.weight.data, 1)
    np.testing.assert_array_equal(bn.bias.data, 0)
    np.testing.assert_array_equal(bn.running_var.data, 1)


def test_initialisation_is_seeded_by_manual_seed():
    fastconv.manual_seed(4)
    a = TinyResNet().state_dict()
    fastconv.manual_seed(4)
    b = TinyResNet().state_dict()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_init_functions():
    from fastconv.nn import init
    t = Tensor(np.empty((100, 50)))
    init.xavier_uniform_(t)
    assert np.abs(t.data).max() <= math.sqrt(6 / 150)
    init.kaiming_normal_(t, nonlinearity="relu")
    assert abs(t.data.std() - math.sqrt(2 / 50)) < 0.02
    init.constant_(t, 3)
    assert (t.data == 3).all()
    assert init.calculate_gain("relu") == math.sqrt(2)
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("bogus")


def test_state_dict_round_trip_and_copies():
    fastconv.manual_seed(1)
    a, b = TinyResNet(), TinyResNet()
    a.train()
    a(Tensor(rng.standard_normal((4, 1, 5, 5)).astype(np.float32)))   # moves running stats
    state = a.state_dict()
    assert "bn1.num_batches_tracked" in state and state["bn1.num_batches_tracked"] == 1
    result = b.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for key, value in b.state_dict().items():
        np.testing.assert_array_equal(value, state[key])
    state["fc.bias"][...] = 99                  # a copy: the model is not changed
    assert not (a.fc.bias.data == 99).any()
    a.eval(), b.eval()
    x = Tensor(rng.standard_normal((2, 1, 5, 5)).astype(np.float32))
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_from_npz(tmp_path):
    model = TinyResNet()
    np.savez(tmp_path / "m.npz", **model.state_dict())
    other = TinyResNet()
    with np.load(tmp_path / "m.npz") as npz:
        other.load_state_dict(npz)
    np.testing.assert_array_equal(other.fc.weight.data, model.fc.weight.data)


def test_strict_loading_names_missing_and_unexpected_keys():
    model = TinyResNet()
    state = model.state_dict()
    del state["bn1.running_mean"]
    state["head.weight"] = np.zeros(3)
    with pytest.raises(RuntimeError, match=r"Missing key\(s\).*'bn1.running_mean'") as info:
        model.load_state_dict(state)
    assert "Unexpected key(s) in state_dict: 'head.weight'" in str(info.value)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["bn1.running_mean"]
    assert result.unexpected_keys == ["head.weight"]
    state = model.state_dict()
    state["fc.weight"] = np.zeros((4, 2))
    with pytest.raises(RuntimeError, match="size mismatch for fc.weight"):
        model.load_state_dict(state, strict=False)


def test_batch_norm_train_and_eval():
    bn = nn.BatchNorm2d(3, momentum=0.5)
    x = rng.standard_normal((4, 3, 2, 2)) * 3 + 1
    y = bn(Tensor(x))
    np.testing.assert_allclose(y.data.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    mean = x.mean(axis=(0, 2, 3))
    np.testing.assert_allclose(bn.running_mean.data, 0.5 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, 0.5 + 0.5 * x.var(axis=(0, 2, 3), ddof=1),
                               rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    before = bn.running_mean.data.copy()
    y = bn(Tensor(x))
    np.testing.assert_array_equal(bn.running_mean.data, before)
    assert bn.num_batches_tracked.item() == 1
    expected = (x - before[:, None, None]) / np.sqrt(bn.running_var.data[:, None, None] + 1e-5)
    np.testing.assert_allclose(y.data, expected, rtol=1e-5, atol=1e-5)


def test_batch_norm_cumulative_average_and_no_tracking():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [rng.standard_normal((5, 2)) + i for i in range(3)]
    for b in batches:
        bn(Tensor(b))
    np.testing.assert_allclose(bn.running_mean.data, np.mean([b.mean(0) for b in batches], 0),
                               rtol=1e-5)
    assert bn.num_batches_tracked.item() == 3
    free = nn.BatchNorm1d(2, track_running_stats=False, affine=False).eval()
    assert list(free.state_dict()) == [] and list(free.parameters()) == []
    y = free(Tensor(batches[2]))        # batch statistics even in eval
    np.testing.assert_allclose(y.data.mean(0), 0, atol=1e-6)
    with pytest.raises(ValueError, match="BatchNorm1d expects"):
        bn(Tensor(np.ones((2, 2, 2, 2))))
    with pytest.raises(ValueError, match="BatchNorm2d expects"):
        nn.BatchNorm2d(2)(Tensor(np.ones((2, 2))))


def test_dropout_module_train_and_eval():
    drop = nn.Dropout(0.5)
    x = Tensor(np.ones((20, 20)))
    assert (drop(x).data == 0).any()
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(2)


def test_train_eval_propagate_to_every_descendant():
    model = TinyResNet().eval()
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_and_backward_reaches_every_parameter():
    model = TinyResNet()
    x = Tensor(rng.standard_normal((4, 1, 5, 5)).astype(np.float32))
    F.cross_entropy(model(x), np.array([0, 1, 2, 0])).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert np.abs(p.grad).sum() > 0, name
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_forward_hooks_can_read_and_replace_outputs():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    seen = []
    handle = model[1].register_forward_hook(lambda m, args, out: seen.append(out.shape))
    model[2].register_forward_hook(lambda m, args, out: out * 0)
    pre = model[0].register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    out = model(Tensor(np.ones((5, 3))))
    assert seen == [(5, 4)] and (out.data == 0).all()
    handle.remove(), pre.remove()
    model(Tensor(np.ones((5, 3))))
    assert len(seen) == 1


def test_backward_hooks_see_output_and_input_gradients():
    lin = nn.Linear(3, 2).double()
    calls = []
    lin.register_full_backward_hook(
        lambda m, gin, gout: calls.append((gin[0] is None or gin[0].copy(), gout[0].copy())))
    x = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    g = rng.standard_normal((4, 2))
    lin(x).backward(g)
    grad_in, grad_out = calls[0]
    np.testing.assert_array_equal(grad_out, g)
    np.testing.assert_allclose(grad_in, g @ lin.weight.data)
    np.testing.assert_allclose(x.grad, grad_in)
    lin(Tensor(x.data)).backward(g)      # input needs no gradient: grad_input is None
    assert calls[1][0] is True
    lin.register_full_backward_hook(lambda m, gin, gout: (gin[0] * 0,))
    x.zero_grad()
    lin(x).backward(g)
    np.testing.assert_array_equal(x.grad, 0)


def test_to_double_and_whole_model_gradients_match_finite_differences():
    fastconv.manual_seed(0)
    model = TinyResNet().double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model.bn1.running_mean.dtype == np.float64
    x = rng.standard_normal((3, 1, 4, 4))
    target = np.array([0, 2, 1])
    params = list(model.parameters())
    leaves = check_gradients(lambda x, *values: _model_loss(model, params, x, values, target),
                             x, *[p.data for p in params], rtol=1e-4, atol=1e-6)
    assert len(leaves) == 1 + len(params)


def _model_loss(model, params, x, values, target):
    """The loss of `model` on (x, target) with each parameter swapped for the given Tensor,
    so that gradients (and finite differences) are taken with respect to those."""
    slots = [(m, n, m._parameters[n]) for m in model.modules() for n in m._parameters
             if m._parameters[n] is not None]
    replacement = {id(p): v for p, v in zip(params, values)}
    try:
        for m, n, p in slots:
            m._parameters[n] = replacement[id(p)]
        return F.cross_entropy(model(x), target)
    finally:
        for m, n, p in slots:
            m._parameters[n] = p


def test_fuse_conv_bn_eval_equals_unfused():
    fastconv.manual_seed(2)
    for conv in (nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.Conv2d(3, 4, 3, bias=False)):
        bn = nn.BatchNorm2d(4)
        bn.running_mean.data[...] = rng.standard_normal(4)
        bn.running_var.data[...] = rng.uniform(0.5, 2, 4)
        bn.weight.data[...] = rng.standard_normal(4)
        bn.bias.data[...] = rng.standard_normal(4)
        bn.eval()
        x = Tensor(rng.standard_normal((2, 3, 7, 7)).astype(np.float32))
        fused = nn.fuse_conv_bn_eval(conv, bn)
        np.testing.assert_allclose(fused(x).data, bn(conv(x)).data, rtol=1e-5, atol=1e-5)
        assert fused.weight is not conv.weight and fused.bias is not None
    with pytest.raises(TypeError, match="convolution and a batch-norm"):
        nn.fuse_conv_bn_eval(nn.Linear(2, 2), bn)
    with pytest.raises(ValueError, match="running statistics"):
        nn.fuse_conv_bn_eval(conv, nn.BatchNorm2d(4, track_running_stats=False))


def test_fused_module_paths_equal_unfused():
    fastconv.manual_seed(3)
    conv, bn = nn.Conv2d(2, 3, 3, padding=1).double(), nn.BatchNorm2d(3).double()
    x = rng.standard_normal((2, 2, 4, 4))
    np.testing.assert_array_equal(conv.forward_relu(Tensor(x)).data,
                                  F.relu(conv(Tensor(x))).data)
    h = conv(Tensor(x))
    a = bn.forward_relu(h)
    bn2 = nn.BatchNorm2d(3).double()
    np.testing.assert_array_equal(a.data, F.relu(bn2(h)).data)
    np.testing.assert_array_equal(bn.running_var.data, bn2.running_var.data)


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.Linear(2, 1))
    assert len(list(layers.parameters())) == 8 and len(layers) == 4
    with pytest.raises(IndexError):
        seq[5]


def test_attribute_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(np.ones(2))
    m.child = nn.Linear(2, 2)
    m.register_buffer("stat", np.zeros(2))
    m.register_buffer("scratch", np.zeros(2), persistent=False)
    assert isinstance(m.stat, Tensor)
    assert list(m.state_dict()) == ["w", "stat", "child.weight", "child.bias"]
    shared = nn.Linear(2, 2)
    pair = nn.Sequential(shared, shared)
    assert len(list(pair.parameters())) == 2
    with pytest.raises(TypeError, match="Parameter or None"):
        m.w = np.ones(2)
    m.w = None
    assert m.w is None and list(dict(m.named_parameters())) == ["child.weight", "child.bias"]
    del m.child
    with pytest.raises(AttributeError):
        m.child


def test_repr_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2, bias=False), nn.BatchNorm2d(6),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.2),
                         nn.Linear(6 * 14 * 14, 10), nn.Sequential(nn.Tanh(), nn.Identity()))
    tnn = torch.nn
    theirs = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2, bias=False), tnn.BatchNorm2d(6),
                            tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Dropout(0.2),
                            tnn.Linear(6 * 14 * 14, 10), tnn.Sequential(tnn.Tanh(), tnn.Identity()))
    # this torch build also prints BatchNorm's bias flag, which older releases do not
    assert repr(ours) == repr(theirs).replace("affine=True, bias=True", "affine=True")


def test_against_torch_module_forward_and_backward():
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class TorchBlock(tnn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = tnn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = tnn.BatchNorm2d(c)
            self.conv2 = tnn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = tnn.BatchNorm2d(c)

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(out)) + x)

    class TorchTiny(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1, self.relu = tnn.Conv2d(1, 2, 3, padding=1), tnn.BatchNorm2d(2), tnn.ReLU()
            self.layer1 = tnn.Sequential(TorchBlock(2), TorchBlock(2))
            self.pool, self.fc = tnn.AdaptiveAvgPool2d(1), tnn.Linear(2, 3)

        def forward(self, x):
            x = self.layer1(self.relu(self.bn1(self.conv1(x))))
            return self.fc(self.pool(x).flatten(1))

    theirs = TorchTiny().double()
    ours = TinyResNet().double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((4, 1, 6, 6))
    target = np.array([0, 1, 2, 1])
    for train in (True, False):
        ours.train(train), theirs.train(train)
        ours.zero_grad(), theirs.zero_grad()
        lo = F.cross_entropy(ours(Tensor(x)), target)
        lt = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(target))
        lo.backward(), lt.backward()
        np.testing.assert_allclose(lo.item(), lt.item(), rtol=1e-10)
        tgrads = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad, tgrads[name].grad.numpy(), rtol=1e-7, atol=1e-10)
        for name, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), rtol=1e-10)


def test_tiny_conv_net_overfits_eight_images():
    # Hundreds of steps on tiny arrays: one kernel thread keeps this fast on a busy machine.
    with_threads(1, _overfit)


def _overfit():
    fastconv.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(8, 4))
    data = np.random.default_rng(0)
    x = Tensor(data.standard_normal((8, 1, 8, 8)).astype(np.float32))
    y = np.arange(8) % 4
    loss_fn = nn.CrossEntropyLoss()
    first = None
    for step in range(400):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        first = loss.item() if first is None else first
        if loss.item() < 0.05:
            break
        loss.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad
    assert first > 1.0 and loss.item() < 0.05, (step, loss.item())


@pytest.mark.parametrize("module, fn, shape", [
    (nn.ReLU(), F.relu, (2, 3)), (nn.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2), (2, 3)),
    (nn.Sigmoid(), F.sigmoid, (2, 3)), (nn.Tanh(), F.tanh, (2, 3)),
    (nn.Softmax(dim=1), lambda x: F.softmax(x, 1), (2, 3)),
    (nn.LogSoftmax(dim=1), lambda x: F.log_softmax(x, 1), (2, 3)),
    (nn.Identity(), lambda x: x, (2, 3)), (nn.Flatten(), lambda x: x.reshape(2, -1), (2, 3, 2)),
    (nn.MaxPool2d(2), lambda x: F.max_pool2d(x, 2), (1, 2, 4, 4)),
    (nn.AvgPool2d(3, 1, 1), lambda x: F.avg_pool2d(x, 3, 1, 1), (1, 2, 4, 4)),
    (nn.AdaptiveAvgPool2d((1, 2)), lambda x: F.adaptive_avg_pool2d(x, (1, 2)), (1, 2, 4, 4)),
])
def test_parameterless_modules_equal_their_functions(module, fn, shape):
    x = Tensor(rng.standard_normal(shape))
    np.testing.assert_array_equal(module(x).data, fn(x).data)


def test_conv1d_and_losses_as_modules():
    conv = nn.Conv1d(2, 3, 3, padding=1).double()
    x = Tensor(rng.standard_normal((2, 2, 5)))
    np.testing.assert_array_equal(conv(x).data, F.conv1d(x, conv.weight, conv.bias, padding=1).data)
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    assert nn.MSELoss()(Tensor(a), Tensor(b)).item() == pytest.approx(((a - b) ** 2).mean())
    assert nn.MSELoss("sum")(Tensor(a), Tensor(b)).item() == pytest.approx(((a - b) ** 2).sum())
    logits = rng.standard_normal((4, 3))
    loss = nn.CrossEntropyLoss(reduction="none")(Tensor(logits), np.array([0, 1, 2, 0]))
    assert loss.shape == (4,)
