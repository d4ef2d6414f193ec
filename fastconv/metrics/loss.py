"""Cross-entropy of predictions against true classes: log_loss from probabilities
(scikit-learn's) and cross_entropy from logits (PyTorch's)."""
import warnings

import numpy as np

from fastconv.metrics._validate import choice, class_indices, label_vector, score_matrix

__all__ = ["cross_entropy", "log_loss"]


def log_loss(y_true, y_prob, normalize=True):
    """Cross-entropy -log p(true class) from PROBABILITIES, as scikit-learn's log_loss.

    y_true: integer class indices (n_samples,) in 0..n_classes-1; y_prob: (n_samples,
    n_classes) probabilities, or (n_samples,) probabilities of class 1 for two classes.
    Probabilities are clipped to [eps, 1 - eps] (eps of their float dtype, float64 for
    other inputs) so a confident mistake costs about 36 rather than infinity; rows that
    do not sum to 1 draw a UserWarning. Natural logarithm. Returns the mean over samples,
    or the sum with normalize=False.
    """
    y_true = label_vector(y_true, "y_true")
    raw = np.asarray(y_prob)
    eps = np.finfo(raw.dtype if raw.dtype.kind == "f" else np.float64).eps
    if raw.ndim == 1:
        raw = np.stack([1 - raw.astype(np.float64), raw], axis=1)
    y_prob = score_matrix(raw, y_true.size, "y_prob")
    y_true = class_indices(y_true, y_prob.shape[1])
    if ((y_prob < 0) | (y_prob > 1)).any():
        raise ValueError("y_prob must hold probabilities in [0, 1]; for logits use cross_entropy")
    if not np.allclose(y_prob.sum(axis=1), 1, rtol=np.sqrt(eps), atol=0):
        warnings.warn("the rows of y_prob do not sum to one; pass probabilities",
                      UserWarning, stacklevel=2)
    losses = -np.log(np.clip(y_prob[np.arange(y_true.size), y_true], eps, 1 - eps))
    return float(losses.mean() if normalize else losses.sum())


def cross_entropy(y_true, logits, reduction="mean"):
    """Cross-entropy -log softmax(logits)[true class] from LOGITS (unnormalised scores), as
    torch.nn.functional.cross_entropy: computed as logsumexp(logits) - logits[true class],
    exact even where softmax underflows (no clipping).

    y_true: integer class indices (n_samples,); logits: (n_samples, n_classes).
    reduction: 'mean', 'sum' or 'none' (the per-sample losses, float64 (n_samples,)).
    """
    choice(reduction, "reduction", ("mean", "sum", "none"))
    y_true = label_vector(y_true, "y_true")
    logits = score_matrix(logits, y_true.size, "logits")
    y_true = class_indices(y_true, logits.shape[1])
    peak = logits.max(axis=1)
    log_total = peak + np.log(np.exp(logits - peak[:, None]).sum(axis=1))
    losses = log_total - logits[np.arange(y_true.size), y_true]
    if reduction == "none":
        return losses
    return float(losses.mean() if reduction == "mean" else losses.sum())
