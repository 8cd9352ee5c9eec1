r"""Exposure and popularity-bias metrics of a set of ranked lists (one number per system).

``ranked`` is (units × k) int64 item indices, -1 padding; L_u is unit u's list without padding.
Item exposure with position weight w(r), rank r = 1..k:

    E_i = Σ_u Σ_r w(r) · 1[L_u(r) = i],  w(r) = 1 ("uniform"), 1/log2(r+1) ("log", default),
    or p^(r−1) ("geometric", p = ``geometric_p``, default 0.5).

Keys returned (all floats; NaN where undefined, e.g. no tail split given):

- ``exposure_gini``: :func:`gini` of (E_1..E_n) over the whole catalogue of n = ``n_items``
  (never-shown items count as 0), normaliser ``gini_normalizer`` ("n" default, or "n-1").
- ``exposure_vs_relevance``: ½ Σ_i |E_i/ΣE − ρ_i/Σρ| with ρ_i the number of units for which
  item i is relevant in ``truth`` (total-variation distance; 0 = exposure proportional to
  relevance, 1 = disjoint). Needs ``truth``.
- ``arp`` = mean_u Σ_{i∈L_u} φ_i / |L_u| (Abdollahpouri et al. 2019), φ = ``item_popularity``
  as given (e.g. training interactions or distinct users).
- ``aplt`` = mean_u |L_u ∩ Γ| / |L_u| and ``aclt`` = mean_u |L_u ∩ Γ| (Abdollahpouri et al.
  2019), Γ = long-tail items given by the caller as the boolean ``tail``.
- ``poprsp`` / ``popreo``: ranking-based statistical parity / equal opportunity (Zhu, Wang &
  Caverlee 2020; popularity groups as in Zhu et al. 2021) over the groups head = ¬Γ and tail = Γ:
  P_RSP(g) = #{(u, i): i ∈ L_u ∩ g} / #{(u, i): i ∈ g, i not excluded for u} and
  P_REO(g) = #{(u, i): i ∈ L_u ∩ g, i relevant for u} / #{(u, i): i ∈ g, i relevant for u};
  metric = std(P(g))/mean(P(g)) over the groups (population std, ddof = 0), which for two groups
  is |P_head − P_tail| / (P_head + P_tail). 0 = parity. ``exclude`` (e.g. training pairs)
  removes candidate pairs from the RSP denominator; REO needs ``truth``.
- For each grouping ``name`` in ``groups`` (per-item labels; category, brand, price band, …) and
  each label v: ``exposure_share[name=v]`` = Σ_{i∈v} E_i / ΣE, ``catalog_share[name=v]`` =
  |v| / n, ``relevant_share[name=v]`` = Σ_{i∈v} ρ_i / Σρ (needs ``truth``); per grouping
  ``exposure_vs_catalog[name]`` and ``exposure_vs_relevance[name]`` (total-variation distance
  between the group shares), ``rsp[name]`` and ``reo[name]`` (as above over its groups), and
  the inequality between the groups: ``exposure_gini[name]`` = :func:`gini` of the group
  exposures (Σ_{i∈v} E_i for every label v of the catalogue, never-shown groups as 0), beside
  the same Gini of the groups' catalogue sizes ``catalog_gini[name]`` (|v|) and of their
  relevant pairs ``relevant_gini[name]`` (Σ_{i∈v} ρ_i; needs ``truth``).

Units with an empty list are not averaged in ``arp``/``aplt``/``aclt``. A list that repeats an
item is refused (SchemaError naming the row), as in the accuracy metrics. Counts ignore position
weights except E (and everything built from E).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from skewbench.errors import ConfigError, SchemaError
from skewbench.metrics.ranking import _raise_bad_row, close_gaps
from skewbench.metrics.ranking import check_ranked as check_ranked  # its former home

POSITION_WEIGHTS = ("uniform", "log", "geometric")


def position_weights(k: int, scheme: str = "log", geometric_p: float = 0.5) -> np.ndarray:
    """w(r) for r = 1..k: "uniform" 1, "log" 1/log2(r+1), "geometric" p^(r−1)."""
    r = np.arange(1, k + 1, dtype=np.float64)
    if scheme == "uniform":
        return np.ones(k)
    if scheme == "log":
        return 1.0 / np.log2(r + 1.0)
    if scheme == "geometric":
        if not 0.0 < geometric_p <= 1.0:
            raise ConfigError(f"geometric_p: must be in (0, 1], got {geometric_p!r}")
        return geometric_p ** (r - 1.0)
    raise ConfigError(f"position_weight: expected one of {POSITION_WEIGHTS}, got {scheme!r}")


def gini(values: np.ndarray, normalizer: str = "n") -> float:
    r"""Gini coefficient of non-negative values x_1..x_n.

    G = Σ_i (2i − n − 1) x_(i) / (D · Σ x) with x_(i) sorted ascending and D = n
    (``normalizer="n"``, default: the Gini of the empirical distribution, max (n−1)/n) or
    D = n − 1 (``"n-1"``: rescaled so one non-zero value gives 1). All-zero or empty → NaN.
    """
    x = np.sort(np.asarray(values, dtype=np.float64).reshape(-1))
    n = x.size
    if normalizer not in ("n", "n-1"):
        raise ConfigError(f"gini normalizer: expected 'n' or 'n-1', got {normalizer!r}")
    if n == 0 or (normalizer == "n-1" and n < 2):
        return float("nan")
    if (x < 0).any():
        raise SchemaError("gini", "values must be non-negative")
    total = x.sum()
    if total == 0:
        return float("nan")
    coef = 2.0 * np.arange(1, n + 1) - n - 1.0
    denom = n if normalizer == "n" else n - 1
    return float(coef @ x / (denom * total))


def unit_exposure_shares(
    ranked: np.ndarray, member: np.ndarray, position_weight: str = "log"
) -> np.ndarray:
    """Per-unit parts of a group's exposure share, for paired tests over units.

    The list-level share Σ_{i∈v} E_i / ΣE (``exposure_share[name=v]``) is the mean over the U
    units of s_u = U · Σ_r w(r) 1[L_u(r) ∈ v] / ΣE, where ΣE sums w(r) over every filled slot of
    every list (padding −1 is empty; a unit with an empty list gets 0). NaN for every unit when
    no list holds an item. ``member``: one boolean per catalog item.
    """
    ranked = close_gaps(np.asarray(ranked))
    filled = ranked >= 0
    w = position_weights(ranked.shape[1], position_weight)[None, :] * filled
    total = w.sum()
    if total == 0:
        return np.full(ranked.shape[0], np.nan)
    hit = np.asarray(member, dtype=bool)[np.where(filled, ranked, 0)] & filled
    return (w * hit).sum(axis=1) * ranked.shape[0] / total


class ListItemStats(NamedTuple):
    """Per-item sums over the lists: exposure E_i = Σ_u Σ_r w(r) 1[L_u(r) = i], counts
    c_i = Σ_u 1[i ∈ L_u], share_i = Σ_u 1[i ∈ L_u] / |L_u|, the number of non-empty lists, and
    (when computed with ``truth``) hits_i = #units for which i is listed and relevant."""

    exposure: np.ndarray
    counts: np.ndarray
    share: np.ndarray
    n_lists: int
    hits: np.ndarray | None = None


