"""fastconv.interpret: feature maps, filters, saliency (against finite differences), Grad-CAM
(against a case computed by hand in NumPy, and on a trained CNN: the heat lies on the digit),
bilinear upsampling, the model left as it was found, and the errors."""
import numpy as np
import pytest

import fastconv
from fastconv import interpret, models, nn, optim, reference, train
from fastconv.data import DataLoader, builtin_mnist_split
from fastconv.interpret import _resize_bilinear


def tiny_model():
    """conv (padding 1) -> batch-norm -> ReLU -> max-pool -> dropout -> linear, float64, with
    non-trivial running statistics, so eval mode matters."""
    fastconv.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Dropout(0.5), nn.Flatten(), nn.Linear(27, 4))
    model.double()
    rng = np.random.default_rng(1)
    model[1].running_mean.data[:] = rng.normal(0, 0.3, 3)
    model[1].running_var.data[:] = rng.uniform(0.5, 2, 3)
    return model


def images(n=3, shape=(2, 6, 6), seed=0):
    return np.random.default_rng(seed).standard_normal((n,) + shape)


# ---- feature maps and filters ----------------------------------------------------------------

def test_feature_maps_are_the_layers_output():
    model, x = tiny_model(), images()
    maps = interpret.feature_maps(model, x, "0")
    conv = model[0]
    expected = reference.conv2d(x, conv.weight.data, conv.bias.data, padding=1)
    assert maps.shape == (3, 3, 6, 6)
    np.testing.assert_allclose(maps, expected, rtol=1e-10, atol=1e-12)
    assert interpret.feature_maps(model, x, model[3]).shape == (3, 3, 3, 3)   # a module works too


def test_feature_maps_of_every_named_lenet5_layer_have_the_expected_shapes():
    fastconv.manual_seed(0)
    model = models.lenet5(input_size=28)
    x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    expected = {"features.0": (2, 6, 28, 28), "features.2": (2, 6, 14, 14),
                "features.3": (2, 16, 10, 10), "features.6": (2, 120, 1, 1),
                "flatten": (2, 120), "classifier.0": (2, 84), "classifier": (2, 10)}
    for name, shape in expected.items():
        maps = interpret.feature_maps(model, x, name)
        assert maps.shape == shape, name
        assert np.isfinite(maps).all()
    # features.1 is the ReLU after C1: its maps are the rectified C1 maps.
    np.testing.assert_array_equal(interpret.feature_maps(model, x, "features.1"),
                                  np.maximum(interpret.feature_maps(model, x, "features.0"), 0))


def test_conv_filters_default_to_the_first_convolution_and_are_copies():
    model = models.simple_cnn()
    filters = interpret.conv_filters(model)
    assert filters.shape == (32, 1, 3, 3)
    np.testing.assert_array_equal(filters, model.conv1.weight.data)
    filters[:] = 0
    assert np.any(model.conv1.weight.data != 0)
    assert interpret.conv_filters(model, "conv2").shape == (64, 32, 3, 3)
    with pytest.raises(ValueError, match="has no convolution"):
        interpret.conv_filters(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))
    with pytest.raises(TypeError, match="'fc1' is a Linear.*conv1, conv2"):
        interpret.conv_filters(model, "fc1")


# ---- saliency --------------------------------------------------------------------------------

def scores_of(model, x):
    model.eval()
    with fastconv.no_grad():
        return model(fastconv.Tensor(x)).data


@pytest.mark.parametrize("target", [None, 2])
def test_saliency_matches_finite_differences(target):
    model, x = tiny_model(), images(n=2)
    saliency = interpret.saliency(model, x, target=target)
    classes = np.argmax(scores_of(model, x), axis=1) if target is None else [target] * 2
    # Central differences, every pixel of every image at once: in eval mode the images of a
    # batch do not interact, so one forward pass scores all the perturbed copies.
    step = 1e-6
    pixels = list(np.ndindex(*x.shape))
    moved = np.repeat(x[None], 2 * len(pixels), axis=0)
    for i, index in enumerate(pixels):
        moved[2 * i][index] += step
        moved[2 * i + 1][index] -= step
    scores = scores_of(model, moved.reshape((-1,) + x.shape[1:])).reshape(
        len(pixels), 2, len(x), -1)
    numeric = np.zeros_like(x)
    for i, index in enumerate(pixels):
        n = index[0]
        numeric[index] = (scores[i, 0, n, classes[n]] - scores[i, 1, n, classes[n]]) / (2 * step)
    assert saliency.shape == (2, 6, 6)
    np.testing.assert_allclose(saliency, np.abs(numeric).max(axis=1), rtol=1e-5, atol=1e-8)


