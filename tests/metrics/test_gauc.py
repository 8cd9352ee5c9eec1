"""Per-user AUC against the items a user did not train on (as recommend computes it), and
GAUC, checked against scikit-learn's roc_auc_score on the same candidates and a plain
weighted mean, with ties (unlisted items share the lowest score) and short lists."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score

from skewbench.metrics.ranking import gauc, ranking_metrics


def test_per_user_auc_over_untrained_items_matches_sklearn_and_gauc_its_weighted_mean():
    n_items = 12
    trained = [[0, 1], [5], [], [2, 3, 4]]
    relevant = [[2, 7], [0], [3, 4, 11], [6]]
    ranked = np.array([[2, 3, 4, -1], [0, 6, 7, 8], [11, 10, 9, 3], [7, 8, -1, -1]])
    rows = [u for u, r in enumerate(relevant) for _ in r]
    truth = sp.csr_matrix(
        (np.ones(len(rows)), (rows, [i for r in relevant for i in r])), shape=(4, n_items)
    )
    n_candidates = n_items - np.array([len(t) for t in trained])
    auc = ranking_metrics(ranked, truth, ["auc"], [], n_candidates=n_candidates)["auc"]
    for u in range(4):
        candidates = [i for i in range(n_items) if i not in trained[u]]
        listed = [i for i in ranked[u] if i >= 0]
        score = [len(listed) - listed.index(i) if i in listed else 0 for i in candidates]
        y = [i in relevant[u] for i in candidates]
        assert auc[u] == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    weights = np.array([len(r) for r in relevant], dtype=float)
    assert gauc(auc, weights) == pytest.approx(float(np.sum(auc * weights) / weights.sum()))


def test_gauc_leaves_out_units_without_relevant_items_or_auc():
    assert gauc(np.array([0.5, np.nan, 1.0, 0.2]), np.array([1, 3, 3, 0])) == pytest.approx(
        (0.5 * 1 + 1.0 * 3) / 4
    )
    assert math.isnan(gauc(np.array([np.nan]), np.array([2])))
