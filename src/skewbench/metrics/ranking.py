r"""Accuracy metrics of ranked lists, vectorised over units and computed for all cutoffs at once.

Inputs: ``ranked`` (units × K) int64 item indices, position j (0-based) is rank j + 1, -1 is
padding. Padding never occupies a rank: a -1 inside a list is a gap that is closed (the items
after it move up, as trec_eval ranks only the documents a run lists; :func:`close_gaps`), and
trailing padding only shortens the list; ``truth`` a CSR (units × items) of
graded relevance: an item is relevant when its grade is > 0 (trec_eval's relevance_level 1 for
integer grades); grades <= 0 are non-relevant with gain 0. R_u is the set of relevant items of
unit u, rel_u(r) the grade of the item at rank r, hit_u(r) = 1[rel_u(r) > 0].

Every metric and cutoff comes from one pass over each unit's list (a compiled kernel: running
sums read off at each cutoff, grades looked up through a per-item scratch row, so the cost does
not grow with the catalogue). Defaults follow trec_eval (pytrec_eval measures in brackets):

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

Every row of ``truth`` is a judged unit. A unit with no relevant item (|R| = 0: no grade above
0, e.g. only "Irrelevant" judgements, or none at all) follows trec_eval by default
(``empty="zero"``): it scores 0 on every metric and is counted in the mean, as trec_eval counts
a judged query with no relevant document. ``empty="nan"`` gives it NaN instead, so :func:`aggregate` drops it (the mean over units
with at least one relevant item). Pass only the units you mean to evaluate.

A ranked list must not repeat an item (padding -1 may repeat): a repeat would count one relevant
item twice (recall above 1), so it raises a SchemaError naming the row. Every slot is checked on
every call; lists checked once where they are built (:class:`RankedLists`, like ranx's ``Run``)
are not checked again and are read only as far as the largest cutoff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from skewbench.errors import SchemaError
from skewbench.metrics.ranking_kernels import kernels

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
# Cut metrics in kernel order (:mod:`skewbench.metrics.ranking_kernels`); ``slot`` maps each to
# its output row (-1 = not asked for).
_CUT: tuple[str, ...] = tuple(m for m in METRICS if m not in UNCUT)

EMPTY_MODES: tuple[str, ...] = ("zero", "nan")


def gauc(auc: np.ndarray, n_relevant: np.ndarray) -> float:
    """Group AUC (Zhou et al. 2018, DIN): the per-unit AUCs averaged with each unit weighted by
    its number of relevant items, Σ_u |R_u| AUC_u / Σ_u |R_u| (units with no relevant item or
    a NaN AUC left out); NaN when no unit is left."""
    a = np.asarray(auc, dtype=np.float64)
    w = np.asarray(n_relevant, dtype=np.float64)
    keep = ~np.isnan(a) & (w > 0)
    return float(a[keep] @ w[keep] / w[keep].sum()) if keep.any() else float("nan")


@dataclass(frozen=True, eq=False)
class RankedLists:
    """(units × k) ranked lists checked once, where they are built (like ranx's ``Run``): item
    indices in [0, ``n_items``), no item twice in a list, padding (-1) only at the end of a list.
    :func:`ranking_metrics` does not check them again and reads each list only as far as the
    largest cutoff. Build it with :meth:`check`; ``items`` is a read-only view (the check holds
    only as long as nobody writes to the array it was built from)."""

    items: np.ndarray
    n_items: int

    @classmethod
    def check(cls, ranked: np.ndarray, n_items: int, source: str = "ranked") -> RankedLists:
        """The lists of ``ranked`` (gaps closed) once :func:`check_ranked` has accepted them,
        else a SchemaError naming ``source`` and the row."""
        items = check_ranked(ranked, n_items, source).view()
        items.flags.writeable = False
        return cls(items, int(n_items))


def ranking_metrics(
    ranked: np.ndarray | RankedLists,
    truth: sp.csr_matrix | sp.csr_array,
    metrics: Sequence[str],
    cutoffs: Sequence[int],
    *,
    empty: str = "zero",
    n_candidates: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-unit accuracy metrics for every metric × cutoff, keys like ``"ndcg@10"``.

    Formulas and choices are in the module docstring (trec_eval conventions by default).
    ``empty``: "zero" (default, trec_eval: a unit with no relevant item scores 0 and is counted)
    or "nan" (such units get NaN, so :func:`aggregate` drops them). ``n_candidates``: per-unit
    number of candidate items for ``auc`` (default: all ``truth.shape[1]`` items).
    Returns float64 arrays of shape (units,); ``auc`` has no cutoff and is keyed ``"auc"``.
    ``ranked``: an integer array, every slot checked on each call (a SchemaError naming the row
    when a list repeats an item or holds an index outside [-1, n_items)), or
    :class:`RankedLists` checked when they were built (their ``n_items`` must be the truth's).
    """
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise SchemaError("ranking_metrics", f"unknown metrics {unknown}; known: {list(METRICS)}")
    if empty not in EMPTY_MODES:
        raise SchemaError("ranking_metrics", f"empty must be one of {EMPTY_MODES}, got {empty!r}")
    cut_metrics = [m for m in metrics if m not in UNCUT]
    cutoffs = sorted({_check_cutoff(k) for k in cutoffs}) if cut_metrics else []
    if cut_metrics and not cutoffs:
        raise SchemaError("ranking_metrics", "cutoffs must not be empty")
    checked = ranked if isinstance(ranked, RankedLists) else None
    ranked, truth = _check_inputs(
        ranked.items if isinstance(ranked, RankedLists) else ranked, truth
    )
    n_units, width = ranked.shape
    n_items = truth.shape[1]
    if checked and checked.n_items != n_items:
        raise SchemaError(
            "ranked", f"lists checked against {checked.n_items} items, truth has {n_items}"
        )
    if n_candidates is not None:
        n_candidates = np.asarray(n_candidates, dtype=np.float64).reshape(-1)
        if n_candidates.shape[0] != n_units:
            raise SchemaError("ranking_metrics", "n_candidates must have one value per unit")

    do_auc = "auc" in metrics
    kmax = max(cutoffs) if cutoffs else 0
    ranks = np.arange(1, max(kmax, 1) + 1, dtype=np.float64)
    discount = 1.0 / np.log2(ranks + 1.0)
    # slot[m] = row of ``res`` for cut metric m (order of _CUT), -1 when not asked for.
    slot = np.full(len(_CUT), -1, dtype=np.int64)
    for j, m in enumerate(cut_metrics):
        slot[_CUT.index(m)] = j
    res = np.empty((len(cut_metrics), len(cutoffs), n_units), dtype=np.float64)
    auc = np.empty(n_units if do_auc else 0, dtype=np.float64)
    ncand = (
        np.full(n_units if do_auc else 0, float(n_items))
        if n_candidates is None or not do_auc
        else n_candidates
    )

    def rank(truth: sp.csr_matrix) -> tuple[int, int]:
        return kernels().rank(
            ranked,
            checked is not None,
            truth.indptr.astype(np.int64, copy=False),
            truth.indices.astype(np.int64, copy=False),
            truth.data.astype(np.float64, copy=False),
            # The per-item marker (see the kernels' comment): int32 halves its cache footprint
            # whenever CSR positions and unit numbers fit.
            np.full(
                n_items, -1, dtype=np.int32 if max(truth.nnz, n_units) < 2**31 - 2 else np.int64
            ),
            np.asarray(cutoffs, dtype=np.int64),
            slot,
            discount,
            ncand,
            np.nan if empty == "nan" else 0.0,
            res,
            auc,
        )

    if n_units:
        row, code = rank(truth)
        if code == 4:  # an item stored twice in a truth row: sum the duplicates, run again
            truth = truth.copy()
            truth.sum_duplicates()
            row, code = rank(truth)
        if code == 3:
            raise SchemaError(
                "truth", "relevance grades must be finite", column="grade", row=int(row)
            )
        if code:
            _raise_bad_row(ranked, n_items, int(row), int(code))
    out: dict[str, np.ndarray] = {}
    for j, m in enumerate(cut_metrics):
        for c, k in enumerate(cutoffs):
            out[f"{m}@{k}"] = res[j, c]
    if do_auc:
        out["auc"] = auc
    return out


def aggregate(per_unit: Mapping[str, np.ndarray], empty: str = "drop") -> dict[str, float]:
    """Mean of each per-unit vector. NaN units (empty truth under ``ranking_metrics(...,
    empty="nan")``) are dropped (``empty="drop"``, default: the mean over units with at least one
    relevant item) or count as 0 (``empty="zero"``: the mean over all units, trec_eval/ranx
    style). With ranking_metrics' default there are no NaN units. All-NaN gives NaN."""
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


def close_gaps(ranked: np.ndarray) -> np.ndarray:
    """``ranked`` with every row's -1 padding moved to the end, the listed items keeping their
    order (a stable partition); the input itself when no row has a gap (the usual case)."""
    pad = ranked < 0
    if ranked.shape[1] < 2 or not (pad[:, :-1] & ~pad[:, 1:]).any():
        return ranked
    order = np.argsort(pad, axis=1, kind="stable")
    return np.ascontiguousarray(np.take_along_axis(ranked, order, axis=1))


def _check_inputs(ranked: np.ndarray, truth: Any) -> tuple[np.ndarray, sp.csr_matrix]:
    """Shapes and dtypes; item ranges, repeats, finite grades and duplicate truth entries are
    checked in the kernel."""
    ranked = np.asarray(ranked)
    if ranked.ndim != 2 or not np.issubdtype(ranked.dtype, np.integer):
        raise SchemaError(
            "ranked", f"must be a 2-D integer array (units × k), got {ranked.dtype} {ranked.shape}"
        )
    # Padding inside a list takes no rank in the kernel itself (no closing pass here).
    ranked = np.ascontiguousarray(ranked, dtype=np.int64)
    if not sp.issparse(truth):
        raise SchemaError("truth", "must be a scipy.sparse CSR matrix (units × items)")
    truth = sp.csr_matrix(truth)
    if truth.shape[0] != ranked.shape[0]:
        raise SchemaError(
            "truth", f"has {truth.shape[0]} rows but ranked has {ranked.shape[0]} units"
        )
    # Duplicate entries and non-finite grades are found by the kernel while it marks each
    # truth row (no separate pass over the truth).
    return ranked, truth


def check_ranked(ranked: np.ndarray, n_items: int, source: str = "ranked") -> np.ndarray:
    """A (units × k) ranked array as C-contiguous int64 with its gaps closed (:func:`close_gaps`),
    or a SchemaError naming the row: 2-D integer, entries in [-1, n_items), no item twice in a
    row (padding -1 may repeat)."""
    ranked = np.asarray(ranked)
    if ranked.ndim != 2 or not np.issubdtype(ranked.dtype, np.integer):
        raise SchemaError(source, f"must be a 2-D integer array, got {ranked.dtype} {ranked.shape}")
    ranked = np.ascontiguousarray(ranked, dtype=np.int64)
    if not ranked.size:
        return ranked
    # The marker holds row numbers: int32 halves its cache footprint whenever they fit.
    mark = np.full(n_items, -1, dtype=np.int32 if ranked.shape[0] < 2**31 else np.int64)
    row, code = kernels().first_bad_row(ranked, mark)
    if code > 0:
        _raise_bad_row(ranked, n_items, int(row), int(code), source)
    return close_gaps(ranked) if code < 0 else ranked


def _raise_bad_row(ranked: np.ndarray, n_items: int, row: int, code: int, source: str = "ranked"):
    items = ranked[row]
    if code == 1:
        bad = int(items[(items < -1) | (items >= n_items)][0])
        raise SchemaError(source, f"item index {bad} outside [-1, {n_items})", row=row)
    values, counts = np.unique(items[items >= 0], return_counts=True)
    raise SchemaError(
        source,
        f"item {int(values[counts > 1][0])} appears more than once in the ranked list "
        "(a list must not repeat an item; -1 is padding)",
        row=row,
    )


def lookup_grades(truth: sp.csr_matrix, block: np.ndarray, start: int) -> np.ndarray:
    """grade[u, j] = max(truth[start + u, block[u, j]], 0); 0 for padding (-1).

    ``block`` holds the ranked lists of units start.. start + len(block); ``truth`` must be in
    canonical CSR form. One scatter/gather through a per-item scratch row: O(nnz + k) per unit
    whatever the catalogue size."""
    block = np.ascontiguousarray(block, dtype=np.int64)
    return kernels().grades(
        block,
        truth.indptr[start : start + block.shape[0] + 1].astype(np.int64),
        truth.indices.astype(np.int64, copy=False),
        truth.data.astype(np.float64, copy=False),
        truth.shape[1],
    )
