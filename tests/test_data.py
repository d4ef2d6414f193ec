"""fastconv.data: datasets, DataLoader (batching, shuffling, prefetch), splits and k-fold."""
import gc
import threading
import warnings

import numpy as np
import pytest

from fastconv.data import (
    DataLoader,
    Dataset,
    ImageDataset,
    KFold,
    StratifiedKFold,
    Subset,
    TensorDataset,
    random_split,
    train_val_test_split,
    transforms,
)


def images_and_labels(n=23, c=2, h=4, w=5):
    x = np.arange(n * c * h * w, dtype=np.float32).reshape(n, c, h, w)
    y = np.arange(n, dtype=np.int64) % 3
    return x, y


class ListDataset(Dataset):
    """A plain dataset without get_batch: exercises the per-sample stacking path."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


def collect(loader):
    return [tuple(np.array(f) for f in batch) for batch in loader]


def assert_same_batches(a, b):
    assert len(a) == len(b)
    for ba, bb in zip(a, b):
        assert len(ba) == len(bb)
        for fa, fb in zip(ba, bb):
            assert fa.dtype == fb.dtype
            np.testing.assert_array_equal(fa, fb)


# ---- datasets -------------------------------------------------------------------------------

def test_tensor_dataset_items_and_lengths():
    x, y = images_and_labels()
    ds = TensorDataset(x, y)
    assert len(ds) == 23
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi, x[4])
    assert yi == y[4]
    np.testing.assert_array_equal(ds[-1][0], x[-1])
    with pytest.raises(IndexError, match="out of range"):
        ds[23]
    with pytest.raises(TypeError, match="integer"):
        ds[1.5]


def test_tensor_dataset_rejects_unequal_first_dims():
    with pytest.raises(ValueError, match=r"equal first dimensions.*\[3, 4\]"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="scalar"):
        TensorDataset(np.float32(1.0))


def test_base_dataset_is_abstract():
    with pytest.raises(NotImplementedError):
        len(Dataset())
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def test_image_dataset_scales_uint8_and_casts_labels():
    images = np.array([[[0, 255], [51, 102]]] * 3, dtype=np.uint8)
    ds = ImageDataset(images, np.array([1, 2, 3], dtype=np.uint8))
    x, y = ds[1]
    assert x.dtype == np.float32 and x.shape == (1, 2, 2)
    np.testing.assert_allclose(x[0], [[0, 1], [0.2, 0.4]], rtol=1e-6)
    assert y.dtype == np.int64 and y == 2
    xb, yb = ds.get_batch([2, 0])
    assert xb.shape == (2, 1, 2, 2) and yb.tolist() == [3, 1]
    with pytest.raises(TypeError, match="uint8"):
        ImageDataset(images.astype(np.float32), [1, 2, 3])
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        ImageDataset(images, [1, 2])


def test_subset_maps_indices_and_keeps_fast_path():
    x, y = images_and_labels()
    sub = Subset(Subset(TensorDataset(x, y), [5, 3, 9, 1]), [2, 0])
    assert len(sub) == 2
    np.testing.assert_array_equal(sub[0][0], x[9])
    xb, yb = sub.get_batch([1, 0])
    np.testing.assert_array_equal(xb, x[[5, 9]])
    assert not hasattr(Subset(ListDataset(x, y), [0]), "get_batch")
    with pytest.raises(IndexError):
        Subset(TensorDataset(x), [23])


# ---- DataLoader ------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [TensorDataset, ListDataset])
def test_loader_batches_in_order(make):
    x, y = images_and_labels()
    loader = DataLoader(make(x, y), batch_size=5)
    batches = collect(loader)
    assert len(loader) == len(batches) == 5
    assert [b[0].shape[0] for b in batches] == [5, 5, 5, 5, 3]
    xb, yb = batches[1]
    assert xb.dtype == np.float32 and xb.shape == (5, 2, 4, 5)
    assert yb.dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)


def test_fast_path_equals_per_sample_path():
    x, y = images_and_labels()
    fast = collect(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=3))
    slow = collect(DataLoader(ListDataset(x, y), batch_size=4, shuffle=True, seed=3))
    assert_same_batches(fast, slow)


def test_drop_last():
    x, y = images_and_labels()
    loader = DataLoader(TensorDataset(x, y), batch_size=5, drop_last=True)
    assert len(loader) == 4
    assert [b[0].shape[0] for b in loader] == [5, 5, 5, 5]
    assert len(DataLoader(TensorDataset(x, y), batch_size=30, drop_last=True)) == 0
    assert list(DataLoader(TensorDataset(x, y), batch_size=30, drop_last=True)) == []
    assert len(DataLoader(TensorDataset(x, y), batch_size=30)) == 1


def test_shuffle_reproducible_and_fresh_each_epoch():
    x, y = images_and_labels(n=40)
    a = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, seed=7)
    b = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, seed=7)
    a1, a2 = collect(a), collect(a)
    assert_same_batches(a1, collect(b))
    assert_same_batches(a2, collect(b))
    order1 = np.concatenate([yb for _, yb in a1])
    order2 = np.concatenate([yb for _, yb in a2])
    labels1 = np.concatenate([xb[:, 0, 0, 0] for xb, _ in a1])
    labels2 = np.concatenate([xb[:, 0, 0, 0] for xb, _ in a2])
    assert not np.array_equal(labels1, labels2)  # a new order each epoch
    np.testing.assert_array_equal(np.sort(labels1), x[:, 0, 0, 0])  # every sample exactly once
    assert sorted(order1.tolist()) == sorted(order2.tolist()) == sorted(y.tolist())
    c = collect(DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, seed=8))
    assert not np.array_equal(labels1, np.concatenate([xb[:, 0, 0, 0] for xb, _ in c]))


def test_loader_accepts_a_generator():
    x, y = images_and_labels()
    from_gen = collect(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True,
                                  seed=np.random.default_rng(11)))
    from_int = collect(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=11))
    assert_same_batches(from_gen, from_int)


def test_loader_argument_errors():
    ds = TensorDataset(np.zeros((4, 1)))
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        DataLoader(ds, batch_size=2.0)
    with pytest.raises(ValueError, match="prefetch must be >= 0, got -1"):
        DataLoader(ds, prefetch=-1)
    with pytest.raises(TypeError, match="seed"):
        DataLoader(ds, seed="abc")
    with pytest.raises(ValueError, match="seed must be >= 0"):
        DataLoader(ds, seed=-1)
    with pytest.raises(TypeError, match="transform"):
        DataLoader(ds, transform=3)
    with pytest.raises(TypeError, match="dataset"):
        DataLoader(5)


def test_loader_single_array_dataset_and_plain_samples():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i * i])

    batches = list(DataLoader(Squares(), batch_size=2))
    assert isinstance(batches[0], np.ndarray)
    np.testing.assert_array_equal(np.concatenate(batches)[:, 0], [0, 1, 4, 9, 16])


def test_transform_applied_to_inputs_reproducibly():
    x, y = images_and_labels(n=16, h=6, w=6)
    t = transforms.Compose([transforms.RandomCrop(4, padding=1), transforms.RandomHorizontalFlip()])
    a = collect(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=2, transform=t))
    b = collect(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=2, transform=t))
    assert_same_batches(a, b)
    assert a[0][0].shape == (4, 2, 4, 4)
    plain = collect(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=2))
    for (_, ya), (_, yp) in zip(a, plain):  # the transform leaves the order and labels alone
        np.testing.assert_array_equal(ya, yp)


@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("make", [TensorDataset, ListDataset])
def test_prefetch_gives_the_same_batches(depth, make):
    x, y = images_and_labels(n=37, h=6, w=6)
    t = transforms.RandomCrop(5, padding=2)
    kwargs = dict(batch_size=4, shuffle=True, transform=t)
    serial = DataLoader(make(x, y), seed=5, **kwargs)
    threaded = DataLoader(make(x, y), seed=5, prefetch=depth, **kwargs)
    for _ in range(2):  # two epochs: the per-epoch state advances identically
        assert_same_batches(collect(serial), collect(threaded))


def test_prefetch_stops_its_thread_when_iteration_stops_early():
    x, y = images_and_labels(n=200)
    loader = DataLoader(TensorDataset(x, y), batch_size=2, prefetch=2)
    it = iter(loader)
    next(it)
    thread = it.thread
    assert thread.is_alive()
    it.close()
    assert not thread.is_alive()
    with pytest.raises(StopIteration):
        next(it)

    it = iter(loader)
    thread = it.thread
    for i, _ in enumerate(it):
        if i == 3:
            break
    del it
    gc.collect()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert not [t for t in threading.enumerate() if t.name == "fastconv-prefetch"]


def test_prefetch_thread_ends_after_a_full_epoch():
    x, y = images_and_labels()
    it = iter(DataLoader(TensorDataset(x, y), batch_size=5, prefetch=2))
    assert len(list(it)) == 5
    it.thread.join(timeout=5)
    assert not it.thread.is_alive()


def test_prefetch_reraises_dataset_errors():
    class Broken(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            if i == 6:
                raise KeyError("sample 6 is broken")
            return np.zeros(2), 0

    it = iter(DataLoader(Broken(), batch_size=2, prefetch=2))
    assert len([next(it) for _ in range(3)]) == 3
    with pytest.raises(KeyError, match="sample 6 is broken"):
        next(it)
    it.thread.join(timeout=5)
    assert not it.thread.is_alive()


# ---- random_split / train_val_test_split --------------------------------------------------

def test_random_split_counts_and_fractions():
    ds = TensorDataset(np.arange(10))
    parts = random_split(ds, [3, 7], seed=0)
    assert [len(p) for p in parts] == [3, 7]
    got = np.concatenate([p.indices for p in parts])
    assert sorted(got.tolist()) == list(range(10))
    # PyTorch's rule: floor(n * f) each, the remainder dealt to the first parts.
    assert [len(p) for p in random_split(ds, [0.25, 0.25, 0.5], seed=0)] == [3, 2, 5]
    assert [len(p) for p in random_split(TensorDataset(np.arange(11)), [1 / 3] * 3, seed=0)] == [4, 4, 3]
    a = random_split(ds, [5, 5], seed=4)
    b = random_split(ds, [5, 5], seed=4)
    np.testing.assert_array_equal(a[0].indices, b[0].indices)
    with pytest.raises(ValueError, match="sum to 9 but the dataset has 10"):
        random_split(ds, [4, 5])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.5, 0.6])
    with pytest.raises(TypeError, match="all ints or all fractions"):
        random_split(ds, [5, 0.5])


def test_train_val_test_split_on_arrays():
    x = np.arange(100).reshape(100, 1)
    y = np.arange(100) % 4
    (xtr, ytr), (xva, yva), (xte, yte) = train_val_test_split(x, y, val=0.2, test=10, seed=0)
    assert (len(xtr), len(xva), len(xte)) == (70, 20, 10)
    ids = [a[:, 0] for a in (xtr, xva, xte)]
    assert sorted(np.concatenate(ids).tolist()) == list(range(100))
    for ids_part, labels in zip(ids, (ytr, yva, yte)):
        np.testing.assert_array_equal(labels, ids_part % 4)  # rows stay paired
    only_x = train_val_test_split(x, val=0.1, seed=0)
    assert isinstance(only_x[0], np.ndarray) and only_x[2].shape == (0, 1)


def test_train_val_test_split_stratified_exact_counts():
    y = np.repeat(np.arange(5), [40, 40, 40, 40, 40])
    train, val, test = train_val_test_split(TensorDataset(np.arange(200), y), val=0.1, test=0.2,
                                            seed=1, stratify=y)
    assert isinstance(val, Subset)
    assert (len(train), len(val), len(test)) == (140, 20, 40)
    assert np.bincount(y[val.indices]).tolist() == [4] * 5
    assert np.bincount(y[test.indices]).tolist() == [8] * 5
    all_idx = np.concatenate([train.indices, val.indices, test.indices])
    assert len(np.unique(all_idx)) == 200


def test_train_val_test_split_stratified_uneven_classes():
    y = np.array([0] * 7 + [1] * 3 + [2] * 1)
    _, val, test = train_val_test_split(np.zeros(11), y, val=3, test=2, seed=0, stratify=y)
    assert len(val[1]) == 3 and len(test[1]) == 2
    counts = np.bincount(np.concatenate([val[1], test[1]]), minlength=3)
    assert (counts <= np.bincount(y)).all()


def test_train_val_test_split_errors():
    x = np.zeros(10)
    with pytest.raises(ValueError, match="leave no training samples"):
        train_val_test_split(x, val=5, test=5)
    with pytest.raises(ValueError, match=r"val as a fraction must lie in \[0, 1\)"):
        train_val_test_split(x, val=1.5)
    with pytest.raises(ValueError, match="stratify"):
        train_val_test_split(x, val=2, stratify=np.zeros(9))


# ---- KFold / StratifiedKFold ----------------------------------------------------------------

def check_partition(folds, n):
    tests = [v for _, v in folds]
    assert sorted(np.concatenate(tests).tolist()) == list(range(n))
    for train, val in folds:
        assert train.dtype == val.dtype == np.int64
        assert np.intersect1d(train, val).size == 0
        assert len(train) + len(val) == n
        assert (np.diff(train) > 0).all() and (np.diff(val) > 0).all()


@pytest.mark.parametrize("shuffle,seed", [(False, None), (True, 0)])
def test_kfold_properties(shuffle, seed):
    folds = list(KFold(4, shuffle=shuffle, seed=seed).split(np.zeros(10)))
    assert len(folds) == 4
    check_partition(folds, 10)
    assert sorted(len(v) for _, v in folds) == [2, 2, 3, 3]
    if not shuffle:
        np.testing.assert_array_equal(folds[0][1], [0, 1, 2])
        np.testing.assert_array_equal(folds[3][1], [8, 9])


def test_kfold_shuffle_seeded_is_repeatable():
    cv = KFold(3, shuffle=True, seed=5)
    a = [v.tolist() for _, v in cv.split(np.zeros(12))]
    assert a == [v.tolist() for _, v in cv.split(np.zeros(12))]
    assert a != [v.tolist() for _, v in KFold(3).split(np.zeros(12))]


def test_kfold_errors():
    with pytest.raises(ValueError, match="n_splits must be an int >= 2"):
        KFold(1)
    with pytest.raises(ValueError, match="shuffle=False"):
        KFold(3, seed=0)
    with pytest.raises(ValueError, match="greater than the number of samples"):
        list(KFold(5).split(np.zeros(3)))
    with pytest.raises(ValueError, match="needs the labels"):
        list(StratifiedKFold(2).split(np.zeros(4)))


@pytest.mark.parametrize("shuffle,seed", [(False, None), (True, 3)])
def test_stratified_kfold_balances_classes(shuffle, seed):
    y = np.array([2] * 11 + [0] * 7 + [1] * 5)
    rng = np.random.default_rng(0)
    y = y[rng.permutation(len(y))]
    folds = list(StratifiedKFold(3, shuffle=shuffle, seed=seed).split(np.zeros(len(y)), y))
    check_partition(folds, len(y))
    per_fold = np.array([np.bincount(y[v], minlength=3) for _, v in folds])
    assert (per_fold.max(axis=0) - per_fold.min(axis=0) <= 1).all()
    assert per_fold.sum(axis=0).tolist() == np.bincount(y).tolist()
    sizes = [len(v) for _, v in folds]
    assert max(sizes) - min(sizes) <= 1


def test_stratified_kfold_too_few_members():
    with pytest.raises(ValueError, match="cannot be greater than the number of members"):
        list(StratifiedKFold(3).split(np.zeros(4), [0, 0, 1, 1]))
    with pytest.warns(UserWarning, match="least populated class"):
        list(StratifiedKFold(3).split(np.zeros(7), [0, 0, 0, 0, 0, 1, 1]))


def test_kfolds_match_scikit_learn():
    model_selection = pytest.importorskip("sklearn.model_selection")
    rng = np.random.default_rng(1)
    for n, k in [(10, 3), (23, 5), (7, 7)]:
        x = np.zeros(n)
        y = rng.integers(0, 3, size=n)
        y[:k] = 0
        y[k:2 * k] = 1 if 2 * k <= n else y[k:2 * k]
        pairs = [(KFold(k), model_selection.KFold(k)),
                 (StratifiedKFold(k), model_selection.StratifiedKFold(k))]
        for ours, theirs in pairs:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = list(ours.split(x, y))
                want = list(theirs.split(x, y))
            for (tr, va), (tr2, va2) in zip(got, want, strict=True):
                np.testing.assert_array_equal(tr, tr2)
                np.testing.assert_array_equal(va, va2)


def test_prefetch_alongside_openmp_kernels():
    """The training loop runs OpenMP kernels while the prefetch thread builds batches."""
    import fastconv
    import fastconv.ops as F
    from fastconv.data import builtin_mnist_split
    train, _ = builtin_mnist_split()
    weight = np.random.default_rng(0).standard_normal((4, 1, 3, 3)).astype(np.float32)
    previous = fastconv.get_num_threads()
    fastconv.set_num_threads(2)
    try:
        loader = DataLoader(train, batch_size=64, shuffle=True, seed=0, prefetch=2)
        seen = 0
        for epoch in range(2):
            for xb, yb in loader:
                assert F.conv2d(xb, weight).shape == (xb.shape[0], 4, 26, 26)
                seen += len(yb)
                if epoch == 1 and seen > 4500 + 640:
                    break  # stop mid-epoch while the producer may be blocked on a full queue
        assert seen > 4500
    finally:
        fastconv.set_num_threads(previous)


@pytest.mark.filterwarnings("ignore:Length of split")
def test_random_split_sizes_match_pytorch():
    torch_data = pytest.importorskip("torch.utils.data")
    for n, fractions in [(10, [0.25, 0.25, 0.5]), (11, [1 / 3] * 3), (7, [0.5, 0.5]), (5, [0.0, 1.0])]:
        want = [len(p) for p in torch_data.random_split(range(n), fractions)]
        assert [len(p) for p in random_split(TensorDataset(np.arange(n)), fractions, seed=0)] == want
