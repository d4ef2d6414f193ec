"""Training loop, evaluation, prediction, checkpoints and callbacks, as a Keras user expects:

    from fastconv import models, optim, train
    from fastconv.data import DataLoader, builtin_mnist_split

    train_set, val_set = builtin_mnist_split()
    model = models.lenet5(input_size=28)
    history = train.fit(model, DataLoader(train_set, 64, shuffle=True, seed=0),
                        DataLoader(val_set, 256), epochs=5,
                        optimizer=optim.Adam(model.parameters(), lr=1e-3),
                        callbacks=[train.ModelCheckpoint("best.npz", save_best_only=True)])
    history.history["val_accuracy"]          # one value per epoch

Rules worth knowing:
- Batches are `(xb, yb)` NumPy pairs (a DataLoader's); inputs are wrapped in a Tensor, targets
  are passed to `loss_fn(output, yb)` as arrays. Losses must be means over the batch (the
  default CrossEntropyLoss is); epoch losses are averages weighted by batch size.
- Accuracy is recorded when the output is (N, C) and the targets are (N,) integers.
- Scheduler rule: OneCycleLR is stepped after every batch (it is defined over batches),
  every other scheduler once per epoch, after validation. `scheduler_interval='batch'` or
  `'epoch'` overrides.
- A NaN or infinite training loss raises TrainingDiverged naming the epoch and batch, before
  that batch updates the weights.
- Checkpoints are one .npz (no pickles): `model/<name>` per state-dict entry, `optimizer/...`
  and a JSON header; written to a temporary file in the same directory, then os.replace'd.
"""
import json
import math
import os
import sys
import tempfile
import time

import numpy as np

from fastconv.autograd import Tensor, no_grad
from fastconv.nn import CrossEntropyLoss
from fastconv.optim import Adam
from fastconv.optim.lr_scheduler import OneCycleLR

__all__ = [
    "Callback",
    "EarlyStopping",
    "History",
    "ModelCheckpoint",
    "TrainingDiverged",
    "evaluate",
    "fit",
    "load_checkpoint",
    "predict",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = "fastconv-checkpoint-1"


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite; `.epoch` and `.batch` (1-based) say where."""

    def __init__(self, message, epoch, batch):
        super().__init__(message)
        self.epoch, self.batch = epoch, batch


class History:
    """What fit returns: `.history` maps 'loss', 'accuracy', 'val_loss', 'val_accuracy' and
    'lr' to one value per completed epoch (keys appear only when measured); `.epoch` lists
    the epoch numbers (1-based)."""

    def __init__(self):
        self.history, self.epoch = {}, []

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


# ---- checkpoints ---------------------------------------------------------------------------

def _atomic_savez(path, arrays):
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _json_safe(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    return value


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch=None, **extra):
    """Write `model`'s state dict (and the optimizer's and scheduler's state, if given) to the
    .npz file `path` (written exactly there; parent directories are created), atomically.

    `extra`: JSON-serialisable values stored in the header (e.g. metrics, normalisation)."""
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    header = {"format": CHECKPOINT_FORMAT, "epoch": epoch, "extra": _json_safe(extra)}
    if optimizer is not None:
        state = optimizer.state_dict()
        header["optimizer_param_groups"] = _json_safe(state["param_groups"])
        header["optimizer_state_keys"] = {}
        for index, param_state in state["state"].items():
            header["optimizer_state_keys"][str(index)] = list(param_state)
            for key, value in param_state.items():
                arrays[f"optimizer/{index}/{key}"] = np.asarray(value)
    if scheduler is not None:
        header["scheduler"] = _json_safe(scheduler.state_dict())
    arrays["header"] = np.array(json.dumps(header))
    _atomic_savez(path, arrays)


def load_checkpoint(path, model=None, optimizer=None, scheduler=None, strict=True):
    """Read a checkpoint written by save_checkpoint, refusing pickled objects. Loads the model's
    state dict (strict: every key must match), and the optimizer's and scheduler's state when
    given and present. Returns the header dict: 'epoch', 'extra', and 'model_state' (the
    arrays, name -> ndarray)."""
    try:
        with np.load(os.fspath(path), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise ValueError(f"{path} holds pickled objects; fastconv checkpoints never do, "
                             "and loading them could run arbitrary code, so it is refused") from err
        raise
    if "header" not in arrays:
        raise ValueError(f"{path} is not a fastconv checkpoint (no header entry)")
    header = json.loads(str(arrays["header"]))
    if header.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: unknown checkpoint format {header.get('format')!r}")
    model_state = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    if model is not None:
        model.load_state_dict(model_state, strict=strict)
    if optimizer is not None and "optimizer_param_groups" in header:
        state = {int(index): {key: arrays[f"optimizer/{index}/{key}"] for key in keys}
                 for index, keys in header["optimizer_state_keys"].items()}
        optimizer.load_state_dict({"state": state,
                                   "param_groups": header["optimizer_param_groups"]})
    if scheduler is not None and "scheduler" in header:
        scheduler.load_state_dict(header["scheduler"])
    header["model_state"] = model_state
    return header


# ---- callbacks -----------------------------------------------------------------------------

class Callback:
    """Base class. fit sets `.model`, `.optimizer`, `.scheduler` and `.history`, then calls
    on_train_begin(), on_epoch_end(epoch, logs) after each epoch (epoch 1-based, logs the
    epoch's metrics) and on_train_end(). Setting `self.stop_training = True` ends training
    after the current epoch."""

    stop_training = False
    model = optimizer = scheduler = history = None

    def on_train_begin(self):
        pass

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self):
        pass


class _Monitor:
    """Tracks the best value of one logged metric ('min' for losses, 'max' otherwise)."""

    def __init__(self, monitor, mode, min_delta=0.0):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if ("acc" in monitor or "auc" in monitor) else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def value(self, logs):
        if self.monitor not in logs:
            raise KeyError(f"monitored metric {self.monitor!r} is not logged; "
                           f"available: {sorted(logs)} (val_* needs a val_loader)")
        return logs[self.monitor]

    def improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class ModelCheckpoint(Callback):
    """Save a checkpoint after every epoch, or only when `monitor` improved
    (save_best_only=True). `path` may contain format fields filled from the epoch's logs,
    e.g. 'ckpt-{epoch:02d}-{val_loss:.3f}.npz'. The optimizer's state is included unless
    save_optimizer=False."""

    def __init__(self, path, monitor="val_loss", save_best_only=False, mode="auto",
                 save_optimizer=True):
        self.path, self.save_best_only, self.save_optimizer = os.fspath(path), save_best_only, save_optimizer
        self._monitor = _Monitor(monitor, mode)
        self.last_saved = None

    def on_epoch_end(self, epoch, logs):
        if self.save_best_only:
            value = self._monitor.value(logs)
            if not self._monitor.improved(value):
                return
            self._monitor.best = value
        path = self.path.format(epoch=epoch, **logs)
        save_checkpoint(path, self.model, self.optimizer if self.save_optimizer else None,
                        epoch=epoch, logs=logs)
        self.last_saved = path


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.
    restore_best_weights=True puts back the weights of the best epoch when training ends
    (whether it stopped early or ran out of epochs). After training: `.best`, `.best_epoch`,
    `.stopped_epoch` (0 if it never stopped)."""

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto",
                 restore_best_weights=False):
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        self.monitor, self.patience, self.restore_best_weights = monitor, patience, restore_best_weights
        self.min_delta, self.mode = min_delta, mode

    def on_train_begin(self):
        self._monitor = _Monitor(self.monitor, self.mode, self.min_delta)
        self.wait, self.best_epoch, self.stopped_epoch = 0, 0, 0
        self.best_weights = None

    @property
    def best(self):
        return self._monitor.best

    def on_epoch_end(self, epoch, logs):
        value = self._monitor.value(logs)
        if self._monitor.improved(value):
            self._monitor.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.stop_training = True

    def on_train_end(self):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)