def list_item_stats(
    ranked: np.ndarray,
    n_items: int,
    w: np.ndarray | None = None,
    truth: sp.csr_matrix | sp.csr_array | None = None,
) -> ListItemStats:
    """Every per-item sum the exposure and diversity metrics need, in one pass over the lists
    (a compiled kernel; no (units × k) temporaries), which also validates them: an index outside
    [-1, n_items) or a repeated item raises SchemaError naming the row.

    ``w`` are the position weights (default uniform); ``truth`` (units × items, relevant = grade
    > 0) adds ``hits``. Compute it once and pass it as ``stats=`` to :func:`exposure_metrics`
    and :func:`~skewbench.metrics.diversity.diversity_metrics`."""
    ranked = np.asarray(ranked)
    if ranked.ndim != 2 or not np.issubdtype(ranked.dtype, np.integer):
        raise SchemaError(
            "ranked", f"must be a 2-D integer array, got {ranked.dtype} {ranked.shape}"
        )
    ranked = close_gaps(np.ascontiguousarray(ranked, dtype=np.int64))
    n_units, k = ranked.shape
    w = np.ones(k) if w is None else np.ascontiguousarray(w, dtype=np.float64)
    if w.shape != (k,):
        raise SchemaError("w", f"needs one weight per rank ({k}), got shape {w.shape}")
    if truth is not None:
        truth = _canonical(truth, (n_units, n_items), "truth")
        indptr = truth.indptr.astype(np.int64, copy=False)
        indices = truth.indices.astype(np.int64, copy=False)
        data = truth.data.astype(np.float64, copy=False)
    else:
        indptr = np.zeros(n_units + 1, dtype=np.int64)
        indices, data = np.zeros(0, dtype=np.int64), np.zeros(0)
    exposure, counts, share, hits = (np.zeros(n_items) for _ in range(4))
    n_lists, row, code = _stats_kernel()(
        ranked, n_items, w, indptr, indices, data, exposure, counts, share, hits
    )
    if code:
        _raise_bad_row(ranked, n_items, int(row), int(code))
    return ListItemStats(exposure, counts, share, int(n_lists), hits if truth is not None else None)