def test_saliency_of_a_batch_is_that_of_each_image_alone():
    model, x = tiny_model(), images(n=4)
    together = interpret.saliency(model, x, target=[0, 1, 2, 3])
    for n in range(4):
        np.testing.assert_allclose(together[n], interpret.saliency(model, x[n:n + 1], target=n)[0],
                                   rtol=1e-12)


# ---- Grad-CAM --------------------------------------------------------------------------------

def test_grad_cam_equals_the_hand_computed_map():
    # conv (padding 1, so no upsampling) -> flatten -> linear: d score_c / d A = the linear
    # layer's row c shaped like A, so channel k's weight is that row's mean over channel k.
    fastconv.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(50, 3)).double()
    x = images(n=2, shape=(1, 5, 5), seed=4)
    conv, linear = model[0], model[2]
    activations = reference.conv2d(x, conv.weight.data, conv.bias.data, padding=1)
    for target in (0, 1, 2):
        weights = linear.weight.data[target].reshape(2, 5, 5).mean(axis=(1, 2))
        expected = np.maximum(np.einsum("k,nkhw->nhw", weights, activations), 0)
        peak = expected.max(axis=(1, 2), keepdims=True)
        expected = np.divide(expected, peak, out=np.zeros_like(expected), where=peak > 0)
        cam = interpret.grad_cam(model, x, "0", target=target)
        np.testing.assert_allclose(cam, expected, rtol=1e-10, atol=1e-12)
    predicted = np.argmax(scores_of(model, x), axis=1)
    np.testing.assert_array_equal(interpret.grad_cam(model, x, "0"),
                                  np.stack([interpret.grad_cam(model, x[n:n + 1], "0",
                                                               target=predicted[n])[0]
                                            for n in range(2)]))


def test_bilinear_upsampling_by_hand():
    # 2 -> 4 with half-pixel centres samples the source at -0.25, 0.25, 0.75, 1.25, clamped to
    # [0, 1]: positions 0, 0.25, 0.75, 1. The map 2*row + col is linear, so the result is too.
    source = np.array([[[0.0, 1.0], [2.0, 3.0]]])
    positions = np.array([0, 0.25, 0.75, 1])
    expected = 2 * positions[:, None] + positions[None, :]
    np.testing.assert_allclose(_resize_bilinear(source, (4, 4))[0], expected)
    np.testing.assert_array_equal(_resize_bilinear(source, (2, 2)), source)


def test_bilinear_upsampling_matches_pytorch():
    torch = pytest.importorskip("torch")
    maps = np.random.default_rng(0).random((3, 5, 7))
    for size in ((28, 28), (11, 6), (5, 7)):
        expected = torch.nn.functional.interpolate(torch.from_numpy(maps)[:, None], size=size,
                                                   mode="bilinear", align_corners=False)
        np.testing.assert_allclose(_resize_bilinear(maps, size), expected[:, 0].numpy(),
                                   rtol=1e-12, atol=1e-12)


def test_grad_cam_and_saliency_match_a_pytorch_twin_of_lenet5():
    torch = pytest.importorskip("torch")
    fastconv.manual_seed(2)
    model = models.lenet5(input_size=28)
    layers = [torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
              torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
              torch.nn.Conv2d(16, 120, 5), torch.nn.ReLU(), torch.nn.Flatten(),
              torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, 10)]
    twin = torch.nn.Sequential(*layers).eval()
    ours = {0: "features.0", 3: "features.3", 6: "features.6", 9: "classifier.0",
            11: "classifier.2"}
    state = model.state_dict()
    with torch.no_grad():
        for index, name in ours.items():
            twin[index].weight.copy_(torch.from_numpy(state[f"{name}.weight"]))
            twin[index].bias.copy_(torch.from_numpy(state[f"{name}.bias"]))
    x = np.random.default_rng(5).random((4, 1, 28, 28), dtype=np.float32)
    target = torch.tensor([3, 1, 4, 1])
    for index, name in ((3, "features.3"), (0, "features.0")):
        kept = {}

        def keep(module, args, output):
            output.retain_grad()
            kept["a"] = output

        handle = twin[index].register_forward_hook(keep)
        twin(torch.from_numpy(x)).gather(1, target[:, None]).sum().backward()
        handle.remove()
        a = kept["a"]
        cam = torch.relu((a.grad.mean(dim=(2, 3), keepdim=True) * a).sum(dim=1, keepdim=True))
        cam = torch.nn.functional.interpolate(cam, size=(28, 28), mode="bilinear",
                                              align_corners=False)[:, 0].detach().numpy()
        cam /= cam.max(axis=(1, 2), keepdims=True)
        np.testing.assert_allclose(interpret.grad_cam(model, x, name, target=target.numpy()),
                                   cam, atol=1e-5)
    inputs = torch.from_numpy(x).requires_grad_()
    twin(inputs).gather(1, target[:, None]).sum().backward()
    expected = inputs.grad.abs().amax(dim=1).numpy()
    np.testing.assert_allclose(interpret.saliency(model, x, target=target.numpy()), expected,
                               rtol=1e-4, atol=1e-6 * expected.max())


