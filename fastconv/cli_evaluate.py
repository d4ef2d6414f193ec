"""`python -m fastconv evaluate` and `compare`: a trained checkpoint's full report, and
McNemar's test between two checkpoints, on the data they were validated on.

    python -m fastconv evaluate checkpoints/lenet5.npz [--data-dir DIR] [--batch-size 100]
    python -m fastconv compare checkpoints/lenet5.npz checkpoints/simple_cnn.npz

Without --data-dir: the 500 validation digits of the built-in set (the ones `train`
validates on); with it, the test files there (else the same stratified 10% of the
training files that `train` holds out).
"""
import numpy as np

from fastconv import get_num_threads, metrics, train
from fastconv.data import transforms

CHECKPOINT_KEYS = ("model_name", "input_shape", "num_classes", "normalize_mean", "normalize_std")
WORST_CLASSES_SHOWN = 10


def add_commands(commands, positive_int):
    """Register the evaluate and compare subcommands on the argparse subparsers."""
    e = commands.add_parser(
        "evaluate", help="accuracy, per-class precision/recall/F1, ROC-AUC, confusion matrix, "
                         "top confusions and inference time of a trained checkpoint",
        description="Evaluate a checkpoint written by `python -m fastconv train` on the "
                    "validation images `train` used (the 500 built-in ones, or those of "
                    "--data-dir).")
    e.add_argument("checkpoint", help="a .npz checkpoint from `python -m fastconv train`")
    e.add_argument("--batch-size", type=positive_int, default=100,
                   help="inference batch size, for the predictions and the timing (default: 100)")
    e.add_argument("--repeats", type=positive_int, default=10,
                   help="timed inference runs, after 2 untimed warm-up runs (default: 10)")
    c = commands.add_parser(
        "compare", help="McNemar's test: do two checkpoints differ in accuracy on the same "
                        "validation images?",
        description="Compare two checkpoints on the same validation images with McNemar's "
                    "test (exact binomial and continuity-corrected chi-squared).")
    c.add_argument("checkpoint_a", help="first checkpoint (A)")
    c.add_argument("checkpoint_b", help="second checkpoint (B)")
    c.add_argument("--batch-size", type=positive_int, default=100,
                   help="inference batch size (default: 100)")
    for parser in (e, c):
        parser.add_argument("--data-dir", help="the MNIST/Fashion-MNIST IDX or CIFAR-10 "
                                               "directory the checkpoint was trained on")
        parser.add_argument("--threads", type=positive_int,
                            help="number of OpenMP threads (default: all)")


def load_trained_model(path):
    """(model, header extra) rebuilt from a `python -m fastconv train` checkpoint."""
    from fastconv.cli import model_for_data
    try:
        header = train.load_checkpoint(path)
    except (OSError, ValueError) as err:
        raise SystemExit(f"cannot read checkpoint {path}: {err}") from None
    extra = header["extra"]
    missing = [key for key in CHECKPOINT_KEYS if key not in extra]
    if missing:
        raise SystemExit(f"{path} was not written by `python -m fastconv train` "
                         f"(its header lacks {', '.join(missing)})")
    channels, size, _ = extra["input_shape"]
    model = model_for_data(extra["model_name"], channels, size, extra["num_classes"])
    model.load_state_dict(header["model_state"])
    return model, extra


def load_validation_images(data_dir):
    """(uint8 images, int64 labels, description) of the validation set `train` used."""
    from fastconv.cli import load_data
    *_, images, labels, description = load_data(data_dir, seed=0)
    return images, labels, description


def check_fits(images, labels, extra, path):
    """SystemExit unless the checkpoint at `path` takes these images and labels."""
    if list(images.shape[1:]) != list(extra["input_shape"]):
        raise SystemExit(f"{path} takes {'x'.join(map(str, extra['input_shape']))} inputs but "
                         f"the data is {'x'.join(map(str, images.shape[1:]))}; pass the "
                         "--data-dir it was trained on")
    if labels.max() >= extra["num_classes"]:
        raise SystemExit(f"{path} has {extra['num_classes']} classes but the data has label "
                         f"{labels.max()}")


def normalized(images, extra):
    """The images as the checkpoint's model saw them in training: [0, 1], then normalised
    with the training set's per-channel statistics stored in the checkpoint."""
    scale = transforms.Normalize(extra["normalize_mean"], extra["normalize_std"])
    return scale(images.astype(np.float32) / np.float32(255))


def _percent(fraction):
    return f"{100 * fraction:.2f}%"


def confusion_text(matrix, names):
    width = max(max(len(n) for n in names), len(str(matrix.max()))) + 1
    lines = [" " * (width + 1) + "".join(f"{n:>{width}}" for n in names)]
    lines += [f"{name:>{width}} " + "".join(f"{v:>{width}}" for v in row)
              for name, row in zip(names, matrix)]
    return "\n".join(lines)


