r"""Accuracy metrics of ranked lists, vectorised over units and computed for all cutoffs at once.

Inputs: ``ranked`` (units × K) int64 item indices, position j (0-based) is rank j + 1, -1 is
padding (a padding slot counts as a non-relevant position); ``truth`` a CSR (units × items) of
graded relevance: an item is relevant when its grade is > 0 (trec_eval's relevance_level 1 for
integer grades); grades <= 0 are non-relevant with gain 0. R_u is the set of relevant items of
unit u, rel_u(r) the grade of the item at rank r, hit_u(r) = 1[rel_u(r) > 0].

The (units × kmax) grade matrix is built once (chunk by chunk, so memory is bounded); cumulative
sums along ranks then give every cutoff. Defaults follow trec_eval (pytrec_eval measures in
brackets):

- ``precision@k`` = hits@k / k  (P_k; the denominator is k even when the list is shorter)
- ``recall@k`` = hits@k / |R|  (recall_k)
- ``recall_capped@k`` = hits@k / min(|R|, k)  (RecBole/"HR-normalised" variant; = 1 when the
  list is perfect even if |R| > k)
- ``f1@k`` = 2·P·R / (P + R), 0 when P + R = 0 (ranx f1)
- ``hit_rate@k`` = 1[hits@k > 0]  (success_k)
- ``mrr@k`` = 1 / rank of the first relevant item within the top k, else 0 (recip_rank cut at k;
  only the first hit counts)
- ``map@k`` = Σ_{r<=k} hit(r)·P@r / |R|  (map_cut_k; trec_eval's ``map`` is map@K with K the
  full list length; ranx's map@k uses the same |R| denominator)
- ``map_capped@k`` = Σ_{r<=k} hit(r)·P@r / min(|R|, k)
- ``ndcg@k`` = DCG@k / IDCG@k with linear gain rel and discount 1/log2(r + 1) (ndcg_cut_k; ranx
  ndcg). IDCG@k is the DCG of all relevant items sorted by grade, truncated at k.
- ``ndcg_exp@k``: same with gain 2^rel − 1 (Burges; ranx ndcg_burges)
- ``ndcg_binary@k``: same with gain hit(r) (grades ignored)
- ``auc``: ROC AUC of the whole list against all ``n_items`` items (or ``n_candidates[u]``):
  the share of (relevant, non-relevant) pairs ranked in the right order. Items absent from the
  list are tied below every listed item (a tied pair counts ½), so it is the exact AUC when the
  list ranks every candidate and the "unranked tail tied" AUC otherwise. No cutoff.

A unit with empty truth (|R| = 0) gets NaN for every metric by default (``empty="nan"``);
``empty="zero"`` gives 0 instead, which is what trec_eval and ranx report for such units.
:func:`aggregate` averages per-unit vectors and either drops or zeroes those units.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from skewbench.errors import SchemaError

METRICS: tuple[str, ...] = (
    "precision",
    "recall",
    "recall_capped",
    "f1",
    "hit_rate",
    "mrr",
    "map",
    "map_capped",
    "ndcg",
    "ndcg_exp",
    "ndcg_binary",
    "auc",
)
UNCUT: frozenset[str] = frozenset({"auc"})

# Units per chunk of the (units × kmax) matrices, and elements of the dense scratch row block used
# to look up grades (2**21 float64 = 16 MiB: small enough to stay in cache, big enough that the
# Python loop over blocks is negligible).
_UNIT_CHUNK = 16384
_DENSE_ELEMENTS = 1 << 21
_SEARCH_ROWS = 4096


def ranking_metrics(
    ranked: np.ndarray,
    truth: sp.csr_matrix | sp.csr_array,
    metrics: Sequence[str],
    cutoffs: Sequence[int],
    *,
    empty: str = "nan",
    n_candidates: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-unit accuracy metrics for every metric × cutoff, keys like ``"ndcg@10"``.

    Formulas and choices are in the module docstring (trec_eval conventions by default).
    ``empty``: "nan" (default) or "zero" for units with no relevant item. ``n_candidates``:
    per-unit number of candidate items for ``auc`` (default: all ``truth.shape[1]`` items).
    Returns float64 arrays of shape (units,); ``auc`` has no cutoff and is keyed ``"auc"``.
    """
    ranked, truth = _check_inputs(ranked, truth)
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise SchemaError("ranking_metrics", f"unknown metrics {unknown}; known: {list(METRICS)}")
    if empty not in ("nan", "zero"):
        raise SchemaError("ranking_metrics", f"empty must be 'nan' or 'zero', got {empty!r}")
    cut_metrics = [m for m in metrics if m not in UNCUT]
    cutoffs = sorted({_check_cutoff(k) for k in cutoffs}) if cut_metrics else []
    if cut_metrics and not cutoffs:
        raise SchemaError("ranking_metrics", "cutoffs must not be empty")
    n_units, width = ranked.shape
    n_items = truth.shape[1]
    if n_candidates is not None:
        n_candidates = np.asarray(n_candidates, dtype=np.float64).reshape(-1)
        if n_candidates.shape[0] != n_units:
            raise SchemaError("ranking_metrics", "n_candidates must have one value per unit")

    # Only what is asked for is computed: the kmax columns needed and the matrices they need.
    kmax = max(cutoffs) if cutoffs else 1
    if "auc" in metrics:
        kmax = max(kmax, width)
    out: dict[str, np.ndarray] = {}
    for m in cut_metrics:
        for k in cutoffs:
            out[f"{m}@{k}"] = np.empty(n_units, dtype=np.float64)
    if "auc" in metrics:
        out["auc"] = np.empty(n_units, dtype=np.float64)
    if n_units == 0:
        return out

    ranks = np.arange(1, kmax + 1, dtype=np.float64)
    discount = 1.0 / np.log2(ranks + 1.0)
    cols = np.asarray(cutoffs, dtype=np.int64) - 1
    kvec = np.asarray(cutoffs, dtype=np.float64)
    need = set(metrics)
    for start in range(0, n_units, _UNIT_CHUNK):
        stop = min(n_units, start + _UNIT_CHUNK)
        block = ranked[start:stop]
        if block.shape[1] < kmax:  # cutoffs beyond the list: the missing ranks are non-hits
            pad = np.full((stop - start, kmax - block.shape[1]), -1, dtype=np.int64)
            block = np.hstack([block, pad])
        block = block[:, :kmax]
        grades = lookup_grades(truth, block, start)
        nrel = _n_relevant(truth, start, stop)
        res = _chunk_metrics(grades, nrel, truth, start, stop, need, cols, kvec, ranks, discount)
        if "auc" in need:
            ncand = (
                np.full(stop - start, float(n_items))
                if n_candidates is None
                else n_candidates[start:stop]
            )
            res["auc"] = _auc(grades > 0, block >= 0, nrel, ncand)
        empty_units = nrel == 0
        for name, values in res.items():
            if empty_units.any():
                mask = empty_units[:, None] if values.ndim == 2 else empty_units
                values = np.where(mask, np.nan if empty == "nan" else 0.0, values)
            if name == "auc":
                out["auc"][start:stop] = values
            else:
                for j, k in enumerate(cutoffs):
                    out[f"{name}@{k}"][start:stop] = values[:, j]
    return out


