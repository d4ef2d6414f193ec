"""fastconv.metrics: every metric on small cases worked out by hand, then against
scikit-learn / statsmodels on random data when they are installed."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastconv
from fastconv import metrics, nn

# Worked example: 7 samples, 3 classes. Confusion matrix (rows true, columns predicted):
#   [[1, 1, 0],     class 0: TP 1, predicted 2, true 2 -> precision 1/2, recall 1/2
#    [0, 1, 1],     class 1: TP 1, predicted 2, true 2 -> 1/2, 1/2
#    [1, 0, 2]]     class 2: TP 2, predicted 3, true 3 -> 2/3, 2/3
Y_TRUE = np.array([0, 1, 2, 2, 1, 0, 2])
Y_PRED = np.array([0, 2, 2, 2, 1, 1, 0])


def test_accuracy_and_confusion_matrix_by_hand():
    assert metrics.accuracy(Y_TRUE, Y_PRED) == 4 / 7
    assert metrics.accuracy(Y_TRUE, Y_PRED, normalize=False) == 4
    expected = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 2]])
    np.testing.assert_array_equal(metrics.confusion_matrix(Y_TRUE, Y_PRED), expected)
    np.testing.assert_allclose(metrics.confusion_matrix(Y_TRUE, Y_PRED, normalize="true"),
                               expected / np.array([[2], [2], [3]]))
    np.testing.assert_allclose(metrics.confusion_matrix(Y_TRUE, Y_PRED, normalize="pred"),
                               expected / np.array([2, 2, 3]))
    np.testing.assert_allclose(metrics.confusion_matrix(Y_TRUE, Y_PRED, normalize="all"),
                               expected / 7)
    # Reordered and restricted labels; an empty row normalises to zeros, not NaN.
    np.testing.assert_array_equal(metrics.confusion_matrix(Y_TRUE, Y_PRED, labels=[2, 0]),
                                  [[2, 1], [0, 1]])
    np.testing.assert_array_equal(
        metrics.confusion_matrix([0, 0], [0, 1], labels=[0, 1, 2], normalize="true"),
        [[0.5, 0.5, 0], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(metrics.confusion_matrix(["cat", "dog"], ["dog", "dog"]),
                                  [[0, 1], [0, 1]])


def test_precision_recall_f1_by_hand():
    p, r, f, s = metrics.precision_recall_fscore_support(Y_TRUE, Y_PRED)
    np.testing.assert_allclose(p, [1 / 2, 1 / 2, 2 / 3])
    np.testing.assert_allclose(r, [1 / 2, 1 / 2, 2 / 3])
    np.testing.assert_allclose(f, [1 / 2, 1 / 2, 2 / 3])
    np.testing.assert_array_equal(s, [2, 2, 3])
    assert metrics.precision_score(Y_TRUE, Y_PRED) == pytest.approx(5 / 9)
    assert metrics.recall_score(Y_TRUE, Y_PRED, average="weighted") == pytest.approx(4 / 7)
    assert metrics.f1_score(Y_TRUE, Y_PRED, average="micro") == pytest.approx(4 / 7)
    # Binary: TP 2, FP 1, FN 1 for the positive class 1.
    y, pred = [1, 0, 1, 1], [1, 1, 0, 1]
    assert metrics.precision_score(y, pred, average="binary") == pytest.approx(2 / 3)
    assert metrics.recall_score(y, pred, average="binary", pos_label=0) == 0.0
    # Unequal precision and recall: class 0 of [0, 0, 1] vs [0, 1, 1]: P 1, R 1/2, F1 2/3.
    p, r, f, _ = metrics.precision_recall_fscore_support([0, 0, 1], [0, 1, 1], labels=[0],
                                                         average="macro")
    assert (p, r) == (1.0, 0.5) and f == pytest.approx(2 / 3)


def test_zero_division():
    # Class 1 is never predicted (precision 0/0); class 2 is in neither (everything 0/0).
    y, pred = [0, 0, 1], [0, 0, 0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p, r, f, _ = metrics.precision_recall_fscore_support(y, pred, labels=[0, 1, 2])
    assert all(w.category is metrics.UndefinedMetricWarning for w in caught)
    assert [str(w.message).split()[0] for w in caught] == ["precision", "recall", "F-score"]
    np.testing.assert_allclose(p, [2 / 3, 0, 0])
    np.testing.assert_allclose(r, [1, 0, 0])
    np.testing.assert_allclose(f, [0.8, 0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, r, f, _ = metrics.precision_recall_fscore_support(y, pred, labels=[0, 1, 2],
                                                             zero_division=1)
        np.testing.assert_allclose(p, [2 / 3, 1, 1])
        np.testing.assert_allclose(r, [1, 0, 1])
        p, _, f, _ = metrics.precision_recall_fscore_support(y, pred, labels=[0, 1, 2],
                                                             zero_division=np.nan)
        assert np.isnan(p[1:]).all() and np.isnan(f[2])
        # NaN entries are left out of the averages.
        assert metrics.precision_score(y, pred, labels=[0, 1, 2], zero_division=np.nan) == \
            pytest.approx(2 / 3)
        assert metrics.f1_score(y, pred, labels=[0, 1, 2], zero_division=np.nan) == \
            pytest.approx(0.4)


def test_top_k_accuracy_by_hand():
    scores = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3], [0.2, 0.1, 0.7]])
    y = np.array([1, 2, 0, 0])
    # Ranks of the true class: 2nd, 1st, 2nd (tied with class 2, which ranks first), 2nd.
    assert metrics.top_k_accuracy(y, scores, k=1) == 0.25
    assert metrics.top_k_accuracy(y, scores, k=2) == 0.75
    assert metrics.top_k_accuracy(y, scores, k=3, normalize=False) == 4


def test_top_confusions_by_hand():
    y = [0, 0, 0, 0, 1, 1, 2, 2, 2]
    pred = [0, 2, 1, 2, 1, 1, 0, 2, 2]
    rows = metrics.top_confusions(y, pred, k=1)
    assert rows[0] == {"label": 0, "support": 4, "errors": 3, "error_rate": 0.75,
                       "confused_with": [(2, 2)]}
    assert rows[1] == {"label": 1, "support": 2, "errors": 0, "error_rate": 0.0,
                       "confused_with": []}
    assert rows[2]["confused_with"] == [(0, 1)] and rows[2]["error_rate"] == pytest.approx(1 / 3)
    assert metrics.top_confusions(y, pred)[0]["confused_with"] == [(2, 2), (1, 1)]
    assert math.isnan(metrics.top_confusions([0], [0], labels=[0, 1])[1]["error_rate"])


def test_classification_report_by_hand():
    report = metrics.classification_report(Y_TRUE, Y_PRED, output_dict=True)
    assert report["2"] == {"precision": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3),
                           "f1-score": pytest.approx(2 / 3), "support": 3}
    assert report["accuracy"] == pytest.approx(4 / 7)
    assert report["macro avg"]["precision"] == pytest.approx(5 / 9)
    assert report["weighted avg"]["support"] == 7
    text = metrics.classification_report(Y_TRUE, Y_PRED, target_names=["a", "b", "c"], digits=3)
    lines = text.splitlines()
    assert lines[0].split() == ["precision", "recall", "f1-score", "support"]
    assert lines[4].split() == ["c", "0.667", "0.667", "0.667", "3"]
    assert lines[6].split() == ["accuracy", "0.571", "7"]
    assert lines[7].split() == ["macro", "avg", "0.556", "0.556", "0.556", "7"]
    # Leaving a class out turns the accuracy line into a micro average.
    assert "micro avg" in metrics.classification_report(Y_TRUE, Y_PRED, labels=[0, 1])


def test_losses_by_hand():
    y = [0, 1]
    prob = np.array([[0.8, 0.2], [0.4, 0.6]])
    assert metrics.log_loss(y, prob) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    assert metrics.log_loss(y, prob[:, 1]) == pytest.approx(metrics.log_loss(y, prob))
    assert metrics.log_loss(y, prob, normalize=False) == pytest.approx(
        -(math.log(0.8) + math.log(0.6)))
    # A certain mistake costs -log(eps), not infinity.
    assert metrics.log_loss([1], [[1.0, 0.0]]) == pytest.approx(-math.log(np.finfo(float).eps))
    with pytest.warns(UserWarning, match="do not sum to one"):
        metrics.log_loss([0], [[0.5, 0.1]])
    assert metrics.cross_entropy([0], [[0.0, 0.0]]) == pytest.approx(math.log(2))
    # Exact far beyond where softmax underflows.
    assert metrics.cross_entropy([1, 0], [[1000.0, 0.0], [1000.0, 0.0]], reduction="sum") == \
        pytest.approx(1000.0)
    np.testing.assert_allclose(
        metrics.cross_entropy([0, 1], [[0.0, 0.0], [0.0, math.log(3)]], reduction="none"),
        [math.log(2), math.log(4 / 3)])


def test_roc_curve_and_auc_by_hand():
    # scikit-learn's documented example.
    fpr, tpr, thresholds = metrics.roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(thresholds, [np.inf, 0.8, 0.4, 0.35, 0.1])
    assert metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    # A positive and a negative tied at 0.5 move together: one diagonal step, worth 1/2 pair.
    fpr, tpr, thresholds = metrics.roc_curve([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 1, 1])
    np.testing.assert_allclose(thresholds, [np.inf, 0.9, 0.5, 0.2])
    assert metrics.roc_auc_score([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == 0.875
    assert metrics.roc_auc_score(["b", "a", "b"], [0.1, 0.9, 0.5], pos_label="a") == 1.0
    # Collinear points are dropped unless asked for.
    assert len(metrics.roc_curve([0, 0, 0, 1], [0.1, 0.2, 0.3, 0.9])[0]) == 3
    assert len(metrics.roc_curve([0, 0, 0, 1], [0.1, 0.2, 0.3, 0.9],
                                 drop_intermediate=False)[0]) == 5
    assert metrics.auc([1, 0.5, 0], [1, 1, 0]) == 0.75
    with pytest.warns(UserWarning, match="no negative samples"):
        assert np.isnan(metrics.roc_curve([1, 1], [0.2, 0.3])[0]).all()


def test_multiclass_roc_auc_by_hand():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    scores = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.3, 0.6, 0.1], [0.1, 0.4, 0.5],
                       [0.1, 0.1, 0.8], [0.5, 0.2, 0.3], [0.2, 0.2, 0.6]])
    # Class 0 vs rest: positives 0.7, 0.2 against 0.3 0.1 0.1 0.5 0.2: 5 + 2.5 of 10 pairs.
    # Class 1: positives 0.6, 0.4 against 0.2 0.5 0.1 0.2 0.2: 5 + 4 of 10.
    # Class 2: positives 0.8 0.3 0.6 against 0.1 0.3 0.1 0.5: 4 + 2.5 + 4 of 12.
    per_class = [0.75, 0.9, 10.5 / 12]
    np.testing.assert_allclose(metrics.roc_auc_score(y, scores, average=None), per_class)
    assert metrics.roc_auc_score(y, scores) == pytest.approx(np.mean(per_class))
    assert metrics.roc_auc_score(y, scores, average="weighted") == pytest.approx(
        np.average(per_class, weights=[2, 2, 3]))
    with pytest.warns(UserWarning, match=r"classes \[2\] have no samples"):
        assert metrics.roc_auc_score(y[:4], scores[:4]) == pytest.approx(
            np.mean(metrics.roc_auc_score(y[:4], scores[:4], average=None)[:2]))


def pairwise_auc(positive, scores):
    """The probability that a random positive outscores a random negative, ties 1/2."""
    pos, neg = scores[positive][:, None], scores[~positive][None, :]
    return ((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size)


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 4)), min_size=2, max_size=30))
def test_roc_auc_is_the_pairwise_ranking_probability(samples):
    positive = np.array([s[0] for s in samples])
    scores = np.array([s[1] for s in samples], dtype=float)
    if positive.all() or not positive.any():
        with pytest.raises(ValueError, match="only one class"):
            metrics.roc_auc_score(positive, scores)
        return
    assert metrics.roc_auc_score(positive, scores) == pytest.approx(pairwise_auc(positive, scores))
    fpr, tpr, thresholds = metrics.roc_curve(positive, scores, drop_intermediate=False)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert (fpr[-1], tpr[-1]) == (1.0, 1.0)
    np.testing.assert_array_equal(thresholds[1:], np.unique(scores)[::-1])


def test_mcnemar_by_hand():
    y = np.zeros(10, dtype=int)
    a = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 0])   # right on 0-4 and 9
    b = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1])   # right on 0-1
    result = metrics.mcnemar(y, a, b)
    np.testing.assert_array_equal(result.table, [[2, 4], [0, 4]])
    assert (result.only_a, result.only_b) == (4, 0)
    assert result.exact_pvalue == 2 / 16                   # 2 * P(X <= 0), X ~ Bin(4, 1/2)
    assert result.statistic == 9 / 4                       # (|4 - 0| - 1)^2 / 4
    assert result.pvalue == pytest.approx(math.erfc(math.sqrt(9 / 8)))
    assert result.pvalue == pytest.approx(0.13361, abs=1e-5)  # chi2(1) tail at 2.25 (tables)
    # Swapping the models swaps the off-diagonal, not the p-values.
    swapped = metrics.mcnemar(y, b, a)
    assert (swapped.only_a, swapped.only_b, swapped.exact_pvalue) == (0, 4, result.exact_pvalue)
    # Balanced disagreement: no evidence either way.
    balanced = metrics.mcnemar([0, 0, 0, 0], [0, 0, 1, 1], [1, 1, 0, 0])
    assert (balanced.statistic, balanced.pvalue, balanced.exact_pvalue) == (0.0, 1.0, 1.0)
    same = metrics.mcnemar([0, 1], [0, 1], [0, 1])
    assert (same.statistic, same.pvalue, same.exact_pvalue) == (0.0, 1.0, 1.0)
    # 2 * P(X <= 3) for X ~ Bin(20, 1/2) = 2 * (1 + 20 + 190 + 1140) / 2^20.
    y = np.zeros(20, dtype=int)
    a = np.r_[np.zeros(17, int), np.ones(3, int)]
    assert metrics.mcnemar(y, a, 1 - a).exact_pvalue == 2 * 1351 / 2**20


def test_mcnemar_exact_p_for_large_counts_stays_finite():
    y = np.zeros(3000, dtype=int)
    a = np.r_[np.zeros(1400, int), np.ones(1600, int)]
    result = metrics.mcnemar(y, a, 1 - a)
    assert 0 < result.exact_pvalue < 1e-3 and 0 < result.pvalue < 1e-3


def test_time_inference_counts_runs_and_summarises(monkeypatch):
    batches = []
    clock = iter(np.arange(100.0) ** 2)   # run r lasts (2k+1) s for consecutive readings k

    def fake_model(batch):
        batches.append(batch.copy())

    monkeypatch.setattr(metrics.timing.time, "perf_counter", lambda: float(next(clock)))
    inputs = np.arange(5)[:, None] * np.ones((5, 3))
    timing = metrics.time_inference(fake_model, inputs, batch_size=2, repeats=4, warmup=1,
                                    percentiles=(50, 100))
    assert len(batches) == 5 and all(b.shape == (2, 3) for b in batches)
    np.testing.assert_array_equal([b[:, 0] for b in batches],
                                  [[0, 1], [2, 3], [4, 0], [0, 1], [2, 3]])
    np.testing.assert_array_equal(timing.batch_seconds, [1, 5, 9, 13])
    assert timing.per_batch() == {"mean": 7.0, "median": 7.0, "p50": 7.0, "p100": 13.0}
    assert timing.per_sample() == {"mean": 3.5, "median": 3.5, "p50": 3.5, "p100": 6.5}
    assert timing.samples_per_second == 2 / 7
    assert "per sample: mean 3500.000 ms" in str(timing)


def test_time_inference_runs_a_module_in_eval_mode_and_restores_it():
    fastconv.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))
    modes = []
    model.register_forward_hook(lambda module, inputs, output: modes.append(module.training))
    timing = metrics.time_inference(model, np.ones((4, 3), np.float32), batch_size=3, repeats=2)
    assert modes == [False] * 5 and model.training
    assert timing.batch_seconds.shape == (2,) and (timing.batch_seconds > 0).all()


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="y_true and y_pred must have the same length"):
        metrics.accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="y_pred must be a 1-D array"):
        metrics.f1_score([0, 1], [[0, 1]])
    with pytest.raises(ValueError, match="y_true is empty"):
        metrics.confusion_matrix([], [])
    with pytest.raises(ValueError, match="normalize must be one of"):
        metrics.confusion_matrix([0], [0], normalize="rows")
    with pytest.raises(ValueError, match="labels: none of"):
        metrics.confusion_matrix([0, 1], [0, 1], labels=[2])
    with pytest.raises(ValueError, match="labels must not repeat"):
        metrics.confusion_matrix([0], [0], labels=[0, 0])
    with pytest.raises(ValueError, match="average must be one of"):
        metrics.f1_score([0], [0], average="samples")
    with pytest.raises(ValueError, match="zero_division must be"):
        metrics.f1_score([0], [0], zero_division=2)
    with pytest.raises(ValueError, match="needs two classes"):
        metrics.f1_score([0, 1, 2], [0, 1, 2], average="binary")
    with pytest.raises(ValueError, match="y_true holds the label 3, outside 0..2"):
        metrics.top_k_accuracy([0, 3], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="y_score has 3 rows but y_true has 2"):
        metrics.roc_auc_score([0, 1], np.zeros((3, 3)))
    with pytest.raises(ValueError, match="y_prob holds NaN"):
        metrics.log_loss([0], [[np.nan, 1.0]])
    with pytest.raises(ValueError, match="for logits use cross_entropy"):
        metrics.log_loss([0], [[2.0, -1.0]])
    with pytest.raises(TypeError, match="y_true must be integer class indices"):
        metrics.cross_entropy(["a"], [[0.0, 1.0]])
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        metrics.top_confusions([0], [0], k=0)
    with pytest.raises(ValueError, match="y_true must be 0/1 or booleans"):
        metrics.roc_curve([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="y_true holds only one class"):
        metrics.roc_auc_score([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="pred_b must have the same length"):
        metrics.mcnemar([0, 1], [0, 1], [0])
    with pytest.raises(ValueError, match="x must be monotonic"):
        metrics.auc([0, 1, 0.5], [0, 1, 1])
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        metrics.time_inference(print, np.zeros((2, 1)), batch_size=0)
    with pytest.raises(TypeError, match="model must be"):
        metrics.time_inference(3, np.zeros((2, 1)))


# ---- against scikit-learn and statsmodels ----------------------------------------------------

def random_labels(seed, n=60, n_classes=4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    # Mostly right, sometimes a class never predicted or never present.
    pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, n_classes, n))
    return y, pred


def random_probabilities(seed, n=60, n_classes=4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    logits = rng.standard_normal((n, n_classes)) + 1.5 * np.eye(n_classes)[y]
    logits = np.round(logits, 1)   # ties
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, logits, prob


@pytest.mark.parametrize("seed", range(6))
def test_label_metrics_match_scikit_learn(seed):
    sk = pytest.importorskip("sklearn.metrics")
    y, pred = random_labels(seed, n=[5, 12, 60, 60, 200, 9][seed])
    assert metrics.accuracy(y, pred) == sk.accuracy_score(y, pred)
    for labels in (None, [3, 1], [0, 1, 2, 3, 4]):
        for normalize in (None, "true", "pred", "all"):
            np.testing.assert_allclose(
                metrics.confusion_matrix(y, pred, labels=labels, normalize=normalize),
                sk.confusion_matrix(y, pred, labels=labels, normalize=normalize))
        for average in (None, "micro", "macro", "weighted"):
            for zero_division in (0, 1, np.nan):
                ours = metrics.precision_recall_fscore_support(
                    y, pred, labels=labels, average=average, zero_division=zero_division)
                theirs = sk.precision_recall_fscore_support(
                    y, pred, labels=labels, average=average, zero_division=zero_division)
                for a, b in zip(ours, theirs):
                    if b is None:
                        assert a is None
                    else:
                        np.testing.assert_allclose(a, b, equal_nan=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert metrics.classification_report(y, pred, labels=labels, digits=4) == \
                sk.classification_report(y, pred, labels=labels, digits=4)
            ours = metrics.classification_report(y, pred, labels=labels, output_dict=True)
            theirs = sk.classification_report(y, pred, labels=labels, output_dict=True)
        assert ours.keys() == theirs.keys()
        for key in theirs:
            np.testing.assert_allclose(
                list(ours[key].values()) if isinstance(ours[key], dict) else ours[key],
                list(theirs[key].values()) if isinstance(theirs[key], dict) else theirs[key])
    binary_y, binary_pred = y % 2, pred % 2
    for pos_label in (0, 1):
        assert metrics.f1_score(binary_y, binary_pred, average="binary", pos_label=pos_label) == \
            pytest.approx(sk.f1_score(binary_y, binary_pred, pos_label=pos_label))


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=12),
       st.sampled_from([None, [1], [0, 2, 3]]))
def test_precision_recall_f1_match_scikit_learn_on_small_cases(pairs, labels):
    sk = pytest.importorskip("sklearn.metrics")
    y, pred = np.array(pairs).T
    for average in (None, "micro", "macro", "weighted"):
        ours = metrics.precision_recall_fscore_support(y, pred, labels=labels, average=average,
                                                       zero_division=np.nan)
        theirs = sk.precision_recall_fscore_support(y, pred, labels=labels, average=average,
                                                    zero_division=np.nan)
        for a, b in zip(ours[:3], theirs[:3]):
            np.testing.assert_allclose(a, b, equal_nan=True)


@pytest.mark.parametrize("seed", range(6))
def test_score_metrics_match_scikit_learn(seed):
    sk = pytest.importorskip("sklearn.metrics")
    y, logits, prob = random_probabilities(seed, n=[10, 30, 60, 100, 250, 40][seed])
    labels = list(range(4))
    for k in (1, 2, 3):
        assert metrics.top_k_accuracy(y, logits, k=k) == sk.top_k_accuracy_score(
            y, logits, k=k, labels=labels)
    assert metrics.log_loss(y, prob) == pytest.approx(sk.log_loss(y, prob, labels=labels))
    assert metrics.cross_entropy(y, logits) == pytest.approx(sk.log_loss(y, prob, labels=labels))
    if len(np.unique(y)) == 4:
        for average in ("macro", "weighted"):
            assert metrics.roc_auc_score(y, prob, average=average) == pytest.approx(
                sk.roc_auc_score(y, prob, average=average, multi_class="ovr"))
    positive = y == 0
    if 0 < positive.sum() < y.size:
        for drop in (True, False):
            ours = metrics.roc_curve(positive, logits[:, 0], drop_intermediate=drop)
            theirs = sk.roc_curve(positive, logits[:, 0], drop_intermediate=drop)
            for a, b in zip(ours, theirs):
                np.testing.assert_allclose(a, b)
        assert metrics.roc_auc_score(positive, logits[:, 0]) == pytest.approx(
            sk.roc_auc_score(positive, logits[:, 0]))


def test_cross_entropy_matches_pytorch():
    torch = pytest.importorskip("torch")
    y, logits, _ = random_probabilities(3)
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(y))
    assert metrics.cross_entropy(y, logits) == pytest.approx(expected.item())


@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 5), st.integers(0, 5))
def test_mcnemar_matches_statsmodels(only_a, only_b, both_right, both_wrong):
    contingency = pytest.importorskip("statsmodels.stats.contingency_tables")
    # Samples in the order: only A right, both right, only B right, both wrong.
    right_a = np.r_[np.ones(only_a + both_right), np.zeros(only_b + both_wrong)] > 0
    right_b = np.r_[np.zeros(only_a), np.ones(both_right + only_b), np.zeros(both_wrong)] > 0
    y = np.zeros(right_a.size, dtype=int)
    if y.size == 0:
        return
    result = metrics.mcnemar(y, np.where(right_a, 0, 1), np.where(right_b, 0, 2))
    table = [[both_right, only_a], [only_b, both_wrong]]
    np.testing.assert_array_equal(result.table, table)
    exact = contingency.mcnemar(table, exact=True)
    assert result.exact_pvalue == pytest.approx(exact.pvalue, rel=1e-9)
    if only_a != only_b:   # statsmodels applies the correction even then (see mcnemar's doc)
        chi2 = contingency.mcnemar(table, exact=False, correction=True)
        assert result.statistic == pytest.approx(chi2.statistic, rel=1e-12)
        assert result.pvalue == pytest.approx(chi2.pvalue, rel=1e-9)
