"""McNemar's test: do two classifiers, scored on the same test samples, differ in accuracy?"""
import math
from dataclasses import dataclass

import numpy as np

from fastconv.metrics._validate import label_vector

__all__ = ["McNemarResult", "mcnemar"]


@dataclass(frozen=True)
class McNemarResult:
    """The outcome of mcnemar().

    table: 2x2 int64 counts [[both right, only A right], [only B right, both wrong]];
    only_a, only_b: the discordant counts (table[0, 1], table[1, 0]); statistic: the
    chi-squared statistic with continuity correction; pvalue: its p-value (1 degree of
    freedom); exact_pvalue: the two-sided exact binomial p-value.
    """
    table: np.ndarray
    statistic: float
    pvalue: float
    exact_pvalue: float

    @property
    def only_a(self):
        return int(self.table[0, 1])

    @property
    def only_b(self):
        return int(self.table[1, 0])


def _exact_two_sided(smaller, n):
    """min(1, 2 P(X <= smaller)) for X ~ Binomial(n, 1/2), summed exactly in integers."""
    term, total = 1, 1                      # C(n, 0)
    for k in range(1, smaller + 1):
        term = term * (n - k + 1) // k      # C(n, k), exact
        total += term
    return min(1.0, (2 * total) / (1 << n))


def mcnemar(y_true, pred_a, pred_b):
    """McNemar's test of equal accuracy for classifiers A and B on the same samples.

    Only the samples where exactly one of them is right carry information: b (only A
    right) and c (only B right). Under the null hypothesis each such sample is equally
    likely to favour either, so b ~ Binomial(b + c, 1/2).

    - exact_pvalue: 2 P(X <= min(b, c)), capped at 1 (statsmodels' mcnemar(exact=True)).
    - statistic: (|b - c| - 1)^2 / (b + c), Edwards' continuity correction, and pvalue
      = P(chi2_1 >= statistic) = erfc(sqrt(statistic / 2)) (statsmodels' exact=False).
      When b == c the correction is not applied (statistic 0, as R's mcnemar.test;
      statsmodels would give 1 / (b + c)); with no discordant pairs, statistic 0, p 1.

    Prefer the exact p-value when b + c is small (under about 25).

    Args:
        y_true, pred_a, pred_b: labels of shape (n_samples,).
    """
    y_true = label_vector(y_true, "y_true")
    predictions = {name: label_vector(pred, name) for name, pred in (("pred_a", pred_a),
                                                                       ("pred_b", pred_b))}
    for name, pred in predictions.items():
        if pred.shape != y_true.shape:
            raise ValueError(f"{name} must have the same length as y_true ({y_true.size}), "
                             f"got {pred.size}")
    pred_a, pred_b = predictions.values()
    right_a, right_b = y_true == pred_a, y_true == pred_b
    table = np.array([[np.sum(right_a & right_b), np.sum(right_a & ~right_b)],
                      [np.sum(~right_a & right_b), np.sum(~right_a & ~right_b)]], dtype=np.int64)
    b, c = int(table[0, 1]), int(table[1, 0])
    n = b + c
    statistic = max(abs(b - c) - 1, 0) ** 2 / n if n else 0.0
    return McNemarResult(table=table, statistic=float(statistic),
                         pvalue=math.erfc(math.sqrt(statistic / 2)),
                         exact_pvalue=_exact_two_sided(min(b, c), n))
