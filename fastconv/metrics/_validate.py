"""Argument checks shared by the metrics: each public function validates its arguments once,
through these, and every error names the offending argument."""
import numbers

import numpy as np


def label_vector(values, name):
    """`values` as a non-empty 1-D array of class labels (integers, booleans or strings)."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of labels, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    if array.dtype.kind not in "biuUSO":
        raise TypeError(f"{name} must hold class labels (integers, booleans or strings), "
                        f"got dtype {array.dtype}")
    return array


def label_pair(y_true, y_pred):
    """y_true and y_pred as label vectors of the same length."""
    y_true, y_pred = label_vector(y_true, "y_true"), label_vector(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {y_true.shape[0]} "
                         f"and {y_pred.shape[0]}")
    return y_true, y_pred


def label_set(labels, *observed):
    """The classes to report on: `labels` as given (checked for duplicates), or the sorted
    union of the observed label vectors (scikit-learn's rule)."""
    if labels is None:
        return np.unique(np.concatenate(observed))
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D sequence, got shape {labels.shape}")
    if np.unique(labels).size != labels.size:
        raise ValueError(f"labels must not repeat a class, got {labels.tolist()}")
    return labels


def class_indices(y_true, n_classes, name="y_true"):
    """Integer labels that index the columns of an (N, n_classes) score array."""
    array = label_vector(y_true, name)
    if array.dtype.kind == "b":
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer class indices 0..{n_classes - 1} (the columns "
                        f"of the scores), got dtype {array.dtype}")
    low, high = array.min(), array.max()
    if low < 0 or high >= n_classes:
        bad = low if low < 0 else high
        raise ValueError(f"{name} holds the label {bad}, outside 0..{n_classes - 1} "
                         f"(the scores have {n_classes} columns)")
    return array.astype(np.int64, copy=False)


def score_matrix(scores, n_samples, name="y_score"):
    """Finite float64 scores of shape (n_samples, n_classes), n_classes >= 2."""
    array = np.asarray(scores)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numbers, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if array.ndim != 2 or array.shape[1] < 2:
        raise ValueError(f"{name} must have shape (n_samples, n_classes) with n_classes >= 2, "
                         f"got shape {array.shape}")
    if array.shape[0] != n_samples:
        raise ValueError(f"{name} has {array.shape[0]} rows but y_true has {n_samples} labels")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def choice(value, name, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value
