"""`python -m fastconv train` (built-in digits, IDX and CIFAR directories, refusals) and the
subcommand dispatch."""
import gzip
import struct
import subprocess
import sys

import numpy as np
import pytest

from fastconv import models, train
from fastconv.cli import main, model_for_data


def test_train_runs_as_a_program_and_saves_a_checkpoint(tmp_path):
    path = tmp_path / "ck" / "lenet5.npz"
    result = subprocess.run(
        [sys.executable, "-m", "fastconv", "train", "--model", "lenet5", "--epochs", "1",
         "--limit", "300", "--threads", "1", "--checkpoint", str(path)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "training lenet5 (61,706 parameters) on built-in MNIST digits" in out
    assert "epoch 1/1 - loss" in out and "final validation accuracy:" in out
    assert f"checkpoint saved to {path}" in out
    header = train.load_checkpoint(path, models.lenet5(input_size=28))
    assert header["epoch"] == 1 and header["extra"]["model_name"] == "lenet5"
    assert header["extra"]["input_shape"] == [1, 28, 28]


def write_idx(path, array, magic):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape))
        f.write(array.astype(np.uint8).tobytes())


def test_train_on_an_idx_directory(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 20)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)), 2051)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10, 2049)
    assert main(["train", "--model", "simple_cnn", "--epochs", "1", "--data-dir", str(tmp_path),
                 "--optimizer", "sgd", "--lr", "0.01", "--no-checkpoint"]) == 0
    out = capsys.readouterr().out
    assert "MNIST-format IDX" in out and "(40 train, 20 validation from the test files)" in out
    assert "sgd lr 0.01" in out and "checkpoint saved" not in out


def test_train_on_a_cifar_directory_without_test_batch_splits_10_percent(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        records = np.concatenate([(np.arange(20) % 10)[:, None],
                                  rng.integers(0, 256, (20, 3072))], axis=1).astype(np.uint8)
        (tmp_path / f"data_batch_{i}.bin").write_bytes(records.tobytes())
    checkpoint = tmp_path / "r.npz"
    assert main(["train", "--model", "simple_cnn", "--epochs", "1", "--data-dir", str(tmp_path),
                 "--checkpoint", str(checkpoint)]) == 0
    out = capsys.readouterr().out
    assert "CIFAR-10" in out and "(90 train, 10 validation from a stratified 10%" in out
    header = train.load_checkpoint(checkpoint)
    assert header["model_state"]["conv1.weight"].shape == (32, 3, 3, 3)
    assert header["extra"]["input_shape"] == [3, 32, 32] and len(header["extra"]["normalize_mean"]) == 3


def test_models_are_adapted_to_the_data():
    assert model_for_data("resnet18", 3, 32, 10).conv1.weight.shape == (64, 3, 3, 3)  # CIFAR stem
    assert model_for_data("resnet18", 1, 28, 10).conv1.weight.shape == (64, 1, 3, 3)
    assert model_for_data("lenet5", 3, 32, 5).classifier[2].weight.shape == (5, 84)
    assert model_for_data("simple_mlp", 1, 28, 10).fc1.weight.shape == (512, 784)
    with pytest.raises(SystemExit, match="lenet5 takes 28x28 or 32x32"):
        model_for_data("lenet5", 1, 64, 10)


def test_refusals(tmp_path, capsys):
    with pytest.raises(SystemExit, match="ImageNet-sized inputs.*1x28x28"):
        main(["train", "--model", "vgg16", "--limit", "10"])
    with pytest.raises(SystemExit, match="neither MNIST IDX nor CIFAR-10"):
        main(["train", "--data-dir", str(tmp_path)])
    with pytest.raises(SystemExit):
        main(["train", "--model", "lenet7"])
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--epochs", "0"])


def test_demo_is_the_default_command(capsys):
    assert main(["--config"]) == 0
    assert "openmp" in capsys.readouterr().out
    assert main(["demo", "--config"]) == 0
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "train" in capsys.readouterr().out