# ---- the loops -----------------------------------------------------------------------------

def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[0], batch[1]
    raise TypeError("each batch must be an (inputs, targets) pair, as a DataLoader over "
                    f"(x, y) samples yields; got {type(batch).__name__}")


def _correct(output, target):
    """Number of correct argmax predictions, or None when this is not classification."""
    target = np.asarray(target)
    if output.ndim != 2 or target.ndim != 1 or target.dtype.kind not in "iu":
        return None
    return int(np.count_nonzero(np.argmax(output, axis=1) == target))


def _progress_bar(loader, description, enabled):
    """tqdm over the batches when it is installed and stderr is a terminal, else None."""
    if not enabled or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=len(loader), desc=description, leave=False, file=sys.stderr)


def _run_epoch(model, loader, loss_fn, optimizer, scheduler_per_batch, epoch, bar):
    total_loss, total_correct, seen, classified = 0.0, 0, 0, True
    for batch_index, batch in enumerate(loader, start=1):
        xb, yb = _split_batch(batch)
        output = model(Tensor(xb))
        loss = loss_fn(output, yb)
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"training diverged: the loss is {value} at epoch {epoch}, batch {batch_index} "
                "(the weights are those before this batch); try a lower learning rate, "
                "gradient-friendlier initialisation or normalised inputs", epoch, batch_index)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler_per_batch is not None:
            scheduler_per_batch.step()
        n = len(yb)
        total_loss += value * n
        seen += n
        correct = _correct(output.data, yb) if classified else None
        classified = correct is not None
        if classified:
            total_correct += correct
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{total_loss / seen:.4f}")
    if seen == 0:
        raise ValueError("the training loader yielded no batches")
    return total_loss / seen, (total_correct / seen if classified else None)


