"""CIFAR-10 from local files (never downloads): the binary batches, or the python batches
read through a restricted unpickler.

Binary version (cifar-10-batches-bin/): data_batch_1.bin .. data_batch_5.bin and
test_batch.bin, each a run of 3073-byte records: one label byte (0-9), then 3072 pixel bytes
(1024 red, 1024 green, 1024 blue, each 32x32 row-major).

Python version (cifar-10-batches-py/): data_batch_1 .. data_batch_5 and test_batch, pickled
dicts {b"data": uint8 (N, 3072), b"labels": [int], ...}. A pickle can run any function it
names, so `pickle.load` on a downloaded file is arbitrary code execution. `SafeUnpickler`
resolves only the handful of globals that rebuilding a NumPy array needs and refuses every
other one with `pickle.UnpicklingError`; the result is then checked for shape and dtype.
"""
import os
import pickle

import numpy as np

from fastconv.data.dataset import ImageDataset

__all__ = ["read_cifar10_binary", "read_cifar10_pickle", "load_cifar10", "CIFAR10", "SafeUnpickler",
           "UnsafePickleError", "CIFAR10_CLASSES"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
RECORD_BYTES = 1 + 3 * 32 * 32


def read_cifar10_binary(path):
    """(images uint8 (N, 3, 32, 32), labels uint8 (N,)) from one binary batch file."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    if size == 0 or size % RECORD_BYTES:
        raise ValueError(f"{path}: size {size} bytes is not a positive multiple of the "
                         f"{RECORD_BYTES}-byte CIFAR-10 record")
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) != size:
        raise ValueError(f"{path}: read {len(raw)} bytes, expected {size} (file changed while reading?)")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0].copy()
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise ValueError(f"{path}: record {bad} has label {labels[bad]}, not a class 0-9 "
                         "(is this a CIFAR-10 binary batch?)")
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def _encode_latin1(text, encoding="utf-8", errors="strict"):
    # Protocol-2 pickles written by Python 3 rebuild bytes objects as _codecs.encode(str, "latin1").
    if encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1", errors)


def _allowed_globals():
    from numpy._core import multiarray, numeric
    reconstruct = multiarray._reconstruct
    frombuffer = getattr(numeric, "_frombuffer", None)
    allowed = {
        # Pickles from NumPy 1.x (the CIFAR files themselves) name numpy.core; NumPy 2 names numpy._core.
        ("numpy.core.multiarray", "_reconstruct"): reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _encode_latin1,
    }
    if frombuffer is not None:  # protocol-5 pickles of contiguous arrays
        allowed[("numpy.core.numeric", "_frombuffer")] = frombuffer
        allowed[("numpy._core.numeric", "_frombuffer")] = frombuffer
    return allowed


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle named a global outside SafeUnpickler's allow-list (it may be an exploit)."""


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler that builds only plain containers, bytes/str/numbers and NumPy arrays;
    any other global (os.system, builtins.eval, subclasses, ...) raises UnsafePickleError,
    a subclass of pickle.UnpicklingError."""

    def __init__(self, file, **kwargs):
        super().__init__(file, **kwargs)
        self._allowed = _allowed_globals()

    def find_class(self, module, name):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to unpickle {module}.{name}: only NumPy arrays and plain containers are allowed"
            ) from None


def safe_pickle_load(file):
    """`pickle.load` through SafeUnpickler, with Python-2 strings read as bytes (CIFAR's files)."""
    return SafeUnpickler(file, encoding="bytes").load()


def read_cifar10_pickle(path):
    """(images uint8 (N, 3, 32, 32), labels uint8 (N,)) from one python-version batch file."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        try:
            batch = safe_pickle_load(f)
        except UnsafePickleError as exc:
            raise UnsafePickleError(f"{path}: {exc}") from None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError) as exc:
            raise ValueError(f"{path}: not a readable pickle: {exc}") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a dict, got {type(batch).__name__}")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise ValueError(f"{path}: a CIFAR-10 batch needs 'data' and 'labels', found {sorted(map(str, batch))}")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{path}: 'data' must be a uint8 array (N, 3072), got "
                         f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}")
    labels = np.asarray(batch["labels"])
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or labels.shape[0] != data.shape[0]:
        raise ValueError(f"{path}: 'labels' must be {data.shape[0]} integers, got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels must be classes 0-9, found {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32).copy(), labels.astype(np.uint8)


def _batch_files(root, train):
    """The batch files under root (or its cifar-10-batches-bin/-py subdirectory), binary
    preferred, and the reader for them."""
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    for d, suffix, reader in ((root, ".bin", read_cifar10_binary),
                              (os.path.join(root, "cifar-10-batches-bin"), ".bin", read_cifar10_binary),
                              (root, "", read_cifar10_pickle),
                              (os.path.join(root, "cifar-10-batches-py"), "", read_cifar10_pickle)):
        paths = [os.path.join(d, n + suffix) for n in names]
        present = [p for p in paths if os.path.isfile(p)]
        if present and len(present) < len(paths):
            missing = sorted(set(paths) - set(present))
            raise FileNotFoundError(f"incomplete CIFAR-10 set in {d}: missing {', '.join(missing)}")
        if present:
            return paths, reader
    raise FileNotFoundError(f"no CIFAR-10 {'training' if train else 'test'} batches "
                            f"({names[0]}[.bin], ...) under {root} or its cifar-10-batches-bin/-py")


def load_cifar10(root, train=True):
    """(images uint8 (N, 3, 32, 32), labels uint8 (N,)) of CIFAR-10's training set
    (data_batch_1..5, in order) or test set (test_batch), from `root`."""
    paths, reader = _batch_files(os.fspath(root), train)
    parts = [reader(p) for p in paths]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


class CIFAR10(ImageDataset):
    """CIFAR-10 from the batch files in `root`: samples (float32 (3, 32, 32) in [0, 1], int64 label)."""

    classes = CIFAR10_CLASSES

    def __init__(self, root, train=True):
        images, labels = load_cifar10(root, train)
        super().__init__(images, labels, classes=CIFAR10_CLASSES)
