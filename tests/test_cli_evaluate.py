"""`python -m fastconv evaluate` and `compare` on freshly trained checkpoints: the printed
numbers are those fastconv.metrics gives on predictions recomputed here independently."""
import re
import subprocess
import sys

import numpy as np
import pytest

from fastconv import metrics, models, nn, train
from fastconv.cli import main
from fastconv.data import builtin_mnist_split, transforms


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    directory = tmp_path_factory.mktemp("checkpoints")
    paths = {}
    for name in ("lenet5", "simple_cnn"):
        paths[name] = directory / f"{name}.npz"
        assert main(["train", "--model", name, "--epochs", "1", "--limit", "300",
                     "--checkpoint", str(paths[name])]) == 0
    return paths


def validation_logits(path, name):
    """Logits of the checkpoint on the built-in validation digits, computed without the CLI."""
    model = models.get_model(name, num_classes=10, in_channels=1, input_size=28)
    extra = train.load_checkpoint(path, model)["extra"]
    val = builtin_mnist_split()[1]
    images, labels = val.dataset.get_batch(val.indices)
    scale = transforms.Normalize(extra["normalize_mean"], extra["normalize_std"])
    return train.predict(model, scale(images)), labels


def test_evaluate_prints_the_metrics_of_the_predictions(checkpoints, capsys):
    assert main(["evaluate", str(checkpoints["lenet5"]), "--repeats", "3"]) == 0
    out = capsys.readouterr().out
    logits, y = validation_logits(checkpoints["lenet5"], "lenet5")
    y_pred = logits.argmax(axis=1)
    assert "on 500 validation images: built-in MNIST digits" in out
    correct = metrics.accuracy(y, y_pred, normalize=False)
    assert f"accuracy: {100 * correct / 500:.2f}% ({correct}/500), top-5: " \
           f"{100 * metrics.top_k_accuracy(y, logits, k=5):.2f}%, cross-entropy: " \
           f"{metrics.cross_entropy(y, logits):.4f}" in out
    p, r, f, _ = metrics.precision_recall_fscore_support(y, y_pred, average="macro",
                                                         labels=range(10), zero_division=0)
    assert f"macro averages: precision {p:.4f}, recall {r:.4f}, F1 {f:.4f}" in out
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert f"ROC-AUC (one-vs-rest): macro {metrics.roc_auc_score(y, probabilities):.4f}" in out
    assert metrics.classification_report(y, y_pred, labels=range(10), digits=4,
                                         zero_division=0).rstrip() in out
    matrix = metrics.confusion_matrix(y, y_pred, labels=range(10))
    printed = out.split("columns: predicted class):\n")[1].splitlines()[1:11]
    np.testing.assert_array_equal([[int(v) for v in line.split()[1:]] for line in printed],
                                  matrix)
    worst = max(metrics.top_confusions(y, y_pred, labels=range(10)),
                key=lambda row: row["error_rate"])
    assert f"  {worst['label']}: {worst['errors']}/50 wrong" in out
    per_sample = re.search(r"per sample: mean ([0-9.]+) ms, median ([0-9.]+) ms", out)
    assert per_sample and float(per_sample.group(1)) > 0
    assert "per batch of 100: mean" in out and "(3 timed runs," in out


def test_compare_prints_mcnemars_test(checkpoints, capsys):
    assert main(["compare", str(checkpoints["lenet5"]), str(checkpoints["simple_cnn"])]) == 0
    out = capsys.readouterr().out
    (logits_a, y), (logits_b, _) = (validation_logits(checkpoints[name], name)
                                    for name in ("lenet5", "simple_cnn"))
    result = metrics.mcnemar(y, logits_a.argmax(axis=1), logits_b.argmax(axis=1))
    (right_both, only_a), (only_b, wrong_both) = result.table
    assert re.search(rf"A right\s+{right_both}\s+{only_a}\n\s+A wrong\s+{only_b}\s+{wrong_both}",
                     out)
    correct_b = int(np.sum(logits_b.argmax(axis=1) == y))
    assert f"B: simple_cnn ({checkpoints['simple_cnn']}): accuracy {100 * correct_b / 500:.2f}% " \
           f"({correct_b}/500)" in out
    assert f"exact binomial p-value: {result.exact_pvalue:.4g}" in out
    assert f"continuity correction: {result.statistic:.4f}, p-value: {result.pvalue:.4g}" in out


def test_evaluate_runs_as_a_program(checkpoints):
    result = subprocess.run(
        [sys.executable, "-m", "fastconv", "evaluate", str(checkpoints["simple_cnn"]),
         "--threads", "1", "--batch-size", "50", "--repeats", "2"],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "evaluating simple_cnn" in result.stdout
    assert "inference time (1 thread, batch 50, 2 timed runs" in result.stdout


def test_refusals(checkpoints, tmp_path):
    bare = tmp_path / "bare.npz"
    train.save_checkpoint(bare, nn.Linear(2, 2))
    with pytest.raises(SystemExit, match="was not written by `python -m fastconv train`"):
        main(["evaluate", str(bare)])
    with pytest.raises(SystemExit, match="cannot read checkpoint"):
        main(["compare", str(checkpoints["lenet5"]), str(tmp_path / "missing.npz")])
    for i in range(1, 6):   # a CIFAR-10 directory: 3x32x32 images
        records = np.zeros((10, 3073), np.uint8)
        records[:, 0] = np.arange(10)
        (tmp_path / f"data_batch_{i}.bin").write_bytes(records.tobytes())
    with pytest.raises(SystemExit, match=r"takes 1x28x28 inputs but the data is 3x32x32"):
        main(["evaluate", str(checkpoints["lenet5"]), "--data-dir", str(tmp_path)])
