"""``skewbench plan RESULTS``: from a pilot run, how many units (and seeds) each comparison needs.

For every comparison the report tests (each treatment against no treatment, per condition ×
model, on the task's accuracy and exposure metrics), the pilot gives the standard error of the
tested Δ = Σ c_i over its n distinct units, SE = √n · s_c (:mod:`skewbench.report.aggregate`).
Δ's per-unit spread σ = SE · √n does not depend on n, so N units detect a true |Δ| = δ with
power 1 − β at level α/m (Holm over the m comparisons of the family: the level the comparison
must pass were it the only real effect) when (t_{1−α/2m, N−1} + t_{1−β, N−1}) · σ / √N <= δ;
the smallest such N is returned.

Seeds: where the pilot's replicates hold different units (a seeded split or user sample), each
seed adds about n / R new units, so ⌈N / (n / R)⌉ seeds reach N; where every replicate holds the
same units, seeds add none and N is the number of units to evaluate (e.g. ``max_users``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from skewbench.metrics.stats import min_detectable_effect
from skewbench.report import fmt
from skewbench.report.aggregate import (
    ALPHA_SIG,
    POWER,
    UnitCache,
    keyed,
    sesoi_for,
    significance,
    with_conditions,
)
from skewbench.report.spec import REPORTS
from skewbench.runner.store import ResultStore

MAX_UNITS = 10**9


def units_needed(sigma: float, delta: float, alpha: float, power: float = POWER) -> int:
    """Smallest N with (t_{1−α/2, N−1} + t_{power, N−1}) · σ / √N <= δ (N >= 2)."""
    if not (sigma >= 0 and delta > 0) or math.isnan(sigma):
        return 0 if sigma == 0 else -1
    lo, hi = 2, 2
    while float(min_detectable_effect(sigma / math.sqrt(hi), hi, alpha, power)) > delta:
        lo, hi = hi, hi * 2
        if hi > MAX_UNITS:
            return -1
    while lo < hi:  # the MDE falls as N grows: bisect for the first N that reaches δ
        mid = (lo + hi) // 2
        if float(min_detectable_effect(sigma / math.sqrt(mid), mid, alpha, power)) <= delta:
            hi = mid
        else:
            lo = mid + 1
    return lo


def plan(
    output: Path,
    delta: Mapping[str, float] | None = None,
    *,
    power: float = POWER,
    alpha: float = ALPHA_SIG,
) -> pd.DataFrame:
    """One row per pilot comparison: pilot n, Δ, SE, MDE now, the target δ (``delta``: metric →
    |Δ|, key "" for every metric; default each metric's smallest effect of interest) and the
    units and seeds needed to detect it."""
    store_file = output / "results.sqlite"
    if not store_file.is_file():
        raise FileNotFoundError(f"no results store at {store_file}; run the pilot config first")
    rows = []
    with ResultStore(store_file) as store:
        raw = store.table()
        if raw.empty:
            return pd.DataFrame()
        table = with_conditions(raw, store.configs())
        cache: UnitCache = {}
        for task, tgrp in keyed(table).groupby("task"):
            spec = REPORTS[task]
            for metric in dict.fromkeys(m for m in (spec.unit_metric, spec.unit_exposure) if m):
                if metric not in tgrp.columns:
                    continue
                res = significance(store, tgrp, metric, method="t", cache=cache)
                for _, r in res.iterrows():
                    rows.append(_row(r, len(res), delta or {}, power, alpha))
    return pd.DataFrame(rows)


def _row(r: pd.Series, m: int, delta: Mapping[str, float], power: float, alpha: float) -> dict:
    metric, n = str(r["metric"]), int(r["n_units"])
    target = float(delta.get(metric, delta.get("", sesoi_for(metric))))
    sigma = float(r["se"]) * math.sqrt(n)
    need = units_needed(sigma, target, alpha / m, power)
    replicates = int(r["replicates"])
    fixed_units = bool(r["deterministic"]) or replicates < 2
    per_seed = n / max(replicates, 1)
    if need < 0:
        seeds = -1
    elif need <= n or fixed_units:
        seeds = replicates if need <= n else -1
    else:
        seeds = math.ceil(need / per_seed)
    return {
        **{k: r[k] for k in ("task", "dataset", "imbalance", "control", "setting", "model")},
        "treatment": r["treatment"],
        "metric": metric,
        "n_units": n,
        "replicates": replicates,
        "delta": float(r["delta"]),
        "se": float(r["se"]),
        "mde_now": float(min_detectable_effect(r["se"], n, alpha / m, power)),
        "target": target,
        "units_needed": need,
        "seeds_needed": seeds,
        "family": m,
    }


def format_plan(res: pd.DataFrame, power: float = POWER, alpha: float = ALPHA_SIG) -> str:
    """A terminal table and one summary line per metric."""
    if res.empty:
        return "no comparisons to plan: the pilot has no treatment with a 'none' baseline"
    show = pd.DataFrame(
        {
            "dataset": res["dataset"],
            "imbalance": [
                fmt.num(v) if v is not None and not pd.isna(v) else "" for v in res["imbalance"]
            ],
            "model": res["model"],
            "treatment": res["treatment"],
            "metric": res["metric"],
            "n": [fmt.num(int(v)) for v in res["n_units"]],
            "Δ pilot": [fmt.signed(v) for v in res["delta"]],
            "MDE now": [fmt.num(v) for v in res["mde_now"]],
            "target δ": [fmt.num(v) for v in res["target"]],
            "units needed": [_count(v) for v in res["units_needed"]],
            "seeds needed": [_seeds(v) for v in res["seeds_needed"]],
        }
    )
    lines = [show.to_string(index=False), ""]
    for metric, g in res.groupby("metric", sort=True):
        ok = g[g["units_needed"] >= 0]
        worst = int(ok["units_needed"].max()) if not ok.empty else -1
        median = int(np.median(ok["units_needed"])) if not ok.empty else -1
        lines.append(
            f"{metric}: to detect |Δ| >= target with {power:.0%} power at α = {alpha} "
            f"(Holm over {int(g['family'].iloc[0])} comparisons), median "
            f"{_count(median)} and at most {_count(worst)} units per comparison "
            f"(the pilot has {fmt.num(int(g['n_units'].max()))})."
        )
    return "\n".join(lines)


def _count(v: int) -> str:
    return "unreachable" if v < 0 else fmt.num(int(v))


def _seeds(v: int) -> str:
    return "more units per seed" if v < 0 else fmt.num(int(v))
