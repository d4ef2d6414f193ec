"""`python -m fastconv`: subcommands `train`, `evaluate`, `compare`, `explain` and `demo`.

    python -m fastconv train --model lenet5 --epochs 3     # the built-in digits, offline
    python -m fastconv train --model resnet18 --data-dir ~/data/cifar10 --epochs 10
    python -m fastconv evaluate checkpoints/lenet5.npz      # full report on the validation set
    python -m fastconv compare checkpoints/a.npz checkpoints/b.npz   # McNemar's test
    python -m fastconv explain checkpoints/lenet5.npz --index 7 --out explain.png
    python -m fastconv demo [--quick]                        # ops vs reference, timed
    python -m fastconv --config                              # build configuration

Without a subcommand, the arguments go to `demo` (so `python -m fastconv --quick` still works).
"""
import argparse
import os
import sys
import time

import numpy as np

from fastconv import cli_evaluate, cli_explain, demo, set_num_threads, show_config

COMMANDS = ("train", "evaluate", "compare", "explain", "demo")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
DEFAULT_LR = {"sgd": 0.05, "adam": 2e-3, "adamw": 2e-3, "rmsprop": 1e-3}
SMALL_INPUT_MODELS = ("lenet5", "simple_mlp", "simple_cnn")
RESNETS = ("resnet18", "resnet34", "resnet50")


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def build_parser():
    from fastconv.models import list_models
    parser = argparse.ArgumentParser(
        prog="python -m fastconv",
        description="fastconv: train a CNN (train), evaluate or compare checkpoints "
                    "(evaluate, compare), explain a decision (explain) or run the kernel "
                    "demo (demo, the default).")
    parser.add_argument("--config", action="store_true",
                        help="print the build configuration and exit")
    commands = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")

    d = commands.add_parser("demo", help="conv, pooling and batch-norm checked against the "
                                         "reference and timed")
    d.add_argument("--quick", action="store_true", help="smaller timing problem, fewer repeats")
    d.add_argument("--threads", type=_positive_int, help="number of OpenMP threads (default: all)")
    d.add_argument("--seed", type=int, default=0, help="seed of the random data")
    d.add_argument("--config", action="store_true", help="print the build configuration and exit")

    t = commands.add_parser(
        "train", help="train a model on the built-in digits, MNIST IDX or CIFAR-10 files",
        description="Train a model and save a checkpoint. Without --data-dir: the 5,000 "
                    "built-in MNIST digits, 4,500 for training and 500 for validation.")
    t.add_argument("--model", default="lenet5", choices=list_models(), metavar="NAME",
                   help=f"one of: {', '.join(list_models())} (default: lenet5)")
    t.add_argument("--epochs", type=_positive_int, default=5, help="default: 5")
    t.add_argument("--batch-size", type=_positive_int, default=32, help="default: 32")
    t.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="default: adam")
    t.add_argument("--lr", type=_positive_float,
                   help="learning rate (default: " + ", ".join(
                       f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    t.add_argument("--schedule", choices=("constant", "cosine", "onecycle"), default="cosine",
                   help="learning-rate schedule: constant, cosine (annealed to 0 over the "
                        "epochs, stepped per epoch) or onecycle (per batch, peak --lr); "
                        "default: cosine")
    t.add_argument("--momentum", type=float, default=0.9, help="for sgd and rmsprop (default: 0.9)")
    t.add_argument("--weight-decay", type=float, default=0.0, help="default: 0")
    t.add_argument("--seed", type=int, default=0,
                   help="seeds the initial weights and the shuffling (default: 0); the validation split is fixed")
    t.add_argument("--threads", type=_positive_int, help="number of OpenMP threads (default: all)")
    t.add_argument("--data-dir", help="a directory with MNIST/Fashion-MNIST IDX files "
                                      "(train-images-idx3-ubyte[.gz], ...) or CIFAR-10 batches")
    t.add_argument("--checkpoint", help="where to save the trained model "
                                        "(default: checkpoints/<model>.npz)")
    t.add_argument("--no-checkpoint", action="store_true", help="do not save a checkpoint")
    t.add_argument("--limit", type=_positive_int,
                   help="use a fixed random sample of N training and N validation images (quick trials)")
    cli_evaluate.add_commands(commands, _positive_int)
    cli_explain.add_parser(commands, _positive_int)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a in COMMANDS or a in ("-h", "--help") for a in argv):
        argv.insert(0, "demo")   # the demo is the default command (python -m fastconv --quick)
    args = build_parser().parse_args(argv)
    if args.threads is not None:
        set_num_threads(args.threads)
    if args.config:
        show_config()
        return 0
    if args.command == "train":
        return train_command(args)
    if args.command == "evaluate":
        return cli_evaluate.evaluate_command(args)
    if args.command == "compare":
        return cli_evaluate.compare_command(args)
    if args.command == "explain":
        return cli_explain.run(args)
    return 1 if demo.run(quick=args.quick, seed=args.seed) else 0


# ---- train ---------------------------------------------------------------------------------

def load_data(data_dir, seed):
    """(train_images, train_labels, val_images, val_labels, description) as uint8 NCHW and
    int64: the built-in digits split 4,500 / 500, or the files in data_dir (MNIST-format IDX
    first, then CIFAR-10), validating on the test files when present, else on a stratified
    10% of the training files."""
    from fastconv.data import (
        builtin_mnist_split,
        load_cifar10,
        load_mnist,
        train_val_test_split,
    )
    if data_dir is None:
        train, val = builtin_mnist_split()   # the standard split, whatever --seed says
        return (train.dataset.images[train.indices], train.dataset.labels[train.indices],
                val.dataset.images[val.indices], val.dataset.labels[val.indices],
                "built-in MNIST digits (4,500 train / 500 validation)")
    if not os.path.isdir(data_dir):
        raise SystemExit(f"--data-dir {data_dir!r} is not a directory")
    errors = []
    for name, loader in (("MNIST-format IDX", load_mnist), ("CIFAR-10", load_cifar10)):
        try:
            images, labels = loader(data_dir, train=True)
        except FileNotFoundError as err:
            errors.append(f"{name}: {err}")
            continue
        images = images[:, None] if images.ndim == 3 else images
        labels = labels.astype(np.int64)
        try:
            val_images, val_labels = loader(data_dir, train=False)
            val_images = val_images[:, None] if val_images.ndim == 3 else val_images
            where = "the test files"
        except FileNotFoundError:
            (images, labels), (val_images, val_labels), _ = train_val_test_split(
                images, labels, val=0.1, seed=0, stratify=labels)
            where = "a stratified 10% of the training files"
        description = (f"{name} from {data_dir} ({len(labels)} train, {len(val_labels)} "
                       f"validation from {where})")
        return images, labels, val_images, val_labels.astype(np.int64), description
    raise SystemExit("--data-dir: found neither MNIST IDX nor CIFAR-10 files:\n  "
                     + "\n  ".join(errors))


def model_for_data(name, channels, size, num_classes):
    """The model `name` built for (channels, size, size) inputs, or SystemExit explaining
    why it does not fit them."""
    from fastconv.models import get_model
    if name in SMALL_INPUT_MODELS:
        if name == "lenet5" and size not in (28, 32):
            raise SystemExit(f"lenet5 takes 28x28 or 32x32 inputs, the data is {size}x{size}")
        return get_model(name, num_classes=num_classes, in_channels=channels, input_size=size)
    if name in RESNETS:
        # The ImageNet stem would shrink small images 4x at once: use the CIFAR stem.
        return get_model(name, num_classes=num_classes, in_channels=channels,
                         cifar_stem=size < 64)
    if size < 64:
        raise SystemExit(f"{name} is built for ImageNet-sized inputs (224x224; at least 64x64 "
                         f"here) and the data is {channels}x{size}x{size}; for small images use "
                         f"one of {', '.join(SMALL_INPUT_MODELS + RESNETS)} (ResNets get the "
                         "CIFAR stem)")
    return get_model(name, num_classes=num_classes, in_channels=channels)


def make_optimizer(name, params, lr, momentum, weight_decay):
    from fastconv import optim
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=weight_decay or 1e-2)
    return optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def train_command(args):
    import fastconv
    from fastconv import optim, train
    from fastconv.data import DataLoader, ImageDataset, transforms

    fastconv.manual_seed(args.seed)
    x_train, y_train, x_val, y_val, description = load_data(args.data_dir, args.seed)
    num_classes = int(max(y_train.max(), y_val.max())) + 1
    if args.limit:   # a fixed random sample: the files may be sorted by class
        keep = np.sort(np.random.default_rng(0).permutation(len(y_train))[:args.limit])
        x_train, y_train = x_train[keep], y_train[keep]
        keep = np.sort(np.random.default_rng(1).permutation(len(y_val))[:args.limit])
        x_val, y_val = x_val[keep], y_val[keep]
    channels, height, width = x_train.shape[1:]
    if height != width:
        raise SystemExit(f"square images expected, the data is {height}x{width}")
    model = model_for_data(args.model, channels, height, num_classes)
    # Normalise with the training set's per-channel statistics (saved in the checkpoint).
    scaled = x_train.astype(np.float32) / 255
    mean = scaled.mean(axis=(0, 2, 3)).tolist()
    std = np.maximum(scaled.std(axis=(0, 2, 3)), 1e-3).tolist()
    del scaled
    normalize = transforms.Normalize(mean, std)
    train_loader = DataLoader(ImageDataset(x_train, y_train), args.batch_size, shuffle=True,
                              seed=args.seed, transform=normalize)
    val_loader = DataLoader(ImageDataset(x_val, y_val), 500, transform=normalize)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    optimizer = make_optimizer(args.optimizer, model.parameters(), lr, args.momentum,
                               args.weight_decay)
    scheduler = None
    if args.schedule == "cosine":
        scheduler = optim.CosineAnnealingLR(optimizer, T_max=args.epochs)
    elif args.schedule == "onecycle":
        scheduler = optim.OneCycleLR(optimizer, max_lr=lr, epochs=args.epochs,
                                     steps_per_epoch=len(train_loader))
    params = sum(p.data.size for p in model.parameters())
    threads = fastconv.get_num_threads()
    print(f"training {args.model} ({params:,} parameters) on {description}; "
          f"{args.optimizer} lr {lr:g} ({args.schedule}), batch {args.batch_size}, {args.epochs} epochs, "
          f"{threads} thread{'s' if threads > 1 else ''}", flush=True)
    start = time.perf_counter()
    try:
        history = train.fit(model, train_loader, val_loader, epochs=args.epochs,
                            optimizer=optimizer, scheduler=scheduler,
                            print_fn=lambda line: print(line, flush=True))
    except train.TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    accuracy = history.history["val_accuracy"][-1]
    correct = round(accuracy * len(y_val))
    print(f"final validation accuracy: {100 * accuracy:.2f}% ({correct}/{len(y_val)}) "
          f"after {args.epochs} epochs, {seconds:.1f} s")
    if not args.no_checkpoint:
        path = args.checkpoint or os.path.join("checkpoints", f"{args.model}.npz")
        train.save_checkpoint(path, model, optimizer, epoch=args.epochs, model_name=args.model,
                              normalize_mean=mean, normalize_std=std,
                              input_shape=[int(channels), int(height), int(width)],
                              num_classes=num_classes, val_accuracy=accuracy)
        print(f"checkpoint saved to {path}")
    return 0
