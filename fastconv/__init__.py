"""fastconv: convolutional-network kernels for the CPU, in C with OpenMP, under a NumPy API.

    import fastconv.ops as F          # ndarray in, ndarray out; every op has its *_backward
    import fastconv.reference as R    # the same API as slow, obvious loops (the specification)
    import fastconv.nn as nn          # Tensor-based layers with autograd, as torch.nn
    from fastconv import models, train  # LeNet-5 ... ResNet-50; fit / evaluate / predict
    from fastconv import metrics        # accuracy, F1, ROC-AUC, confusion matrix, McNemar, ...
    from fastconv import model_selection  # cross_validate, KFold, StratifiedKFold
    from fastconv import interpret, plot  # feature maps, saliency, Grad-CAM; PNGs (matplotlib)
"""
__version__ = "0.1.0"

from fastconv._heap import keep_freed_memory as _keep_freed_memory

_keep_freed_memory()   # before any array is allocated: see fastconv/_heap.py
from fastconv._threads import get_num_threads, set_num_threads
from fastconv._config import show_config
from fastconv import ops, reference
from fastconv.autograd import Tensor, cat, enable_grad, is_grad_enabled, no_grad, stack
from fastconv.random import manual_seed
from fastconv import data, nn, optim
from fastconv import models, train
from fastconv import metrics, model_selection
from fastconv import interpret, plot

__all__ = ["ops", "reference", "get_num_threads", "set_num_threads", "show_config", "__version__",
           "Tensor", "no_grad", "enable_grad", "is_grad_enabled", "cat", "stack", "manual_seed",
           "nn", "optim", "data", "models", "train", "metrics", "model_selection", "interpret",
           "plot"]
