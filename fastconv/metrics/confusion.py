"""The confusion matrix and, read off it, the classes each class is most often mistaken for."""
import numpy as np

from fastconv.metrics._validate import choice, label_pair, label_set, positive_int

__all__ = ["confusion_matrix", "top_confusions"]


def count_pairs(y_true, y_pred, labels):
    """(full, selected): `full` counts every (true, predicted) pair over the union of `labels`
    and the observed labels; `selected` holds the positions of `labels` in that union."""
    classes = np.unique(np.concatenate([labels, y_true, y_pred]))
    true_index = np.searchsorted(classes, y_true)
    pred_index = np.searchsorted(classes, y_pred)
    k = classes.size
    full = np.bincount(true_index * k + pred_index, minlength=k * k).reshape(k, k)
    return full, np.searchsorted(classes, labels)


def _confusion(y_true, y_pred, labels):
    y_true, y_pred = label_pair(y_true, y_pred)
    labels = label_set(labels, y_true, y_pred)
    if not np.isin(labels, y_true).any():
        raise ValueError(f"labels: none of {labels.tolist()[:5]} occurs in y_true")
    full, selected = count_pairs(y_true, y_pred, labels)
    return full[np.ix_(selected, selected)], labels


def confusion_matrix(y_true, y_pred, labels=None, normalize=None):
    """Counts of true class i predicted as class j, as scikit-learn's confusion_matrix.

    Args:
        y_true, y_pred: labels, shape (n_samples,).
        labels: the classes, in the order of the rows and columns; default the sorted union
            of y_true and y_pred. Samples whose true or predicted class is not listed are
            left out (as in scikit-learn); at least one must occur in y_true.
        normalize: None (counts, int64), 'true' (each row divided by its sum: row i is
            the distribution of predictions for true class i, its diagonal the recall),
            'pred' (each column divided by its sum) or 'all' (divided by the total).
            Rows or columns that sum to 0 stay 0.

    Returns an (n_labels, n_labels) array: rows are true classes, columns predictions.
    """
    choice(normalize, "normalize", (None, "true", "pred", "all"))
    matrix, labels = _confusion(y_true, y_pred, labels)
    if normalize is None:
        return matrix
    axis = {"true": 1, "pred": 0, "all": None}[normalize]
    totals = matrix.sum(axis=axis, keepdims=axis is not None)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(matrix / totals, nan=0.0)


def top_confusions(y_true, y_pred, labels=None, k=3):
    """For each true class: how often it is misclassified and what it is mistaken for.

    Args:
        y_true, y_pred: labels, shape (n_samples,).
        labels: the classes to report, as in confusion_matrix.
        k: how many wrong classes to list per true class (those with a count above 0).

    Returns a list with one dict per class in `labels` order:
    {'label', 'support' (samples of that class), 'errors' (of them misclassified),
    'error_rate' (errors / support; NaN for a class with no samples), 'confused_with':
    [(predicted label, count), ...] by count descending, ties in label order, at most k}.
    """
    k = positive_int(k, "k")
    matrix, labels = _confusion(y_true, y_pred, labels)
    rows = []
    for i, label in enumerate(labels.tolist()):
        counts = matrix[i].copy()
        correct, counts[i] = counts[i], 0
        support = int(matrix[i].sum())
        order = np.argsort(-counts, kind="stable")[:k]
        rows.append({
            "label": label,
            "support": support,
            "errors": support - int(correct),
            "error_rate": (support - int(correct)) / support if support else float("nan"),
            "confused_with": [(labels[j].item(), int(counts[j])) for j in order if counts[j] > 0],
        })
    return rows