def evaluate(model, loader, loss_fn=None):
    """Mean loss and accuracy of `model` over `loader` in eval mode without gradients:
    returns (loss, accuracy), accuracy None when the output is not class scores. The model's
    train/eval mode is restored afterwards."""
    loss_fn = CrossEntropyLoss() if loss_fn is None else loss_fn
    was_training = model.training
    model.eval()
    total_loss, total_correct, seen, classified = 0.0, 0, 0, True
    try:
        with no_grad():
            for batch in loader:
                xb, yb = _split_batch(batch)
                output = model(Tensor(xb))
                n = len(yb)
                total_loss += loss_fn(output, yb).item() * n
                seen += n
                correct = _correct(output.data, yb) if classified else None
                classified = correct is not None
                if classified:
                    total_correct += correct
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("the evaluation loader yielded no batches")
    return total_loss / seen, (total_correct / seen if classified else None)


def predict(model, data, batch_size=256, probabilities=False):
    """Outputs of `model` (eval mode, no gradients) for `data`: an ndarray or Tensor of inputs
    (N, ...), split into batches of `batch_size`, or an iterable of batches (a DataLoader;
    the first field of each (inputs, targets) batch is used). Returns the concatenated
    outputs, (N, num_classes) logits — or softmax probabilities with probabilities=True."""
    from fastconv.nn import functional as F
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        batches = (data[i:i + batch_size] for i in range(0, len(data), batch_size))
    else:
        batches = (b[0] if isinstance(b, (tuple, list)) else b for b in data)
    was_training = model.training
    model.eval()
    outputs = []
    try:
        with no_grad():
            for xb in batches:
                out = model(Tensor(xb))
                outputs.append((F.softmax(out, dim=1) if probabilities else out).data)
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("predict got no inputs")
    return np.concatenate(outputs)


def _format_logs(epoch, epochs, logs, seconds):
    parts = [f"epoch {epoch}/{epochs}"]
    for key, value in logs.items():
        parts.append(f"{key} {value:.4g}" if key == "lr" else f"{key} {value:.4f}")
    return " - ".join(parts) + f" ({seconds:.1f} s)"


def fit(model, train_loader, val_loader=None, epochs=1, optimizer=None, scheduler=None,
        loss_fn=None, callbacks=(), progress=True, scheduler_interval="auto", print_fn=print):
    """Train `model` for `epochs` passes over `train_loader`, validating on `val_loader`
    after each epoch.

    Args:
        optimizer: a fastconv.optim optimizer; default Adam(model.parameters(), lr=1e-3).
        scheduler: an lr scheduler; OneCycleLR is stepped per batch, others per epoch
            (scheduler_interval='batch' / 'epoch' overrides the automatic choice).
        loss_fn: callable(output, targets) -> scalar Tensor; default CrossEntropyLoss().
        callbacks: Callback objects (ModelCheckpoint, EarlyStopping, your own).
        progress: show a tqdm bar per epoch when tqdm is installed and stderr is a terminal,
            and print one line per epoch (through print_fn) in any case; False: silent.

    Returns a History; history.history has 'loss', 'accuracy', 'val_loss', 'val_accuracy'
    and 'lr' (the learning rate of the first parameter group at the start of the epoch).
    Raises TrainingDiverged on a NaN/inf loss. The model's train/eval mode is restored
    at the end (training itself runs in train mode, validation in eval mode).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
    if scheduler_interval not in ("auto", "batch", "epoch"):
        raise ValueError(f"scheduler_interval must be 'auto', 'batch' or 'epoch', "
                         f"got {scheduler_interval!r}")
    optimizer = Adam(model.parameters(), lr=1e-3) if optimizer is None else optimizer
    loss_fn = CrossEntropyLoss() if loss_fn is None else loss_fn
    per_batch = scheduler_interval == "batch" or (
        scheduler_interval == "auto" and isinstance(scheduler, OneCycleLR))
    history = History()
    was_training = model.training
    callbacks = list(callbacks)
    for cb in callbacks:
        cb.model, cb.optimizer, cb.scheduler, cb.history = model, optimizer, scheduler, history
        cb.stop_training = False
        cb.on_train_begin()
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            model.train()
            bar = _progress_bar(train_loader, f"epoch {epoch}/{epochs}", progress)
            try:
                loss, accuracy = _run_epoch(model, train_loader, loss_fn, optimizer,
                                            scheduler if per_batch else None, epoch, bar)
            finally:
                if bar is not None:
                    bar.close()
            logs = {"loss": loss}
            if accuracy is not None:
                logs["accuracy"] = accuracy
            if val_loader is not None:
                val_loss, val_accuracy = evaluate(model, val_loader, loss_fn)
                logs["val_loss"] = val_loss
                if val_accuracy is not None:
                    logs["val_accuracy"] = val_accuracy
            logs["lr"] = lr
            if scheduler is not None and not per_batch:
                scheduler.step()
            history.append(epoch, logs)
            if progress:
                print_fn(_format_logs(epoch, epochs, logs, time.perf_counter() - start))
            for cb in callbacks:
                cb.on_epoch_end(epoch, dict(logs))
            if any(cb.stop_training for cb in callbacks):
                if progress:
                    print_fn(f"stopped early after epoch {epoch}")
                break
    finally:
        model.train(was_training)
    for cb in callbacks:
        cb.on_train_end()
    return history