def _canonical(matrix: Any, shape: tuple[int, int], name: str) -> sp.csr_matrix:
    matrix = sp.csr_matrix(matrix)
    if matrix.shape != shape:
        raise SchemaError(name, f"shape {matrix.shape}, expected {shape}")
    if not matrix.has_canonical_format:  # lookups need sorted, unique entries
        matrix = matrix.copy()
        matrix.sum_duplicates()
    return matrix


@functools.cache
def _stats_kernel():
    import numba

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def stats(ranked, n_items, w, indptr, indices, data, exposure, counts, share, hits):
        # mark[i]: this unit's relevant truth entry p (a <= p < b), -(u + 2) once listed, else
        # stale; see skewbench.metrics.ranking_kernels for the scheme. One load per list slot.
        mark = np.full(n_items, -1, dtype=np.int64)
        n, k = ranked.shape
        n_lists = 0
        for u in range(n):
            a, b = indptr[u], indptr[u + 1]
            for p in range(a, b):
                if data[p] > 0:
                    mark[indices[p]] = p
            visited = -(u + 2)
            length = 0
            for r in range(k):
                it = ranked[u, r]
                if it < -1 or it >= n_items:
                    return n_lists, u, 1
                if it >= 0:
                    m = mark[it]
                    if m == visited:
                        return n_lists, u, 2
                    mark[it] = visited
                    if a <= m < b:
                        hits[it] += 1.0
                    exposure[it] += w[r]
                    counts[it] += 1.0
                    length += 1
            if length:
                n_lists += 1
                inv = 1.0 / length
                for r in range(k):
                    it = ranked[u, r]
                    if it >= 0:
                        share[it] += inv
        return n_lists, -1, 0

    return stats


def item_array(values: object, n_items: int, name: str) -> np.ndarray:
    """A per-item 1-D array of length n_items, or a SchemaError naming ``name``."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n_items:
        raise SchemaError(name, f"must have one value per item ({n_items}), got shape {arr.shape}")
    return arr


def group_codes(labels: object, n_items: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct labels as str, per-item int code) for a per-item label array."""
    arr = item_array(labels, n_items, f"groups[{name!r}]")
    values, codes = np.unique(arr.astype(str), return_inverse=True)
    return values, codes.reshape(-1)


