"""Model selection: K-fold cross-validation of a model factory, and the dataset splitters.

    import fastconv
    from fastconv import models, optim
    from fastconv.data import builtin_mnist_split, transforms
    from fastconv.model_selection import StratifiedKFold, cross_validate

    fastconv.manual_seed(0)                       # the factory's initial weights
    train_set, _ = builtin_mnist_split()
    result = cross_validate(lambda: models.lenet5(input_size=28), train_set,
                            cv=StratifiedKFold(5, shuffle=True, seed=0), epochs=3,
                            optimizer_factory=lambda params: optim.Adam(params, lr=2e-3),
                            transform=transforms.Normalize(0.1307, 0.3081),
                            metrics=("accuracy", "f1_macro", "roc_auc_ovr"), seed=0)
    print(result)                                 # mean +- std per metric, then each fold
    result.scores["accuracy"]                     # one value per fold

KFold, StratifiedKFold, train_val_test_split and random_split are fastconv.data's,
re-exported here where scikit-learn users look for them.
"""
import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from fastconv.data.dataset import Subset, TensorDataset
from fastconv.data.loader import DataLoader
from fastconv.data.split import KFold, StratifiedKFold, random_split, train_val_test_split
from fastconv.metrics import (
    accuracy,
    cross_entropy,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
    top_k_accuracy,
)
from fastconv.nn import Module
from fastconv.optim import Adam
from fastconv.train import fit, predict

__all__ = [
    "SCORERS",
    "CrossValidationResult",
    "KFold",
    "StratifiedKFold",
    "cross_validate",
    "random_split",
    "train_val_test_split",
]


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _average(metric, average):
    return lambda y, logits: metric(y, logits.argmax(axis=1), average=average, zero_division=0)


# Each scorer takes (y_true, logits) -> float; names as scikit-learn's scoring strings.
SCORERS = {
    "accuracy": lambda y, logits: accuracy(y, logits.argmax(axis=1)),
    "top_2_accuracy": lambda y, logits: top_k_accuracy(y, logits, k=2),
    "top_5_accuracy": lambda y, logits: top_k_accuracy(y, logits, k=5),
    "cross_entropy": cross_entropy,
    "roc_auc_ovr": lambda y, logits: roc_auc_score(y, _softmax(logits)),
    "roc_auc_ovr_weighted": lambda y, logits: roc_auc_score(y, _softmax(logits),
                                                            average="weighted"),
    **{f"{name}_{average}": _average(metric, average)
       for name, metric in (("precision", precision_score), ("recall", recall_score),
                            ("f1", f1_score))
       for average in ("macro", "micro", "weighted")},
}


@dataclass
class CrossValidationResult:
    """What cross_validate returns.

    scores: metric name -> float64 array, one score per fold; fit_time, score_time: seconds
    per fold; histories: each fold's fit History; models: the trained models
    (return_models=True) else None. mean / std: metric name -> mean and standard deviation
    across folds (population std, ddof=0, as numpy's and scikit-learn users' scores.std()).
    """
    scores: dict
    fit_time: np.ndarray
    score_time: np.ndarray
    histories: list
    models: list = field(default=None)

    @property
    def mean(self):
        return {name: float(values.mean()) for name, values in self.scores.items()}

    @property
    def std(self):
        return {name: float(values.std()) for name, values in self.scores.items()}

    def __str__(self):
        heading = (f"{len(self.fit_time)}-fold cross-validation "
                   f"(fit {self.fit_time.mean():.1f} s per fold):")
        lines = [heading]
        width = max(len(name) for name in self.scores)
        for name, values in self.scores.items():
            folds = " ".join(f"{v:.4f}" for v in values)
            lines.append(f"  {name:<{width}}  {values.mean():.4f} +- {values.std():.4f}  "
                         f"(folds: {folds})")
        return "\n".join(lines)


def dataset_labels(dataset):
    """The labels (second field) of every sample, read without loading the inputs where the
    dataset allows: ImageDataset / MNIST / CIFAR10 `.labels`, a TensorDataset's second
    array, a Subset of those; otherwise sample by sample."""
    if isinstance(dataset, Subset):
        return dataset_labels(dataset.dataset)[dataset.indices]
    if isinstance(getattr(dataset, "labels", None), np.ndarray):
        return dataset.labels
    if isinstance(dataset, TensorDataset) and len(dataset.arrays) >= 2:
        return dataset.arrays[1]
    return np.asarray([dataset[i][1] for i in range(len(dataset))])


