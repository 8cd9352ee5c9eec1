"""Per-group score normalisation of a query's candidate list (a list-side treatment).

Within each query's K candidates, every candidate's score is replaced by its z-score inside its
group: ``z = (s − mean_g) / std_g`` over that query's candidates of group g (population std).
A group with one candidate, or with all scores equal, gets z = 0 for its members. The list is
then re-sorted by z descending, ties by the original position (i.e. by the base ranking). So
each group's best candidate competes on how far it stands above its own group, not on the raw
score scale a big group or a popular brand may dominate.
"""

from __future__ import annotations

import numpy as np


def group_zscore(scores: np.ndarray, groups: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(units × K) z-scores within (unit, group) over valid entries; invalid entries −inf."""
    n, k = scores.shape
    z = np.full((n, k), -np.inf)
    for r in range(n):
        ok = valid[r]
        if not ok.any():
            continue
        s = scores[r, ok].astype(np.float64)
        g = groups[r, ok]
        _, inv = np.unique(g, return_inverse=True)
        cnt = np.bincount(inv)
        mean = np.bincount(inv, s) / cnt
        var = np.bincount(inv, (s - mean[inv]) ** 2) / cnt
        std = np.sqrt(var)[inv]
        zr = np.where(std > 0, (s - mean[inv]) / np.where(std > 0, std, 1.0), 0.0)
        z[r, ok] = zr
    return z


def group_normalise(
    candidates: np.ndarray, scores: np.ndarray, k: int, item_groups: np.ndarray
) -> np.ndarray:
    """Re-rank (units × K) candidates by within-group z-score; returns (units × k), −1 pads."""
    valid = candidates >= 0
    groups = np.where(valid, item_groups[np.maximum(candidates, 0)], -1)
    z = group_zscore(scores, groups, valid & np.isfinite(scores))
    order = np.argsort(-z, axis=1, kind="stable")  # stable: ties keep the base order
    ranked = np.take_along_axis(candidates, order, axis=1)
    ranked = np.where(np.take_along_axis(z, order, axis=1) == -np.inf, -1, ranked)
    out = np.full((candidates.shape[0], k), -1, dtype=np.int64)
    m = min(k, ranked.shape[1])
    out[:, :m] = ranked[:, :m]
    return out
