"""fastconv.data.transforms: deterministic results, seeded randomness, batch awareness, errors."""
import numpy as np
import pytest

from fastconv.data import transforms as T


def image(c=3, h=4, w=5, dtype=np.float32):
    return np.arange(c * h * w, dtype=dtype).reshape(c, h, w)


def test_to_float_scales_uint8():
    x = np.array([[[0, 51, 255]]], dtype=np.uint8)
    out = T.ToFloat()(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[[0.0, 0.2, 1.0]]], rtol=1e-6)
    np.testing.assert_allclose(T.ToFloat(scale=2)(x[None]), 2 * x[None].astype(np.float32))


def test_normalize_per_channel():
    x = image(c=2, h=2, w=2)
    out = T.Normalize(mean=[1.0, 5.0], std=[2.0, 4.0])(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0], (x[0] - 1) / 2)
    np.testing.assert_allclose(out[1], (x[1] - 5) / 4)
    batch = np.stack([x, x + 1])
    np.testing.assert_allclose(T.Normalize([1.0, 5.0], [2.0, 4.0])(batch)[1], (batch[1] - [[[1.0]], [[5.0]]]) / [[[2.0]], [[4.0]]])
    assert T.Normalize(0.5, 0.5)(x.astype(np.float64)).dtype == np.float64
    assert T.Normalize(0.5, 0.5)(x.astype(np.uint8)).dtype == np.float32


def test_normalize_errors():
    with pytest.raises(ValueError, match="std must be > 0"):
        T.Normalize([0, 0], [1, 0])
    with pytest.raises(ValueError, match="mean has 2 values but the image has 3 channels"):
        T.Normalize([0, 0], 1)(image())
    with pytest.raises(ValueError, match=r"expects an image \(C, H, W\) or a batch"):
        T.Normalize(0, 1)(np.zeros((4, 4)))


def test_pad_forms_and_modes():
    x = image(c=1, h=2, w=3)
    assert T.Pad(1)(x).shape == (1, 4, 5)
    assert T.Pad((1, 2))(x).shape == (1, 6, 5)          # (left/right, top/bottom)
    out = T.Pad((1, 0, 2, 3), fill=-1)(x)                # (left, top, right, bottom)
    assert out.shape == (1, 5, 6)
    np.testing.assert_array_equal(out[0, :2, 1:4], x[0])
    assert (out[0, :, 0] == -1).all() and (out[0, 2:, :] == -1).all()
    np.testing.assert_array_equal(T.Pad(1, mode="edge")(x)[0, 0, 1:4], x[0, 0])
    np.testing.assert_array_equal(T.Pad(1, mode="reflect")(x)[0, 1, 0], x[0, 0, 1])
    assert T.Pad(2)(np.stack([x, x])).shape == (2, 1, 6, 7)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        T.Pad(-1)
    with pytest.raises(ValueError, match="padding must be an int or a tuple of 2 or 4"):
        T.Pad((1, 2, 3))
    with pytest.raises(ValueError, match="mode must be one of"):
        T.Pad(1, mode="wrap")


def test_random_crop_takes_windows_of_the_padded_image():
    x = image(c=2, h=5, w=6)
    padded = np.pad(x, [(0, 0), (2, 2), (2, 2)])
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(60):
        out = T.RandomCrop((4, 3), padding=2)(x, rng=rng)
        assert out.shape == (2, 4, 3)
        matches = [(i, j) for i in range(padded.shape[1] - 3) for j in range(padded.shape[2] - 2)
                   if np.array_equal(padded[:, i:i + 4, j:j + 3], out)]
        assert matches
        seen.add(matches[0])
    assert len(seen) > 5  # positions vary
    assert T.RandomCrop(5)(np.zeros((1, 5, 5))).shape == (1, 5, 5)
    with pytest.raises(ValueError, match="larger than the"):
        T.RandomCrop(7)(x)
    with pytest.raises(ValueError, match="size must be >= 1"):
        T.RandomCrop(0)


def test_random_crop_on_a_batch_crops_each_image_independently():
    x = np.broadcast_to(image(c=1, h=8, w=8), (50, 1, 8, 8))
    out = T.RandomCrop(4)(x, rng=np.random.default_rng(1))
    assert out.shape == (50, 1, 4, 4)
    corners = {int(o[0, 0, 0]) for o in out}
    assert len(corners) > 5
    for o in out:
        i, j = divmod(int(o[0, 0, 0]), 8)
        np.testing.assert_array_equal(o, x[0, :, i:i + 4, j:j + 4])


def test_horizontal_flip():
    x = image()
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)
    batch = np.stack([x] * 200)
    out = T.RandomHorizontalFlip()(batch, rng=np.random.default_rng(3))
    flipped = np.array([np.array_equal(o, x[..., ::-1]) for o in out])
    kept = np.array([np.array_equal(o, x) for o in out])
    assert (flipped ^ kept).all()
    assert 60 < flipped.sum() < 140
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        T.RandomHorizontalFlip(p=1.5)


def test_seeded_randomness_is_repeatable():
    x = image(h=8, w=8)
    make = lambda: T.Compose([T.RandomCrop(6, padding=1), T.RandomHorizontalFlip()])
    a = [make()(x, rng=np.random.default_rng(9)) for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])
    own1 = T.RandomCrop(5, seed=4)
    own2 = T.RandomCrop(5, seed=4)
    for _ in range(3):
        np.testing.assert_array_equal(own1(x), own2(x))


def test_transforms_never_write_to_their_input():
    x = image(h=6, w=6)
    x.setflags(write=False)
    pipeline = T.Compose([T.ToFloat(1.0), T.Normalize(1.0, 2.0), T.Pad(1), T.RandomCrop(6),
                          T.RandomHorizontalFlip(1.0)])
    pipeline(x)
    pipeline(np.stack([x, x]))
    for t in (T.RandomHorizontalFlip(0.0), T.RandomCrop(6)):  # identity cases still copy
        out = t(x)
        assert not np.shares_memory(out, x)


def test_compose_rejects_non_callables_and_has_a_repr():
    with pytest.raises(TypeError, match="callables"):
        T.Compose([T.Pad(1), 3])
    assert "RandomCrop(size=(4, 4)" in repr(T.Compose([T.RandomCrop(4)]))
