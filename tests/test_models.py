"""fastconv.models: shapes, torchvision's parameter names/shapes/counts, gradients reaching
every parameter, overfitting a small batch, and the same logits as a PyTorch twin."""
import numpy as np
import pytest

import fastconv
from fastconv import Tensor, models, nn, optim
from fastconv.nn import init

# torchvision's counts for 1000 classes and 3 input channels.
TORCHVISION_PARAMETERS = {
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "alexnet": 61_100_840, "vgg11": 132_863_336, "vgg11_bn": 132_868_840,
    "vgg16": 138_357_544, "vgg16_bn": 138_365_992,
}


@pytest.fixture
def cheap_init(monkeypatch):
    """Constant instead of random initial values: the ImageNet-size models (up to 138M
    parameters) are built in a fraction of a second when only shapes matter or the weights
    are overwritten anyway."""
    def fill(tensor, *args, **kwargs):
        return init.constant_(tensor, 0.01)
    monkeypatch.setattr(init, "uniform_", fill)
    monkeypatch.setattr(init, "normal_", fill)


def count(model):
    return sum(p.data.size for p in model.parameters())


def entry_shapes(model):
    return {k: tuple(t.data.shape) for k, t in model._state_entries().items()}


def test_registry():
    names = models.list_models()
    assert names == sorted(names)
    assert {"lenet5", "simple_mlp", "simple_cnn", *TORCHVISION_PARAMETERS} <= set(names)
    assert isinstance(models.get_model("lenet5"), models.LeNet5)
    with pytest.raises(ValueError, match="unknown model 'lenet6'.*lenet5"):
        models.get_model("lenet6")


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMETERS))
def test_parameter_count_equals_torchvision(name, cheap_init):
    assert count(models.get_model(name)) == TORCHVISION_PARAMETERS[name]


def test_small_models_parameter_counts():
    assert count(models.lenet5()) == 61_706      # C1 156, C3 2,416, C5 48,120, F6 10,164, out 850
    assert count(models.lenet5(input_size=28)) == 61_706
    assert count(models.simple_mlp()) == 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10
    assert count(models.simple_cnn()) == (32 * 9 + 32) + (64 * 32 * 9 + 64) + (1600 * 120 + 120) \
        + (120 * 84 + 84) + (84 * 10 + 10)
    assert models.simple_cnn().fc1.weight.shape == (120, 64 * 5 * 5)


def test_torchvision_names():
    keys = list(models.resnet18().state_dict())
    assert keys[:6] == ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean",
                        "bn1.running_var", "bn1.num_batches_tracked"]
    assert "layer1.0.conv1.weight" in keys and "layer2.0.downsample.0.weight" in keys
    assert "layer2.0.downsample.1.running_var" in keys and keys[-2:] == ["fc.weight", "fc.bias"]
    assert "layer1.0.downsample.0.weight" not in keys   # no projection where shapes agree
    assert models.resnet18(cifar_stem=True).conv1.weight.shape == (64, 3, 3, 3)


def test_constructor_arguments():
    assert models.lenet5(num_classes=7, in_channels=3).features[0].weight.shape == (6, 3, 5, 5)
    assert models.lenet5(input_size=28).features[0].padding == (2, 2)
    with pytest.raises(ValueError, match="input_size"):
        models.lenet5(input_size=30)
    with pytest.raises(ValueError, match="activation"):
        models.lenet5(activation="gelu")
    classic = models.lenet5(activation="tanh", pooling="avg")
    assert isinstance(classic.features[1], nn.Tanh) and isinstance(classic.features[2], nn.AvgPool2d)
    assert models.resnet50(num_classes=5, in_channels=1).fc.weight.shape == (5, 2048)
    assert models.simple_mlp(in_channels=3, input_size=32).fc1.weight.shape == (512, 3072)


