"""Pictures of what fastconv.interpret and a metrics report compute, drawn with matplotlib
(optional: `pip install fastconv[plot]`).

    from fastconv import interpret, plot
    cam = interpret.grad_cam(model, images)
    plot.plot_grad_cam(images[0], cam[0], "cam.png")       # writes the PNG, returns the Figure

Every function returns a matplotlib Figure and, given `path`, also writes it there (the format
follows the file's extension; PNG for .png). Figures are drawn on the Agg canvas without
pyplot, so nothing opens a window, no global pyplot state is touched and a figure is freed
like any object once dropped. Images are (C, H, W) with 1 or 3 channels, or (H, W); each is
shown with its own contrast stretched to its minimum and maximum.
"""
import math

import numpy as np

__all__ = [
    "plot_confusion_matrix",
    "plot_explanation",
    "plot_feature_maps",
    "plot_filters",
    "plot_grad_cam",
    "plot_history",
    "plot_roc",
    "plot_saliency",
]


def _new_figure(width, height):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError("fastconv.plot needs matplotlib, which is not installed: "
                          "pip install fastconv[plot]") from err
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _finish(figure, path):
    if path is not None:
        figure.savefig(path, dpi=figure.dpi)   # the figure's own size, whatever rcParams say
    return figure


def _stretch(array):
    low, high = float(np.min(array)), float(np.max(array))
    return (array - low) / (high - low) if high > low else np.zeros_like(array, dtype=float)


