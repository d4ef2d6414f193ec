"""Whole networks: a training step (forward, cross-entropy, backward, SGD with momentum) of
LeNet-5, the simple CNN and CIFAR ResNet-18 at batch 64, and batch-1 inference latency of
CIFAR ResNet-18, beside a PyTorch twin of each model (bench/torch_models.py)."""
import numpy as np

import fastconv
import fastconv.nn.functional as F
import torch_models
from fastconv import models, optim
from timing import median_seconds, torch

UNIT = "img"
BATCH = 64
CASES = [
    # name, fastconv model, torch twin, input shape (C, H, W), pass, batch
    ("LeNet-5 28x28", lambda: models.lenet5(input_size=28), "lenet5", (1, 28, 28), "train", BATCH),
    ("simple CNN 28x28", models.simple_cnn, "simple_cnn", (1, 28, 28), "train", BATCH),
    ("CIFAR ResNet-18", lambda: models.resnet18(num_classes=10, cifar_stem=True),
     "resnet18_cifar", (3, 32, 32), "train", BATCH),
    ("CIFAR ResNet-18", lambda: models.resnet18(num_classes=10, cifar_stem=True),
     "resnet18_cifar", (3, 32, 32), "infer b1", 1),
]
QUICK = ["LeNet-5 28x28", "simple CNN 28x28"]
FOOTNOTE = ("work = images per call; the rate column is images/s. Train: forward, "
            "cross-entropy, backward and an SGD (momentum 0.9) step; infer: eval-mode forward.")


def unavailable():
    return None


def fastconv_call(model, x, y, mode):
    if mode == "train":
        model.train()
        opt = optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

        def step():
            opt.zero_grad()
            F.cross_entropy(model(fastconv.Tensor(x)), y).backward()
            opt.step()
        return step
    model.eval()

    def infer():
        with fastconv.no_grad():
            model(fastconv.Tensor(x))
    return infer


def torch_call(model, x, y, mode):
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    if mode == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

        def step():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(tx), ty).backward()
            opt.step()
        return step
    model.eval()

    def infer():
        with torch.no_grad():
            model(tx)
    return infer


def run(quick, repeats):
    rng = np.random.default_rng(0)
    for name, make_model, twin, shape, mode, batch in CASES:
        if quick and name not in QUICK:
            continue
        x = rng.standard_normal((batch,) + shape, dtype=np.float32)
        y = rng.integers(0, 10, batch).astype(np.int64)
        fastconv.manual_seed(0)
        fns = {"fastconv": fastconv_call(make_model(), x, y, mode)}
        if torch is not None:
            torch.manual_seed(0)
            fns["torch"] = torch_call(getattr(torch_models, twin)(), x, y, mode)
        yield {"case": name, "pass": mode, "work": float(batch), "unit": UNIT,
               "seconds": median_seconds(fns, repeats), "note": ""}
