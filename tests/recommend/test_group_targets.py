"""Re-rankers that target a catalog grouping: xQuAD's aspect target moves exposure towards the
stated distribution; FA*IR protects the named group."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from skewbench.metrics.exposure import gini
from skewbench.tasks.recommend import aspect_weights
from skewbench.treatments.rerank import RerankContext, XQuAD, rerank_lists


def _pool(seed=0, users=200, items=300, depth=100):
    """Candidates whose scores favour group 0 (the 'head manufacturers'): 3 groups of items."""
    rng = np.random.default_rng(seed)
    groups = rng.choice(3, size=items, p=[0.2, 0.3, 0.5])
    bonus = np.array([0.5, 0.25, 0.0])[groups]
    scores = rng.random((users, items)) + bonus
    cand = np.argsort(-scores, axis=1)[:, :depth]
    return cand, np.take_along_axis(scores, cand, 1), groups


def _group_exposure(ranked, groups):
    w = 1.0 / np.log2(np.arange(ranked.shape[1]) + 2)
    return np.bincount(groups[ranked].ravel(), weights=np.tile(w, ranked.shape[0]), minlength=3)


def test_uniform_target_evens_group_exposure():
    cand, scores, groups = _pool()
    X = sp.csr_matrix((cand.shape[0], groups.size))
    users = np.arange(cand.shape[0])
    base = cand[:, :10]

    def xquad(target: str) -> np.ndarray:
        weights = aspect_weights(target, groups, X, users)
        context = RerankContext(cand, scores, groups, aspect_weights=weights)
        return rerank_lists(XQuAD(0.7, "smooth"), context, 10)

    uniform, catalog = xquad("uniform"), xquad("catalog")
    g_base, g_uni = gini(_group_exposure(base, groups)), gini(_group_exposure(uniform, groups))
    assert g_uni < g_base  # exposure across the groups more even
    e_cat = _group_exposure(catalog, groups)
    e_base = _group_exposure(base, groups)
    assert e_cat[2] / e_cat.sum() > e_base[2] / e_base.sum()  # largest catalog group gains


def test_aspect_weights_rows_are_distributions():
    groups = np.array([0, 0, 1, 2])
    X = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 1, 1]], dtype=float))
    users = np.array([0, 1])
    np.testing.assert_allclose(
        aspect_weights("history", groups, X, users), [[1, 0, 0], [0, 0.5, 0.5]]
    )
    np.testing.assert_allclose(aspect_weights("uniform", groups, X, users), np.full((2, 3), 1 / 3))
    np.testing.assert_allclose(aspect_weights("catalog", groups, X, users)[0], [0.5, 0.25, 0.25])
