"""Accuracy, top-k accuracy, and precision / recall / F1 per class and averaged, with
scikit-learn's definitions, argument names and zero-division rules."""
import math
import warnings

import numpy as np

from fastconv.metrics._validate import (
    choice,
    class_indices,
    label_pair,
    label_set,
    label_vector,
    positive_int,
    score_matrix,
)
from fastconv.metrics.confusion import count_pairs

__all__ = [
    "UndefinedMetricWarning",
    "accuracy",
    "f1_score",
    "precision_recall_fscore_support",
    "precision_score",
    "recall_score",
    "top_k_accuracy",
]

AVERAGES = (None, "binary", "micro", "macro", "weighted")


class UndefinedMetricWarning(UserWarning):
    """A metric divided by zero (e.g. precision of a class never predicted) and
    zero_division='warn' set it to 0."""


def accuracy(y_true, y_pred, normalize=True):
    """Fraction of samples whose predicted label equals the true one (the number of them
    with normalize=False), as scikit-learn's accuracy_score."""
    y_true, y_pred = label_pair(y_true, y_pred)
    correct = int(np.count_nonzero(y_true == y_pred))
    return correct / y_true.size if normalize else correct


def top_k_accuracy(y_true, y_score, k=2, normalize=True):
    """Fraction of samples whose true class is among the k highest scores, as scikit-learn's
    top_k_accuracy_score for multiclass scores.

    y_true: integer class indices (n_samples,) in 0..n_classes-1; y_score: (n_samples,
    n_classes) scores, logits or probabilities. Among tied scores the higher class index
    ranks first (scikit-learn's order). normalize=False returns the number of hits.
    """
    y_true = label_vector(y_true, "y_true")
    y_score = score_matrix(y_score, y_true.size)
    y_true = class_indices(y_true, y_score.shape[1])
    k = positive_int(k, "k")
    ranked = np.argsort(y_score, axis=1, kind="stable")[:, ::-1][:, :k]
    hits = int(np.count_nonzero((ranked == y_true[:, None]).any(axis=1)))
    return hits / y_true.size if normalize else hits


def _divide(numerator, denominator, zero_division, metric, average):
    """numerator / denominator, with `zero_division` where the denominator is 0."""
    undefined = denominator == 0
    result = numerator / np.where(undefined, 1, denominator)
    if not undefined.any():
        return result
    result[undefined] = np.nan if zero_division == "nan" else (
        0.0 if zero_division == "warn" else float(zero_division))
    if zero_division == "warn":
        which = "" if average == "micro" else " in labels with no " + {
            "precision": "predicted samples", "recall": "true samples",
            "F-score": "true nor predicted samples"}[metric]
        warnings.warn(f"{metric} is ill-defined and being set to 0.0{which}; use zero_division "
                      "to choose another value", UndefinedMetricWarning, stacklevel=4)
    return result


def _nan_average(values, weights):
    """Mean of the non-NaN values (weighted, unless every weight is 0); NaN if none."""
    keep = ~np.isnan(values)
    if not keep.any():
        return float("nan")
    if weights is None or weights[keep].sum() == 0:
        return float(np.mean(values[keep]))
    return float(np.average(values[keep], weights=weights[keep]))


def _zero_division(value):
    if isinstance(value, str):
        return choice(value, "zero_division", ("warn",))
    if value in (0, 1):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    raise ValueError(f"zero_division must be 'warn', 0, 1 or numpy.nan; got {value!r}")


def precision_recall_fscore_support(y_true, y_pred, labels=None, average=None, pos_label=1,
                                    zero_division="warn"):
    """Precision, recall (sensitivity) and F1 per class or averaged, and the support,
    as scikit-learn's precision_recall_fscore_support (beta = 1).

    For class c: precision = TP / (TP + FP), recall = TP / (TP + FN),
    F1 = 2 TP / (2 TP + FP + FN), support = number of true samples of c.

    Args:
        y_true, y_pred: labels, shape (n_samples,).
        labels: the classes to score, in order (default: the sorted union of both); a
            sample of an unlisted class still counts as a false positive or negative of
            the listed class it is confused with.
        average: None (per-class arrays), 'macro' (unweighted mean over classes), 'weighted'
            (mean weighted by support), 'micro' (from the TP, FP, FN summed over classes:
            equals accuracy when every class is listed), or 'binary' (the scores of
            `pos_label` alone).
        zero_division: the value of a ratio whose denominator is 0 (precision of a class
            never predicted, recall of a class absent from y_true, F1 of a class in
            neither): 'warn' (0 with an UndefinedMetricWarning), 0, 1 or numpy.nan
            (NaN entries are left out of the averages).

    Returns (precision, recall, f1, support): arrays of shape (n_labels,) for average=None;
    floats and support None otherwise.
    """
    choice(average, "average", AVERAGES)
    zero_division = _zero_division(zero_division)
    y_true, y_pred = label_pair(y_true, y_pred)
    if average == "binary":
        present = np.unique(np.concatenate([y_true, y_pred]))
        if present.size > 2:
            raise ValueError(f"average='binary' needs two classes, the labels hold "
                             f"{present.size}; choose average from None, 'micro', 'macro', "
                             "'weighted'")
        if present.size == 2 and pos_label not in present:
            raise ValueError(f"pos_label={pos_label!r} is not a label; labels are "
                             f"{present.tolist()}")
        labels = np.asarray([pos_label])
    else:
        labels = label_set(labels, y_true, y_pred)
    full, selected = count_pairs(y_true, y_pred, labels)
    tp = full[selected, selected].astype(np.float64)
    true_sum = full[selected, :].sum(axis=1).astype(np.float64)
    pred_sum = full[:, selected].sum(axis=0).astype(np.float64)
    if average == "micro":
        tp, true_sum, pred_sum = tp.sum(keepdims=True), true_sum.sum(keepdims=True), \
            pred_sum.sum(keepdims=True)
    precision = _divide(tp, pred_sum, zero_division, "precision", average)
    recall = _divide(tp, true_sum, zero_division, "recall", average)
    f1 = _divide(2 * tp, true_sum + pred_sum, zero_division, "F-score", average)
    if average is None:
        return precision, recall, f1, true_sum.astype(np.int64)
    weights = true_sum if average == "weighted" else None
    return (_nan_average(precision, weights), _nan_average(recall, weights),
            _nan_average(f1, weights), None)


def precision_score(y_true, y_pred, labels=None, average="macro", pos_label=1,
                    zero_division="warn"):
    """Precision, TP / (TP + FP); see precision_recall_fscore_support. The default
    average is 'macro' (scikit-learn's is 'binary', which refuses multiclass labels)."""
    return precision_recall_fscore_support(y_true, y_pred, labels, average, pos_label,
                                           zero_division)[0]


def recall_score(y_true, y_pred, labels=None, average="macro", pos_label=1,
                 zero_division="warn"):
    """Recall or sensitivity, TP / (TP + FN); see precision_recall_fscore_support. The
    default average is 'macro'."""
    return precision_recall_fscore_support(y_true, y_pred, labels, average, pos_label,
                                           zero_division)[1]


def f1_score(y_true, y_pred, labels=None, average="macro", pos_label=1, zero_division="warn"):
    """F1, the harmonic mean of precision and recall, 2 TP / (2 TP + FP + FN); see
    precision_recall_fscore_support. The default average is 'macro'."""
    return precision_recall_fscore_support(y_true, y_pred, labels, average, pos_label,
                                           zero_division)[2]
