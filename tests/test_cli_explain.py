"""`python -m fastconv explain`: the PNG and the printed classes for an image of the built-in
validation split or of --data-dir's test files, the layer options, and the refusals."""
import gzip
import struct
import subprocess
import sys

import numpy as np
import pytest

import fastconv
from fastconv import train
from fastconv.cli import main, model_for_data
from fastconv.data import builtin_mnist_split

matplotlib_image = pytest.importorskip("matplotlib.image")


def save_model(path, name, shape=(1, 28, 28), mean=0.13, std=0.31):
    """A checkpoint as `python -m fastconv train` writes it, of a freshly initialised model."""
    fastconv.manual_seed(0)
    model = model_for_data(name, shape[0], shape[1], 10)
    train.save_checkpoint(path, model, model_name=name, normalize_mean=[mean] * shape[0],
                          normalize_std=[std] * shape[0], input_shape=list(shape),
                          num_classes=10)
    return model


def predicted_class(model, image, mean=0.13, std=0.31):
    x = (image[None].astype(np.float32) / 255 - mean) / std
    return int(np.argmax(train.predict(model, x)[0]))


@pytest.fixture(scope="module")
def lenet_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("explain") / "lenet5.npz"
    return path, save_model(path, "lenet5")


def test_explain_runs_as_a_program(tmp_path, lenet_checkpoint):
    checkpoint, model = lenet_checkpoint
    out = tmp_path / "explain.png"
    result = subprocess.run([sys.executable, "-m", "fastconv", "explain", str(checkpoint),
                             "--index", "7", "--out", str(out), "--threads", "1"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    _, val = builtin_mnist_split()
    image, label = val[7]
    raw = val.dataset.images[val.indices[7]]
    assert f"true class: {label}\n" in result.stdout
    assert f"predicted class: {predicted_class(model, raw)} (probability " in result.stdout
    assert "validation image #7 of the built-in MNIST digits" in result.stdout
    assert "feature maps: features.0 (6, 28, 28); Grad-CAM: features.3" in result.stdout
    pixels = matplotlib_image.imread(out)
    assert pixels.ndim == 3 and pixels.shape[2] == 4 and pixels.shape[1] == 900
    assert pixels[..., :3].std() > 0.05


def test_explain_layer_options(tmp_path, lenet_checkpoint, capsys):
    checkpoint, _ = lenet_checkpoint
    out = tmp_path / "e.png"
    assert main(["explain", str(checkpoint), "--index", "-1", "--out", str(out),
                 "--layer", "features.4", "--cam-layer", "features.0"]) == 0
    printed = capsys.readouterr().out
    assert "validation image #499" in printed
    assert "feature maps: features.4 (16, 10, 10); Grad-CAM: features.0" in printed
    assert out.stat().st_size > 0


def write_idx(path, array, magic):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape))
        f.write(array.astype(np.uint8).tobytes())


def test_explain_an_image_of_the_test_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    test_labels = rng.integers(0, 10, 12)
    test_images = rng.integers(0, 256, (12, 28, 28))
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (30, 28, 28)), 2051)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(30) % 10, 2049)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", test_images, 2051)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", test_labels, 2049)
    model = save_model(tmp_path / "cnn.npz", "simple_cnn")
    assert main(["explain", str(tmp_path / "cnn.npz"), "--index", "5", "--data-dir",
                 str(tmp_path), "--out", str(tmp_path / "cnn.png")]) == 0
    printed = capsys.readouterr().out
    assert f"true class: {test_labels[5]}\n" in printed
    assert f"predicted class: {predicted_class(model, test_images[5][None])} " in printed
    assert "Grad-CAM: conv2" in printed and "validation from the test files" in printed


def test_explain_refusals(tmp_path, lenet_checkpoint, capsys, monkeypatch):
    checkpoint, model = lenet_checkpoint
    out = str(tmp_path / "x.png")
    with pytest.raises(SystemExit, match="--index 500 is out of range.*500 images"):
        main(["explain", str(checkpoint), "--index", "500", "--out", out])
    with pytest.raises(SystemExit, match="does not exist"):
        main(["explain", str(tmp_path / "missing.npz"), "--out", out])
    train.save_checkpoint(tmp_path / "bare.npz", model)
    with pytest.raises(SystemExit, match="lacks model_name.*written by `python -m fastconv train`"):
        main(["explain", str(tmp_path / "bare.npz"), "--out", out])
    with pytest.raises(SystemExit, match="layer 'conv9' is not a layer.*features.0"):
        main(["explain", str(checkpoint), "--layer", "conv9", "--out", out])
    with pytest.raises(SystemExit, match="'classifier.1' is a ReLU, not a 2-D convolution"):
        main(["explain", str(checkpoint), "--cam-layer", "classifier.1", "--out", out])
    with pytest.raises(SystemExit, match=r"--layer 'classifier.0' outputs shape \(84,\)"):
        main(["explain", str(checkpoint), "--layer", "classifier.0", "--out", out])
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["explain", str(checkpoint), "--out", out]) == 1
    assert r"pip install fastconv[plot]" in capsys.readouterr().err