# (name, kwargs, input shape): small spatial sizes; the ImageNet models use cheap_init.
SMALL_CASES = [
    ("lenet5", {}, (2, 1, 32, 32)),
    ("lenet5", {"input_size": 28, "activation": "tanh", "pooling": "avg"}, (2, 1, 28, 28)),
    ("simple_mlp", {}, (2, 1, 28, 28)),
    ("simple_cnn", {"in_channels": 3, "input_size": 32}, (2, 3, 32, 32)),
    ("resnet18", {"cifar_stem": True}, (2, 3, 16, 16)),
]
LARGE_CASES = [
    ("resnet34", {}, (2, 3, 32, 32)),
    ("resnet50", {"in_channels": 1}, (2, 1, 32, 32)),
    ("alexnet", {}, (1, 3, 64, 64)),
    ("vgg11_bn", {}, (1, 3, 32, 32)),
    ("vgg16", {}, (1, 3, 32, 32)),
]
# Their structure is a sibling's plus or minus batch-norm: forward only, to save time.
FORWARD_ONLY_CASES = [("vgg11", (1, 3, 32, 32)), ("vgg16_bn", (1, 3, 32, 32))]


def check_forward_backward(name, kwargs, shape):
    model = models.get_model(name, num_classes=6, **kwargs)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    out = model(Tensor(x))
    assert out.shape == (shape[0], 6) and out.dtype == np.float32
    (out * Tensor(np.arange(6, dtype=np.float32))).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient reached {missing}"
    for _, p in model.named_parameters():
        assert p.grad.shape == p.data.shape


@pytest.mark.parametrize("name, kwargs, shape", SMALL_CASES)
def test_forward_shape_and_every_parameter_gets_a_gradient(name, kwargs, shape):
    fastconv.manual_seed(0)
    check_forward_backward(name, kwargs, shape)


@pytest.mark.parametrize("name, kwargs, shape", LARGE_CASES)
def test_imagenet_models_forward_and_backward(name, kwargs, shape, cheap_init):
    check_forward_backward(name, kwargs, shape)


@pytest.mark.parametrize("name, shape", FORWARD_ONLY_CASES)
def test_imagenet_models_forward(name, shape, cheap_init):
    model = models.get_model(name, num_classes=6)
    with fastconv.no_grad():
        assert model(Tensor(np.zeros(shape, np.float32))).shape == (shape[0], 6)


def test_fused_paths_equal_the_modules_one_by_one():
    """A forward hook turns the fusion off for that layer; the results must not change."""
    fastconv.manual_seed(1)
    model = models.resnet18(num_classes=4, cifar_stem=True)
    x = Tensor(np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32))
    fused = model(x).data
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.ReLU)):
            m.register_forward_hook(lambda *args: None)
    for m in model.modules():   # the forward above updated the running stats: undo it
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
    np.testing.assert_allclose(model(x).data, fused, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name, kwargs, shape", [
    ("resnet18", dict(cifar_stem=True), (2, 3, 8, 8)),      # BasicBlocks, a 1x1 downsample
    ("resnet50", dict(), (1, 3, 32, 32)),                   # Bottlenecks, the ImageNet stem
    ("vgg11_bn", dict(pool_size=1, classifier_width=8), (1, 3, 32, 32)),  # conv -> bn -> relu
])
def test_eval_mode_conv_batch_norm_fusion_keeps_the_bits(name, kwargs, shape, monkeypatch):
    """In eval mode each convolution and its batch-norm run as one node; with hooks on the
    batch-norms (which turn the fusion off) the outputs and the input's gradient are the
    same bits."""
    fused_calls = []
    fused_forward = nn.Conv2d.forward_batch_norm
    monkeypatch.setattr(nn.Conv2d, "forward_batch_norm",
                        lambda *args: fused_calls.append(1) or fused_forward(*args))
    fastconv.manual_seed(2)
    model = models.get_model(name, num_classes=3, **kwargs)
    rng = np.random.default_rng(2)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            for array, low in ((m.running_mean.data, -0.5), (m.running_var.data, 0.5),
                               (m.weight.data, 0.5), (m.bias.data, -0.5)):
                array[...] = rng.uniform(low, low + 1, array.shape)
    model.eval()
    x = rng.standard_normal(shape).astype(np.float32)

    def run():
        with fastconv.no_grad():
            inference = model(Tensor(x)).data
        t = Tensor(x, requires_grad=True)
        out = model(t)
        out.backward(np.ones(out.shape, np.float32))
        return inference, out.data, t.grad

    fused = run()
    convolutions = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    assert len(fused_calls) == 2 * convolutions     # every one fused, in both runs
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.register_forward_hook(lambda *args: None)
    unfused = run()
    assert len(fused_calls) == 2 * convolutions
    for a, b in zip(fused, unfused):
        assert a.tobytes() == b.tobytes()


