"""fastconv.model_selection.cross_validate: folds, what each model sees, scores, errors."""
import numpy as np
import pytest

import fastconv
from fastconv import metrics, nn, optim
from fastconv.data import ImageDataset, Subset, TensorDataset
from fastconv.model_selection import (
    KFold,
    StratifiedKFold,
    cross_validate,
    dataset_labels,
)
from toy_data import blobs


def small_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


def test_scores_per_fold_with_mean_and_std():
    fastconv.manual_seed(0)
    dataset = TensorDataset(*blobs(90))
    seen = []

    def spy(y_true, logits):
        seen.append(np.bincount(y_true, minlength=3))
        return metrics.accuracy(y_true, logits.argmax(axis=1))

    result = cross_validate(small_model, dataset, cv=3, epochs=5, batch_size=10,
                            optimizer_factory=lambda p: optim.Adam(p, lr=0.02),
                            metrics={"accuracy": spy, "loss": metrics.cross_entropy}, seed=0)
    # Default cv: stratified, unshuffled: every held-out fold has 10 of each class.
    np.testing.assert_array_equal(seen, [[10, 10, 10]] * 3)
    assert result.scores["accuracy"].shape == (3,) and result.fit_time.shape == (3,)
    assert result.mean["accuracy"] == pytest.approx(result.scores["accuracy"].mean())
    assert result.std["loss"] == pytest.approx(np.std(result.scores["loss"]))
    assert result.mean["accuracy"] > 0.9 and result.mean["loss"] < 0.5   # separable blobs
    assert len(result.histories) == 3 and len(result.histories[0].history["loss"]) == 5
    assert result.models is None
    text = str(result)
    assert text.startswith("3-fold cross-validation") and "accuracy" in text and "+-" in text


def test_each_model_trains_on_its_fold_only_and_runs_reproduce():
    x, y = blobs(40)
    x[:, 0, 0, 0] = np.arange(40)          # the sample's index, visible in every batch
    dataset = TensorDataset(x, y)
    cv = KFold(4, shuffle=True, seed=1)
    trained_on = []

    def recording_model():
        model = small_model()
        model.register_forward_pre_hook(
            lambda module, args: trained_on[-1].update(args[0].data[:, 0, 0, 0].astype(int))
            if module.training else None)
        trained_on.append(set())
        return model

    def run():
        fastconv.manual_seed(3)
        return cross_validate(recording_model, dataset, cv=cv, epochs=2, batch_size=8,
                              metrics=("accuracy", "f1_macro", "roc_auc_ovr"), seed=5,
                              return_models=True)

    first = run()
    for seen, (train_idx, _) in zip(trained_on, cv.split(x)):
        assert seen == set(train_idx.tolist())
    assert len(first.models) == 4 and first.models[0] is not first.models[1]
    second = run()
    for name in first.scores:
        np.testing.assert_array_equal(first.scores[name], second.scores[name])


def test_scorer_names_compute_the_metrics_on_the_held_out_logits():
    fastconv.manual_seed(0)
    dataset = TensorDataset(*blobs(60))
    cv = list(StratifiedKFold(2, shuffle=True, seed=0).split(np.zeros(60), blobs(60)[1]))
    result = cross_validate(small_model, dataset, cv=cv, metrics=("f1_macro", "top_2_accuracy"),
                            return_models=True)
    for k, (_, val_idx) in enumerate(cv):
        x, y = dataset.get_batch(val_idx)
        logits = result.models[k](fastconv.Tensor(x)).data
        assert result.scores["f1_macro"][k] == pytest.approx(
            metrics.f1_score(y, logits.argmax(axis=1), zero_division=0))
        assert result.scores["top_2_accuracy"][k] == metrics.top_k_accuracy(y, logits, k=2)


def test_dataset_labels_without_loading_inputs():
    images = np.zeros((6, 4, 4), np.uint8)
    labels = np.array([3, 1, 2, 0, 1, 2])
    np.testing.assert_array_equal(dataset_labels(Subset(ImageDataset(images, labels), [4, 0])),
                                  [1, 3])
    np.testing.assert_array_equal(dataset_labels(TensorDataset(images, labels)), labels)
    pairs = [(np.zeros(2), k % 2) for k in range(4)]
    np.testing.assert_array_equal(dataset_labels(pairs), [0, 1, 0, 1])


def test_refusals():
    dataset = TensorDataset(*blobs(30))
    with pytest.raises(ValueError, match="metrics: unknown metric 'auc'"):
        cross_validate(small_model, dataset, metrics=("auc",))
    with pytest.raises(TypeError, match="model_factory must be callable"):
        cross_validate(small_model(), dataset)
    with pytest.raises(ValueError, match="n_splits must be an int >= 2"):
        cross_validate(small_model, dataset, cv=1)
    with pytest.raises(ValueError, match="seed must be None or an int"):
        cross_validate(small_model, dataset, seed=np.random.default_rng(0))
    with pytest.raises(ValueError, match="labels must be integers"):
        cross_validate(small_model, TensorDataset(np.zeros((4, 1)), np.zeros(4)))
