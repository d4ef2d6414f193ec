"""fastconv.train: fit / evaluate / predict, history, schedulers, callbacks, checkpoints,
divergence, and a shortened run of the LeNet-5 target on the built-in digits."""
import os

import numpy as np
import pytest

import fastconv
from fastconv import models, nn, optim, train
from fastconv.data import DataLoader, TensorDataset, builtin_mnist_split, transforms
from toy_data import blobs


def small_model():
    fastconv.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


def loaders(batch_size=16):
    x, y = blobs()
    xv, yv = blobs(60, seed=1)
    return (DataLoader(TensorDataset(x, y), batch_size, shuffle=True, seed=0),
            DataLoader(TensorDataset(xv, yv), 32))


def test_fit_history_evaluate_predict(capsys):
    model = small_model()
    train_loader, val_loader = loaders()
    history = train.fit(model, train_loader, val_loader, epochs=4,
                        optimizer=optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    h = history.history
    assert list(h) == ["loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert history.epoch == [1, 2, 3, 4] and all(len(v) == 4 for v in h.values())
    assert h["loss"][-1] < h["loss"][0] and h["val_accuracy"][-1] > 0.95
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("epoch 1/4 - loss ")
    assert model.training        # the mode fit found is restored

    loss, accuracy = train.evaluate(model, val_loader)
    assert loss == pytest.approx(h["val_loss"][-1]) and accuracy == h["val_accuracy"][-1]
    assert model.training

    xv, _ = blobs(60, seed=1)
    logits = train.predict(model, xv, batch_size=7)
    assert logits.shape == (60, 3)
    np.testing.assert_array_equal(train.predict(model, val_loader), logits)
    probs = train.predict(model, fastconv.Tensor(xv), probabilities=True)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    np.testing.assert_array_equal(probs.argmax(1), logits.argmax(1))


def test_fit_defaults_and_silence(capsys):
    model = small_model()
    history = train.fit(model, loaders()[0], epochs=2, progress=False)   # Adam, cross-entropy
    assert capsys.readouterr().out == ""
    assert set(history.history) == {"loss", "accuracy", "lr"}
    assert history.history["lr"] == [1e-3, 1e-3]


def test_regression_loss_has_no_accuracy():
    fastconv.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((32, 3)).astype(np.float32)
    t = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = nn.Linear(3, 1)
    history = train.fit(model, DataLoader(TensorDataset(x, t), 8), DataLoader(TensorDataset(x, t), 8),
                        epochs=3, loss_fn=nn.MSELoss(), progress=False,
                        optimizer=optim.SGD(model.parameters(), lr=0.1))
    assert set(history.history) == {"loss", "val_loss", "lr"}
    assert train.evaluate(model, DataLoader(TensorDataset(x, t), 8), nn.MSELoss())[1] is None


def test_scheduler_rules():
    model = small_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = train.fit(model, loaders()[0], epochs=3, optimizer=opt, progress=False,
                        scheduler=optim.StepLR(opt, step_size=1, gamma=0.5))
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.025])   # per epoch

    model = small_model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = loaders()[0]
    sched = optim.OneCycleLR(opt, max_lr=0.1, epochs=2, steps_per_epoch=len(loader))
    train.fit(model, loader, epochs=2, optimizer=opt, scheduler=sched, progress=False)
    assert sched.last_epoch == 2 * len(loader)                              # per batch
    with pytest.raises(ValueError, match="scheduler_interval"):
        train.fit(model, loader, scheduler_interval="step")


def test_nan_loss_stops_with_epoch_and_batch():
    x, y = blobs(64)
    x[40] = np.nan                 # sample 40 is in batch 3 (batches of 16, no shuffle)
    model = small_model()
    before = model.state_dict()
    with pytest.raises(train.TrainingDiverged, match="epoch 1, batch 3") as info:
        train.fit(model, DataLoader(TensorDataset(x, y), 16), epochs=2, progress=False,
                  optimizer=optim.SGD(model.parameters(), lr=0.0))
    assert (info.value.epoch, info.value.batch) == (1, 3)
    for k, v in model.state_dict().items():
        assert np.all(np.isfinite(v)) and np.array_equal(v, before[k])