# ---- overfitting a small batch -------------------------------------------------------------

def overfit(model, shape, classes, steps, lr=1e-3, target=0.05):
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal(shape).astype(np.float32))
    y = np.arange(shape[0]) % classes
    opt = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        if loss.item() < target:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < target, f"loss still {loss.item():.4f} after {steps} steps"
    model.eval()
    assert np.array_equal(np.argmax(model(x).data, axis=1), y)


def test_overfit_lenet5():
    fastconv.manual_seed(0)
    overfit(models.lenet5(input_size=28), (16, 1, 28, 28), 10, steps=150, lr=3e-3)


def test_overfit_simple_cnn():
    fastconv.manual_seed(0)
    overfit(models.simple_cnn(), (16, 1, 28, 28), 10, steps=100, lr=2e-3)


def test_overfit_vgg11_small_input():
    """VGG-11's whole convolutional trunk at 32x32, with the CIFAR-style head (1x1 pooling,
    512-wide classifier, no dropout) that small inputs call for."""
    fastconv.manual_seed(0)
    model = models.vgg11(num_classes=2, pool_size=1, classifier_width=512, dropout=0.0)
    overfit(model, (2, 3, 32, 32), 2, steps=30, lr=3e-4)


def test_overfit_resnet18_cifar_stem():
    """ResNet-18 with the CIFAR stem; 16x16 images keep the test quick (32x32 costs 4x)."""
    fastconv.manual_seed(0)
    overfit(models.resnet18(num_classes=4, cifar_stem=True), (4, 3, 16, 16), 4, steps=60)


# ---- the same logits as PyTorch (torchvision's structure, written out) ----------------------

