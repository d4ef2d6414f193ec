"""Run a function with a given kernel thread count, restoring the previous setting after."""
import fastconv
from fastconv._ext import threads as omp


def with_threads(n, fn, *args, **kwargs):
    saved_request = fastconv._threads._requested
    saved_default = omp.omp_max_threads()
    fastconv.set_num_threads(n)
    try:
        return fn(*args, **kwargs)
    finally:
        fastconv._threads._requested = saved_request
        omp.omp_set_num_threads(saved_default)