def _scorers(metrics):
    if isinstance(metrics, str):
        metrics = (metrics,)
    if isinstance(metrics, dict):
        chosen = dict(metrics)
    else:
        chosen = {}
        for name in metrics:
            if name not in SCORERS:
                raise ValueError(f"metrics: unknown metric {name!r}; known: "
                                 f"{', '.join(SCORERS)}, or pass a dict of "
                                 "name -> callable(y_true, logits)")
            chosen[name] = SCORERS[name]
    if not chosen:
        raise ValueError("metrics must name at least one metric")
    for name, scorer in chosen.items():
        if not callable(scorer):
            raise TypeError(f"metrics[{name!r}] must be callable(y_true, logits), got "
                            f"{type(scorer).__name__}")
    return chosen


def cross_validate(model_factory, dataset, cv=5, *, epochs=1, batch_size=32,
                   optimizer_factory=None, scheduler_factory=None, loss_fn=None,
                   transform=None, eval_transform=None, metrics=("accuracy",),
                   eval_batch_size=256, seed=None, fit_kwargs=None, return_models=False):
    """Train a fresh model on each fold's training part and score it on the held-out part,
    as scikit-learn's cross_validate does for an estimator.

    Args:
        model_factory: callable() -> a new, untrained fastconv.nn.Module (called once per
            fold; seed fastconv.manual_seed beforehand for reproducible initial weights).
        dataset: a Dataset of (input, integer label) samples, e.g. builtin_mnist_split()[0]
            or a TensorDataset(x, y).
        cv: the number of folds (StratifiedKFold(cv), unshuffled, as scikit-learn does for
            classifiers), or a splitter with split(X, y) -> (train_idx, val_idx) pairs
            (KFold, StratifiedKFold, or an iterable of such pairs).
        epochs, batch_size: per fold, passed to train.fit (training batches shuffled).
        optimizer_factory: callable(parameters) -> optimizer; default Adam(lr=1e-3), as fit's.
        scheduler_factory: callable(optimizer) -> lr scheduler, or None.
        loss_fn: as in train.fit (default cross-entropy).
        transform: applied to the training batches (DataLoader transform); eval_transform to
            the held-out batches, default `transform` (pass it separately when transform
            augments).
        metrics: names from SCORERS ('accuracy', 'f1_macro', 'precision_weighted',
            'roc_auc_ovr', 'cross_entropy', 'top_2_accuracy', ...), or a dict name ->
            callable(y_true, logits) -> float.
        seed: None or an int; fold k's training loader shuffles with seed + k (None: drawn
            from the shared generator, see fastconv.manual_seed).
        fit_kwargs: more keyword arguments for train.fit (e.g. callbacks); fit runs
            without a validation loader and silently unless progress=True is given here.
        return_models: keep each fold's trained model in the result.

    Returns a CrossValidationResult: `.scores[name]` per fold, `.mean[name]`,
    `.std[name]`, fit and scoring times, the fit histories.
    """
    if isinstance(model_factory, Module) or not callable(model_factory):
        raise TypeError("model_factory must be callable() -> a new Module, e.g. "
                        f"lambda: models.lenet5(), got a {type(model_factory).__name__}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or seed < 0):
        raise ValueError(f"seed must be None or an int >= 0, got {seed!r}")
    scorers = _scorers(metrics)
    labels = dataset_labels(dataset)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"dataset: the samples' labels must be integers, got {labels.dtype} "
                         f"of shape {labels.shape}")
    splitter = StratifiedKFold(cv) if isinstance(cv, numbers.Integral) else cv
    folds = splitter.split(labels, labels) if hasattr(splitter, "split") else splitter
    eval_transform = transform if eval_transform is None else eval_transform
    fit_kwargs = {"progress": False, **(fit_kwargs or {})}
    scores = {name: [] for name in scorers}
    fit_times, score_times, histories, trained = [], [], [], []
    for fold, (train_idx, val_idx) in enumerate(folds):
        model = model_factory()
        optimizer = (Adam(model.parameters(), lr=1e-3) if optimizer_factory is None
                     else optimizer_factory(model.parameters()))
        scheduler = None if scheduler_factory is None else scheduler_factory(optimizer)
        train_loader = DataLoader(Subset(dataset, train_idx), batch_size, shuffle=True,
                                  seed=None if seed is None else seed + fold,
                                  transform=transform)
        start = time.perf_counter()
        histories.append(fit(model, train_loader, epochs=epochs, optimizer=optimizer,
                             scheduler=scheduler, loss_fn=loss_fn, **fit_kwargs))
        fit_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        logits = predict(model, DataLoader(Subset(dataset, val_idx), eval_batch_size,
                                           transform=eval_transform))
        y_val = labels[val_idx]
        for name, scorer in scorers.items():
            scores[name].append(float(scorer(y_val, logits)))
        score_times.append(time.perf_counter() - start)
        if return_models:
            trained.append(model)
    if not fit_times:
        raise ValueError("cv produced no folds")
    return CrossValidationResult(
        scores={name: np.array(values) for name, values in scores.items()},
        fit_time=np.array(fit_times), score_time=np.array(score_times), histories=histories,
        models=trained if return_models else None)
