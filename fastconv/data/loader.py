"""DataLoader: a dataset cut into NumPy batches, optionally shuffled and prefetched.

Randomness. One `numpy.random.Generator` per loader (from `seed`, or the one passed in) draws,
at the start of every epoch, the sample order and one epoch seed; batch `b`'s transform then
gets its own generator `default_rng([epoch_seed, b])`. So a seeded loader replays the same
sequence of epochs in every run, each epoch has a fresh order (like PyTorch with a generator),
and batch contents never depend on which thread built them or when.

Prefetch uses a THREAD, never a process. fastconv's kernels run on an OpenMP thread pool;
after `fork()` the child inherits the runtime's bookkeeping but not its threads, so its first
parallel region can hang forever (libgomp is not fork-safe), and spawn would copy the dataset
into every worker. A thread shares the arrays for free, and overlaps with training wherever
either side releases the GIL: fastconv's kernels do for the whole call, NumPy's copies and
fancy indexing mostly do. (A dataset whose pure-Python `__getitem__` is the bottleneck gains
little: that work still holds the GIL.)
"""
import numbers
import queue
import threading

import numpy as np

from fastconv.random import generator

__all__ = ["DataLoader", "make_generator"]


def make_generator(seed, name="seed"):
    """A Generator from `seed`: None (a child of the shared generator, so
    fastconv.manual_seed makes shuffling reproducible too), an int >= 0, or a Generator
    (used as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(generator().integers(2**63))
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be None, an int or a numpy.random.Generator, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"{name} must be >= 0, got {seed}")
    return np.random.default_rng(int(seed))


def _as_count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def collate(samples):
    """Stack samples along a new axis 0: a list of `(x, y, ...)` tuples gives a tuple of
    arrays `(xb, yb, ...)`; a list of arrays gives one array."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        width = len(first)
        for s in samples:
            if not isinstance(s, (tuple, list)) or len(s) != width:
                raise ValueError(f"samples must all be tuples of length {width}; got {type(s).__name__} "
                                 f"of length {len(s) if isinstance(s, (tuple, list)) else 1}")
        return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(width))
    return np.stack([np.asarray(s) for s in samples])


class DataLoader:
    """Iterate over `dataset` in batches stacked along axis 0.

    Args:
        dataset: a Dataset (anything with `__len__` and `__getitem__`). If it has
            `get_batch(indices)` (TensorDataset, ImageDataset, their Subsets) each batch is
            built by fancy indexing rather than sample-by-sample stacking.
        batch_size: samples per batch (>= 1).
        shuffle: a new random order every epoch (every `iter(loader)`).
        seed: None, an int, or a numpy.random.Generator: drives the order and the transforms.
        drop_last: drop the final batch if it has fewer than `batch_size` samples.
        transform: optional callable `transform(xb, rng=generator)` applied to the first field of
            each batch (the inputs) — e.g. `transforms.Compose([...])`; batch-aware transforms
            draw per-sample randomness.
        prefetch: number of batches a background thread builds ahead (0: none). The batches and
            their order are identical with and without prefetch.

    Yields a tuple `(xb, yb, ...)` per batch when samples are tuples (images float32
    (N, C, H, W) and int64 labels for the image datasets), else an array.
    `len(loader)` is the number of batches per epoch.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, seed=None, drop_last=False,
                 transform=None, prefetch=0):
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"dataset must have __len__ and __getitem__, got {type(dataset).__name__}")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
        self.dataset = dataset
        self.batch_size = _as_count(batch_size, "batch_size", 1)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.prefetch = _as_count(prefetch, "prefetch", 0)
        self.generator = make_generator(seed)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        order = self.generator.permutation(n) if self.shuffle else np.arange(n)
        epoch_seed = int(self.generator.integers(2**63))
        make_batch = self._batch_maker(order, epoch_seed)
        if self.prefetch:
            return _PrefetchIterator(make_batch, len(self), self.prefetch)
        return _SerialIterator(make_batch, len(self))

    def _batch_maker(self, order, epoch_seed):
        # A closure over the loader's state, NOT the iterator: the prefetch thread holds it,
        # and it must not keep the iterator alive (its __del__ is what stops the thread).
        dataset, size, transform = self.dataset, self.batch_size, self.transform
        get_batch = getattr(dataset, "get_batch", None)

        def make_batch(b):
            idx = order[b * size:(b + 1) * size]
            if get_batch is not None:
                batch = tuple(get_batch(idx))
            else:
                batch = collate([dataset[int(i)] for i in idx])
            if transform is None:
                return batch
            rng = np.random.default_rng([epoch_seed, b])
            if isinstance(batch, tuple):
                return (transform(batch[0], rng=rng),) + batch[1:]
            return transform(batch, rng=rng)

        return make_batch


class _SerialIterator:
    def __init__(self, make_batch, n_batches):
        self._make_batch = make_batch
        self._n = n_batches
        self._next = 0

    def __iter__(self):
        return self

    def __len__(self):
        return self._n - self._next

    def __next__(self):
        if self._next >= self._n:
            raise StopIteration
        self._next += 1
        return self._make_batch(self._next - 1)

    def close(self):
        self._next = self._n


_BATCH, _END, _ERROR = "batch", "end", "error"


def _produce(make_batch, n_batches, out, stop):
    def put(item):
        while not stop.is_set():
            try:
                out.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    try:
        for b in range(n_batches):
            if stop.is_set() or not put((_BATCH, make_batch(b))):
                return
        put((_END, None))
    except BaseException as exc:  # handed to the consumer, who re-raises it with its traceback
        put((_ERROR, exc))


class _PrefetchIterator:
    """Batches built by one background thread, at most `depth` ahead, consumed in order.

    Stopping early (break, an exception, or dropping the iterator) calls `close()`, which tells
    the thread to stop and joins it, so no thread outlives its iteration."""

    def __init__(self, make_batch, n_batches, depth):
        self._n = n_batches
        self._taken = 0
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=_produce, name="fastconv-prefetch", daemon=True,
                                        args=(make_batch, n_batches, self._queue, self._stop))
        self._thread.start()

    def __iter__(self):
        return self

    def __len__(self):
        return self._n - self._taken

    def __next__(self):
        if self._stop.is_set():
            raise StopIteration
        kind, value = self._queue.get()
        if kind == _BATCH:
            self._taken += 1
            return value
        self.close()
        if kind == _ERROR:
            raise value
        raise StopIteration

    def close(self):
        """Stop the producer thread and wait for it (it finishes at most the batch in hand)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        self._queue = queue.Queue()  # release prefetched batches now, not at garbage collection

    def __del__(self):
        stop = getattr(self, "_stop", None)
        if stop is not None:
            self.close()

    @property
    def thread(self):
        """The producer thread (exposed so tests can check it has ended)."""
        return self._thread
