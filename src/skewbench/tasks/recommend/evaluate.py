"""The recommend task's evaluation of the final lists: ranking metrics at every cutoff, the
per-user AUC and GAUC, the long-tail share, expected exposure and AWRF, and the exposure and diversity families at
depth ``exposure_k`` (module doc of :mod:`skewbench.tasks.recommend`, step 6)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from skewbench.metrics.ranking import gauc
from skewbench.pipeline import per_unit_ranking, unit_means
from skewbench.tasks.recommend.config import RANKING_METRICS
from skewbench.tasks.recommend.data import Data

EE_PATIENCE = 0.5  # RBP patience of the expected-exposure browsing model

AWRF_P = 0.5  # attention on the first position (AWRF's geometric attention)


def exposure_fairness(
    lists: np.ndarray, truth: sp.csr_matrix, pop_label: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-unit expected exposure (EE-L/D/R, Diaz et al. 2020) of the unit's (sampled) lists,
    and AWRF over popularity groups (head / mid / tail) against the groups' catalog shares."""
    from skewbench.metrics.expected_exposure import awrf, expected_exposure

    ee = expected_exposure(lists, truth, pop_label.size, patience=EE_PATIENCE)
    names, codes = np.unique(pop_label.astype(str), return_inverse=True)
    target = np.bincount(codes, minlength=names.size) / codes.size
    per_list = awrf(lists.reshape(-1, lists.shape[2]), codes, target, p=AWRF_P)
    return {
        "ee_l": ee["ee_l"],
        "ee_d": ee["ee_d"],
        "ee_r": ee["ee_r"],
        "awrf_popularity": np.nanmean(per_list.reshape(lists.shape[0], -1), axis=1),
    }


def evaluate_lists(
    data: Data,
    X: sp.csr_matrix,
    truth: sp.csr_matrix,
    eval_users: np.ndarray,
    lists: np.ndarray,
    pop: np.ndarray,
    pop_label: np.ndarray,
    long_tail: np.ndarray,
    embeddings: np.ndarray | None,
    opts: dict[str, Any],
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """(per-unit metrics, cell metrics) of (users × samples × k) lists.

    A stochastic policy is evaluated in expectation: per-unit metrics are means over its
    sampled lists, exposure and diversity are computed over all sampled lists together.
    """
    from skewbench.metrics.diversity import diversity_metrics
    from skewbench.metrics.exposure import exposure_metrics, list_item_stats, position_weights

    depth = opts["exposure_k"]

    def non_head_share(sample: np.ndarray) -> dict[str, np.ndarray]:
        top_b = sample[:, :depth]
        valid = top_b >= 0
        share = np.where(valid, long_tail[np.maximum(top_b, 0)], 0).sum(1) / np.maximum(
            valid.sum(1), 1
        )
        return {"non_head_share": share}

    # AUC against the items each user could be recommended: every item not trained on.
    n_candidates = X.shape[1] - np.diff(X[eval_users].indptr)
    per_unit = per_unit_ranking(
        lists,
        truth,
        [*RANKING_METRICS, "auc"],
        opts["cutoffs"],
        extra=non_head_share,
        n_candidates=n_candidates,
    )
    per_unit.update(exposure_fairness(lists[:, :, :depth], truth, pop_label))
    metrics = unit_means(per_unit)
    metrics["gauc"] = gauc(per_unit["auc"], np.diff(truth.indptr))
    n_samples = lists.shape[1]
    top = lists[:, :, :depth].reshape(-1, depth)
    rows = np.repeat(np.arange(eval_users.size), n_samples)
    group_labels = {"popularity": pop_label, **data.labels}
    # One pass over the lists for the item sums both metric sets need.
    stats = list_item_stats(top, X.shape[1], position_weights(top.shape[1], "log"), truth[rows])
    metrics.update(
        exposure_metrics(
            top,
            X.shape[1],
            pop,
            groups=group_labels,
            truth=truth[rows],
            tail=long_tail.astype(bool),
            exclude=X[eval_users[rows]],
            stats=stats,
        )
    )
    metrics.update(
        diversity_metrics(
            top,
            X.shape[1],
            pop,
            item_category=data.category,
            item_embeddings=embeddings,
            groups=group_labels,
            n_users=X.shape[0],
            stats=stats,
        )
    )
    return per_unit, metrics
