"""Splitting a dataset: random_split (PyTorch's), train_val_test_split (optionally stratified),
and KFold / StratifiedKFold (scikit-learn's fold assignment, index arrays out)."""
import itertools
import numbers
import warnings

import numpy as np

from fastconv.data.dataset import Subset, TensorDataset
from fastconv.data.loader import make_generator

__all__ = ["random_split", "train_val_test_split", "KFold", "StratifiedKFold"]


def random_split(dataset, lengths, seed=None):
    """Split `dataset` into non-overlapping random Subsets of the given `lengths`.

    `lengths`: ints summing to len(dataset), or fractions summing to 1; as in PyTorch,
    fractions become floor(n * f) each and the leftover samples go one by one to the first
    subsets. `seed`: None, an int or a numpy.random.Generator.
    """
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("lengths must not be empty")
    kinds = {"bad" if isinstance(v, bool) or not isinstance(v, numbers.Real)
             else "int" if isinstance(v, numbers.Integral) else "fraction" for v in lengths}
    if len(kinds) != 1 or "bad" in kinds:
        raise TypeError(f"lengths must be all ints or all fractions, got {lengths}")
    if kinds == {"int"}:
        counts = [int(v) for v in lengths]
        if any(c < 0 for c in counts):
            raise ValueError(f"lengths must be >= 0, got {counts}")
    else:
        if any(not 0 <= f <= 1 for f in lengths) or not np.isclose(sum(lengths), 1.0):
            raise ValueError(f"fractional lengths must lie in [0, 1] and sum to 1, got {lengths}")
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    if sum(counts) != n:
        raise ValueError(f"lengths sum to {sum(counts)} but the dataset has {n} samples")
    order = make_generator(seed).permutation(n)
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, order[a:b]) for a, b in itertools.pairwise(bounds)]