def torch_twins():
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class BasicBlock(tnn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.relu = tnn.ReLU(inplace=True)
            self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    class Bottleneck(tnn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = tnn.Conv2d(inplanes, planes, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.conv3 = tnn.Conv2d(planes, planes * 4, 1, bias=False)
            self.bn3 = tnn.BatchNorm2d(planes * 4)
            self.relu = tnn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            return self.relu(self.bn3(self.conv3(out)) + identity)

    class ResNet(tnn.Module):
        def __init__(self, block, layers, num_classes=1000):
            super().__init__()
            self.inplanes = 64
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = tnn.BatchNorm2d(64)
            self.relu = tnn.ReLU(inplace=True)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
            self.layer1 = self._make_layer(block, 64, layers[0])
            self.layer2 = self._make_layer(block, 128, layers[1], 2)
            self.layer3 = self._make_layer(block, 256, layers[2], 2)
            self.layer4 = self._make_layer(block, 512, layers[3], 2)
            self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
            self.fc = tnn.Linear(512 * block.expansion, num_classes)

        def _make_layer(self, block, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = tnn.Sequential(
                    tnn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                    tnn.BatchNorm2d(planes * block.expansion))
            layers = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
            return tnn.Sequential(*layers)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    def vgg11_bn(pool_size=7, width=4096):
        layers, c = [], 3
        for v in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
            if v == "M":
                layers.append(tnn.MaxPool2d(2, 2))
            else:
                layers += [tnn.Conv2d(c, v, 3, padding=1), tnn.BatchNorm2d(v), tnn.ReLU(True)]
                c = v
        model = tnn.Module()
        model.features = tnn.Sequential(*layers)
        model.avgpool = tnn.AdaptiveAvgPool2d((pool_size, pool_size))
        model.classifier = tnn.Sequential(
            tnn.Linear(512 * pool_size ** 2, width), tnn.ReLU(True), tnn.Dropout(),
            tnn.Linear(width, width), tnn.ReLU(True), tnn.Dropout(), tnn.Linear(width, 1000))
        model.forward = lambda x: model.classifier(
            torch.flatten(model.avgpool(model.features(x)), 1))
        return model

    def alexnet():
        model = tnn.Module()
        model.features = tnn.Sequential(
            tnn.Conv2d(3, 64, 11, 4, 2), tnn.ReLU(True), tnn.MaxPool2d(3, 2),
            tnn.Conv2d(64, 192, 5, padding=2), tnn.ReLU(True), tnn.MaxPool2d(3, 2),
            tnn.Conv2d(192, 384, 3, padding=1), tnn.ReLU(True),
            tnn.Conv2d(384, 256, 3, padding=1), tnn.ReLU(True),
            tnn.Conv2d(256, 256, 3, padding=1), tnn.ReLU(True), tnn.MaxPool2d(3, 2))
        model.avgpool = tnn.AdaptiveAvgPool2d((6, 6))
        model.classifier = tnn.Sequential(
            tnn.Dropout(), tnn.Linear(256 * 36, 4096), tnn.ReLU(True),
            tnn.Dropout(), tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Linear(4096, 1000))
        model.forward = lambda x: model.classifier(
            torch.flatten(model.avgpool(model.features(x)), 1))
        return model

    return torch, {
        "resnet18": lambda: ResNet(BasicBlock, [2, 2, 2, 2]),
        "resnet34": lambda: ResNet(BasicBlock, [3, 4, 6, 3]),
        "resnet50": lambda: ResNet(Bottleneck, [3, 4, 6, 3]),
        "vgg11_bn": vgg11_bn,
        "vgg11_bn_small_head": lambda: vgg11_bn(pool_size=1, width=64),
        "alexnet": alexnet,
    }


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50", "vgg11_bn", "alexnet"])
def test_torchvision_structure_names_and_shapes(name, cheap_init):
    torch, twins = torch_twins()
    with torch.device("meta"):
        reference = twins[name]()
    expected = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    assert entry_shapes(models.get_model(name)) == expected


@pytest.mark.parametrize("name, size", [("resnet18", 64), ("resnet50", 32),
                                        ("vgg11_bn_small_head", 32), ("alexnet", 64)])
def test_exported_torch_state_dict_gives_the_same_logits(name, size, tmp_path, cheap_init):
    """VGG's trunk is checked under a small head (pool_size=1, classifier_width=64) to spare
    moving 0.5 GB; its full-size names and shapes are checked above."""
    torch, twins = torch_twins()
    torch.manual_seed(0)
    reference = twins[name]()
    with torch.no_grad():   # non-trivial running statistics, so eval mode is really tested
        for m in reference.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    reference.eval()
    path = tmp_path / f"{name}.npz"
    np.savez(path, **{k: v.numpy() for k, v in reference.state_dict().items()})
    if name == "vgg11_bn_small_head":
        model = models.vgg11_bn(pool_size=1, classifier_width=64)
    else:
        model = models.get_model(name)
    with np.load(path, allow_pickle=False) as npz:
        result = model.load_state_dict(npz, strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    model.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    with fastconv.no_grad():
        got = model(Tensor(x)).data
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * scale)
    assert np.array_equal(got.argmax(1), expected.argmax(1))
