import numpy as np
import pytest
import scipy.sparse as sp
from imblearn.over_sampling import SMOTE, RandomOverSampler

from skewbench.errors import ConfigError
from skewbench.treatments.sampling import resample


def _split_data():
    """Train rows have values in [0, 1); validation/test rows are ≥ 1000 (unmistakable)."""
    rng = np.random.default_rng(0)
    y_all = np.repeat([0, 1, 2], [60, 15, 5])
    X_all = rng.random((80, 4))
    perm = rng.permutation(80)
    train, held = perm[:56], perm[56:]
    X_all[held] += 1000.0
    return X_all, y_all, train, held


@pytest.mark.parametrize("method", ["oversample", "undersample", "smote"])
def test_resampling_never_touches_validation_or_test_rows(method):
    X_all, y_all, train, held = _split_data()
    X, y, src = resample(X_all[train], y_all[train], method, seed=3, k_neighbors=3)
    assert (X < 1000).all()  # no held-out value, copied or interpolated
    real = src >= 0
    assert (src < train.size).all()
    np.testing.assert_array_equal(X[real], X_all[train][src[real]])
    np.testing.assert_array_equal(y[real], y_all[train][src[real]])
    # synthetic SMOTE rows lie inside their class's training bounding box
    for c in np.unique(y[~real]):
        rows = X_all[train][y_all[train] == c]
        syn = X[~real][y[~real] == c]
        assert (syn >= rows.min(0) - 1e-12).all() and (syn <= rows.max(0) + 1e-12).all()
    counts = np.bincount(y)
    assert (counts == (counts.min() if method == "undersample" else counts.max())).all()


def test_matches_imblearn_and_works_on_sparse():
    X_all, y_all, train, _ = _split_data()
    X, y, _ = resample(X_all[train], y_all[train], "oversample", seed=7)
    Xr, yr = RandomOverSampler(random_state=7).fit_resample(X_all[train], y_all[train])
    np.testing.assert_array_equal(X, Xr)
    np.testing.assert_array_equal(y, yr)
    Xs, ys, _ = resample(sp.csr_matrix(X_all[train]), y_all[train], "smote", 7, k_neighbors=2)
    Xe, ye = SMOTE(k_neighbors=2, random_state=7).fit_resample(
        sp.csr_matrix(X_all[train]), y_all[train]
    )
    np.testing.assert_allclose(Xs.toarray(), Xe.toarray())
    np.testing.assert_array_equal(ys, ye)


def test_bad_method_and_tiny_class():
    with pytest.raises(ConfigError, match="resampling method"):
        resample(np.zeros((4, 1)), np.array([0, 0, 1, 1]), "tomek", seed=0)
    with pytest.raises(ConfigError, match="1 example"):
        resample(np.zeros((4, 1)), np.array([0, 0, 0, 1]), "smote", seed=0)
