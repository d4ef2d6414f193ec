"""Why a CNN decides what it decides: feature maps, learned filters, saliency maps and Grad-CAM,
as NumPy arrays (render them with fastconv.plot).

    from fastconv import interpret
    maps = interpret.feature_maps(model, images, "features.0")   # (N, 6, 28, 28)
    filters = interpret.conv_filters(model)                       # first conv: (6, 1, 5, 5)
    heat = interpret.saliency(model, images)                      # (N, 28, 28)
    cam = interpret.grad_cam(model, images, "features.3")         # (N, 28, 28) in [0, 1]

Every function takes a batch (N, C, H, W) as an ndarray or Tensor, runs the model in eval mode
(dropout off, batch-norm on running statistics, so the images do not influence each other) and
leaves the model as it found it: each module's train/eval mode, its hooks, and its parameters'
`requires_grad` and `.grad` (no gradient is accumulated on them). Layers are named as in
`model.named_modules()` (e.g. 'features.3', 'layer4.1.conv2') or passed as the module itself.
Class scores are the model's outputs before any softmax (logits), as in the papers:

- Simonyan, Vedaldi and Zisserman (2014), "Deep Inside Convolutional Networks" (saliency);
- Selvaraju et al. (2017), "Grad-CAM: Visual Explanations from Deep Networks via
  Gradient-based Localization".
"""
import contextlib

import numpy as np

from fastconv.autograd import Tensor, enable_grad, no_grad
from fastconv.nn.conv import Conv2d, _ConvNd

__all__ = ["conv_filters", "default_cam_layer", "feature_maps", "grad_cam", "saliency"]


# ---- arguments -----------------------------------------------------------------------------

def _as_batch(inputs):
    data = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
    if data.ndim != 4:
        raise ValueError(f"inputs must be a batch of images (N, C, H, W), got shape {data.shape}; "
                         "for one image pass image[None]")
    if data.shape[0] == 0:
        raise ValueError("inputs must hold at least one image, got an empty batch")
    if data.dtype.kind != "f":
        data = data.astype(np.float32)
    return data


def _layer(model, layer, kind=None, requirement=""):
    """(name, module) for `layer` (a dotted name from model.named_modules() or a submodule);
    `kind`: the class the module must be, `requirement` says so in the error message."""
    named = [(name, module) for name, module in model.named_modules() if name]
    if isinstance(layer, str):
        for name, module in named:
            if name == layer:
                break
        else:
            candidates = [n for n, m in named if kind is None or isinstance(m, kind)]
            raise ValueError(f"layer {layer!r} is not a layer of this {type(model).__name__}; "
                             f"valid names: {', '.join(candidates) or '(none)'}")
    else:
        for name, module in named:
            if module is layer:
                break
        else:
            raise ValueError(f"layer must be a layer name or a submodule of the model, got "
                             f"{type(layer).__name__} that is not part of this "
                             f"{type(model).__name__}")
    if kind is not None and not isinstance(module, kind):
        candidates = [n for n, m in named if isinstance(m, kind)]
        raise TypeError(f"layer {name!r} is a {type(module).__name__}, not {requirement}: "
                        f"{', '.join(candidates) or '(this model has none)'}")
    return name, module


def _target_classes(target, scores, argument="target"):
    if scores.ndim != 2:
        raise ValueError(f"the model must output class scores (N, num_classes), got shape "
                         f"{scores.shape}")
    n, num_classes = scores.shape
    if target is None:
        return np.argmax(scores, axis=1)
    classes = np.asarray(target)
    if classes.dtype.kind not in "iu" or classes.ndim > 1 or (classes.ndim == 1
                                                              and len(classes) != n):
        raise ValueError(f"{argument} must be None (the predicted class), a class index or one "
                         f"index per image ({n}), got {target!r}")
    if np.any(classes < 0) or np.any(classes >= num_classes):
        raise ValueError(f"{argument} must be in [0, {num_classes}), got {target!r}")
    return np.broadcast_to(classes, (n,)).astype(np.int64)


def _one_hot(classes, scores):
    grad = np.zeros_like(scores)
    grad[np.arange(len(classes)), classes] = 1
    return grad


# ---- leaving the model as it was -----------------------------------------------------------

@contextlib.contextmanager
def _eval_mode(model):
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            object.__setattr__(module, "training", training)


@contextlib.contextmanager
def _frozen_parameters(model):
    """Parameters stop requiring gradients for the duration, so backward computes only what
    the explanation needs and leaves no .grad behind."""
    flags = [(param, param.requires_grad) for param in model.parameters()]
    for param, _ in flags:
        param.requires_grad = False
    try:
        yield
    finally:
        for param, flag in flags:
            param.requires_grad = flag


@contextlib.contextmanager
def _forward_hook(module, hook):
    handle = module.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def _single_output(outputs, name):
    if not outputs:
        raise ValueError(f"layer {name!r} did not run in the model's forward pass")
    if len(outputs) > 1:
        raise ValueError(f"layer {name!r} ran {len(outputs)} times in one forward pass (a "
                         "shared module), so its output is ambiguous")
    return outputs[0]


# ---- the explanations ----------------------------------------------------------------------

def feature_maps(model, inputs, layer):
    """The activations (output) of `layer` for a batch: an ndarray, e.g. (N, C, H, W) for a
    convolution. `layer`: a name from model.named_modules() or the submodule itself."""
    x = _as_batch(inputs)
    name, module = _layer(model, layer)
    outputs = []

    def keep(module, args, output):
        if not isinstance(output, Tensor):
            raise TypeError(f"layer {name!r} returned a {type(output).__name__}, not a Tensor")
        outputs.append(output.data.copy())

    with _forward_hook(module, keep), _eval_mode(model), no_grad():
        model(Tensor(x))
    return _single_output(outputs, name)


