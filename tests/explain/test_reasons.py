"""Exact reasons sum to the model's score; similarity reasons are labelled as such."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.explain.reasons import (
    EXACT,
    SIMILARITY,
    bm25_term_contributions,
    linear_contributions,
    recommend_reasons,
    search_reasons,
)
from skewbench.models.recommend import ALS, EASE, ItemKNN, Popularity
from skewbench.models.search.base import QueryBatch
from skewbench.models.search.bm25 import BM25Retriever
from skewbench.models.search.fusion import PopularityPrior


def _matrix(seed=0, users=30, items=12, density=0.3, weights=False):
    rng = np.random.default_rng(seed)
    X = (rng.random((users, items)) < density).astype(np.float32)
    if weights:
        X *= rng.integers(1, 4, size=X.shape)
    X[0, :3] = [1, 2, 1] if weights else 1  # user 0 has a history
    return sp.csr_matrix(X)


@pytest.mark.parametrize("model", [EASE(l2=5.0), ItemKNN(neighbours=4, shrink=1.0)])
@pytest.mark.parametrize("weights", [False, True])
def test_linear_models_contributions_sum_to_the_score(model, weights):
    X = _matrix(weights=weights)
    model.fit(X)
    W = model.B_ if isinstance(model, EASE) else model.similarity_
    for u in (0, 5, 17):
        s = model.score(np.array([u]))[0]
        for i in range(X.shape[1]):
            js, c = linear_contributions(X[u], W, i)
            assert set(js) == set(X[u].indices)
            assert c.sum() == pytest.approx(float(s[i]), abs=1e-5)


def test_top_reasons_are_the_largest_contributions_and_exact():
    X = _matrix(1)
    m = EASE(l2=2.0).fit(X)
    reasons, kind = recommend_reasons(m, X[0], 7, n=2)
    assert kind == EXACT and len(reasons) == 2
    js, c = linear_contributions(X[0], m.B_, 7)
    top = np.argsort(-np.abs(c), kind="stable")[:2]
    assert [r.source for r in reasons] == [int(js[t]) for t in top]
    assert [r.value for r in reasons] == pytest.approx(c[top].tolist())


def test_popularity_reason_is_its_score_and_factor_models_get_similarity():
    X = _matrix(2)
    pop = Popularity().fit(X)
    reasons, kind = recommend_reasons(pop, X[0], 4)
    assert kind == EXACT and reasons[0].value == pytest.approx(pop.score(np.array([0]))[0, 4])
    als = ALS(factors=4, iterations=2).fit(X, seed=0)
    reasons, kind = recommend_reasons(als, X[0], 9, n=3)
    assert kind == SIMILARITY and all(-1 - 1e-9 <= r.value <= 1 + 1e-9 for r in reasons)
    assert {r.source for r in reasons} <= set(X[0].indices.tolist())


DOCS = ["red wine bottle", "white wine", "red apple red", "green apple juice", "wine red red"]


def test_bm25_term_contributions_sum_to_the_score_with_repeated_terms():
    bm = BM25Retriever().fit(DOCS)
    for q in ("red wine", "red red wine apple", "juice", "the red"):
        scores = bm.score(QueryBatch([q]))[0].astype(np.float64)
        items = np.arange(len(DOCS))
        total = sum(bm25_term_contributions(bm, q, items).values())
        expected = np.where(np.isfinite(scores), scores, 0.0)
        np.testing.assert_allclose(total, expected, rtol=1e-5, atol=1e-6)


def test_bm25_with_popularity_prior_reasons_are_exact():
    pop = np.array([5.0, 0.0, 10.0, 1.0, 3.0])
    model = PopularityPrior(BM25Retriever(), 0.1).fit(DOCS, popularity=pop)
    s = model.score(QueryBatch(["red wine"]))[0]
    items = np.array([0, 4, 2])
    reasons, kind = search_reasons(model, "red wine", items, n=10)
    assert kind == EXACT
    for i, rs in zip(items, reasons, strict=True):
        assert sum(r.value for r in rs) == pytest.approx(float(s[i]), rel=1e-5)
        assert any(r.source == "popularity prior" for r in rs)