def _display_image(image, argument="image"):
    """(array for imshow, colormap) for a (C, H, W) image with 1 or 3 channels or (H, W)."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3 and image.shape[0] == 1:
        image = image[0]
    if image.ndim == 2:
        return _stretch(image), "gray"
    if image.ndim == 3 and image.shape[0] == 3:
        return _stretch(np.transpose(image, (1, 2, 0))), None
    raise ValueError(f"{argument} must be (H, W) or (C, H, W) with 1 or 3 channels, "
                     f"got shape {image.shape}")


def _heat_map(heat, image_shape, argument):
    heat = np.asarray(heat, dtype=np.float64)
    if heat.ndim != 2 or heat.shape != image_shape:
        raise ValueError(f"{argument} must be an (H, W) map the size of the image "
                         f"{image_shape}, got shape {heat.shape}")
    return heat


def _grid(count, ncols=None):
    ncols = ncols or math.ceil(math.sqrt(count))
    return math.ceil(count / ncols), ncols


def _tiles(figure, images, labels, ncols=None, **imshow):
    rows, cols = _grid(len(images), ncols)
    axes = figure.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, image, label in zip(axes.flat, images, labels):
        ax.imshow(image, interpolation="nearest", **imshow)
        ax.set_title(label, fontsize=7, pad=2)
    return axes


def _one_image_maps(maps):
    maps = np.asarray(maps)
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim != 3:
        raise ValueError(f"maps must be one image's feature maps (C, H, W) (e.g. "
                         f"feature_maps(...)[0]), got shape {maps.shape}")
    return maps


def plot_feature_maps(maps, path=None, max_maps=64, ncols=None, title=None, cmap="viridis"):
    """A grid of one image's feature maps (C, H, W): the first `max_maps` channels, each with
    its own colour scale, labelled with its channel index."""
    maps = _one_image_maps(maps)[:max_maps]
    rows, cols = _grid(len(maps), ncols)
    figure = _new_figure(1.3 * cols, 1.3 * rows + (0.4 if title else 0))
    _tiles(figure, maps, [str(c) for c in range(len(maps))], cols, cmap=cmap)
    if title:
        figure.suptitle(title)
    return _finish(figure, path)


def plot_filters(filters, path=None, max_filters=64, title=None):
    """Convolution weights (out_channels, in_channels, kh, kw), e.g. interpret.conv_filters(model):
    with 3 input channels one RGB tile per filter (each stretched to [0, 1]); otherwise one
    tile per (output, input) channel pair, labelled 'out.in' (just 'out' for one input channel),
    on a shared blue-white-red scale centred on zero, so sign and size compare across tiles."""
    filters = np.asarray(filters, dtype=np.float64)
    if filters.ndim != 4:
        raise ValueError(f"filters must be (out_channels, in_channels, kh, kw), "
                         f"got shape {filters.shape}")
    out_channels, in_channels = filters.shape[:2]
    if in_channels == 3:
        tiles = [_stretch(np.transpose(f, (1, 2, 0))) for f in filters[:max_filters]]
        labels = [str(o) for o in range(len(tiles))]
        options = {}
    else:
        pairs = [(o, i) for o in range(out_channels) for i in range(in_channels)][:max_filters]
        tiles = [filters[o, i] for o, i in pairs]
        labels = [str(o) if in_channels == 1 else f"{o}.{i}" for o, i in pairs]
        limit = float(np.max(np.abs(filters))) or 1.0
        options = dict(cmap="bwr", vmin=-limit, vmax=limit)
    rows, cols = _grid(len(tiles), in_channels if 1 < in_channels <= 8 else None)
    figure = _new_figure(1.1 * cols, 1.1 * rows + (0.4 if title else 0))
    _tiles(figure, tiles, labels, cols, **options)
    if title:
        figure.suptitle(title)
    return _finish(figure, path)


def plot_saliency(image, saliency_map, path=None, title=None, cmap="hot"):
    """The input image beside its saliency map (H, W), e.g. interpret.saliency(...)[i]."""
    shown, image_cmap = _display_image(image)
    heat = _heat_map(saliency_map, shown.shape[:2], "saliency_map")
    figure = _new_figure(6, 3.2)
    left, right = figure.subplots(1, 2)
    left.imshow(shown, cmap=image_cmap)
    left.set_title("input")
    image_axes = right.imshow(heat, cmap=cmap)
    right.set_title("saliency |d score / d input|")
    figure.colorbar(image_axes, ax=right, shrink=0.8)
    for ax in (left, right):
        ax.set_axis_off()
    if title:
        figure.suptitle(title)
    return _finish(figure, path)


def _overlay(ax, shown, image_cmap, cam, alpha, cmap):
    ax.imshow(shown, cmap=image_cmap)
    heat = ax.imshow(cam, cmap=cmap, alpha=alpha, vmin=0, vmax=1)
    ax.set_axis_off()
    return heat


def plot_grad_cam(image, cam, path=None, alpha=0.5, title=None, cmap="jet"):
    """The input image beside it with its Grad-CAM map (H, W) in [0, 1] (interpret.grad_cam(...)[i])
    drawn over it with opacity `alpha`."""
    shown, image_cmap = _display_image(image)
    cam = _heat_map(cam, shown.shape[:2], "cam")
    figure = _new_figure(6, 3.2)
    left, right = figure.subplots(1, 2)
    left.imshow(shown, cmap=image_cmap)
    left.set_title("input")
    left.set_axis_off()
    heat = _overlay(right, shown, image_cmap, cam, alpha, cmap)
    right.set_title("Grad-CAM")
    figure.colorbar(heat, ax=right, shrink=0.8)
    if title:
        figure.suptitle(title)
    return _finish(figure, path)


def plot_explanation(image, maps, saliency_map, cam, path=None, title=None, max_maps=16,
                     maps_title="feature maps", cam_title="Grad-CAM", alpha=0.5):
    """One figure explaining one image: the input, its saliency map and its Grad-CAM overlay in
    the top row, and a grid of (the first `max_maps` of) one layer's feature maps below."""
    shown, image_cmap = _display_image(image)
    heat = _heat_map(saliency_map, shown.shape[:2], "saliency_map")
    cam = _heat_map(cam, shown.shape[:2], "cam")
    maps = _one_image_maps(maps)[:max_maps]
    rows, cols = _grid(len(maps), min(8, len(maps)))
    figure = _new_figure(9, 3.4 + 1.3 * rows + (0.4 if title else 0))
    top, bottom = figure.subfigures(2, 1, height_ratios=[3.4, 1.3 * rows])
    image_ax, saliency_ax, cam_ax = top.subplots(1, 3)
    image_ax.imshow(shown, cmap=image_cmap)
    image_ax.set_title("input")
    image_ax.set_axis_off()
    saliency_ax.imshow(heat, cmap="hot")
    saliency_ax.set_title("saliency")
    saliency_ax.set_axis_off()
    _overlay(cam_ax, shown, image_cmap, cam, alpha, "jet")
    cam_ax.set_title(cam_title)
    _tiles(bottom, maps, [str(c) for c in range(len(maps))], cols, cmap="viridis")
    bottom.suptitle(maps_title, fontsize=10)
    if title:
        figure.suptitle(title)
    return _finish(figure, path)