def test_grad_cam_shape_range_and_default_layer():
    fastconv.manual_seed(0)   # some initialisations leave no gradient at C3: an all-zero map
    model = models.lenet5(input_size=28)
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    assert interpret.default_cam_layer(model, x) == "features.3"   # C5 (features.6) is 1x1
    cam = interpret.grad_cam(model, x)
    assert cam.shape == (3, 28, 28) and np.isfinite(cam).all()
    assert cam.min() >= 0 and np.all(cam.max(axis=(1, 2)) == 1)
    np.testing.assert_array_equal(cam, interpret.grad_cam(model, x, "features.3"))
    assert interpret.default_cam_layer(models.simple_cnn(), x) == "conv2"


def test_grad_cam_refuses_a_layer_that_is_not_a_2d_convolution():
    model = models.lenet5(input_size=28)
    x = np.zeros((1, 1, 28, 28), np.float32)
    with pytest.raises(TypeError, match=r"'features.1' is a ReLU.*features.0, features.3, "
                                        r"features.6"):
        interpret.grad_cam(model, x, "features.1")
    with pytest.raises(ValueError, match="Grad-CAM needs a Conv2d.*has none"):
        interpret.grad_cam(nn.Sequential(nn.Flatten(), nn.Linear(784, 2)), x)


# ---- the model is left as it was -------------------------------------------------------------

def test_mode_hooks_and_parameters_are_restored_even_after_an_error():
    model, x = tiny_model(), images()
    model.train()
    model[1].eval()                        # a mixed state must come back exactly
    frozen = model[0].bias
    frozen.requires_grad = False
    earlier_grad = np.full_like(model[6].weight.data, 0.5)
    model[6].weight.grad = earlier_grad.copy()
    calls = [lambda: interpret.feature_maps(model, x, "3"),
             lambda: interpret.saliency(model, x),
             lambda: interpret.grad_cam(model, x, "0"),
             lambda: interpret.grad_cam(model, x),
             lambda: interpret.saliency(model, x, target=7)]   # raises: only 4 classes
    for call in calls:
        try:
            call()
        except ValueError as err:
            assert "target must be in [0, 4)" in str(err)
        assert [m.training for m in model.modules()] == [True, True, False] + [True] * 5
        for module in model.modules():
            assert not module._forward_hooks and not module._forward_pre_hooks
            assert not module._backward_hooks
        assert [p.requires_grad for p in model.parameters()] == [True, False, True, True,
                                                                 True, True]
        np.testing.assert_array_equal(model[6].weight.grad, earlier_grad)
        assert all(p.grad is None for p in model.parameters() if p is not model[6].weight)


def test_gradients_are_computed_even_inside_no_grad():
    model, x = tiny_model(), images()
    with fastconv.no_grad():
        inside = interpret.saliency(model, x), interpret.grad_cam(model, x, "0")
    np.testing.assert_array_equal(inside[0], interpret.saliency(model, x))
    np.testing.assert_array_equal(inside[1], interpret.grad_cam(model, x, "0"))


