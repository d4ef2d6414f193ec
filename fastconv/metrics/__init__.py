"""fastconv.metrics: evaluating classifiers with NumPy alone, with scikit-learn's definitions
and argument names (and statsmodels' for McNemar's test).

    from fastconv import metrics, train
    logits = train.predict(model, loader)
    y_pred = logits.argmax(axis=1)
    metrics.accuracy(y_true, y_pred)
    metrics.f1_score(y_true, y_pred, average="macro")
    print(metrics.classification_report(y_true, y_pred))
    metrics.confusion_matrix(y_true, y_pred, normalize="true")
    metrics.roc_auc_score(y_true, probabilities, average="macro")   # one-vs-rest
    metrics.mcnemar(y_true, y_pred, other_model_pred).exact_pvalue
    print(metrics.time_inference(model, images, batch_size=32))

Labels are class indices for the score-based metrics (the columns of the scores); the
label-based ones accept any labels (integers, booleans, strings).
"""
from fastconv.metrics.classification import (
    UndefinedMetricWarning,
    accuracy,
    f1_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    top_k_accuracy,
)
from fastconv.metrics.confusion import confusion_matrix, top_confusions
from fastconv.metrics.loss import cross_entropy, log_loss
from fastconv.metrics.ranking import auc, roc_auc_score, roc_curve
from fastconv.metrics.report import classification_report
from fastconv.metrics.significance import McNemarResult, mcnemar
from fastconv.metrics.timing import InferenceTiming, time_inference

__all__ = [
    "InferenceTiming",
    "McNemarResult",
    "UndefinedMetricWarning",
    "accuracy",
    "auc",
    "classification_report",
    "confusion_matrix",
    "cross_entropy",
    "f1_score",
    "log_loss",
    "mcnemar",
    "precision_recall_fscore_support",
    "precision_score",
    "recall_score",
    "roc_auc_score",
    "roc_curve",
    "time_inference",
    "top_confusions",
    "top_k_accuracy",
]
