"""How many OpenMP threads the kernels use.

The count is read at each call, in the calling thread:
  - the OpenMP default of that thread (OMP_NUM_THREADS, or what threadpoolctl set);
  - capped by `set_num_threads(n)` when the user has called it (which also sets the
    OpenMP default of the thread that called it, so threadpoolctl sees the change).
Every kernel gets the count as an explicit argument, so a kernel never depends on
hidden OpenMP state and tests can run one op with 1 thread and with many side by side.
"""
import operator

from fastconv._ext import threads as _omp

_requested = None


def set_num_threads(n):
    """Use at most `n` threads in every kernel, from any Python thread."""
    global _requested
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"n must be an int, got {type(n).__name__}") from None
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    _requested = n
    _omp.omp_set_num_threads(n)


def get_num_threads():
    """The number of threads the next kernel called from this thread will use."""
    available = _omp.omp_max_threads()
    if _requested is None:
        return available
    # set_num_threads also set the OpenMP default of the thread that called it, so there
    # `available` is the request unless threadpoolctl has lowered it since; other Python
    # threads start from the OpenMP default and get the request capped by it.
    return min(_requested, available)
