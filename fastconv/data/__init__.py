"""fastconv.data: datasets, loaders, splits, transforms and local file readers (no downloads).

    from fastconv.data import DataLoader, builtin_mnist_split
    train, val = builtin_mnist_split()                 # 4,500 / 500 real MNIST digits
    for xb, yb in DataLoader(train, batch_size=64, shuffle=True, seed=0):
        ...                                            # xb float32 (64, 1, 28, 28), yb int64 (64,)

The built-in digits come from the MNIST database by Yann LeCun, Corinna Cortes and
Christopher J. C. Burges (CC BY-SA 3.0); see fastconv/data/README.md.
"""
from fastconv.data import transforms
from fastconv.data.builtin import builtin_mnist_split, load_builtin_mnist
from fastconv.data.cifar import (
    CIFAR10,
    SafeUnpickler,
    UnsafePickleError,
    load_cifar10,
    read_cifar10_binary,
    read_cifar10_pickle,
)
from fastconv.data.dataset import Dataset, ImageDataset, Subset, TensorDataset
from fastconv.data.loader import DataLoader
from fastconv.data.mnist import MNIST, FashionMNIST, load_mnist, read_idx_images, read_idx_labels
from fastconv.data.split import KFold, StratifiedKFold, random_split, train_val_test_split

__all__ = [
    "Dataset", "TensorDataset", "ImageDataset", "Subset", "DataLoader",
    "random_split", "train_val_test_split", "KFold", "StratifiedKFold",
    "read_idx_images", "read_idx_labels", "load_mnist", "MNIST", "FashionMNIST",
    "read_cifar10_binary", "read_cifar10_pickle", "load_cifar10", "CIFAR10", "SafeUnpickler", "UnsafePickleError",
    "load_builtin_mnist", "builtin_mnist_split", "transforms",
]
