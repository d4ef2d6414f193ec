"""Datasets: indexable collections of `(x, y)` NumPy samples.

A dataset may also define `get_batch(indices) -> tuple of arrays`; the DataLoader then builds
a whole batch with one fancy-indexing call per array instead of stacking samples one by one.
`TensorDataset`, `ImageDataset` and `Subset` (of either) do so.
"""
import operator

import numpy as np

__all__ = ["Dataset", "TensorDataset", "ImageDataset", "Subset", "as_index_array"]


class Dataset:
    """Base class: subclasses define `__len__` and `__getitem__(i)` returning one sample,
    by convention an `(x, y)` tuple of NumPy arrays / scalars."""

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


def as_index_array(indices, length, name="indices"):
    """`indices` as an int64 array, each checked to lie in [-length, length); negatives wrap."""
    idx = np.asarray(indices)
    if idx.dtype == bool or not (idx.dtype.kind in "iu" or idx.size == 0):
        raise TypeError(f"{name} must be integers, got dtype {idx.dtype}")
    idx = idx.astype(np.int64, copy=False).reshape(-1)
    if idx.size and (idx.min() < -length or idx.max() >= length):
        bad = idx[(idx < -length) | (idx >= length)][0]
        raise IndexError(f"index {bad} is out of range for a dataset of length {length}")
    return np.where(idx < 0, idx + length, idx)


def _check_item_index(index, length):
    try:
        i = operator.index(index)
    except TypeError:
        raise TypeError(f"dataset index must be an integer, got {type(index).__name__}") from None
    if not -length <= i < length:
        raise IndexError(f"index {i} is out of range for a dataset of length {length}")
    return i + length if i < 0 else i


class TensorDataset(Dataset):
    """Samples are the rows of equally long arrays: `ds[i] == (arrays[0][i], arrays[1][i], ...)`.

    The arrays are kept as given (no copy, no dtype change), so pass images as float32
    (N, C, H, W) and labels as int64 if they go straight to a network.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        arrays = tuple(np.asarray(a) for a in arrays)
        for k, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset array {k} is a scalar; arrays need a first dimension")
        lengths = [a.shape[0] for a in arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset arrays must have equal first dimensions, got {lengths}")
        self.arrays = arrays

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        i = _check_item_index(index, len(self))
        return tuple(a[i] for a in self.arrays)

    def get_batch(self, indices):
        idx = as_index_array(indices, len(self))
        return tuple(a[idx] for a in self.arrays)


class ImageDataset(Dataset):
    """Images stored compactly as uint8, served as the network wants them.

    `images`: uint8 (N, H, W) or (N, C, H, W), values 0-255; `labels`: integers (N,).
    Samples are `(float32 (C, H, W) in [0, 1], int64 label)`; batches are converted as a whole
    (one fancy index, one scale), so a 50,000-image set costs 1 byte per pixel in memory.
    """

    def __init__(self, images, labels, classes=None):
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.dtype != np.uint8:
            raise TypeError(f"ImageDataset images must be uint8, got {images.dtype}")
        if images.ndim == 3:
            images = images[:, None]
        if images.ndim != 4:
            raise ValueError(f"ImageDataset images must be (N, H, W) or (N, C, H, W), got shape {images.shape}")
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise ValueError(f"ImageDataset labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
        if labels.shape[0] != images.shape[0]:
            raise ValueError(f"ImageDataset has {images.shape[0]} images but {labels.shape[0]} labels")
        self.images = images
        self.labels = labels.astype(np.int64)
        self.classes = classes

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, index):
        i = _check_item_index(index, len(self))
        return self.images[i].astype(np.float32) / np.float32(255), self.labels[i]

    def get_batch(self, indices):
        idx = as_index_array(indices, len(self))
        return self.images[idx].astype(np.float32) / np.float32(255), self.labels[idx]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order (a view, nothing copied)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = as_index_array(indices, len(dataset))

    def __len__(self):
        return self.indices.shape[0]

    def __getitem__(self, index):
        return self.dataset[int(self.indices[_check_item_index(index, len(self))])]

    def __getattr__(self, name):
        # get_batch exists exactly when the wrapped dataset has one, so the loader's
        # fast-path test (hasattr) stays truthful through any number of Subset layers.
        if name == "get_batch" and hasattr(self.dataset, "get_batch"):
            return lambda indices: self.dataset.get_batch(self.indices[as_index_array(indices, len(self))])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
