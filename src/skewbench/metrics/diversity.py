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
  i.e. distance 1 to everything).
- ``novelty`` = mean_u (1/|L_u|) Σ_{i∈L_u} −log2 pop_i (Zhou et al. 2010), with pop_i =
  max(φ_i, 1) / Z, φ = ``item_popularity`` (counts); Z = ``n_users`` when given (popularity =
  share of users, φ = distinct users per item) else Z = Σ_j φ_j (share of interactions). The
  floor of 1 keeps never-seen items finite.
- ``group_coverage[name]`` for each grouping in ``groups``: the share of the labels present in U
  that appear at least once in the lists.

Units with empty lists are left out of every per-list mean.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from skewbench.errors import SchemaError
from skewbench.metrics.exposure import check_ranked, group_codes, item_array, list_item_stats
from skewbench.vectors import unit_rows

_UNIT_CHUNK = 1 << 17
_EMBED_ELEMENTS = 1 << 19  # (units × d) float32 accumulator elements per chunk: 2 MiB


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
) -> dict[str, float]:
    """Coverage, entropy, intra-list diversity, novelty; definitions in the module docstring."""
    ranked = check_ranked(ranked, n_items)
    in_universe = _universe_mask(universe, n_items)
    nan = float("nan")

    stats = list_item_stats(ranked, n_items)
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
    total, n = 0.0, 0
    k = ranked.shape[1]
    # Padding gets distinct negative codes so it never pairs with anything.
    pad_codes = -1 - np.arange(k, dtype=np.int64)
    for s in range(0, ranked.shape[0], _UNIT_CHUNK):
        block = ranked[s : s + _UNIT_CHUNK]
        valid = block >= 0
        c = np.sort(np.where(valid, codes[np.where(valid, block, 0)], pad_codes), axis=1)
        # In a sorted row, position j pairs with (j − start of its run) earlier equal codes.
        pos = np.arange(k)
        run_start = np.maximum.accumulate(
            np.where(
                np.concatenate([np.ones((c.shape[0], 1), bool), c[:, 1:] != c[:, :-1]], 1), pos, 0
            ),
            axis=1,
        )
        same = (pos - run_start).sum(axis=1)
        length = valid.sum(axis=1)
        pairs = length * (length - 1) / 2
        has = length >= 2
        total += float((1.0 - same[has] / pairs[has]).sum())
        n += int(has.sum())
    return total / n if n else float("nan")


def _ild_embedding(ranked: np.ndarray, embeddings: np.ndarray, n_items: int) -> float:
    emb = np.asarray(embeddings)
    if emb.ndim != 2 or emb.shape[0] != n_items:
        raise SchemaError("item_embeddings", f"must be (n_items={n_items}) × d, got {emb.shape}")
    emb = emb.astype(np.float32)
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    unit = unit_rows(emb)
    unit = np.vstack([unit, np.zeros((1, unit.shape[1]), np.float32)])  # row -1 → zero vector
    n_zero = np.count_nonzero(norms[:, 0] == 0)
    k = ranked.shape[1]
    step = max(1, _EMBED_ELEMENTS // max(1, unit.shape[1]))
    total, n = 0.0, 0
    for s in range(0, ranked.shape[0], step):
        block = np.where(ranked[s : s + step] >= 0, ranked[s : s + step], n_items)
        valid = block < n_items
        # Σ_j ê_{L(j)}, one rank at a time: k row gathers of a cache-sized block beat one
        # (units × k × d) gather. float32 sums of ≤ k unit vectors: error ~1e-6.
        summed = unit[block[:, 0]]
        for j in range(1, k):
            summed += unit[block[:, j]]
        length = valid.sum(axis=1).astype(np.float64)
        # Σ_{i≠j} cos = ‖Σ ê‖² − Σ‖ê‖²; ‖ê‖² is 1, or 0 for a zero embedding.
        self_sq = (
            length if n_zero == 0 else (valid & (norms[np.where(valid, block, 0), 0] > 0)).sum(1)
        )
        summed64 = summed.astype(np.float64)
        cos_sum = np.einsum("ij,ij->i", summed64, summed64) - self_sq
        has = length >= 2
        mean_cos = cos_sum[has] / (length[has] * (length[has] - 1))
        total += float((1.0 - mean_cos).sum())
        n += int(has.sum())
    return total / n if n else float("nan")
