"""Aggregation over seeds (mean and 95 % CI) and paired significance tests against a base."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from skewbench.metrics.stats import holm, paired_test, seed_ci
from skewbench.runner.store import ResultStore
from skewbench.seeds import make_rng

GROUP = ["task", "dataset", "imbalance", "model", "treatment"]
BASE_TREATMENT = "none"


def summarise(table: pd.DataFrame, metrics: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """Mean and (1−alpha) t-interval over seeds, per (task, dataset, imbalance, model, treatment).

    Columns: the group keys, ``n_seeds``, and ``<metric>``, ``<metric>_lo``, ``<metric>_hi``.
    """
    metrics = [m for m in metrics if m in table.columns]
    rows = []
    keyed = table.assign(
        imbalance=table["imbalance"].astype(object).where(table["imbalance"].notna(), None)
    )
    for key, grp in keyed.groupby(GROUP, dropna=False, sort=True):
        row = dict(zip(GROUP, key, strict=True))
        row["n_seeds"] = len(grp)
        for m in metrics:
            mean, lo, hi = seed_ci(grp[m].to_numpy(dtype=float), alpha=alpha)
            row[m], row[f"{m}_lo"], row[f"{m}_hi"] = mean, lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


UNIT_ID_COLUMNS = ("unit", "user_id", "query_id", "example_id")


def _unit_vector(units: pd.DataFrame, metric: str) -> pd.Series:
    if metric not in units.columns:
        raise KeyError(metric)
    id_col = next((c for c in UNIT_ID_COLUMNS if c in units.columns), None)
    index = units[id_col].to_numpy() if id_col else pd.RangeIndex(len(units))
    return pd.Series(units[metric].to_numpy(dtype=float), index=index)


def _paired_units(
    store: ResultStore, a_keys: dict[int, str], b_keys: dict[int, str], metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit values of two systems, matched by unit id within each shared seed, pooled."""
    a_parts, b_parts = [], []
    for seed, akey in a_keys.items():
        if seed not in b_keys:
            continue
        try:
            a = _unit_vector(store.units(akey), metric)
            b = _unit_vector(store.units(b_keys[seed]), metric)
        except KeyError:
            continue
        a, b = a.align(b, join="inner")
        ok = a.notna() & b.notna()
        a_parts.append(a[ok].to_numpy())
        b_parts.append(b[ok].to_numpy())
    if not a_parts:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(a_parts), np.concatenate(b_parts)


def resamples_for(n_comparisons: int, alpha: float = 0.01, floor: int = 10_000) -> int:
    """Sign flips per test so that Holm over ``n_comparisons`` can still reach ``alpha``.

    A randomization p-value is at least 1/(1 + n_perm), and Holm multiplies the smallest by the
    number of comparisons m; with a fixed 10,000 flips, m > 100 could never be significant at
    0.01. So n_perm = max(10,000, ⌈2m/α⌉): the smallest attainable p_holm is ≤ α/2.
    """
    return max(floor, math.ceil(2 * n_comparisons / alpha))


def _holm_table(
    pending: list[tuple[dict, np.ndarray, np.ndarray]], method: str, rng: np.random.Generator
) -> pd.DataFrame:
    """Test every (row, a, b), then Holm-adjust the p-values over all of them."""
    n_perm = resamples_for(len(pending))
    rows = []
    for row, a, b in pending:
        base_mean = float(b.mean())
        delta = float(a.mean() - base_mean)
        rows.append(
            {
                **row,
                "n_units": len(a),
                "base": base_mean,
                "delta": delta,
                "rel_delta": delta / base_mean if base_mean else math.nan,
                "p": paired_test(a, b, method=method, n_perm=n_perm, rng=rng).pvalue,
            }
        )
    res = pd.DataFrame(rows)
    if not res.empty:
        res["p_holm"] = holm(res["p"].to_numpy())
        res.attrs["n_perm"] = n_perm
    return res


def compare_models(
    store: ResultStore,
    table: pd.DataFrame,
    metric: str,
    base_model: str,
    models: list[str],
    *,
    treatment: str = BASE_TREATMENT,
    method: str = "randomization",
) -> pd.DataFrame:
    """Paired test of each of ``models`` against ``base_model`` (same data, same treatment)."""
    pending = []
    rng = make_rng(0, "report", "models", metric)
    sub = table[table["treatment"] == treatment]
    for key, grp in sub.groupby(["task", "dataset", "imbalance"], dropna=False):
        base = grp[grp["model"] == base_model]
        if base.empty:
            continue
        base_keys = dict(zip(base["seed"], base["key"], strict=True))
        for model in models:
            mgrp = grp[grp["model"] == model]
            a, b = _paired_units(
                store, dict(zip(mgrp["seed"], mgrp["key"], strict=True)), base_keys, metric
            )
            if len(a) < 2:
                continue
            row = {**dict(zip(["task", "dataset", "imbalance"], key, strict=True))}
            row.update({"model": model, "vs": base_model, "metric": metric})
            pending.append((row, a, b))
    return _holm_table(pending, method, rng)


def significance(
    store: ResultStore,
    table: pd.DataFrame,
    metric: str,
    *,
    base: str = BASE_TREATMENT,
    method: str = "randomization",
) -> pd.DataFrame:
    """Paired test of every treatment against ``base``, units pooled over seeds, Holm-corrected.

    Units are matched by their ``unit`` id within a seed (the data split is shared by every model
    and treatment of a replicate), so the test pairs the same user/query/example. Units where
    either side is NaN (e.g. no relevant item) are dropped from that comparison.
    """
    pending = []
    rng = make_rng(0, "report", "significance", metric)
    for key, grp in table.groupby(["task", "dataset", "imbalance", "model"], dropna=False):
        bases = grp[grp["treatment"] == base]
        if bases.empty:
            continue
        base_keys = dict(zip(bases["seed"], bases["key"], strict=True))
        for treatment, tgrp in grp[grp["treatment"] != base].groupby("treatment"):
            t_keys = dict(zip(tgrp["seed"], tgrp["key"], strict=True))
            a, b = _paired_units(store, t_keys, base_keys, metric)
            if len(a) < 2:
                continue
            row = dict(zip(["task", "dataset", "imbalance", "model"], key, strict=True))
            row.update({"treatment": treatment, "metric": metric})
            pending.append((row, a, b))
    return _holm_table(pending, method, rng)
