"""classification_report: per-class precision, recall, F1 and support with their averages,
as scikit-learn prints them (same layout, same dictionary)."""
from fastconv.metrics._validate import label_pair, label_set, positive_int
from fastconv.metrics.classification import precision_recall_fscore_support

__all__ = ["classification_report"]

HEADERS = ("precision", "recall", "f1-score", "support")


def classification_report(y_true, y_pred, labels=None, target_names=None, digits=2,
                          output_dict=False, zero_division="warn"):
    """Precision, recall, F1 and support per class, then accuracy, the macro and the
    support-weighted averages: scikit-learn's classification_report, same text and dict.

    Args:
        labels: the classes to report (default: the sorted union of y_true and y_pred).
            When some observed class is left out, the 'accuracy' line becomes 'micro avg'.
        target_names: display names, one per label.
        digits: decimals in the text.
        output_dict: return {name: {'precision', 'recall', 'f1-score', 'support'}, ...,
            'accuracy': float, 'macro avg': {...}, 'weighted avg': {...}} instead of text.
        zero_division: as in precision_recall_fscore_support.
    """
    digits = positive_int(digits, "digits")
    y_true, y_pred = label_pair(y_true, y_pred)
    observed = label_set(None, y_true, y_pred)
    labels = label_set(labels, y_true, y_pred)
    micro_is_accuracy = set(labels.tolist()) >= set(observed.tolist())
    if target_names is None:
        target_names = [str(label) for label in labels.tolist()]
    elif len(target_names) != labels.size:
        raise ValueError(f"target_names has {len(target_names)} names for {labels.size} labels")
    per_class = precision_recall_fscore_support(y_true, y_pred, labels, None,
                                                zero_division=zero_division)
    rows = {name: dict(zip(HEADERS, (float(p), float(r), float(f), int(s))))
            for name, p, r, f, s in zip(target_names, *per_class)}
    total = int(per_class[3].sum())
    for average in ("micro", "macro", "weighted"):
        heading = "accuracy" if average == "micro" and micro_is_accuracy else f"{average} avg"
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels, average,
                                                     zero_division=zero_division)
        rows[heading] = f if heading == "accuracy" else dict(zip(HEADERS, (p, r, f, total)))
    if output_dict:
        return rows
    return _text(rows, list(target_names), total, digits)


def _text(rows, names, total, digits):
    width = max(max(len(name) for name in names), len("weighted avg"), digits)
    row = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    text = ("{:>{width}s} " + " {:>9}" * len(HEADERS)).format("", *HEADERS, width=width) + "\n\n"
    for name in names:
        text += row.format(name, *rows[name].values(), width=width, digits=digits)
    text += "\n"
    for heading, values in rows.items():
        if heading in names:
            continue
        if heading == "accuracy":
            text += ("{:>{width}s} " + " {:>9}" * 2 + " {:>9.{digits}f} {:>9}\n").format(
                heading, "", "", values, total, width=width, digits=digits)
        else:
            text += row.format(heading, *values.values(), width=width, digits=digits)
    return text