def aggregate(per_unit: Mapping[str, np.ndarray], empty: str = "drop") -> dict[str, float]:
    """Mean of each per-unit vector. NaN units (empty truth) are dropped (``empty="drop"``,
    default: the mean over units with at least one relevant item) or count as 0
    (``empty="zero"``: the mean over all units, trec_eval/ranx style). All-NaN gives NaN."""
    if empty not in ("drop", "zero"):
        raise SchemaError("aggregate", f"empty must be 'drop' or 'zero', got {empty!r}")
    result: dict[str, float] = {}
    for name, values in per_unit.items():
        v = np.asarray(values, dtype=np.float64)
        v = np.nan_to_num(v, nan=0.0) if empty == "zero" else v[~np.isnan(v)]
        result[name] = float(v.mean()) if v.size else float("nan")
    return result


def metric_names(metrics: Iterable[str], cutoffs: Iterable[int]) -> list[str]:
    """The keys :func:`ranking_metrics` returns for these metrics and cutoffs, in order."""
    cutoffs = sorted(set(cutoffs))
    names: list[str] = []
    for m in metrics:
        names.extend([m] if m in UNCUT else [f"{m}@{k}" for k in cutoffs])
    return names


# ---------------------------------------------------------------------------------------------


def _check_cutoff(k: object) -> int:
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
        raise SchemaError("ranking_metrics", f"cutoffs must be positive integers, got {k!r}")
    return int(k)