def _part_size(value, n, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a fraction or a count, got {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        if not 0 <= value <= n:
            raise ValueError(f"{name} must be a count in [0, {n}], got {value}")
        return int(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} as a fraction must lie in [0, 1), got {value}")
    return round(n * value)


def _allocate(total, quotas, capacity):
    """Integers summing to `total`, each near its real `quota` (largest remainders get the
    extra ones) and never above `capacity`: exact per-class counts whenever they exist."""
    counts = np.minimum(np.floor(quotas).astype(np.int64), capacity)
    order = np.argsort(-(quotas - np.floor(quotas)), kind="stable")
    while counts.sum() < total:
        for k in order:
            if counts.sum() == total:
                break
            if counts[k] < capacity[k]:
                counts[k] += 1
    return counts


def train_val_test_split(*data, val=0.1, test=0.0, seed=None, stratify=None):
    """Split into train / validation / test parts, at random, optionally stratified.

    Args:
        *data: one Dataset, or one or more arrays with equal first dimensions.
        val, test: fractions in [0, 1) (rounded to the nearest count) or counts.
        seed: None, an int or a numpy.random.Generator.
        stratify: labels (n,): each class is split in the same proportions (per-class counts
            are the proportional ones, the remainders going to the largest fractional parts).

    Returns `(train, val, test)` — always three parts, `test` empty if test=0. For a Dataset
    each part is a Subset; for arrays each part is a tuple of arrays (one array if one was
    given). Indices within each part are in ascending order.
    """
    if not data:
        raise TypeError("train_val_test_split needs a dataset or arrays")
    is_dataset = len(data) == 1 and not isinstance(data[0], np.ndarray) and hasattr(data[0], "__getitem__") \
        and hasattr(data[0], "__len__") and not isinstance(data[0], (list, tuple))
    dataset = data[0] if is_dataset else TensorDataset(*data)
    n = len(dataset)
    n_val, n_test = _part_size(val, n, "val"), _part_size(test, n, "test")
    if n_val + n_test >= n:
        raise ValueError(f"val ({n_val}) + test ({n_test}) leave no training samples out of {n}")
    rng = make_generator(seed)
    if stratify is None:
        order = rng.permutation(n)
        parts = [order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test]]
    else:
        labels = np.asarray(stratify)
        if labels.ndim != 1 or labels.shape[0] != n:
            raise ValueError(f"stratify must be labels of shape ({n},), got shape {labels.shape}")
        classes, inverse = np.unique(labels, return_inverse=True)
        sizes = np.bincount(inverse, minlength=len(classes))
        val_c = _allocate(n_val, n_val * sizes / n, sizes)
        test_c = _allocate(n_test, n_test * sizes / n, sizes - val_c)
        parts = [[], [], []]
        for k in range(len(classes)):
            members = rng.permutation(np.flatnonzero(inverse == k))
            parts[1].append(members[:val_c[k]])
            parts[2].append(members[val_c[k]:val_c[k] + test_c[k]])
            parts[0].append(members[val_c[k] + test_c[k]:])
        parts = [np.concatenate(p) for p in parts]
    parts = [np.sort(p) for p in parts]
    if is_dataset:
        return tuple(Subset(dataset, p) for p in parts)
    arrays = dataset.arrays
    return tuple(tuple(a[p] for a in arrays) if len(arrays) > 1 else arrays[0][p] for p in parts)


class KFold:
    """K-fold cross-validation indices, as scikit-learn's KFold.

    The first n % n_splits folds have n // n_splits + 1 samples, the others n // n_splits;
    with shuffle=True the samples are permuted once per `split` call (an int seed gives the
    same folds every call, a Generator new ones). `split(X)` yields `(train_idx, val_idx)`,
    both int64 and ascending.
    """

    def __init__(self, n_splits=5, shuffle=False, seed=None):
        if isinstance(n_splits, bool) or not isinstance(n_splits, numbers.Integral) or n_splits < 2:
            raise ValueError(f"n_splits must be an int >= 2, got {n_splits!r}")
        if not shuffle and seed is not None:
            raise ValueError("seed has no effect when shuffle=False; pass shuffle=True or seed=None")
        make_generator(seed)  # validate now, not at the first split
        self.n_splits = int(n_splits)
        self.shuffle = bool(shuffle)
        self.seed = seed

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits

    def _check_n(self, X):
        n = len(X)
        if self.n_splits > n:
            raise ValueError(f"n_splits={self.n_splits} is greater than the number of samples n={n}")
        return n

    def _test_folds(self, X, y):
        """Fold number (0..n_splits-1) of every sample."""
        n = self._check_n(X)
        order = make_generator(self.seed).permutation(n) if self.shuffle else np.arange(n)
        sizes = np.full(self.n_splits, n // self.n_splits)
        sizes[:n % self.n_splits] += 1
        folds = np.empty(n, dtype=np.int64)
        folds[order] = np.repeat(np.arange(self.n_splits), sizes)
        return folds

    def split(self, X, y=None, groups=None):
        folds = self._test_folds(X, y)
        for k in range(self.n_splits):
            yield np.flatnonzero(folds != k), np.flatnonzero(folds == k)


class StratifiedKFold(KFold):
    """K folds that each hold about 1/n_splits of every class, as scikit-learn's
    StratifiedKFold (same fold assignment when shuffle=False): the samples of each class,
    in order, are dealt to the folds so that fold sizes differ by at most one, per class and
    overall. `split(X, y)` yields `(train_idx, val_idx)`."""

    def _test_folds(self, X, y):
        n = self._check_n(X)
        if y is None:
            raise ValueError("StratifiedKFold.split needs the labels y")
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"y must be labels of shape ({n},), got shape {y.shape}")
        # Classes numbered by first appearance, as scikit-learn does.
        _, first, inverse = np.unique(y, return_index=True, return_inverse=True)
        _, class_rank = np.unique(first, return_inverse=True)
        encoded = class_rank[inverse]
        n_classes = len(first)
        counts = np.bincount(encoded, minlength=n_classes)
        if np.all(self.n_splits > counts):
            raise ValueError(f"n_splits={self.n_splits} cannot be greater than the number of members in each class")
        if self.n_splits > counts.min():
            warnings.warn(f"the least populated class in y has only {counts.min()} members, "
                          f"which is less than n_splits={self.n_splits}", UserWarning, stacklevel=3)
        # Deal the sorted labels round-robin to the folds: allocation[f, c] = class c's count in fold f.
        sorted_labels = np.sort(encoded)
        allocation = np.array([np.bincount(sorted_labels[f::self.n_splits], minlength=n_classes)
                               for f in range(self.n_splits)])
        rng = make_generator(self.seed) if self.shuffle else None
        folds = np.empty(n, dtype=np.int64)
        for c in range(n_classes):
            class_folds = np.repeat(np.arange(self.n_splits), allocation[:, c])
            if rng is not None:
                rng.shuffle(class_folds)
            folds[encoded == c] = class_folds
        return folds
