"""MNIST / Fashion-MNIST from local IDX files (never downloads).

IDX format (big-endian): a 4-byte magic number — two zero bytes, a type byte (0x08 = uint8),
a byte giving the number of dimensions — then one uint32 per dimension, then the data.
Labels are magic 2049 (0x00000801, 1 dimension), images 2051 (0x00000803, 3 dimensions).
Files may be gzip-compressed (recognised by content, not by name). Headers are checked
strictly and the data must fill the file exactly; any mismatch is a ValueError naming the file.
"""
import gzip
import math
import os
import zlib

import numpy as np

from fastconv.data.dataset import ImageDataset

__all__ = ["read_idx_images", "read_idx_labels", "load_mnist", "MNIST", "FashionMNIST"]

LABELS_MAGIC = 2049
IMAGES_MAGIC = 2051

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def _open(path):
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


_CHUNK = 1 << 24


def _read_exact(f, size, path, what):
    # In chunks, so a corrupt header promising terabytes fails at the end of the actual data
    # instead of allocating what it promised.
    chunks, found = [], 0
    try:
        while found < size:
            chunk = f.read(min(_CHUNK, size - found))
            if not chunk:
                break
            chunks.append(chunk)
            found += len(chunk)
    except (OSError, EOFError, zlib.error) as exc:  # corrupt or truncated gzip stream
        raise ValueError(f"{path}: cannot read {what}: {exc}") from None
    if found != size:
        raise ValueError(f"{path}: file too short: {what} needs {size} bytes, found {found}")
    return b"".join(chunks)


def _read_idx(path, magic, ndim, kind):
    path = os.fspath(path)
    with _open(path) as f:
        found = int.from_bytes(_read_exact(f, 4, path, "the magic number"), "big")
        if found != magic:
            raise ValueError(f"{path}: not an IDX {kind} file: magic number {found}, expected {magic}")
        header = _read_exact(f, 4 * ndim, path, "the header")
        dims = [int.from_bytes(header[4 * k:4 * k + 4], "big") for k in range(ndim)]
        size = math.prod(dims)
        # Read exactly what the header promises, then insist nothing follows: a wrong header
        # is caught without decompressing more than the promised size.
        data = _read_exact(f, size, path, f"{kind} data of shape {tuple(dims)}")
        try:
            extra = f.read(1)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt data after the {kind}: {exc}") from None
        if extra:
            raise ValueError(f"{path}: file is longer than its header says (shape {tuple(dims)})")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims).copy()


def read_idx_images(path):
    """Images from an IDX file (magic 2051): uint8 (N, rows, cols)."""
    return _read_idx(path, IMAGES_MAGIC, 3, "images")


def read_idx_labels(path):
    """Labels from an IDX file (magic 2049): uint8 (N,)."""
    return _read_idx(path, LABELS_MAGIC, 1, "labels")


def _find(root, stem):
    """The file for `stem` (e.g. "train-images-idx3-ubyte") under root, root/raw or
    root/<Name>/raw (torchvision's layout), raw or .gz, also with the "-idx" -> ".idx" spelling."""
    names = [stem, stem.replace("-idx", ".idx")]
    dirs = [root, os.path.join(root, "raw"), os.path.join(root, "MNIST", "raw"),
            os.path.join(root, "FashionMNIST", "raw")]
    tried = []
    for d in dirs:
        for name in names:
            for candidate in (name, name + ".gz"):
                path = os.path.join(d, candidate)
                if os.path.isfile(path):
                    return path
                tried.append(path)
    raise FileNotFoundError(f"no {stem}[.gz] under {root} (looked for: {', '.join(tried[:4])}, ...)")


def load_mnist(root, train=True):
    """(images uint8 (N, 28, 28), labels uint8 (N,)) of the MNIST-format set in `root`
    (train-* files if `train`, else t10k-*); works for MNIST and Fashion-MNIST alike."""
    root = os.fspath(root)
    prefix = "train" if train else "t10k"
    images_path = _find(root, f"{prefix}-images-idx3-ubyte")
    labels_path = _find(root, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx_images(images_path), read_idx_labels(labels_path)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{images_path} has {images.shape[0]} images but {labels_path} has {labels.shape[0]} labels")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: label {labels.max()} is not a digit class 0-9")
    return images, labels


class MNIST(ImageDataset):
    """MNIST from the IDX files in `root`: samples (float32 (1, 28, 28) in [0, 1], int64 label).

    `.images` (uint8 (N, 1, 28, 28)) and `.labels` hold the whole set."""

    classes = tuple(str(d) for d in range(10))

    def __init__(self, root, train=True):
        images, labels = load_mnist(root, train)
        super().__init__(images, labels, classes=type(self).classes)


class FashionMNIST(MNIST):
    """Fashion-MNIST (same file names and format as MNIST), with its class names."""

    classes = FASHION_CLASSES
