"""Models that rank without a dense score row (``rank_top``: ItemKNN, ALS, BPR) give the lists
and scores of ``topk`` over their dense ``score``: ties by item index, training items excluded,
short lists padded — across user blocks and item tiles. ItemKNN's scores are exact on any
shape; a factor model's are BLAS dot products, equal here because these products take the
same OpenBLAS kernel as the dense ones (see ``rank_kernels``)."""

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


def _knn_equals_dense(model, X, users, k) -> dict[str, int]:
    """itemknn_rank's lists and scores equal the dense ones bit for bit; its tile counts."""
    stats: dict[str, int] = {}
    got, got_s = rank_kernels.itemknn_rank(model.X_, model.similarity_, users, X, k, stats)
    want, want_s = _dense(model, X, users, k)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_s, want_s)
    return stats


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
    monkeypatch.setattr(rank_kernels, "KNN_TILE_ITEMS", 3)
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


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("k", [1, 7, 50])
def test_factor_rank_skips_tiles_and_stays_exact(with_bias, k, monkeypatch):
    """Items of falling norm (as popularity gives them), integer factors so that many scores
    tie exactly, also across tiles of different bound: the tiles a user skips change nothing,
    and most are skipped."""
    monkeypatch.setattr(rank_kernels, "FACTOR_BLOCK_USERS", 16)
    monkeypatch.setattr(rank_kernels, "FACTOR_TILE_ITEMS", 32)
    rng = np.random.default_rng(7)
    n_users, n_items, f = 70, 900, 6
    U = rng.integers(-1, 3, (n_users, f)).astype(np.float32)
    U[3] = 0.0
    scale = np.ceil(30.0 / (1 + np.arange(n_items)) ** 0.8)[:, None]
    V = (rng.integers(0, 3, (n_items, f)) * scale).astype(np.float32)
    V[rng.permutation(n_items)[:100]] = V[rng.integers(0, n_items, 100)]  # tied rows
    V = V[rng.permutation(n_items)]  # norm order is not index order
    bias = rng.integers(0, 2, n_items).astype(np.float32) if with_bias else None
    X = sp.csr_matrix((rng.random((n_users, n_items)) < 0.05).astype(np.float32))
    users = np.array([3, *range(n_users), 0])
    S = U[users] @ V.T
    if bias is not None:
        S += bias
    want = topk(S, k, exclude=X[users])
    want_s = np.where(want >= 0, np.take_along_axis(S, np.maximum(want, 0), 1), -np.inf)
    stats: dict[str, int] = {}
    got, got_s = rank_kernels.factor_rank(U, V, bias, users, X, k, stats)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_s, want_s)
    assert stats["possible"] == users.size * 29
    assert stats["computed"] < (0.75 if k == 50 else 0.5) * stats["possible"]


@pytest.mark.parametrize("weights", ["binary", "graded", "unbounded"])
@pytest.mark.parametrize("k", [1, 10, 60])
def test_itemknn_rank_skips_tiles_and_stays_exact(weights, k, monkeypatch):
    """Zipf-popular items, so that a few neighbours serve every target and their tiles bound
    the rest; graded weights; a zero and a negative weight (no bound: every tile of that
    user); users with no history or every item excluded. The tiles skipped change nothing."""
    monkeypatch.setattr(rank_kernels, "KNN_TILE_ITEMS", 16)
    monkeypatch.setattr(rank_kernels, "KNN_PILOT_USERS", 10**6)  # every user on 16-item tiles
    rng = np.random.default_rng(5)
    n_users, n_items = 600, 400
    p = 2.0 / (1 + np.arange(n_items))
    X = rng.random((n_users, n_items)) < p[rng.permutation(n_items)] + 0.002
    X = X.astype(np.float32)
    if weights == "graded":
        X *= rng.integers(1, 4, X.shape)
    X[5, :] = 1.0
    X[6, :] = 0.0
    X = sp.csr_matrix(X)
    model = R.ItemKNN(neighbours=10, shrink=1.0).fit(X)
    if weights == "unbounded":  # weights the fit refuses, seen by the kernel alone
        for u, w in ((4, 0.0), (8, -1.0)):
            model.X_.data[model.X_.indptr[u]] = w
    users = np.array([4, 5, 6, 8, *range(n_users)])
    stats = _knn_equals_dense(model, X, users, k)
    assert stats["possible"] == users.size * 25
    assert stats["computed"] < {1: 0.15, 10: 0.7, 60: 1.0}[k] * stats["possible"]


def test_itemknn_rank_takes_one_tile_where_the_bounds_skip_little(monkeypatch):
    """k above the catalogue: no tile can be skipped, so after the pilot users the rest are
    ranked with the whole catalogue as one tile, and the lists do not change."""
    monkeypatch.setattr(rank_kernels, "KNN_TILE_ITEMS", 3)
    monkeypatch.setattr(rank_kernels, "KNN_PILOT_USERS", 8)
    X = _data(2)
    model = R.ItemKNN(neighbours=100, shrink=0.0).fit(X)
    users = np.arange(X.shape[0])
    stats = _knn_equals_dense(model, X, users, 45)
    assert stats["possible"] == 8 * 14 + (users.size - 8) * 1


def test_itemknn_rank_without_bounds_when_a_similarity_is_not_positive(monkeypatch):
    """A negative entry in S (ItemKNN never keeps one; a user's own S might): no tile bound
    holds, every tile is scored for every user, and the lists are still the dense ones."""
    monkeypatch.setattr(rank_kernels, "KNN_TILE_ITEMS", 4)
    X = _data(3)
    model = R.ItemKNN(neighbours=10).fit(X)
    model.similarity_.data[::7] *= -1.0
    users = np.arange(X.shape[0])
    stats = _knn_equals_dense(model, X, users, 10)
    assert stats["computed"] == stats["possible"] == users.size * 10


def test_itemknn_rank_equals_the_dense_ranking_on_random_shapes(monkeypatch):
    """Seeded random catalogues, histories, weights, neighbours, tile and pilot sizes and k
    (beyond the catalogue too): lists and scores equal the dense ones bit for bit."""
    rng = np.random.default_rng(123)
    for _ in range(40):
        n_users, n_items = int(rng.integers(2, 60)), int(rng.integers(2, 120))
        popular = (1.0 / (1 + rng.permutation(n_items))) ** rng.random()
        X = (rng.random((n_users, n_items)) < rng.random() * 0.4 * popular).astype(np.float32)
        if rng.random() < 0.5:
            X *= rng.integers(1, 4, X.shape)
        X[0, 0] = 1.0  # some history
        X = sp.csr_matrix(X)
        model = R.ItemKNN(int(rng.integers(1, 30)), float(rng.choice([0.0, 1.0, 10.0]))).fit(X)
        monkeypatch.setattr(rank_kernels, "KNN_TILE_ITEMS", int(rng.integers(1, 40)))
        monkeypatch.setattr(rank_kernels, "KNN_PILOT_USERS", int(rng.integers(1, 10)))
        users = rng.integers(0, n_users, int(rng.integers(1, 100)))
        _knn_equals_dense(model, X, users, int(rng.integers(1, n_items + 5)))
