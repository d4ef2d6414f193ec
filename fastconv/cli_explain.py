"""`python -m fastconv explain CHECKPOINT`: one PNG showing why a trained model classifies one
validation image as it does — the image, its saliency map, its Grad-CAM overlay and the
feature maps of one layer — and the predicted and true class on standard output.

    python -m fastconv explain checkpoints/lenet5.npz --index 7 --out explain.png

The image is #index of the validation images the train command used: the 500 held-out
built-in digits, or with --data-dir the test files there (else its stratified 10%).
"""
import importlib.util
import os
import sys

import numpy as np


def add_parser(commands, positive_int):
    """Register the `explain` subcommand on cli.build_parser's subparsers."""
    e = commands.add_parser(
        "explain", help="write feature maps, saliency and Grad-CAM of one image to a PNG",
        description="Explain a checkpoint's decision on one validation image: writes a PNG "
                    "with the image, its saliency map, its Grad-CAM overlay and one layer's "
                    "feature maps, and prints the predicted and true class. Needs matplotlib "
                    "(pip install fastconv[plot]).")
    e.add_argument("checkpoint", help="a .npz written by `python -m fastconv train`")
    e.add_argument("--index", type=int, default=0,
                   help="which validation image (default: 0)")
    e.add_argument("--out", default="explain.png", help="the PNG to write (default: explain.png)")
    e.add_argument("--layer", help="the layer whose feature maps are shown, named as in "
                                   "model.named_modules() (default: the first convolution)")
    e.add_argument("--cam-layer", help="the Conv2d for Grad-CAM (default: the last "
                                       "convolution whose output is larger than 1x1)")
    e.add_argument("--data-dir", help="the directory the model was trained on (MNIST IDX or "
                                      "CIFAR-10 files); default: the built-in digits")
    e.add_argument("--threads", type=positive_int, help="number of OpenMP threads (default: all)")


def _model_from_checkpoint(path):
    from fastconv import train
    from fastconv.cli import model_for_data
    if not os.path.isfile(path):
        raise SystemExit(f"checkpoint {path!r} does not exist")
    header = train.load_checkpoint(path)
    extra = header.get("extra") or {}
    missing = [k for k in ("model_name", "input_shape", "num_classes") if k not in extra]
    if missing:
        raise SystemExit(f"checkpoint {path!r} lacks {', '.join(missing)}: explain needs a "
                         "checkpoint written by `python -m fastconv train`")
    channels, height, _ = extra["input_shape"]
    model = model_for_data(extra["model_name"], channels, height, extra["num_classes"])
    model.load_state_dict(header["model_state"])
    return model, extra


def run(args):
    from fastconv import interpret, plot
    from fastconv.cli import load_data
    from fastconv.data import transforms
    from fastconv.train import predict
    if importlib.util.find_spec("matplotlib") is None:
        print("error: explain draws with matplotlib, which is not installed: "
              "pip install fastconv[plot]", file=sys.stderr)
        return 1
    model, extra = _model_from_checkpoint(args.checkpoint)
    *_, images, labels, description = load_data(args.data_dir, seed=0)
    if not -len(labels) <= args.index < len(labels):
        raise SystemExit(f"--index {args.index} is out of range: the validation split has "
                         f"{len(labels)} images (0 to {len(labels) - 1})")
    index = args.index % len(labels)
    raw, label = images[index], int(labels[index])
    if list(raw.shape) != list(extra["input_shape"]):
        raise SystemExit(f"the checkpoint's model takes {extra['input_shape']} inputs but the "
                         f"data is {list(raw.shape)}: pass the --data-dir it was trained on")
    normalize = transforms.Normalize(extra.get("normalize_mean", 0.0),
                                     extra.get("normalize_std", 1.0))
    x = normalize(raw[None].astype(np.float32) / 255)
    probabilities = predict(model, x, probabilities=True)[0]
    predicted = int(np.argmax(probabilities))
    layer = args.layer or _first_conv_name(model)
    try:
        maps = interpret.feature_maps(model, x, layer)[0]
        saliency = interpret.saliency(model, x)[0]
        cam_layer = args.cam_layer or interpret.default_cam_layer(model, x)
        cam = interpret.grad_cam(model, x, cam_layer)[0]
    except (ValueError, TypeError) as err:
        raise SystemExit(f"error: {err}") from err
    if maps.ndim != 3:
        raise SystemExit(f"--layer {layer!r} outputs shape {maps.shape} per image, not "
                         "feature maps (C, H, W); pick a convolution, pooling or activation")
    title = (f"{extra['model_name']}, validation image #{index}: true {label}, "
             f"predicted {predicted} ({probabilities[predicted]:.1%})")
    plot.plot_explanation(raw.astype(np.float32), maps, saliency, cam, path=args.out,
                          title=title, maps_title=f"feature maps of {layer} "
                                                  f"(first {min(len(maps), 16)} of {len(maps)})",
                          cam_title=f"Grad-CAM ({cam_layer})")
    print(f"validation image #{index} of the {description}")
    print(f"true class: {label}")
    print(f"predicted class: {predicted} (probability {probabilities[predicted]:.4f})")
    print(f"feature maps: {layer} {tuple(maps.shape)}; Grad-CAM: {cam_layer}")
    print(f"wrote {args.out}")
    return 0


def _first_conv_name(model):
    from fastconv.nn.conv import _ConvNd
    for name, module in model.named_modules():
        if isinstance(module, _ConvNd):
            return name
    raise SystemExit("the model has no convolution; pass --layer")
