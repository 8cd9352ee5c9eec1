"""Evaluation of the final lists: per-unit ranking metrics, their means, group means."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from skewbench.metrics.ranking import ranking_metrics

PerList = Callable[[np.ndarray], dict[str, np.ndarray]]


def per_unit_ranking(
    lists: np.ndarray,
    truth: sp.csr_matrix,
    metrics: Sequence[str],
    cutoffs: Sequence[int],
    *,
    empty: str = "zero",
    extra: PerList | None = None,
    n_candidates: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-unit ranking metrics of (units × k) lists, or of (units × samples × k) sampled lists
    of a stochastic policy (then the mean over each unit's samples: the metric's expectation).
    ``extra`` adds per-list values of a (units × k) sample (e.g. the tail share); ``empty``: a
    unit with no relevant item scores 0 (trec_eval) or NaN (see :func:`ranking_metrics`);
    ``n_candidates``: per-unit candidate count of ``auc``."""
    lists = lists[:, None, :] if lists.ndim == 2 else lists
    n_samples = lists.shape[1]
    per_unit: dict[str, np.ndarray] = {}
    for b in range(n_samples):
        sample = lists[:, b, :]
        values = ranking_metrics(
            sample, truth, list(metrics), list(cutoffs), empty=empty, n_candidates=n_candidates
        )
        if extra is not None:
            values.update(extra(sample))
        for name, v in values.items():
            per_unit[name] = per_unit.get(name, 0.0) + v / n_samples
    return per_unit


def unit_means(per_unit: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean over units, NaN units left out; NaN when no unit has a value."""
    return {
        name: float(np.nanmean(v)) if np.any(~np.isnan(v)) else float("nan")
        for name, v in per_unit.items()
    }


def group_mean(values: np.ndarray, mask: np.ndarray) -> float:
    """Mean of the non-NaN ``values`` of the units in ``mask`` (NaN if none)."""
    v = values[mask]
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")