def plot_confusion_matrix(matrix, class_names=None, path=None, title="confusion matrix",
                          cmap="Blues"):
    """A confusion matrix (rows: true class, columns: predicted), raw counts or row-normalised
    as given, each cell annotated (integers as counts, fractions with two decimals) when there
    are at most 30 classes."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square (num_classes, num_classes), got shape "
                         f"{matrix.shape}")
    n = matrix.shape[0]
    names = [str(c) for c in (range(n) if class_names is None else class_names)]
    if len(names) != n:
        raise ValueError(f"class_names has {len(names)} names for {n} classes")
    side = max(4.0, 0.5 * n + 2)
    figure = _new_figure(side + 1, side)
    ax = figure.subplots()
    image = ax.imshow(matrix, cmap=cmap)
    figure.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(range(n), names, rotation=45 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    if n <= 30:
        integers = matrix.dtype.kind in "iub"
        middle = (float(matrix.min()) + float(matrix.max())) / 2
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{value:d}" if integers else f"{value:.2f}", ha="center",
                    va="center", fontsize=8, color="white" if value > middle else "black")
    return _finish(figure, path)


def plot_history(history, path=None, title=None):
    """Training curves from fastconv.train.fit's History (or its .history dict): loss and
    val_loss, accuracy and val_accuracy, and the learning rate, one panel each, over the
    epochs (panels only for what was logged)."""
    logs = history.history if hasattr(history, "history") else dict(history)
    panels = [(name, [k for k in (name, f"val_{name}") if logs.get(k)])
              for name in ("loss", "accuracy", "lr")]
    panels = [(name, keys) for name, keys in panels if keys]
    if not panels:
        raise ValueError(f"history has none of loss, accuracy, lr; keys: {sorted(logs)}")
    epochs = list(getattr(history, "epoch", None) or
                  range(1, 1 + max(len(logs[k]) for _, keys in panels for k in keys)))
    figure = _new_figure(3.6 * len(panels), 3.2)
    from matplotlib.ticker import MaxNLocator
    for ax, (name, keys) in zip(np.atleast_1d(figure.subplots(1, len(panels))), panels):
        for key in keys:
            values = logs[key]
            ax.plot(epochs[:len(values)], values, marker="o", markersize=3,
                    label="validation" if key.startswith("val_") else "training")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("learning rate" if name == "lr" else name)
        if name != "lr":
            ax.legend()
        ax.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    return _finish(figure, path)


def plot_roc(fpr, tpr, auc=None, class_names=None, path=None, title="ROC curves"):
    """ROC curves: `fpr` and `tpr` one array per class (a list or dict keyed like class_names),
    or one pair of arrays for a binary problem; `auc` (optional) one area per class, shown in
    the legend. The chance diagonal is dashed."""
    def per_class(values):
        if isinstance(values, dict):
            return list(values.keys()), [np.asarray(v) for v in values.values()]
        if len(values) and np.ndim(values[0]) == 0:
            return None, [np.asarray(values)]
        return None, [np.asarray(v) for v in values]

    keys, fprs = per_class(fpr)
    _, tprs = per_class(tpr)
    if len(fprs) != len(tprs) or any(f.shape != t.shape for f, t in zip(fprs, tprs)):
        raise ValueError("fpr and tpr must hold matching arrays, one pair per class")
    names = class_names if class_names is not None else keys
    if names is None:
        names = ["ROC"] if len(fprs) == 1 else range(len(fprs))
    names = [str(n) for n in names]
    if len(names) != len(fprs):
        raise ValueError(f"class_names has {len(names)} names for {len(fprs)} curves")
    aucs = None
    if auc is not None:
        aucs = list(auc.values()) if isinstance(auc, dict) else list(np.atleast_1d(auc))
        if len(aucs) != len(fprs):
            raise ValueError(f"auc has {len(aucs)} values for {len(fprs)} curves")
    figure = _new_figure(5.2, 4.6)
    ax = figure.subplots()
    for k, (f, t) in enumerate(zip(fprs, tprs)):
        label = names[k]
        if aucs is not None:
            label += f" (AUC = {aucs[k]:.3f})"
        ax.plot(f, t, label=label)
    ax.plot([0, 1], [0, 1], linestyle="--", color="gray", label="chance")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(fontsize=7, loc="lower right")
    if title:
        ax.set_title(title)
    return _finish(figure, path)
