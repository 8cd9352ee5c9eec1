"""Evaluation sharded by unit, for catalogs and user bases larger than one machine.

Every accuracy metric is per unit, and every exposure, diversity and popularity metric is a
function of per-item sums over lists (:class:`~skewbench.metrics.exposure.ListItemStats`:
position-weighted exposure, counts, share, hits, and the number of lists). So users can be
partitioned into shards that are ranked and scored independently — each worker holds the
fitted model and only its users' rows — and the results merged exactly: the per-unit tables
are concatenated, the per-item sums added. The merged numbers equal an unsharded evaluation
(per-unit values bit for bit; the float sums to rounding, since addition order changes).

``evaluate_sharded(..., map_fn=...)`` takes any ``map``: the builtin (one process), a
process pool's, or :func:`ray_map` (Ray tasks; the model is put in the object store once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp

from skewbench.metrics.exposure import ListItemStats, list_item_stats
from skewbench.metrics.ranking import ranking_metrics
from skewbench.models.recommend.base import rank_users


@dataclass(frozen=True)
class ShardResult:
    """One shard's per-unit metrics (aligned with ``units``) and its per-item sums."""

    units: np.ndarray
    per_unit: dict[str, np.ndarray]
    stats: ListItemStats


def shard_units(units: np.ndarray, n_shards: int) -> list[np.ndarray]:
    """``units`` cut into ``n_shards`` contiguous, near-equal parts (none empty)."""
    n = max(1, min(int(n_shards), len(units)))
    return [part for part in np.array_split(np.asarray(units), n) if part.size]


def evaluate_shard(
    units: np.ndarray,
    model: Any,
    train: sp.csr_matrix,
    truth: sp.csr_matrix,
    k: int,
    metrics: Sequence[str],
    cutoffs: Sequence[int],
    weights: np.ndarray | None = None,
) -> ShardResult:
    """Rank ``units`` with a fitted recommender (training items excluded), then score them."""
    ranked, _ = rank_users(model, train, units, k)
    rows = truth[units]
    per_unit = ranking_metrics(ranked, rows, list(metrics), list(cutoffs))
    return ShardResult(units, per_unit, list_item_stats(ranked, truth.shape[1], weights, rows))


def merge_item_stats(parts: Iterable[ListItemStats]) -> ListItemStats:
    """The per-item sums of several shards' lists: each field added, ``hits`` if all have it."""
    parts = list(parts)
    if not parts:
        raise ValueError("merge_item_stats: no shards")
    hits = [p.hits for p in parts if p.hits is not None]
    return ListItemStats(
        exposure=np.sum([p.exposure for p in parts], axis=0),
        counts=np.sum([p.counts for p in parts], axis=0),
        share=np.sum([p.share for p in parts], axis=0),
        n_lists=sum(p.n_lists for p in parts),
        hits=np.sum(hits, axis=0) if len(hits) == len(parts) else None,
    )


def merge_shards(results: Iterable[ShardResult]) -> ShardResult:
    """One result from many: per-unit tables concatenated in shard order, sums added."""
    results = list(results)
    return ShardResult(
        np.concatenate([r.units for r in results]),
        {key: np.concatenate([r.per_unit[key] for r in results]) for key in results[0].per_unit},
        merge_item_stats(r.stats for r in results),
    )


def evaluate_sharded(
    model: Any,
    train: sp.csr_matrix,
    truth: sp.csr_matrix,
    units: np.ndarray,
    n_shards: int,
    k: int,
    metrics: Sequence[str],
    cutoffs: Sequence[int],
    weights: np.ndarray | None = None,
    map_fn: Callable[..., Iterable[ShardResult]] = map,
) -> ShardResult:
    """:func:`evaluate_shard` over :func:`shard_units`, through ``map_fn``, merged."""
    work = partial(evaluate_shard, model=model, train=train, truth=truth, k=k,
                   metrics=metrics, cutoffs=cutoffs, weights=weights)  # fmt: skip
    return merge_shards(map_fn(work, shard_units(units, n_shards)))


def ray_map(fn: Callable[..., ShardResult], shards: Iterable[np.ndarray]) -> list[ShardResult]:
    """``map`` over Ray tasks (``ray.init`` must have run): the shard function — the model and
    matrices it closes over — is put in the object store once and shared by every task."""
    import ray

    shared = ray.put(fn)

    @ray.remote
    def run(f: Callable[..., ShardResult], shard: np.ndarray) -> ShardResult:
        return f(shard)

    return list(ray.get([run.remote(shared, shard) for shard in shards]))
