r"""Diversity and novelty of a set of ranked lists (one number per system).

``ranked`` is (units × k) int64 item indices, -1 padding; L_u is unit u's list without padding,
c_i = Σ_u 1[i ∈ L_u] the number of lists recommending item i. Keys (NaN where undefined):

- ``coverage`` = |{i ∈ U : c_i > 0}| / |U|; the universe U is the whole catalogue (default) or
  the caller's ``universe`` (boolean mask or item indices, e.g. the items seen in training).
  Recommended items outside U are not counted.
- ``entropy`` = −Σ_i p_i log2 p_i with p_i = c_i / Σ_j c_j (bits; Shannon entropy of the
  recommendation distribution; max log2 of the number of distinct items).
- ``ild_category`` = mean over lists with |L_u| >= 2 of the share of unordered item pairs whose
  categories differ (``item_category``, any per-item labels).
- ``ild_embedding`` = mean over lists with |L_u| >= 2 of the mean pairwise cosine distance
  1 − cos(e_i, e_j) of ``item_embeddings``; computed per list as
  1 − (‖Σ_i ê_i‖² − |L|) / (|L|(|L| − 1)) with ê the L2-normalised rows (a zero vector stays 0,
  i.e. distance 1 to everything); float32 table, float64 sums.
- ``novelty`` = mean_u (1/|L_u|) Σ_{i∈L_u} −log2 pop_i (Zhou et al. 2010), with pop_i =
  max(φ_i, 1) / Z, φ = ``item_popularity`` (counts); Z = ``n_users`` when given (popularity =
  share of users, φ = distinct users per item) else Z = Σ_j φ_j (share of interactions). The
  floor of 1 keeps never-seen items finite.
- ``group_coverage[name]`` for each grouping in ``groups``: the share of the labels present in U
  that appear at least once in the lists.

Units with empty lists are left out of every per-list mean.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np

from skewbench.errors import SchemaError
from skewbench.metrics.exposure import (
    ListItemStats,
    _check_stats,
    group_codes,
    item_array,
    list_item_stats,
)
from skewbench.vectors import unit_rows


def diversity_metrics(
    ranked: np.ndarray,
    n_items: int,
    item_popularity: np.ndarray | None = None,
    item_category: np.ndarray | None = None,
    item_embeddings: np.ndarray | None = None,
    *,
    universe: np.ndarray | None = None,
    groups: Mapping[str, np.ndarray] | None = None,
    n_users: int | None = None,
    stats: ListItemStats | None = None,
) -> dict[str, float]:
    """Coverage, entropy, intra-list diversity, novelty; definitions in the module docstring.

    ``stats``: :func:`~skewbench.metrics.exposure.list_item_stats` of these lists (any position
    weights), e.g. the one already computed for ``exposure_metrics``; computed here if None."""
    if stats is None:
        stats = list_item_stats(ranked, n_items)  # validates the lists too
    else:
        _check_stats(stats, n_items, False)
        ranked = np.asarray(ranked)
        if ranked.ndim != 2 or ranked.size and (ranked.min() < -1 or ranked.max() >= n_items):
            raise SchemaError("ranked", f"must be 2-D with item indices in [-1, {n_items})")
    ranked = np.ascontiguousarray(ranked, dtype=np.int64)
    in_universe = _universe_mask(universe, n_items)
    nan = float("nan")

    counts = stats.counts
    n_u = int(in_universe.sum())
    out: dict[str, float] = {
        "coverage": float(((counts > 0) & in_universe).sum() / n_u) if n_u else nan,
        "entropy": _entropy_bits(counts),
        "ild_category": nan,
        "ild_embedding": nan,
        "novelty": nan,
    }
    if item_category is not None:
        _, codes = group_codes(item_category, n_items, "item_category")
        out["ild_category"] = _ild_category(ranked, codes)
    if item_embeddings is not None:
        out["ild_embedding"] = _ild_embedding(ranked, item_embeddings, n_items)
    if item_popularity is not None:
        pop = item_array(item_popularity, n_items, "item_popularity").astype(np.float64)
        if (pop < 0).any() or not np.isfinite(pop).all():
            raise SchemaError("item_popularity", "counts must be finite and non-negative")
        total = float(n_users) if n_users is not None else float(pop.sum())
        if total > 0:
            info = -np.log2(np.maximum(pop, 1.0) / total)
            out["novelty"] = float(stats.share @ info) / stats.n_lists if stats.n_lists else nan
    for name, labels in (groups or {}).items():
        values, codes = group_codes(labels, n_items, name)
        present = np.bincount(codes[in_universe], minlength=values.size) > 0
        shown = np.bincount(codes[(counts > 0) & in_universe], minlength=values.size) > 0
        out[f"group_coverage[{name}]"] = (
            float(shown.sum() / present.sum()) if present.any() else nan
        )
    return out


def _universe_mask(universe: np.ndarray | None, n_items: int) -> np.ndarray:
    if universe is None:
        return np.ones(n_items, dtype=bool)
    u = np.asarray(universe)
    if u.dtype == bool:
        return item_array(u, n_items, "universe")
    if not np.issubdtype(u.dtype, np.integer) or (u.size and (u.min() < 0 or u.max() >= n_items)):
        raise SchemaError("universe", f"must be a boolean mask or item indices in [0, {n_items})")
    mask = np.zeros(n_items, dtype=bool)
    mask[u] = True
    return mask


def _entropy_bits(counts: np.ndarray) -> float:
    total = counts.sum()
    if total == 0:
        return float("nan")
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


def _ild_category(ranked: np.ndarray, codes: np.ndarray) -> float:
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    total, n = _ild_kernels()[0](ranked, codes, int(codes.max(initial=-1)) + 1)
    return total / n if n else float("nan")


def _ild_embedding(ranked: np.ndarray, embeddings: np.ndarray, n_items: int) -> float:
    emb = np.asarray(embeddings)
    if emb.ndim != 2 or emb.shape[0] != n_items:
        raise SchemaError("item_embeddings", f"must be (n_items={n_items}) × d, got {emb.shape}")
    emb = emb.astype(np.float32)
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    unit = unit_rows(emb)
    total, n = _ild_kernels()[1](ranked, unit, norms[:, 0] > 0)
    return total / n if n else float("nan")


@functools.cache
def _ild_kernels():
    import numba

    jit = numba.njit(cache=True, nogil=True, boundscheck=False)

    @jit
    def ild_category(ranked, codes, n_codes):
        """Σ over lists with ≥ 2 items of the share of item pairs with different codes, and
        the number of such lists. Same-code pairs are counted with a per-code counter."""
        count = np.zeros(max(n_codes, 1), dtype=np.int64)
        total = 0.0
        n = 0
        n_units, k = ranked.shape
        for u in range(n_units):
            same = 0
            length = 0
            for r in range(k):
                it = ranked[u, r]
                if it >= 0:
                    c = codes[it]
                    same += count[c]
                    count[c] += 1
                    length += 1
            for r in range(k):
                it = ranked[u, r]
                if it >= 0:
                    count[codes[it]] = 0
            if length >= 2:
                total += 1.0 - same / (length * (length - 1) / 2.0)
                n += 1
        return total, n

    @jit
    def ild_embedding(ranked, unit, nonzero):
        """Σ over lists with ≥ 2 items of 1 − mean pairwise cosine, via ‖Σ ê‖²: each listed
        row of the normalised table is read once into a float64 accumulator (no gathered copy)."""
        n_units, k = ranked.shape
        d = unit.shape[1]
        acc = np.zeros(d, dtype=np.float64)
        total = 0.0
        n = 0
        for u in range(n_units):
            acc[:] = 0.0
            length = 0
            self_sq = 0
            for r in range(k):
                it = ranked[u, r]
                if it >= 0:
                    length += 1
                    if nonzero[it]:
                        self_sq += 1
                        row = unit[it]
                        for j in range(d):
                            acc[j] += row[j]
            if length >= 2:
                sq = 0.0
                for j in range(d):
                    sq += acc[j] * acc[j]
                # Σ_{i≠j} cos = ‖Σ ê‖² − Σ‖ê‖²; ‖ê‖² is 1, or 0 for a zero embedding.
                total += 1.0 - (sq - self_sq) / (length * (length - 1.0))
                n += 1
        return total, n

    return ild_category, ild_embedding