def conv_filters(model, layer=None):
    """A copy of the weights of a convolution, (out_channels, in_channels / groups, kh, kw):
    by default the first convolution in model.named_modules() order (the first layer of
    every built-in model), else `layer` (name or module)."""
    if layer is None:
        convs = [module for _, module in model.named_modules() if isinstance(module, _ConvNd)]
        if not convs:
            raise ValueError(f"this {type(model).__name__} has no convolution layer")
        return convs[0].weight.data.copy()
    _, module = _layer(model, layer, _ConvNd, "a convolution; this model's convolutions")
    return module.weight.data.copy()


def saliency(model, inputs, target=None):
    """Vanilla-gradient saliency: |d score_c / d input|, the maximum over the colour channels,
    one (H, W) map per image — an ndarray (N, H, W), not normalised.

    target: None (each image's predicted class), one class index, or one per image."""
    x = Tensor(_as_batch(inputs).copy(), requires_grad=True)
    with _eval_mode(model), _frozen_parameters(model), enable_grad():
        scores = model(x)
        classes = _target_classes(target, scores.data)
        if scores.requires_grad:
            scores.backward(_one_hot(classes, scores.data))
    if x.grad is None:   # the scores do not depend on the input
        return np.zeros((x.shape[0],) + x.shape[2:], x.dtype)
    return np.abs(x.grad).max(axis=1)


def grad_cam(model, inputs, layer=None, target=None):
    """Grad-CAM heat maps (Selvaraju et al., 2017) for a batch: an ndarray (N, H, W) at the
    input's size, each map scaled to [0, 1] by its own maximum (an all-zero map stays zero).

    For the feature maps A_k (k = 1..K) output by the convolution `layer` and the class score
    y_c: weights a_k = mean over positions of d y_c / d A_k, map = ReLU(sum_k a_k A_k),
    upsampled bilinearly (half-pixel centres, as PyTorch's interpolate with
    align_corners=False and OpenCV's resize) to the input's height and width. As in the paper
    and the usual implementations the map is stretched over the whole input; after unpadded
    convolutions a layer's positions really cover a centred part of the input, so the heat
    lands slightly outward (up to ~3.5 pixels at the border for LeNet-5's C3 on 28x28 input).

    layer: a Conv2d name from model.named_modules() or the module itself; default: the last
        convolution to run whose output is larger than 1x1 (the deepest one with a spatial
        layout, where Grad-CAM is usually taken).
    target: None (each image's predicted class), one class index, or one per image.
    """
    x = _as_batch(inputs)
    name, module = _layer(model, default_cam_layer(model, x) if layer is None else layer,
                          Conv2d, "a 2-D convolution; Grad-CAM needs the (N, C, H, W) output "
                                  "of a Conv2d, as this model's")
    activations = []

    def cut_here(module, args, output):
        # The layer's output becomes a leaf that requires a gradient: backward stops here and
        # leaves d score / d output in its .grad.
        leaf = Tensor(output.data, requires_grad=True)
        activations.append(leaf)
        return leaf

    with _forward_hook(module, cut_here), _eval_mode(model), _frozen_parameters(model), \
            enable_grad():
        scores = model(Tensor(x))
        features = _single_output(activations, name)
        classes = _target_classes(target, scores.data)
        if scores.requires_grad:
            scores.backward(_one_hot(classes, scores.data))
    grads = features.grad if features.grad is not None else np.zeros_like(features.data)
    weights = grads.mean(axis=(2, 3), keepdims=True)
    cams = np.maximum((weights * features.data).sum(axis=1), 0)
    cams = _resize_bilinear(cams, x.shape[2:])
    peaks = cams.max(axis=(1, 2), keepdims=True)
    return np.divide(cams, peaks, out=np.zeros_like(cams), where=peaks > 0)


def default_cam_layer(model, inputs):
    """The name of the layer grad_cam uses by default: the last Conv2d to run in the model's
    forward pass whose output is larger than 1x1 for `inputs` (only the first image is run)."""
    x = _as_batch(inputs)[:1]
    convs = {module: name for name, module in model.named_modules() if isinstance(module, Conv2d)}
    if not convs:
        raise ValueError(f"Grad-CAM needs a Conv2d layer and this {type(model).__name__} "
                         "has none")
    spatial = []

    def record(module, args, output):
        if output.shape[2] * output.shape[3] > 1:
            spatial.append(convs[module])

    handles = [module.register_forward_hook(record) for module in convs]
    try:
        with _eval_mode(model), no_grad():
            model(Tensor(x))
    finally:
        for handle in handles:
            handle.remove()
    if not spatial:
        raise ValueError("no convolution of this model outputs more than 1x1 positions for "
                         f"{x.shape[2]}x{x.shape[3]} inputs; pass layer= explicitly")
    return spatial[-1]


def _interpolation_matrix(size_in, size_out):
    """(size_out, size_in) weights of 1-D linear interpolation with half-pixel centres."""
    source = (np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5
    source = np.clip(source, 0, size_in - 1)
    low = np.floor(source).astype(np.int64)
    high = np.minimum(low + 1, size_in - 1)
    fraction = source - low
    matrix = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    np.add.at(matrix, (rows, low), 1 - fraction)
    np.add.at(matrix, (rows, high), fraction)
    return matrix


def _resize_bilinear(maps, size):
    """(N, h, w) -> (N, H, W) by bilinear interpolation (PyTorch's align_corners=False)."""
    rows = _interpolation_matrix(maps.shape[1], size[0])
    cols = _interpolation_matrix(maps.shape[2], size[1])
    return np.einsum("yh,nhw,xw->nyx", rows, maps, cols).astype(maps.dtype)
