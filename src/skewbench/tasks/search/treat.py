"""The search task's list-side treatments over the candidates: re-rankers on the protected
group (typed parameters and context of :mod:`skewbench.treatments.rerank`), xQuAD over every
value of a grouping, group-wise score normalisation, and what caps a re-ranker."""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from skewbench import specs
from skewbench.data.queries import SearchData
from skewbench.models.search.group_norm import group_normalise
from skewbench.runner.cell import Cell
from skewbench.tasks.search.data import group_values, item_groups, protected_label
from skewbench.treatments.rerank import RerankContext, XQuAD, rerank_lists, rerank_params


def apply_treatment(
    cell: Cell, data: SearchData, items: np.ndarray, scores: np.ndarray, k: int
) -> np.ndarray:
    """Top-k lists after the cell's treatment (``none`` = the first k candidates)."""
    tr = cell.treatment
    if tr.name == "none":
        return items[:, :k].copy()
    spec: Any = specs.resolve("treatment", "search", tr.name, tr.params)
    if tr.name == "xquad" and spec.aspects == "values":
        typed = cast(XQuAD, rerank_params("xquad", spec))
        return xquad_over_values(data, spec.group, items, scores, k, typed)
    groups = item_groups(data, spec.group)
    if tr.name == "group_norm":
        return group_normalise(items, scores, k, groups)
    target, p = None, None
    if tr.name == "fair" and spec.p is None:  # default: the catalog's protected share
        p = float(np.clip(groups.mean(), 0.01, 0.99))
    elif tr.name == "calibrated":  # the top k mirrors the candidate pool's group shares
        cg = np.where(items >= 0, groups[np.maximum(items, 0)], -1)
        target = np.stack([(cg == g).sum(1) for g in (0, 1)], axis=1).astype(float)
    context = RerankContext(items, scores, groups, target=target)
    return rerank_lists(rerank_params(tr.name, spec, p), context, k)


def xquad_over_values(
    data: SearchData,
    group: str,
    items: np.ndarray,
    scores: np.ndarray,
    k: int,
    params: XQuAD,
) -> np.ndarray:
    """xQuAD with one aspect per value of the grouping (``aspects: values``), uniform aspect
    weights over the values present in the query's own candidates: the list is spread over
    manufacturers (or brands, categories) instead of pushing one binary "tail" group, which can
    pile exposure onto the few tail manufacturers a query's candidates happen to hold. Runs one
    query at a time with the candidates' values re-coded 0 … m−1 (m ≤ candidates), so the
    thousands of catalog manufacturers never become a dense aspect axis. With m aspects each
    weighs 1/m, so the diversity term competes with relevance only for λ near 1 (sweep it)."""
    values = group_values(data, group)
    out = np.full((items.shape[0], k), -1, dtype=np.int64)
    for r in range(items.shape[0]):
        row = items[r]
        valid = row >= 0
        if not valid.any():
            continue
        local, codes = np.unique(values[row[valid]], return_inverse=True)
        cand = np.where(valid, np.arange(row.size), -1)[None]
        g = np.full(row.size, 0, dtype=np.int64)
        g[valid] = codes
        weights = np.full((1, local.size), 1.0 / local.size)
        context = RerankContext(cand, scores[r][None], g, aspect_weights=weights)
        picked = rerank_lists(params, context, k)[0]
        out[r, : picked.size] = np.where(picked >= 0, row[np.maximum(picked, 0)], -1)
    return out


def rerank_caps(data: SearchData, group: str, pool: np.ndarray) -> dict[str, Any]:
    """What caps a re-ranker (stored in the cell's ``info``): the protected group, the mean number of real
    candidates per unit (lists can be shorter than the ``candidates`` option: ESCI task 1, BM25 misses), and
    the share of units whose candidate pool holds no protected item — for them no re-ranker
    can expose the group at all."""
    codes = item_groups(data, group)
    valid = pool >= 0
    has = ((codes[np.maximum(pool, 0)] == 1) & valid).any(axis=1)
    return {
        "protected_group": protected_label(data, group),
        "candidate_pool_size_mean": float(valid.sum(axis=1).mean()) if len(pool) else 0.0,
        "share_units_no_protected_in_pool": float(1.0 - has.mean()) if len(pool) else float("nan"),
    }
