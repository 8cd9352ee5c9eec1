import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from skewbench.data.imbalance import gini
from skewbench.metrics.classification import classification_metrics, expected_calibration_error


def _fixture(seed=0, n=300, k=5):
    rng = np.random.default_rng(seed)
    y = rng.choice(k, size=n, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    logits = rng.normal(size=(n, k)) + 2.0 * np.eye(k)[y]
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return y, proba.argmax(1), proba


def test_equals_sklearn_on_fixture():
    y, pred, proba = _fixture()
    groups = np.array(["head", "mid", "mid", "tail", "tail"], dtype=object)
    m, table = classification_metrics(y, pred, proba, np.arange(5), groups)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["auc_macro_ovr"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr"))
    rec = recall_score(y, pred, average=None)
    np.testing.assert_allclose(table["recall"], rec)
    np.testing.assert_allclose(table["precision"], precision_score(y, pred, average=None))
    assert m["recall_head"] == pytest.approx(rec[0])
    assert m["recall_mid"] == pytest.approx(rec[1:3].mean())
    assert m["recall_tail"] == pytest.approx(rec[3:].mean())
    assert m["worst_class_recall"] == pytest.approx(rec.min())
    assert m["gini_true_counts"] == pytest.approx(gini(np.bincount(y, minlength=5)))
    assert m["gini_gap"] == pytest.approx(m["gini_pred_counts"] - m["gini_true_counts"])


def test_labels_need_not_be_integers():
    y, pred, proba = _fixture(1)
    names = np.array(["a", "b", "c", "d", "e"])
    m1, _ = classification_metrics(names[y], names[pred], proba, names, None)
    m2, _ = classification_metrics(y, pred, proba, np.arange(5), None)
    assert m1 == pytest.approx(m2, nan_ok=True)
    assert np.isnan(m1["recall_head"])  # no groups given


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_class_absent_from_test_is_left_out_explicitly():
    y, pred, proba = _fixture(2)
    keep = y != 4  # class 4 never occurs in the test labels
    m, table = classification_metrics(y[keep], pred[keep], proba[keep], np.arange(5), None)
    assert np.isnan(table.loc[4, "recall"]) and np.isnan(table.loc[4, "auc"])
    present = [0, 1, 2, 3]
    aucs = [roc_auc_score(y[keep] == c, proba[keep][:, c]) for c in present]
    assert m["auc_macro_ovr"] == pytest.approx(np.mean(aucs))
    assert m["macro_f1"] == pytest.approx(
        f1_score(y[keep], pred[keep], labels=present, average="macro", zero_division=0)
    )
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y[keep], pred[keep]))


def test_ece_hand_computed():
    # bins of width 1/15: 0.95 and 0.99 share bin 14, 0.5 sits in bin 7, 0.3 in bin 4
    conf = np.array([0.95, 0.99, 0.5, 0.3])
    correct = np.array([1, 0, 1, 0])
    expected = (2 / 4) * abs(0.5 - 0.97) + (1 / 4) * abs(1 - 0.5) + (1 / 4) * abs(0 - 0.3)
    assert expected_calibration_error(conf, correct) == pytest.approx(expected)
    # 0.21 and 0.25 both lie in bin 3 = (3/15, 4/15]; 0.19 in bin 2
    conf, correct = np.array([0.21, 0.25, 0.19]), np.array([0, 1, 1])
    expected = (2 / 3) * abs(0.5 - 0.23) + (1 / 3) * abs(1 - 0.19)
    assert expected_calibration_error(conf, correct) == pytest.approx(expected)


def test_gini_of_predicted_counts_hand_computed():
    # predictions all on class 0 of 4 classes: counts (4, 0, 0, 0), Gini_n = 3/4
    y = np.array([0, 1, 2, 3])
    proba = np.tile([0.7, 0.1, 0.1, 0.1], (4, 1))
    m, _ = classification_metrics(y, np.zeros(4, int), proba, np.arange(4), None)
    assert m["gini_pred_counts"] == pytest.approx(0.75)
    assert m["gini_true_counts"] == 0.0
    assert m["gini_gap"] == pytest.approx(0.75)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_per_example_shares_average_to_the_macro_metrics():
    from skewbench.metrics.classification import per_example_shares

    y, pred, proba = _fixture(3)
    keep = y != 3  # one tail class absent from the test set: it must not count in |S|
    y, pred, proba = y[keep], pred[keep], proba[keep]
    groups = np.array(["head", "mid", "mid", "tail", "tail"], dtype=object)
    m, _ = classification_metrics(y, pred, proba, np.arange(5), groups)
    shares = per_example_shares(y, y == pred, groups)
    rec = recall_score(y, pred, labels=[0, 1, 2, 4], average=None)
    assert shares["recall_tail"].mean() == pytest.approx(rec[3], abs=1e-12)
    for name in ("balanced_accuracy", "recall_head", "recall_mid", "recall_tail"):
        assert shares[name].mean() == pytest.approx(m[name], abs=1e-12)
    assert shares["head_tail_gap"].mean() == pytest.approx(m["head_tail_gap"], abs=1e-12)
    assert m["head_tail_gap"] == pytest.approx(rec[0] - rec[3])
    assert (shares["recall_tail"][y < 3] == 0).all()  # head/mid examples carry no tail share
    nan = per_example_shares(y, y == pred, np.array(["head"] * 5, dtype=object))
    assert np.isnan(nan["recall_tail"]).all()
