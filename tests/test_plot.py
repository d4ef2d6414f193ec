"""fastconv.plot: every figure is written as a PNG of the figure's size that matplotlib reads
back, is not blank, and refuses malformed arrays naming the argument; without matplotlib the
error says how to install it."""
import sys

import numpy as np
import pytest

import fastconv
from fastconv import interpret, models, nn, optim, plot, train
from fastconv.data import DataLoader, TensorDataset

matplotlib_image = pytest.importorskip("matplotlib.image")


def read_back(figure, path):
    """The written PNG as an (H, W, 4) array, checked to have the figure's pixel size and to
    show something (not a single colour)."""
    assert path.stat().st_size > 0
    pixels = matplotlib_image.imread(path)
    width, height = np.round(figure.get_size_inches() * figure.dpi).astype(int)
    assert pixels.shape == (height, width, 4)
    assert pixels[..., :3].std() > 0.05
    return pixels


@pytest.fixture(scope="module")
def lenet_outputs():
    fastconv.manual_seed(0)
    model = models.lenet5(input_size=28)
    x = np.zeros((1, 1, 28, 28), np.float32)
    x[0, 0, 6:22, 12:16] = 1                       # a bar, a crude "1"
    return (model, x, interpret.feature_maps(model, x, "features.0")[0],
            interpret.saliency(model, x)[0], interpret.grad_cam(model, x)[0])


def test_feature_maps_grid(tmp_path, lenet_outputs):
    _, _, maps, _, _ = lenet_outputs
    path = tmp_path / "maps.png"
    figure = plot.plot_feature_maps(maps, path, title="C1")
    read_back(figure, path)
    assert len([ax for ax in figure.axes if ax.images]) == 6
    assert len(plot.plot_feature_maps(np.ones((40, 5, 5)), max_maps=16).axes) == 16
    with pytest.raises(ValueError, match=r"maps must be one image's feature maps \(C, H, W\)"):
        plot.plot_feature_maps(np.ones((2, 6, 5, 5)))


def test_filters_grey_and_rgb(tmp_path, lenet_outputs):
    model = lenet_outputs[0]
    path = tmp_path / "filters.png"
    figure = plot.plot_filters(interpret.conv_filters(model), path)
    read_back(figure, path)
    assert [ax.get_title() for ax in figure.axes if ax.images] == ["0", "1", "2", "3", "4", "5"]
    rgb = plot.plot_filters(np.random.default_rng(0).standard_normal((4, 3, 3, 3)))
    assert [ax.images[0].get_array().shape for ax in rgb.axes if ax.images] == [(3, 3, 3)] * 4
    pairs = plot.plot_filters(np.ones((2, 2, 3, 3)))
    assert [ax.get_title() for ax in pairs.axes if ax.images] == ["0.0", "0.1", "1.0", "1.1"]
    with pytest.raises(ValueError, match="filters must be"):
        plot.plot_filters(np.ones((2, 3, 3)))


def test_saliency_beside_the_input(tmp_path, lenet_outputs):
    _, x, _, saliency, _ = lenet_outputs
    path = tmp_path / "saliency.png"
    read_back(plot.plot_saliency(x[0], saliency, path), path)
    with pytest.raises(ValueError, match=r"saliency_map must be an \(H, W\) map the size"):
        plot.plot_saliency(x[0], saliency[:10])


def test_grad_cam_overlay(tmp_path, lenet_outputs):
    _, x, _, _, cam = lenet_outputs
    path = tmp_path / "cam.png"
    figure = plot.plot_grad_cam(x[0], cam, path)
    read_back(figure, path)
    overlay = figure.axes[1]
    assert len(overlay.images) == 2 and overlay.images[1].get_alpha() == 0.5
    rgb = np.random.default_rng(0).random((3, 28, 28))
    read_back(plot.plot_grad_cam(rgb, cam, tmp_path / "rgb.png"), tmp_path / "rgb.png")
    with pytest.raises(ValueError, match="image must be"):
        plot.plot_grad_cam(np.ones((2, 28, 28)), cam)


def test_explanation_in_one_figure(tmp_path, lenet_outputs):
    _, x, maps, saliency, cam = lenet_outputs
    path = tmp_path / "explain.png"
    figure = plot.plot_explanation(x[0], maps, saliency, cam, path, title="digit")
    read_back(figure, path)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles[:3] == ["input", "saliency", "Grad-CAM"] and len(titles) == 3 + 6


def test_confusion_matrix_counts_and_fractions(tmp_path):
    counts = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    path = tmp_path / "confusion.png"
    figure = plot.plot_confusion_matrix(counts, ["cat", "dog", "eel"], path)
    read_back(figure, path)
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.texts] == [str(v) for v in counts.ravel()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "eel"]
    fractions = plot.plot_confusion_matrix(counts / counts.sum(axis=1, keepdims=True))
    assert fractions.axes[0].texts[0].get_text() == "0.83"
    with pytest.raises(ValueError, match="class_names has 2 names for 3 classes"):
        plot.plot_confusion_matrix(counts, ["a", "b"])
    with pytest.raises(ValueError, match="matrix must be square"):
        plot.plot_confusion_matrix(np.ones((2, 3)))


def test_training_curves_from_a_fit_history(tmp_path):
    fastconv.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 2, 2)).astype(np.float32)
    y = (x.reshape(64, 4).sum(axis=1) > 0).astype(np.int64)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    history = train.fit(model, DataLoader(TensorDataset(x, y), 16), DataLoader(TensorDataset(x, y), 64),
                        epochs=3, optimizer=optim.SGD(model.parameters(), lr=0.1), progress=False)
    path = tmp_path / "history.png"
    figure = plot.plot_history(history, path)
    read_back(figure, path)
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy", "learning rate"]
    loss_lines = figure.axes[0].get_lines()
    np.testing.assert_allclose(loss_lines[0].get_ydata(), history.history["loss"])
    np.testing.assert_array_equal(loss_lines[1].get_xdata(), [1, 2, 3])
    assert len(plot.plot_history({"loss": [1.0, 0.5]}).axes) == 1
    with pytest.raises(ValueError, match="history has none of loss, accuracy, lr"):
        plot.plot_history({"f1": [0.1]})


def test_roc_curves(tmp_path):
    fpr = [np.array([0, 0.1, 1]), np.array([0, 0.5, 1])]
    tpr = [np.array([0, 0.9, 1]), np.array([0, 0.5, 1])]
    path = tmp_path / "roc.png"
    figure = plot.plot_roc(fpr, tpr, [0.9, 0.5], ["a", "b"], path)
    read_back(figure, path)
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert labels == ["a (AUC = 0.900)", "b (AUC = 0.500)", "chance"]
    binary = plot.plot_roc(fpr[0], tpr[0], 0.9)
    assert binary.axes[0].get_legend().get_texts()[0].get_text() == "ROC (AUC = 0.900)"
    keyed = plot.plot_roc({"x": fpr[0]}, {"x": tpr[0]}, {"x": 0.9})
    assert keyed.axes[0].get_legend().get_texts()[0].get_text() == "x (AUC = 0.900)"
    with pytest.raises(ValueError, match="auc has 1 values for 2 curves"):
        plot.plot_roc(fpr, tpr, [0.9])


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install fastconv\[plot\]"):
        plot.plot_feature_maps(np.ones((2, 4, 4)))
