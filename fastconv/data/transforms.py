"""Image transforms on NumPy arrays: one image (C, H, W) or a batch (N, C, H, W).

Every transform is called as `t(x, rng=None)` and returns a new array (the input is never
written to). Random transforms draw from `rng` — the DataLoader passes a generator derived
from its seed for each batch — or, when called without one, from their own generator built
from the `seed` given at construction. On a batch, random transforms draw independently for
every image (each image gets its own crop offset / flip).
"""
import numbers

import numpy as np

from fastconv.data.loader import make_generator

__all__ = ["Compose", "ToFloat", "Normalize", "Pad", "RandomCrop", "RandomHorizontalFlip"]


def _check_image(x, name):
    x = np.asarray(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{name} expects an image (C, H, W) or a batch (N, C, H, W), got shape {x.shape}")
    return x


def _pair(value, name):
    """(h, w) from an int or a pair of ints, each >= 0."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(value) < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return int(value[0]), int(value[1])


class Transform:
    """Base class: `__call__(x, rng=None)`; subclasses implement `apply(x, rng)`."""

    def __call__(self, x, rng=None):
        return self.apply(_check_image(x, type(self).__name__), rng)

    def apply(self, x, rng):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class RandomTransform(Transform):
    def __init__(self, seed=None):
        self._rng = make_generator(seed)

    def __call__(self, x, rng=None):
        return self.apply(_check_image(x, type(self).__name__), self._rng if rng is None else rng)


class Compose:
    """Apply `transforms` in order, passing the same `rng` along (so a seeded call is repeatable)."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose needs callables, got {type(t).__name__}")

    def __call__(self, x, rng=None):
        for t in self.transforms:
            x = t(x, rng=rng)
        return x

    def __repr__(self):
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class ToFloat(Transform):
    """float32 `x * scale`; the default scale maps uint8 0-255 to 0-1."""

    def __init__(self, scale=1 / 255):
        self.scale = float(scale)

    def apply(self, x, rng):
        return x.astype(np.float32) * np.float32(self.scale)


class Normalize(Transform):
    """Per channel `(x - mean[c]) / std[c]`, channel axis -3; float32 out unless x is float64.

    `mean`, `std`: a number or one per channel (std > 0)."""

    def __init__(self, mean, std):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError("mean and std must be numbers or 1-D sequences (one per channel)")
        if np.any(~(self.std > 0)):
            raise ValueError(f"std must be > 0, got {self.std.tolist()}")

    def apply(self, x, rng):
        channels = x.shape[-3]
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v.shape[0] not in (1, channels):
                raise ValueError(f"Normalize {name} has {v.shape[0]} values but the image has {channels} channels")
        dtype = np.float64 if x.dtype == np.float64 else np.float32
        mean = self.mean.astype(dtype)[:, None, None]
        std = self.std.astype(dtype)[:, None, None]
        return (x.astype(dtype) - mean) / std


_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _padding4(padding):
    """torchvision's padding forms -> (left, top, right, bottom)."""
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        padding = (padding,)
    padding = tuple(padding)
    if len(padding) not in (1, 2, 4) or not all(
            isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in padding):
        raise ValueError(f"padding must be an int or a tuple of 2 or 4 ints, got {padding!r}")
    if min(padding) < 0:
        raise ValueError(f"padding must be >= 0, got {padding!r}")
    if len(padding) == 1:
        padding = padding * 4
    elif len(padding) == 2:
        padding = padding * 2
    return tuple(int(p) for p in padding)


def _pad(x, padding, mode, fill):
    left, top, right, bottom = padding
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=fill)
    return np.pad(x, widths, mode=mode)


class Pad(Transform):
    """Pad the two spatial axes, as torchvision's Pad.

    `padding`: int (all sides), (left/right, top/bottom) or (left, top, right, bottom);
    `mode`: "constant" (with `fill`), "edge", "reflect" or "symmetric"."""

    def __init__(self, padding, fill=0, mode="constant"):
        if mode not in _PAD_MODES:
            raise ValueError(f"mode must be one of {_PAD_MODES}, got {mode!r}")
        self.padding = _padding4(padding)
        self.fill = fill
        self.mode = mode

    def apply(self, x, rng):
        return _pad(x, self.padding, self.mode, self.fill)


class RandomCrop(RandomTransform):
    """Pad (optional, as `Pad`), then cut a `size` window at a uniformly random position,
    as torchvision's RandomCrop (each image of a batch gets its own position).

    `size`: int or (h, w); `padding`: as Pad; `fill`, `mode`: as Pad; `seed`: see module doc."""

    def __init__(self, size, padding=0, fill=0, mode="constant", seed=None):
        super().__init__(seed)
        self.size = _pair(size, "size")
        if min(self.size) < 1:
            raise ValueError(f"size must be >= 1, got {self.size!r}")
        if mode not in _PAD_MODES:
            raise ValueError(f"mode must be one of {_PAD_MODES}, got {mode!r}")
        self.padding = _padding4(padding)
        self.fill = fill
        self.mode = mode

    def apply(self, x, rng):
        if any(self.padding):
            x = _pad(x, self.padding, self.mode, self.fill)
        th, tw = self.size
        h, w = x.shape[-2:]
        if th > h or tw > w:
            raise ValueError(f"RandomCrop size {self.size} is larger than the (padded) image {(h, w)}")
        if x.ndim == 3:
            i, j = rng.integers(0, h - th + 1), rng.integers(0, w - tw + 1)
            return x[:, i:i + th, j:j + tw].copy()
        n = x.shape[0]
        rows, cols = rng.integers(0, h - th + 1, size=n), rng.integers(0, w - tw + 1, size=n)
        out = np.empty(x.shape[:2] + (th, tw), dtype=x.dtype)
        for k in range(n):
            out[k] = x[k, :, rows[k]:rows[k] + th, cols[k]:cols[k] + tw]
        return out


class RandomHorizontalFlip(RandomTransform):
    """Mirror left-right with probability `p` (per image on a batch)."""

    def __init__(self, p=0.5, seed=None):
        super().__init__(seed)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must lie in [0, 1], got {p}")
        self.p = float(p)

    def apply(self, x, rng):
        if x.ndim == 3:
            return x[..., ::-1].copy() if rng.random() < self.p else x.copy()
        flip = rng.random(x.shape[0]) < self.p
        out = x.copy()
        out[flip] = x[flip, ..., ::-1]
        return out