def test_early_stopping_and_restore_best_weights(capsys):
    model = small_model()
    snapshots = []

    class Snapshot(train.Callback):
        def on_epoch_end(self, epoch, logs):
            snapshots.append(self.model.state_dict())

    # The training loss falls every epoch, so in 'max' mode only epoch 1 is "best".
    stopper = train.EarlyStopping(monitor="loss", mode="max", patience=2,
                                  restore_best_weights=True)
    history = train.fit(model, loaders()[0], epochs=10, callbacks=[Snapshot(), stopper],
                        optimizer=optim.SGD(model.parameters(), lr=0.1))
    assert history.epoch == [1, 2, 3] and stopper.stopped_epoch == 3 and stopper.best_epoch == 1
    assert "stopped early after epoch 3" in capsys.readouterr().out
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, snapshots[0][k])
    with pytest.raises(KeyError, match="val_loss"):
        train.fit(small_model(), loaders()[0], callbacks=[train.EarlyStopping()], progress=False)


def test_checkpoint_round_trip(tmp_path):
    model = small_model()
    train_loader = loaders()[0]
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.StepLR(opt, step_size=1, gamma=0.9)
    train.fit(model, train_loader, epochs=2, optimizer=opt, scheduler=sched, progress=False)
    path = tmp_path / "sub" / "model.npz"
    train.save_checkpoint(path, model, opt, sched, epoch=2, note="hello", scores=[1.5, 2])
    assert os.listdir(tmp_path / "sub") == ["model.npz"]       # no temporary left behind

    fresh = nn.Sequential(nn.Flatten(), nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    fresh_opt = optim.Adam(fresh.parameters(), lr=0.5)
    fresh_sched = optim.StepLR(fresh_opt, step_size=1, gamma=0.9)
    header = train.load_checkpoint(path, fresh, fresh_opt, fresh_sched)
    assert header["epoch"] == 2 and header["extra"] == {"note": "hello", "scores": [1.5, 2]}
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[k], v)
    assert fresh_opt.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    assert fresh_sched.last_epoch == sched.last_epoch
    a, b = opt.state_dict()["state"], fresh_opt.state_dict()["state"]
    assert a.keys() == b.keys()
    for i in a:
        for key in a[i]:
            np.testing.assert_array_equal(a[i][key], b[i][key])
    # Both continue identically.
    train.fit(model, loaders()[0], epochs=1, optimizer=opt, progress=False)
    train.fit(fresh, loaders()[0], epochs=1, optimizer=fresh_opt, progress=False)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[k], v)

    with pytest.raises(RuntimeError, match="Unexpected key"):
        train.load_checkpoint(path, nn.Sequential(nn.Flatten(), nn.Linear(4, 3)))


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    model = small_model()
    path = tmp_path / "model.npz"
    train.save_checkpoint(path, model, epoch=1)
    original = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(train.np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        train.save_checkpoint(path, model, epoch=2)
    assert path.read_bytes() == original and os.listdir(tmp_path) == ["model.npz"]


def test_checkpoint_refuses_pickles_and_foreign_files(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, header=np.array([{"format": "x"}], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        train.load_checkpoint(path)
    np.savez(tmp_path / "plain.npz", w=np.zeros(3))
    with pytest.raises(ValueError, match="not a fastconv checkpoint"):
        train.load_checkpoint(tmp_path / "plain.npz")


def test_model_checkpoint_callback(tmp_path):
    model = small_model()
    train_loader, val_loader = loaders()
    best = train.ModelCheckpoint(tmp_path / "best.npz", monitor="val_accuracy", save_best_only=True)
    every = train.ModelCheckpoint(str(tmp_path / "ep{epoch:02d}-{val_loss:.2f}.npz"))
    history = train.fit(model, train_loader, val_loader, epochs=3, callbacks=[best, every],
                        optimizer=optim.SGD(model.parameters(), lr=0.1), progress=False)
    names = sorted(os.listdir(tmp_path))
    assert "best.npz" in names and len([n for n in names if n.startswith("ep")]) == 3
    header = train.load_checkpoint(tmp_path / "best.npz", small_model())
    accuracies = history.history["val_accuracy"]
    assert header["epoch"] == 1 + int(np.argmax(accuracies))
    assert header["extra"]["logs"]["val_accuracy"] == max(accuracies)


def test_lenet5_learns_the_builtin_digits_quickly():
    """A shortened, deterministic version of the target (>= 97% in 5 epochs on 4,500 / 500):
    one epoch must already reach 90% on the 500 validation digits."""
    fastconv.manual_seed(0)
    train_set, val_set = builtin_mnist_split()
    normalize = transforms.Normalize(0.1307, 0.3081)
    train_loader = DataLoader(train_set, 32, shuffle=True, seed=0, transform=normalize)
    val_loader = DataLoader(val_set, 500, transform=normalize)
    model = models.lenet5(input_size=28)
    history = train.fit(model, train_loader, val_loader, epochs=1, progress=False,
                        optimizer=optim.Adam(model.parameters(), lr=2e-3))
    assert history.history["val_accuracy"][-1] >= 0.90
