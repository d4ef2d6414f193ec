"""fastconv: convolutional-network kernels for the CPU, in C with OpenMP, under a NumPy API.

    import fastconv.ops as F          # ndarray in, ndarray out; every op has its *_backward
    import fastconv.reference as R    # the same API as slow, obvious loops (the specification)
"""
__version__ = "0.1.0"

from fastconv._threads import get_num_threads, set_num_threads
from fastconv._config import show_config
from fastconv import ops, reference
from fastconv import data, optim

__all__ = ["ops", "reference", "data", "optim", "get_num_threads", "set_num_threads", "show_config", "__version__"]
