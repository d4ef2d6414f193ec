"""ROC curves and the area under them, binary and multiclass one-vs-rest, computed as
scikit-learn does (one threshold per distinct score, tied scores move together, trapezoids)."""
import warnings

import numpy as np

from fastconv.metrics._validate import choice, class_indices, label_vector, score_matrix

__all__ = ["auc", "roc_auc_score", "roc_curve"]


def _binary_targets(y_true, pos_label):
    if pos_label is not None:
        return y_true == pos_label
    if y_true.dtype.kind == "b":
        return y_true
    values = set(np.unique(y_true).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"y_true must be 0/1 or booleans, or pos_label must say which label is "
                         f"positive; y_true holds {sorted(values, key=str)}")
    return y_true == 1


def _score_vector(y_score, n_samples):
    scores = np.asarray(y_score)
    if scores.dtype.kind not in "biuf":
        raise TypeError(f"y_score must be numbers, got dtype {scores.dtype}")
    scores = scores.astype(np.float64, copy=False)
    if scores.shape != (n_samples,):
        raise ValueError(f"y_score must have shape ({n_samples},) like y_true, got {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError("y_score holds NaN or infinite values")
    return scores


def _roc(positive, scores, drop_intermediate):
    """fpr, tpr, thresholds of the binary targets `positive` ranked by `scores`."""
    order = np.argsort(scores, kind="stable")[::-1]
    scores, positive = scores[order], positive[order]
    # The last position of each run of equal scores: a threshold admits all ties at once.
    ends = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]
    tps = np.cumsum(positive)[ends].astype(np.float64)
    fps = 1 + ends - tps
    thresholds = scores[ends]
    if drop_intermediate and fps.size > 2:
        # Points in the middle of a straight segment change neither the curve nor its area.
        corners = np.r_[True, np.diff(fps, 2).astype(bool) | np.diff(tps, 2).astype(bool), True]
        fps, tps, thresholds = fps[corners], tps[corners], thresholds[corners]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    thresholds = np.r_[np.inf, thresholds]
    with np.errstate(invalid="ignore", divide="ignore"):
        return fps / fps[-1], tps / tps[-1], thresholds


def roc_curve(y_true, y_score, pos_label=None, drop_intermediate=True):
    """Receiver operating characteristic of a binary problem, as scikit-learn's roc_curve.

    Args:
        y_true: (n_samples,) 0/1 or booleans, or any labels with `pos_label` naming the
            positive one.
        y_score: (n_samples,) scores of the positive class; higher means more positive.
        drop_intermediate: leave out thresholds on straight segments of the curve (the
            curve and its area are unchanged).

    Returns (fpr, tpr, thresholds): thresholds are the distinct scores, decreasing, after a
    first threshold of +inf at (0, 0); fpr[i], tpr[i] are the false- and true-positive rates
    of predicting positive when score >= thresholds[i]. Without negatives (or positives)
    fpr (tpr) is NaN, with a UserWarning.
    """
    y_true = label_vector(y_true, "y_true")
    positive = _binary_targets(y_true, pos_label)
    scores = _score_vector(y_score, y_true.size)
    for present, kind in ((~positive, "negative"), (positive, "positive")):
        if not present.any():
            warnings.warn(f"y_true has no {kind} samples, so the "
                          f"{'false' if kind == 'negative' else 'true'}-positive rate is "
                          "undefined (NaN)", UserWarning, stacklevel=2)
    return _roc(positive, scores, drop_intermediate)


def auc(x, y):
    """Area under the curve through the points (x, y) by the trapezoidal rule; x must be
    monotonic (increasing or decreasing), as in scikit-learn's auc."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2, got shapes {x.shape} "
                         f"and {y.shape}")
    steps = np.diff(x)
    if (steps < 0).any() and (steps > 0).any():
        raise ValueError("x must be monotonic (increasing or decreasing)")
    area = float(np.sum(steps * (y[1:] + y[:-1]) / 2))
    return -area if (steps < 0).any() else area


def _binary_auc(positive, scores):
    if positive.all() or not positive.any():
        return float("nan")
    fpr, tpr, _ = _roc(positive, scores, drop_intermediate=True)
    return auc(fpr, tpr)


def roc_auc_score(y_true, y_score, average="macro", pos_label=None):
    """Area under the ROC curve, binary or multiclass one-vs-rest.

    Binary: y_score of shape (n_samples,) (scores of the positive class); y_true as in
    roc_curve. Raises ValueError if y_true holds only one class (the AUC is undefined).

    Multiclass one-vs-rest: y_score (n_samples, n_classes), e.g. softmax probabilities
    (scikit-learn insists that rows sum to 1; here any per-class scores are ranked
    column by column); y_true integer class indices 0..n_classes-1. Class c's AUC
    separates class c from all others by column c. average: 'macro' (the mean over
    classes), 'weighted' (weighted by each class's count in y_true) or None (the per-class
    array). A class absent from y_true has no AUC: NaN in the array, left out of the
    averages, with a UserWarning (scikit-learn raises instead).
    """
    choice(average, "average", ("macro", "weighted", None))
    y_true = label_vector(y_true, "y_true")
    if np.ndim(y_score) == 1:
        positive = _binary_targets(y_true, pos_label)
        if positive.all() or not positive.any():
            raise ValueError("y_true holds only one class; the ROC AUC is undefined")
        return _binary_auc(positive, _score_vector(y_score, y_true.size))
    scores = score_matrix(y_score, y_true.size)
    y_true = class_indices(y_true, scores.shape[1])
    per_class = np.array([_binary_auc(y_true == c, scores[:, c]) for c in range(scores.shape[1])])
    if average is None:
        return per_class
    defined = ~np.isnan(per_class)
    if not defined.any():
        raise ValueError("y_true holds only one class; the ROC AUC is undefined")
    if not defined.all():
        warnings.warn(f"classes {np.flatnonzero(~defined).tolist()} have no samples in y_true; "
                      "their AUC is undefined and left out of the average", UserWarning,
                      stacklevel=2)
    weights = np.bincount(y_true, minlength=scores.shape[1])[defined] if average == "weighted" \
        else None
    return float(np.average(per_class[defined], weights=weights))