def top_confusions_text(rows):
    worst = sorted((r for r in rows if r["errors"]), key=lambda r: -r["error_rate"])
    if not worst:
        return "  none: every image is classified correctly"
    lines = []
    for row in worst[:WORST_CLASSES_SHOWN]:
        mistaken = ", ".join(f"{label} x{count}" for label, count in row["confused_with"])
        lines.append(f"  {row['label']}: {row['errors']}/{row['support']} wrong "
                     f"({_percent(row['error_rate'])}), taken for {mistaken}")
    return "\n".join(lines)


def evaluation_report(y_true, logits, num_classes):
    """The text of the report on predictions `logits` (N, num_classes) for labels y_true."""
    labels = np.arange(num_classes)
    names = [str(label) for label in labels]
    y_pred = logits.argmax(axis=1)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    correct = metrics.accuracy(y_true, y_pred, normalize=False)
    top_k = min(5, num_classes - 1)
    summary = (f"accuracy: {_percent(correct / y_true.size)} ({correct}/{y_true.size}), "
               f"top-{top_k}: {_percent(metrics.top_k_accuracy(y_true, logits, k=top_k))}, "
               f"cross-entropy: {metrics.cross_entropy(y_true, logits):.4f}")
    lines = [summary]
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0)
    lines.append(f"macro averages: precision {precision:.4f}, recall {recall:.4f}, "
                 f"F1 {f1:.4f}")
    if np.unique(y_true).size > 1:
        lines.append("ROC-AUC (one-vs-rest): macro "
                     f"{metrics.roc_auc_score(y_true, probabilities):.4f}, weighted "
                     f"{metrics.roc_auc_score(y_true, probabilities, average='weighted'):.4f}")
    lines += ["", metrics.classification_report(y_true, y_pred, labels=labels, digits=4,
                                                zero_division=0).rstrip(),
              "", "confusion matrix (rows: true class, columns: predicted class):",
              confusion_text(metrics.confusion_matrix(y_true, y_pred, labels=labels), names),
              "", "top confusions (classes by error rate):",
              top_confusions_text(metrics.top_confusions(y_true, y_pred, labels=labels, k=3))]
    return "\n".join(lines)


def evaluate_command(args):
    model, extra = load_trained_model(args.checkpoint)
    images, y_true, description = load_validation_images(args.data_dir)
    check_fits(images, y_true, extra, args.checkpoint)
    inputs = normalized(images, extra)
    print(f"evaluating {extra['model_name']} ({args.checkpoint}) on {y_true.size} validation "
          f"images: {description}", flush=True)
    logits = train.predict(model, inputs, batch_size=args.batch_size)
    print(evaluation_report(y_true, logits, extra["num_classes"]))
    timing = metrics.time_inference(model, inputs, batch_size=args.batch_size,
                                    repeats=args.repeats, warmup=2)
    threads = get_num_threads()
    print(f"\ninference time ({threads} thread{'s' if threads > 1 else ''}, "
          f"batch {args.batch_size}, {args.repeats} timed runs after 2 warm-up runs):")
    print("\n".join("  " + line for line in str(timing).splitlines()))
    return 0


def compare_command(args):
    paths = (args.checkpoint_a, args.checkpoint_b)
    models = [load_trained_model(path) for path in paths]
    images, y_true, description = load_validation_images(args.data_dir)
    for path, (_, extra) in zip(paths, models):
        check_fits(images, y_true, extra, path)
    predictions = [train.predict(model, normalized(images, extra), args.batch_size)
                   .argmax(axis=1) for model, extra in models]
    result = metrics.mcnemar(y_true, *predictions)
    print(f"comparing on {y_true.size} validation images: {description}")
    for tag, path, (_, extra), pred in zip("AB", paths, models, predictions):
        correct = metrics.accuracy(y_true, pred, normalize=False)
        print(f"  {tag}: {extra['model_name']} ({path}): accuracy "
              f"{_percent(correct / y_true.size)} ({correct}/{y_true.size})")
    table = result.table
    print(f"\n{'':>11}{'B right':>9}{'B wrong':>9}")
    for name, row in zip(("A right", "A wrong"), table):
        print(f"{name:>11}{row[0]:>9}{row[1]:>9}")
    print(f"\nMcNemar's test on the {result.only_a + result.only_b} images exactly one model "
          f"gets right ({result.only_a} favour A, {result.only_b} favour B):")
    print(f"  exact binomial p-value: {result.exact_pvalue:.4g}")
    print(f"  chi-squared with continuity correction: {result.statistic:.4f}, "
          f"p-value: {result.pvalue:.4g}")
    verdict = "significant" if result.exact_pvalue < 0.05 else "not significant"
    print(f"The difference in accuracy is {verdict} at the 5% level (exact test).")
    return 0