def _check_inputs(ranked: np.ndarray, truth: object) -> tuple[np.ndarray, sp.csr_matrix]:
    ranked = np.asarray(ranked)
    if ranked.ndim != 2 or not np.issubdtype(ranked.dtype, np.integer):
        raise SchemaError(
            "ranked", f"must be a 2-D integer array (units × k), got {ranked.dtype} {ranked.shape}"
        )
    ranked = ranked.astype(np.int64, copy=False)
    if not sp.issparse(truth):
        raise SchemaError("truth", "must be a scipy.sparse CSR matrix (units × items)")
    truth = sp.csr_matrix(truth)
    if truth.shape[0] != ranked.shape[0]:
        raise SchemaError(
            "truth", f"has {truth.shape[0]} rows but ranked has {ranked.shape[0]} units"
        )
    if not truth.has_canonical_format:
        truth = truth.copy()
        truth.sum_duplicates()
    if truth.nnz and not np.isfinite(truth.data).all():
        bad = int(np.flatnonzero(~np.isfinite(truth.data))[0])
        row = int(np.searchsorted(truth.indptr, bad, side="right") - 1)
        raise SchemaError("truth", "relevance grades must be finite", column="grade", row=row)
    if ranked.size:
        lo, hi = int(ranked.min()), int(ranked.max())
        if lo < -1 or hi >= truth.shape[1]:
            bad = lo if lo < -1 else hi
            row = int(np.argwhere(ranked == bad)[0, 0])
            raise SchemaError("ranked", f"item index {bad} outside [-1, {truth.shape[1]})", row=row)
    return ranked, truth


def lookup_grades(truth: sp.csr_matrix, block: np.ndarray, start: int) -> np.ndarray:
    """grade[u, j] = max(truth[start + u, block[u, j]], 0); 0 for padding (-1).

    ``block`` holds the ranked lists of units start.. start + len(block). Vectorised: a dense
    scratch of a few truth rows at a time (cache-sized), or binary search for huge catalogues."""
    n_rows, width = block.shape
    n_items = truth.shape[1]
    out = np.zeros((n_rows, width), dtype=np.float64)
    indptr, indices = truth.indptr, truth.indices
    data = np.maximum(truth.data, 0.0)
    valid = block >= 0
    safe = np.where(valid, block, 0)
    step = _DENSE_ELEMENTS // max(n_items, 1)
    if step >= 64:
        # Scatter the block's truth rows into a small dense scratch, gather, clear: cache-local.
        scratch = np.zeros(step * n_items, dtype=np.float64)
        for s in range(0, n_rows, step):
            e = min(n_rows, s + step)
            a, b = indptr[start + s], indptr[start + e]
            counts = np.diff(indptr[start + s : start + e + 1])
            flat = np.repeat(np.arange(e - s, dtype=np.int64) * n_items, counts) + indices[a:b]
            scratch[flat] = data[a:b]
            out[s:e] = scratch[np.arange(e - s, dtype=np.int64)[:, None] * n_items + safe[s:e]]
            scratch[flat] = 0.0
    else:
        # Large catalogues: binary search in sorted (row, item) keys, a few thousand rows at a
        # time so the searched keys stay in cache.
        for s in range(0, n_rows, _SEARCH_ROWS):
            e = min(n_rows, s + _SEARCH_ROWS)
            a, b = indptr[start + s], indptr[start + e]
            if a == b:
                continue
            counts = np.diff(indptr[start + s : start + e + 1])
            keys = np.repeat(np.arange(e - s, dtype=np.int64) * n_items, counts) + indices[a:b]
            q = np.arange(e - s, dtype=np.int64)[:, None] * n_items + safe[s:e]
            pos = np.minimum(np.searchsorted(keys, q), keys.size - 1)
            out[s:e] = np.where(keys[pos] == q, data[a:b][pos], 0.0)
    out[~valid] = 0.0
    return out


def _n_relevant(truth: sp.csr_matrix, start: int, stop: int) -> np.ndarray:
    a, b = truth.indptr[start], truth.indptr[stop]
    rows = np.repeat(np.arange(stop - start), np.diff(truth.indptr[start : stop + 1]))
    return np.bincount(rows, weights=truth.data[a:b] > 0, minlength=stop - start)


