import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from skewbench.errors import ConfigError
from skewbench.treatments.weights import class_weights

COUNTS = np.array([500, 120, 30, 7])


def test_inverse_equals_sklearn_balanced():
    y = np.repeat(np.arange(4), COUNTS)
    expected = compute_class_weight("balanced", classes=np.arange(4), y=y)
    np.testing.assert_allclose(class_weights(COUNTS, "inverse"), expected, rtol=1e-12)


def test_sqrt_inverse_hand_computed():
    w = class_weights([100, 25], "sqrt_inverse")
    # ∝ (1/10, 1/5), scaled so 100·w0 + 25·w1 = 125: w0 = 125/(100·0.1 + 25·0.2)·0.1
    np.testing.assert_allclose(w, [125 / 15 * 0.1, 125 / 15 * 0.2])


def test_effective_number_uniform_at_beta_zero():
    np.testing.assert_allclose(class_weights(COUNTS, "effective_number", beta=0.0), np.ones(4))


def test_effective_number_tends_to_inverse_frequency():
    inv = class_weights(COUNTS, "inverse")
    inv = inv * 4 / inv.sum()  # same normalisation (sum K)
    gaps = [
        np.abs(class_weights(COUNTS, "effective_number", beta=b) - inv).max()
        for b in (0.9, 0.99, 0.999, 0.9999, 1 - 1e-9)
    ]
    assert all(a > b for a, b in zip(gaps, gaps[1:], strict=False))
    assert gaps[-1] < 1e-5


def test_effective_number_hand_computed():
    # β = 0.5, counts (1, 2): raw (0.5/0.5, 0.5/0.75) = (1, 2/3), sum to K=2 → (1.2, 0.8)
    np.testing.assert_allclose(class_weights([1, 2], "effective_number", beta=0.5), [1.2, 0.8])


def test_majority_weighted_gives_majority_the_larger_weight():
    w = class_weights(COUNTS, "majority_weighted")
    n = COUNTS.sum()
    raw = COUNTS / (n - COUNTS)
    np.testing.assert_allclose(w, raw / raw.sum())
    assert w.sum() == pytest.approx(1.0)
    assert np.argmax(w) == 0 and np.all(np.diff(w) < 0)  # ordered like the counts


def test_old_scheme_name_is_refused_naming_the_new_one():
    with pytest.raises(ConfigError, match="renamed 'majority_weighted'"):
        class_weights(COUNTS, "source_formula")
    from skewbench.models.categorize import Treatment

    with pytest.raises(ConfigError, match="treatment.params.scheme.*majority_weighted"):
        Treatment.parse("class_weight", {"scheme": "source_formula"})
    with pytest.raises(ConfigError, match="treatment.params.alpha.*majority_weighted"):
        Treatment.parse("focal", {"alpha": "source_formula"})


def test_bad_input():
    with pytest.raises(ValueError, match="class 1"):
        class_weights([3, 0], "inverse")
    with pytest.raises(ConfigError, match="scheme"):
        class_weights([3, 1], "balanced")
    with pytest.raises(ConfigError, match="beta"):
        class_weights([3, 1], "effective_number", beta=1.0)


def test_recall_adaptive_update_rule():
    from skewbench.treatments.weights import ema, recall_adaptive_update

    # equal recall leaves weights as they are (class-mean 1)
    np.testing.assert_allclose(recall_adaptive_update(np.ones(3), np.full(3, 0.4)), 1.0)
    # hand-computed: r = (0.9, 0.5, 0.1), mean 0.5, step 1 → exp(−0.4, 0, 0.4), mean-normalised
    r = np.array([0.9, 0.5, 0.1])
    raw = np.exp([-0.4, 0.0, 0.4])
    np.testing.assert_allclose(recall_adaptive_update(np.ones(3), r), raw / raw.mean())
    # bounds clip after normalising
    w = recall_adaptive_update(np.ones(3), np.array([1.0, 1.0, 0.0]), step=10, upper=2.0)
    assert w.max() == 2.0 and w.min() >= 0.1
    np.testing.assert_allclose(ema(np.array([0.0, 1.0]), np.array([1.0, 1.0]), 0.25), [0.25, 1])
    np.testing.assert_array_equal(ema(None, np.array([0.3]), 0.25), [0.3])