def exposure_metrics(
    ranked: np.ndarray,
    n_items: int,
    item_popularity: np.ndarray | None = None,
    groups: Mapping[str, np.ndarray] | None = None,
    truth: sp.csr_matrix | sp.csr_array | None = None,
    position_weight: str = "log",
    *,
    tail: np.ndarray | None = None,
    exclude: sp.csr_matrix | sp.csr_array | None = None,
    geometric_p: float = 0.5,
    gini_normalizer: str = "n",
    stats: ListItemStats | None = None,
) -> dict[str, float]:
    """Exposure and popularity-bias metrics; definitions and keys in the module docstring.

    ``stats``: :func:`list_item_stats` of these lists with these position weights (and
    ``truth`` when given), computed once and shared with ``diversity_metrics``; by default it
    is computed here."""
    ranked = np.asarray(ranked)
    if ranked.ndim != 2:
        raise SchemaError("ranked", f"must be a 2-D integer array, got shape {ranked.shape}")
    ranked = close_gaps(ranked)  # padding occupies no rank (as in the accuracy metrics)
    n_units, k = ranked.shape
    w = position_weights(k, position_weight, geometric_p)
    pop = (
        None if item_popularity is None else item_array(item_popularity, n_items, "item_popularity")
    )
    if pop is not None:
        pop = pop.astype(np.float64)
    is_tail = None if tail is None else item_array(tail, n_items, "tail").astype(bool)
    if truth is not None:
        truth = _canonical(truth, (n_units, n_items), "truth")
    if exclude is not None:
        exclude = sp.csr_matrix(exclude)
        if exclude.shape != (n_units, n_items):
            raise SchemaError("exclude", f"shape {exclude.shape}, expected {(n_units, n_items)}")

    if stats is None:
        stats = list_item_stats(ranked, n_items, w, truth)
    else:
        _check_stats(stats, n_items, truth is not None)
    exposure, counts, n_lists = stats.exposure, stats.counts, stats.n_lists
    hit_counts = stats.hits if truth is not None else None

    nan = float("nan")
    out: dict[str, float] = {"exposure_gini": gini(exposure, gini_normalizer)}
    total_e = exposure.sum()
    rel_counts = None
    if truth is not None:
        rel = truth.data > 0
        rel_counts = np.bincount(truth.indices[rel], minlength=n_items).astype(np.float64)
        out["exposure_vs_relevance"] = _tv(exposure, rel_counts)
    else:
        out["exposure_vs_relevance"] = nan
    # Per-list means as item sums: mean_u (1/|L_u|) Σ_{i∈L_u} x_i = Σ_i share_i x_i / #lists.
    out["arp"] = float(stats.share @ pop) / n_lists if pop is not None and n_lists else nan
    out["aplt"] = float(stats.share @ is_tail) / n_lists if is_tail is not None and n_lists else nan
    out["aclt"] = float(counts @ is_tail) / n_lists if is_tail is not None and n_lists else nan

    # Candidate pairs per item: every unit, minus the excluded (unit, item) pairs.
    candidates = np.full(n_items, float(n_units))
    if exclude is not None:
        candidates -= np.bincount(exclude.indices, minlength=n_items)
    if is_tail is not None:
        codes = is_tail.astype(np.int64)
        out["poprsp"] = _parity(counts, candidates, codes, 2)
        out["popreo"] = (
            _parity(hit_counts, rel_counts, codes, 2)
            if rel_counts is not None and hit_counts is not None
            else nan
        )
    else:
        out["poprsp"] = out["popreo"] = nan

    for name, labels in (groups or {}).items():
        values, codes = group_codes(labels, n_items, name)
        g = values.size
        e_group = np.bincount(codes, weights=exposure, minlength=g)
        e_share = _shares(e_group)
        c_share = np.bincount(codes, minlength=g) / n_items
        out[f"exposure_gini[{name}]"] = gini(e_group, gini_normalizer)
        out[f"catalog_gini[{name}]"] = gini(c_share, gini_normalizer)
        for v, es, cs in zip(values, e_share, c_share, strict=True):
            out[f"exposure_share[{name}={v}]"] = float(es)
            out[f"catalog_share[{name}={v}]"] = float(cs)
        out[f"exposure_vs_catalog[{name}]"] = _tv(e_share, c_share)
        out[f"rsp[{name}]"] = _parity(counts, candidates, codes, g)
        if rel_counts is not None and hit_counts is not None:
            r_group = np.bincount(codes, weights=rel_counts, minlength=g)
            r_share = _shares(r_group)
            out[f"relevant_gini[{name}]"] = gini(r_group, gini_normalizer)
            for v, rs in zip(values, r_share, strict=True):
                out[f"relevant_share[{name}={v}]"] = float(rs)
            out[f"exposure_vs_relevance[{name}]"] = _tv(e_share, r_share)
            out[f"reo[{name}]"] = _parity(hit_counts, rel_counts, codes, g)
        else:
            for v in values:
                out[f"relevant_share[{name}={v}]"] = nan
            out[f"exposure_vs_relevance[{name}]"] = out[f"reo[{name}]"] = nan
            out[f"relevant_gini[{name}]"] = nan
    if total_e == 0:  # nothing recommended: shares are undefined
        for key in out:
            if key.startswith("exposure_share["):
                out[key] = nan
    return out


def _check_stats(stats: ListItemStats, n_items: int, need_hits: bool) -> None:
    if not isinstance(stats, ListItemStats) or stats.counts.shape != (n_items,):
        raise SchemaError(
            "stats", f"must be list_item_stats(ranked, {n_items}, ...) of these lists"
        )
    if need_hits and stats.hits is None:
        raise SchemaError("stats", "was computed without truth; pass truth to list_item_stats")


def _shares(x: np.ndarray) -> np.ndarray:
    total = x.sum()
    return x / total if total > 0 else np.full(x.shape, np.nan)


def _tv(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance ½ Σ |a/Σa − b/Σb| (NaN if either sums to 0)."""
    return float(0.5 * np.abs(_shares(np.asarray(a, float)) - _shares(np.asarray(b, float))).sum())


def _parity(num: np.ndarray, den: np.ndarray, codes: np.ndarray, n_groups: int) -> float:
    """std/mean (ddof 0) over groups of P(g) = Σ_{i∈g} num_i / Σ_{i∈g} den_i.

    Groups with an empty denominator are left out; fewer than 2 groups left → NaN."""
    n = np.bincount(codes, weights=num, minlength=n_groups)
    d = np.bincount(codes, weights=den, minlength=n_groups)
    keep = d > 0
    if keep.sum() < 2:
        return float("nan")
    p = n[keep] / d[keep]
    mean = p.mean()
    return float(p.std() / mean) if mean > 0 else float("nan")
