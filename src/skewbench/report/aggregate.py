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


def significance(
    store: ResultStore,
    table: pd.DataFrame,
    metric: str,
    *,
    base: str = BASE_TREATMENT,
    method: str = "randomization",
    n_resamples: int = 10_000,
) -> pd.DataFrame:
    """Paired test of every treatment against ``base``, units pooled over seeds, Holm-corrected.

    Units are matched by their ``unit`` id within a seed (the data split is shared by every model
    and treatment of a replicate), so the test pairs the same user/query/example. Units where
    either side is NaN (e.g. no relevant item) are dropped from that comparison.
    """
    out = []
    rng = make_rng(0, "report", "significance", metric)
    for key, grp in table.groupby(["task", "dataset", "imbalance", "model"], dropna=False):
        bases = grp[grp["treatment"] == base]
        if bases.empty:
            continue
        base_keys = dict(zip(bases["seed"], bases["key"], strict=True))
        for treatment, tgrp in grp[grp["treatment"] != base].groupby("treatment"):
            a_parts, b_parts = [], []
            for seed, tkey in zip(tgrp["seed"], tgrp["key"], strict=True):
                if seed not in base_keys:
                    continue
                try:
                    a = _unit_vector(store.units(tkey), metric)
                    b = _unit_vector(store.units(base_keys[seed]), metric)
                except KeyError:
                    continue
                a, b = a.align(b, join="inner")
                ok = a.notna() & b.notna()
                a_parts.append(a[ok].to_numpy())
                b_parts.append(b[ok].to_numpy())
            if not a_parts or sum(len(p) for p in a_parts) < 2:
                continue
            a_all, b_all = np.concatenate(a_parts), np.concatenate(b_parts)
            p = paired_test(a_all, b_all, method=method, n_perm=n_resamples, rng=rng).pvalue
            base_mean = float(b_all.mean())
            delta = float(a_all.mean() - base_mean)
            out.append(
                {
                    **dict(zip(["task", "dataset", "imbalance", "model"], key, strict=True)),
                    "treatment": treatment,
                    "metric": metric,
                    "n_units": len(a_all),
                    "base": base_mean,
                    "delta": delta,
                    "rel_delta": delta / base_mean if base_mean else math.nan,
                    "p": p,
                }
            )
    res = pd.DataFrame(out)
    if not res.empty:
        res["p_holm"] = holm(res["p"].to_numpy())
    return res
