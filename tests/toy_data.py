"""Tiny synthetic data sets shared by the training and model-selection tests."""
import numpy as np


def blobs(n=120, seed=0):
    """Three well separated classes of 2x2 single-channel 'images': (x (n, 1, 2, 2) float32,
    y (n,) int64), classes in turn 0, 1, 2, 0, ..."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], np.float32)
    x = centres[y] + 0.3 * rng.standard_normal((n, 4)).astype(np.float32)
    return x.reshape(n, 1, 2, 2), y.astype(np.int64)
