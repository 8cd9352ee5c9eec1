"""Models that rank without a dense score row (``rank_top``: ItemKNN, ALS, BPR) give exactly
the lists and scores of ``topk`` over their dense ``score``: ties by item index, training items
excluded, short lists padded — across user blocks and item tiles."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.metrics.topk import topk
from skewbench.models import recommend as R
from skewbench.models.recommend import rank_kernels
from skewbench.models.recommend.base import rank_users


def _data(seed: int = 0, n_users: int = 60, n_items: int = 40) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    X = (rng.random((n_users, n_items)) < 0.15).astype(np.float32)
    X[5, :] = 1.0  # a user with every item in training: nothing to rank
    X[6, :] = 0.0  # a user with no history
    X[:, 7] = X[:, 3]  # identical item columns: tied similarities and scores
    return sp.csr_matrix(X)


def _dense(model, X, users, k):
    S = model.score(users)
    top = topk(S, k, exclude=X[users])
    s = np.take_along_axis(S, np.maximum(top, 0), axis=1).astype(np.float64)
    return top, np.where(top >= 0, s, -np.inf)


def _tied_factors(model):
    """Duplicate item factor rows and a zero user: exact ties for the factor models."""
    model.item_factors_[11] = model.item_factors_[2]
    model.user_factors_[9] = 0.0
    return model


@pytest.mark.parametrize(
    "make",
    [
        lambda: R.ItemKNN(neighbours=5),
        lambda: R.ItemKNN(neighbours=100, shrink=0.0),
        lambda: R.ALS(factors=8, iterations=2),
        lambda: R.BPR(factors=8, epochs=2),
    ],
    ids=["itemknn_5", "itemknn_all", "als", "bpr"],
)
@pytest.mark.parametrize("k", [1, 10, 45])
def test_rank_top_equals_topk_of_scores(make, k, monkeypatch):
    # tiny blocks and tiles, so every boundary of the factor path is crossed
    monkeypatch.setattr(rank_kernels, "FACTOR_BLOCK_USERS", 7)
    monkeypatch.setattr(rank_kernels, "FACTOR_TILE_ITEMS", 6)
    X = _data()
    model = make().fit(X, seed=3)
    if hasattr(model, "item_factors_"):
        _tied_factors(model)
    users = np.array([0, 5, 6, 9, 3, 3, *range(10, 60)])
    want, want_s = _dense(model, X, users, k)
    got, got_s = rank_users(model, X, users, k, with_scores=True)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_s, want_s)
    assert (got[1] == -1).all()  # user 5: every item excluded
    if k == 45:
        assert (got[:, 40:] == -1).all()


def test_itemknn_fills_with_score_zero_items_by_index():
    X = _data(1)
    model = R.ItemKNN(neighbours=1).fit(X)
    users = np.arange(X.shape[0])
    got, got_s = rank_users(model, X, users, 30, with_scores=True)
    pos = (got_s > 0).sum(axis=1)
    r = int(np.argmax((pos > 0) & (pos < 30 - 5)))  # a user with a few positive scores
    zeros = got[r, pos[r] :]
    assert (got_s[r, pos[r] :] == 0).all() and (np.diff(zeros[zeros >= 0]) > 0).all()
    np.testing.assert_array_equal(got, _dense(model, X, users, 30)[0])
