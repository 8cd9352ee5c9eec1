"""Recommenders on tiny hand-made matrices, checked against closed forms and independent peers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics.pairwise import cosine_similarity

from skewbench.errors import ConfigError, SchemaError
from skewbench.models.recommend import (
    ALS,
    BPR,
    EASE,
    ContentModel,
    Hybrid,
    ItemKNN,
    Popularity,
    RandomRanker,
)
from skewbench.models.recommend.hybrid import normalise_scores

# 5 users × 6 items; user 0 bought item 0 five times (counts once for popularity).
X_TINY = sp.csr_matrix(
    np.array(
        [
            [5, 1, 0, 0, 0, 0],
            [1, 1, 1, 0, 0, 0],
            [0, 1, 1, 0, 0, 1],
            [0, 1, 0, 1, 0, 0],
            [0, 0, 1, 1, 1, 0],
        ],
        dtype=np.float32,
    )
)


def random_matrix(n_users: int = 60, n_items: int = 40, density: float = 0.15, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = sp.random(n_users, n_items, density=density, format="csr", random_state=rng)
    X.data[:] = 1.0
    return X


def test_popularity_counts_distinct_users_and_orders_items():
    model = Popularity().fit(X_TINY)
    np.testing.assert_array_equal(model.popularity_, [2, 4, 3, 2, 1, 1])
    s = model.score(np.array([0, 3]))
    assert s.shape == (2, 6) and s.dtype == np.float32
    np.testing.assert_array_equal(s[0], s[1])
    assert list(np.argsort(-s[0], kind="stable")) == [1, 2, 0, 3, 4, 5]


def test_random_ranker_is_seeded_and_chunk_invariant():
    a = RandomRanker().fit(X_TINY, seed=3)
    b = RandomRanker().fit(X_TINY, seed=3)
    b.chunk_size = 1
    np.testing.assert_array_equal(a.score(np.arange(5)), b.score(np.arange(5)))
    np.testing.assert_array_equal(a.score(np.array([4])), a.score(np.arange(5))[[4]])
    c = RandomRanker().fit(X_TINY, seed=4)
    assert not np.array_equal(a.score(np.arange(5)), c.score(np.arange(5)))
    s = a.score(np.arange(5))
    assert (s >= 0).all() and (s < 1).all()


def test_ease_matches_numpy_closed_form():
    X = random_matrix()
    lam = 7.5
    model = EASE(l2=lam).fit(X)
    Xd = X.toarray().astype(np.float64)
    G = Xd.T @ Xd + lam * np.eye(X.shape[1])
    P = np.linalg.solve(G, np.eye(X.shape[1]))
    B = -P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    np.testing.assert_allclose(model.B_, B, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.score(np.arange(60)), Xd @ B, rtol=1e-4, atol=1e-6)


def test_itemknn_similarity_matches_sklearn_cosine():
    X = random_matrix()
    model = ItemKNN(neighbours=1000, shrink=0.0, block_size=7).fit(X)
    ref = cosine_similarity(X.T.toarray())
    np.fill_diagonal(ref, 0.0)
    np.testing.assert_allclose(model.similarity_.toarray(), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.score(np.arange(60)), X.toarray() @ ref, rtol=1e-4, atol=1e-5)


def test_itemknn_ties_at_the_cut_keep_the_lower_index_across_blocks():
    # Items 2, 3, 4 have cosine 1 with item 0 and tie; item 1 (0.816, seen once more) ranks
    # below them. Item 5 co-occurs with nothing: no stored similarity, an all-zero column.
    X = sp.csr_matrix(
        np.array(
            [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 0], [0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1]],
            dtype=np.float32,
        )
    )
    model = ItemKNN(neighbours=2, shrink=0.0, block_size=2).fit(X)
    S = model.similarity_.toarray()
    assert np.flatnonzero(S[:, 0]).tolist() == [2, 3]  # of the tied 2, 3, 4: the lower two
    np.testing.assert_array_equal(S[:, 5], 0.0)
    np.testing.assert_array_equal(S[5], 0.0)
    scores = model.score(np.arange(4))
    np.testing.assert_allclose(scores, X.toarray() @ S, rtol=1e-6)
    assert scores.dtype == np.float32


def test_itemknn_shrinkage_and_neighbour_pruning():
    X = random_matrix()
    Xd = X.toarray()
    shrink, k = 5.0, 3
    model = ItemKNN(neighbours=k, shrink=shrink).fit(X)
    norms = np.linalg.norm(Xd, axis=0)
    full = (Xd.T @ Xd) / (np.outer(norms, norms) + shrink)
    np.fill_diagonal(full, 0.0)
    S = model.similarity_.toarray()
    for i in range(X.shape[1]):
        kept = np.flatnonzero(S[:, i])
        assert len(kept) <= k
        # The kept neighbours are the k largest similarities of target i.
        np.testing.assert_allclose(
            np.sort(S[kept, i])[::-1], np.sort(full[:, i])[::-1][: len(kept)], rtol=1e-5
        )


def test_bpr_is_deterministic_under_a_seed_and_learns():
    X = random_matrix(seed=1)
    kw = dict(factors=8, epochs=5, lr=0.05, batch_size=64)
    a, b = BPR(**kw).fit(X, seed=11), BPR(**kw).fit(X, seed=11)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    np.testing.assert_array_equal(a.score(np.arange(60)), b.score(np.arange(60)))
    c = BPR(**kw).fit(X, seed=12)
    assert not np.array_equal(a.item_factors_, c.item_factors_)
    assert a.losses_[-1] < a.losses_[0]
    # Training positives end up above the average item for their user.
    s = a.score(np.arange(60))
    assert (s[X.toarray() > 0].mean()) > s.mean()


@pytest.mark.parametrize("sn", [False, True])
def test_bpr_treatments_run_and_are_deterministic(sn):
    X = random_matrix(seed=2)
    kw = dict(
        factors=8,
        epochs=2,
        batch_size=64,
        ips_eta=0.5,
        ips_clip=5.0,
        ips_self_normalised=sn,
        neg_beta=0.75,
    )
    a, b = BPR(**kw).fit(X, seed=0), BPR(**kw).fit(X, seed=0)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    assert a.item_weights_.max() <= 5.0 and a.item_weights_.min() >= 1.0
    # Each hook changes the fit (same seed, so only the treatment differs).
    plain = BPR(factors=8, epochs=2, batch_size=64).fit(X, seed=0)
    no_ips = BPR(**{**kw, "ips_eta": None}).fit(X, seed=0)
    no_neg = BPR(**{**kw, "neg_beta": 0.0}).fit(X, seed=0)
    for other in (plain, no_ips, no_neg):
        assert not np.array_equal(a.item_factors_, other.item_factors_)
    assert np.isfinite(a.item_factors_).all()


def test_bpr_ips_weights_enter_the_loss():
    """IPS: the epoch loss is Σ w_i ℓ / #pairs, so with η = 0 (all weights 1) it equals plain BPR
    bit for bit, and SNIPS divides the weights by their mean over the training pairs."""
    X = random_matrix(seed=4)
    kw = dict(factors=8, epochs=2)
    plain = BPR(**kw).fit(X, seed=3)
    flat = BPR(**kw, ips_eta=0.0).fit(X, seed=3)
    np.testing.assert_array_equal(plain.item_factors_, flat.item_factors_)
    assert plain.losses_ == flat.losses_
    sn = BPR(**kw, ips_eta=1.0, ips_clip=50.0, ips_self_normalised=True).fit(X, seed=3)
    raw = BPR(**kw, ips_eta=1.0, ips_clip=50.0).fit(X, seed=3)
    assert sn.item_weights_ is not None and sn.item_weights_.max() > 1.5
    assert not np.array_equal(sn.item_factors_, raw.item_factors_)
    # batch_size only splits the kernel calls: the fit does not depend on it.
    other = BPR(**kw, batch_size=7).fit(X, seed=3)
    np.testing.assert_array_equal(plain.item_factors_, other.item_factors_)


def test_bpr_matches_a_python_reference_step():
    """Two triples through the kernel equal the documented SGD update done by hand."""
    from skewbench.models.recommend.bpr_kernels import sgd

    rng = np.random.default_rng(0)
    P = rng.normal(size=(2, 3)).astype(np.float32)
    Q = rng.normal(size=(4, 3)).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)
    # User 0 likes items 0..2, so its only possible negative is item 3; user 1 likes 0..2 too.
    indptr, indices = np.array([0, 3, 6]), np.array([0, 1, 2, 0, 1, 2])
    users, items = np.array([0, 1]), np.array([1, 2])
    w = np.array([1.0, 2.0, 0.5, 1.0])
    lr, reg = 0.1, 0.01
    P2, Q2, b2 = P.astype(np.float64), Q.astype(np.float64), b.astype(np.float64)
    expect_loss = 0.0
    for u, i in zip(users, items, strict=True):
        j = 3
        z = b2[i] - b2[j] + P2[u] @ (Q2[i] - Q2[j])
        expect_loss += w[i] * np.log1p(np.exp(-z))
        g = w[i] / (1 + np.exp(z))
        pu, qi, qj = P2[u].copy(), Q2[i].copy(), Q2[j].copy()
        P2[u] += lr * (g * (qi - qj) - reg * pu)
        Q2[i] += lr * (g * pu - reg * qi)
        Q2[j] += lr * (-g * pu - reg * qj)
        b2[i] += lr * (g - reg * b2[i])
        b2[j] += lr * (-g - reg * b2[j])
    state = np.array([12345], dtype=np.uint64)
    loss = sgd(users, items, indptr, indices, P, Q, b, w, np.zeros(0), state, lr, reg)
    assert loss == pytest.approx(expect_loss, rel=1e-5)
    np.testing.assert_allclose(P, P2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(Q, Q2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b, b2, rtol=1e-5, atol=1e-6)


def test_als_fits_and_is_deterministic_with_one_thread():
    X = random_matrix(seed=3)
    a = ALS(factors=8, iterations=3).fit(X, seed=5)
    b = ALS(factors=8, iterations=3).fit(X, seed=5)
    assert a.user_factors_.shape == (60, 8) and a.item_factors_.shape == (40, 8)
    np.testing.assert_array_equal(a.score(np.arange(60)), b.score(np.arange(60)))
    s = a.score(np.arange(60))
    assert s[X.toarray() > 0].mean() > s.mean()


def test_content_model_scores_cosine_to_weighted_profile():
    E = np.array([[1, 0], [0, 1], [1, 1], [-1, 0], [0, 2], [3, 4]], dtype=np.float32)
    model = ContentModel(E).fit(X_TINY)
    En = E / np.linalg.norm(E, axis=1, keepdims=True)
    profile = (5 * En[0] + 1 * En[1]) / 6
    expected = En @ (profile / np.linalg.norm(profile))
    np.testing.assert_allclose(model.score(np.array([0]))[0], expected, rtol=1e-6)
    with pytest.raises(ConfigError):
        ContentModel(E[:3]).fit(X_TINY)


def test_hybrid_is_a_convex_combination_of_normalised_scores():
    E = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    users = np.arange(5)
    for norm in ("minmax", "rank"):
        pop = normalise_scores(Popularity().fit(X_TINY).score(users), norm)
        con = normalise_scores(ContentModel(E).fit(X_TINY).score(users), norm)
        h = Hybrid(ContentModel(E), Popularity(), alpha=0.3, normalise=norm).fit(X_TINY)
        np.testing.assert_allclose(h.score(users), 0.3 * con + 0.7 * pop, rtol=1e-6)
    # Rank normalisation: average ranks scaled to [0, 1].
    np.testing.assert_allclose(
        normalise_scores(np.array([[3.0, 1.0, 3.0, 0.0]]), "rank"), [[5 / 6, 1 / 3, 5 / 6, 0]]
    )
    with pytest.raises(ConfigError):
        Hybrid(ContentModel(E), Popularity(), alpha=1.5)


def test_bad_input_and_config_raise():
    with pytest.raises(SchemaError):
        Popularity().fit(sp.csr_matrix((3, 3)))
    with pytest.raises(SchemaError):
        Popularity().fit(sp.csr_matrix(np.array([[1.0, -1.0]])))
    with pytest.raises(ConfigError):
        EASE(l2=0)
    with pytest.raises(ConfigError):
        ItemKNN(neighbours=0)
    with pytest.raises(RuntimeError):
        Popularity().score(np.array([0]))


def test_ease_refuses_over_budget_before_fitting(monkeypatch):
    """A catalogue whose dense items × items solve exceeds the budget is refused before any
    work, naming the need, the budget and the alternatives; float32 halves the need."""
    X = random_matrix(seed=5)  # 40 items: float64 peak 24·40² = 38,400 bytes
    model = EASE(memory_budget_gb=30e-6)
    with pytest.raises(ConfigError, match=r"needs about 0\.0 GB, over the memory budget") as e:
        model.fit(X)
    msg = str(e.value)
    assert "memory_budget_gb" in msg and "als, bpr, itemknn" in msg and "float32" in msg
    assert not hasattr(model, "B_") and not hasattr(model, "n_items_")  # nothing was fitted
    EASE(dtype="float32", memory_budget_gb=30e-6).fit(X)  # 12·40² = 19,200 bytes: fits
    monkeypatch.setenv("SKEWBENCH_MEMORY_BUDGET_GB", "1e-6")
    with pytest.raises(ConfigError, match="memory budget of 0.0 GB"):
        EASE().fit(X)
    monkeypatch.setenv("SKEWBENCH_MEMORY_BUDGET_GB", "lots")
    with pytest.raises(ConfigError, match="not a number"):
        EASE().fit(X)
    assert EASE().fit_memory_bytes(100, 29_000) == 24 * 29_000**2