def _ideal_grades(truth: sp.csr_matrix, start: int, stop: int, kmax: int) -> np.ndarray:
    """Per unit, the relevant grades sorted descending, truncated/padded to kmax columns."""
    a, b = truth.indptr[start], truth.indptr[stop]
    rows = np.repeat(np.arange(stop - start), np.diff(truth.indptr[start : stop + 1]))
    data = truth.data[a:b]
    keep = data > 0
    rows, data = rows[keep], data[keep]
    order = np.lexsort((-data, rows))
    rows, data = rows[order], data[order]
    first = np.searchsorted(rows, np.arange(stop - start))
    pos = np.arange(rows.size) - first[rows]
    keep = pos < kmax
    ideal = np.zeros((stop - start, kmax), dtype=np.float64)
    ideal[rows[keep], pos[keep]] = data[keep]
    return ideal


def _chunk_metrics(
    grades: np.ndarray,
    nrel: np.ndarray,
    truth: sp.csr_matrix,
    start: int,
    stop: int,
    need: set[str],
    cols: np.ndarray,
    kvec: np.ndarray,
    ranks: np.ndarray,
    discount: np.ndarray,
) -> dict[str, np.ndarray]:
    """Metrics at the cutoff columns ``cols`` for one chunk: arrays (chunk units × cutoffs)."""
    kmax = ranks.size
    res: dict[str, np.ndarray] = {}
    if not (need - UNCUT):
        return res
    g = grades[:, :kmax]
    hit = (g > 0).astype(np.float64)
    hits = np.cumsum(hit, axis=1)
    hits_k = hits[:, cols]
    nr = nrel[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        capped = np.minimum(nr, kvec[None, :])
        if need & {"precision", "f1"}:
            prec = hits_k / kvec
            res["precision"] = prec
        if need & {"recall", "f1"}:
            rec = hits_k / nr
            res["recall"] = rec
        if "recall_capped" in need:
            res["recall_capped"] = hits_k / capped
        if "f1" in need:
            s = prec + rec
            res["f1"] = np.where(s > 0, 2.0 * prec * rec / np.where(s > 0, s, 1.0), 0.0)
        if "hit_rate" in need:
            res["hit_rate"] = (hits_k > 0).astype(np.float64)
        if "mrr" in need:
            first = np.argmax(hit, axis=1)  # first hit (0 when no hit; masked below)
            found = hit[np.arange(hit.shape[0]), first] > 0
            rr = np.where(found, 1.0 / (first + 1.0), 0.0)
            res["mrr"] = np.where(found[:, None] & (first[:, None] < kvec[None, :]), rr[:, None], 0)
        if need & {"map", "map_capped"}:
            ap = np.cumsum(hit * hits / ranks, axis=1)[:, cols]
            if "map" in need:
                res["map"] = ap / nr
            if "map_capped" in need:
                res["map_capped"] = ap / capped
        ndcgs = need & {"ndcg", "ndcg_exp", "ndcg_binary"}
        if ndcgs:
            ideal = _ideal_grades(truth, start, stop, kmax) if ndcgs - {"ndcg_binary"} else None
            if "ndcg" in ndcgs:
                res["ndcg"] = _ndcg(g, ideal, discount, cols)
            if "ndcg_exp" in ndcgs:
                res["ndcg_exp"] = _ndcg(np.exp2(g) - 1.0, np.exp2(ideal) - 1.0, discount, cols)
            if "ndcg_binary" in ndcgs:
                ideal_bin = (np.arange(kmax)[None, :] < nr).astype(np.float64)
                res["ndcg_binary"] = _ndcg(hit, ideal_bin, discount, cols)
    return res


def _ndcg(gain: np.ndarray, ideal: np.ndarray, discount: np.ndarray, cols: np.ndarray):
    dcg = np.cumsum(gain * discount, axis=1)[:, cols]
    idcg = np.cumsum(ideal * discount, axis=1)[:, cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        return dcg / idcg


def _auc(hit: np.ndarray, valid: np.ndarray, nrel: np.ndarray, ncand: np.ndarray) -> np.ndarray:
    """AUC with unlisted items tied below the list (see module docstring)."""
    hitf = hit.astype(np.float64)
    negf = (valid & ~hit).astype(np.float64)
    neg_above = np.cumsum(negf, axis=1) - negf
    n_neg = ncand - nrel
    # A listed relevant item has neg_above non-relevant items above it; every other
    # non-relevant candidate (listed below it or unlisted) is ranked below it.
    listed = (hitf * (n_neg[:, None] - neg_above)).sum(axis=1)
    # Relevant items missing from the list tie with the unlisted non-relevant ones (½ each).
    unlisted_neg = n_neg - negf.sum(axis=1)
    tied = (nrel - hitf.sum(axis=1)) * 0.5 * unlisted_neg
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n_neg > 0, (listed + tied) / (nrel * n_neg), np.nan)