def test_errors_name_the_argument():
    model, x = tiny_model(), images()
    with pytest.raises(ValueError, match=r"layer 'conv' is not a layer.*valid names: 0, 1, 2"):
        interpret.feature_maps(model, x, "conv")
    with pytest.raises(ValueError, match="layer must be a layer name or a submodule"):
        interpret.feature_maps(model, x, nn.ReLU())
    with pytest.raises(ValueError, match=r"inputs must be a batch of images \(N, C, H, W\)"):
        interpret.saliency(model, x[0])
    with pytest.raises(ValueError, match=r"target must be None.*one index per image \(3\)"):
        interpret.grad_cam(model, x, "0", target=[0, 1])
    with pytest.raises(ValueError, match="target must be None"):
        interpret.saliency(model, x, target=1.5)
    shared = nn.ReLU()
    twice = nn.Sequential(nn.Conv2d(2, 2, 1), shared, nn.Conv2d(2, 2, 1), shared).double()
    with pytest.raises(ValueError, match="layer '1' ran 2 times"):
        interpret.feature_maps(twice, x, "1")
    with pytest.raises(ValueError, match="did not run"):
        interpret.feature_maps(UnusedLayer(), x, "unused")


class UnusedLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.unused = nn.Conv2d(2, 2, 1)

    def forward(self, x):
        return x


# ---- the criterion: Grad-CAM on a trained CNN lies on the digit -----------------------

@pytest.fixture(scope="module")
def trained_cnn():
    """SimpleCNN trained one epoch on the 4,500 built-in training digits (seeded; ~89%
    validation accuracy) and 50 validation digits, 5 of each class, in [0, 1]."""
    fastconv.manual_seed(0)
    train_set, val_set = builtin_mnist_split()
    model = models.simple_cnn()
    train.fit(model, DataLoader(train_set, 64, shuffle=True, seed=0), epochs=1,
              optimizer=optim.Adam(model.parameters(), lr=2e-3), progress=False)
    labels = val_set.dataset.labels[val_set.indices]
    picked = np.concatenate([np.flatnonzero(labels == c)[:5] for c in range(10)])
    x = val_set.dataset.images[val_set.indices[picked]].astype(np.float32) / 255
    return model, x, labels[picked]


def digit_boxes(x, threshold=0.5):
    """Bounding box of each digit's pixels brighter than `threshold`: MNIST strokes are
    anti-aliased, and half the full intensity keeps each stroke's core and drops the faint
    rim, so the box is the digit's and not a stray grey pixel's."""
    boxes = np.zeros((len(x),) + x.shape[2:], bool)
    for box, image in zip(boxes, x[:, 0] > threshold):
        rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
        box[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True
    return boxes


def heat_inside(cam, boxes):
    return (cam * boxes).sum(axis=(1, 2)) / cam.sum(axis=(1, 2))


def test_grad_cam_of_a_trained_cnn_lies_on_the_digit(trained_cnn):
    model, x, labels = trained_cnn
    assert np.mean(np.argmax(scores_of(model, x), axis=1) == labels) >= 0.7
    boxes = digit_boxes(x)
    chance = boxes.mean(axis=(1, 2))       # the share of a uniform map inside the box
    assert 0.25 < chance.mean() < 0.5
    # The default layer, the deepest with a layout (conv2, 11x11, stretched over the 28x28
    # input, so blurred and slightly displaced): most of the heat is inside the box for most
    # digits (measured: 32 of 50), more than chance for nearly all (43 of 50), and on average
    # 1.5 times chance.
    inside = heat_inside(interpret.grad_cam(model, x), boxes)
    assert np.mean(inside > 0.5) >= 0.55
    assert np.mean(inside > chance) >= 0.8
    assert inside.mean() > 1.3 * chance.mean()
    # conv1's maps are at full resolution: the heat sits on the strokes (measured: 49 of 50).
    inside = heat_inside(interpret.grad_cam(model, x, "conv1"), boxes)
    assert np.mean(inside > 0.5) >= 0.9


def test_saliency_of_a_trained_cnn_has_the_input_shape_and_is_finite(trained_cnn):
    model, x, labels = trained_cnn
    saliency = interpret.saliency(model, x, target=labels)
    assert saliency.shape == (50, 28, 28) and saliency.dtype == np.float32
    assert np.isfinite(saliency).all() and np.all(saliency.max(axis=(1, 2)) > 0)
    # Gradients point at the digit too: more of the saliency mass is inside its box than chance.
    boxes = digit_boxes(x)
    assert np.mean(heat_inside(saliency, boxes) > boxes.mean(axis=(1, 2))) >= 0.8
