"""Inference time per batch and per sample: a model timed over repeated runs, warm-up excluded."""
import numbers
import time
from dataclasses import dataclass

import numpy as np

from fastconv.autograd import Tensor, no_grad
from fastconv.metrics._validate import positive_int
from fastconv.nn import Module

__all__ = ["InferenceTiming", "time_inference"]


@dataclass(frozen=True)
class InferenceTiming:
    """What time_inference measured: `batch_seconds`, the wall time of each timed run
    (float64, (repeats,)), at `batch_size` samples per run. Summaries in seconds:
    `per_batch()` and `per_sample()` (per batch / batch_size) give {'mean', 'median',
    'p<q>' for each requested percentile q}; `samples_per_second` = batch_size / mean."""
    batch_seconds: np.ndarray
    batch_size: int
    percentiles: tuple

    def per_batch(self):
        summary = {"mean": float(self.batch_seconds.mean()),
                   "median": float(np.median(self.batch_seconds))}
        for q in self.percentiles:
            summary[f"p{q:g}"] = float(np.percentile(self.batch_seconds, q))
        return summary

    def per_sample(self):
        return {key: value / self.batch_size for key, value in self.per_batch().items()}

    @property
    def samples_per_second(self):
        return self.batch_size / float(self.batch_seconds.mean())

    def __str__(self):
        def line(summary):
            return ", ".join(f"{key} {1e3 * value:.3f} ms" for key, value in summary.items())
        return (f"per sample: {line(self.per_sample())}\n"
                f"per batch of {self.batch_size}: {line(self.per_batch())} "
                f"({len(self.batch_seconds)} timed runs, {self.samples_per_second:,.0f} samples/s)")


def _runner(model):
    if isinstance(model, Module):
        def run(batch):
            with no_grad():
                return model(Tensor(batch))
        return run
    if not callable(model):
        raise TypeError(f"model must be a fastconv.nn.Module or a callable, got "
                        f"{type(model).__name__}")
    return model


def time_inference(model, inputs, batch_size=1, repeats=20, warmup=3, percentiles=(90, 99)):
    """Time `model` on batches of `inputs`: `warmup` untimed runs, then `repeats` timed ones.

    Args:
        model: a fastconv.nn.Module (run in eval mode without gradients; its mode is
            restored afterwards) or any callable taking a NumPy batch.
        inputs: array (n, ...) of samples, cut into ceil(n / batch_size) batches (the last
            one completed from the start, so n may be smaller than a batch); the runs,
            warm-up first, cycle through them. The batches are built before the clock starts.
        batch_size, repeats: samples per run, timed runs (each >= 1).
        warmup: untimed runs first (>= 0), so one-off costs (allocation, caches, thread
            start-up) are not counted.
        percentiles: the percentiles (0-100) to report besides mean and median.

    Returns an InferenceTiming. Timings are wall-clock (time.perf_counter) and as noisy as
    the machine: compare models in one process, and prefer the median.
    """
    batch_size, repeats = positive_int(batch_size, "batch_size"), positive_int(repeats, "repeats")
    if isinstance(warmup, bool) or not isinstance(warmup, numbers.Integral) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}")
    percentiles = tuple(float(q) for q in percentiles)
    if any(not 0 <= q <= 100 for q in percentiles):
        raise ValueError(f"percentiles must lie in [0, 100], got {percentiles}")
    inputs = np.asarray(inputs)
    if inputs.ndim == 0 or inputs.shape[0] == 0:
        raise ValueError(f"inputs must be an array of samples (n >= 1, ...), got shape "
                         f"{inputs.shape}")
    run = _runner(model)
    n = inputs.shape[0]
    distinct = min(warmup + repeats, -(-n // batch_size))
    batches = [np.ascontiguousarray(inputs[np.arange(b * batch_size, (b + 1) * batch_size) % n])
               for b in range(distinct)]
    was_training = model.training if isinstance(model, Module) else None
    if was_training is not None:
        model.eval()
    try:
        for r in range(warmup):
            run(batches[r % distinct])
        seconds = np.empty(repeats)
        for r in range(repeats):
            batch = batches[(warmup + r) % distinct]
            start = time.perf_counter()
            run(batch)
            seconds[r] = time.perf_counter() - start
    finally:
        if was_training is not None:
            model.train(was_training)
    return InferenceTiming(batch_seconds=seconds, batch_size=batch_size, percentiles=percentiles)
