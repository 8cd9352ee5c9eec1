"""``skewbench plan RESULTS``: from a pilot run, how many units (and seeds) each comparison needs.

For every comparison the report tests (:func:`comparison_families`: each treatment against no
treatment on the task's accuracy and exposure metrics, model contrasts, one-factor contrasts, an
LLM against its first stage), the pilot gives the standard error of the
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

from skewbench.errors import ConfigError
from skewbench.metrics.stats import min_detectable_effect
from skewbench.report import fmt
from skewbench.report.aggregate import (
    ALPHA_SIG,
    BASE_TREATMENT,
    POWER,
    UnitCache,
    compare_models,
    keyed,
    sesoi_for,
    significance,
    with_conditions,
)
from skewbench.report.build import task_spec
from skewbench.report.contrast import factor_tests
from skewbench.report.llm_blocks import contrast_table, model_params
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


OBSERVED = "observed"  # a target δ that is each comparison's own pilot |Δ|


def comparison_families(
    store: ResultStore,
    table: pd.DataFrame,
    configs: Mapping[str, dict],
    method: str = "t",
    versus: str | None = None,
) -> list[pd.DataFrame]:
    """Every family of paired tests the report makes on ``table`` (conditions marked), each as
    its own Holm family: per task, each treatment against none on the accuracy and the exposure
    metric; the task's model contrast; each one-factor contrast per metric; each LLM against its
    first stage. With ``versus`` (a model label), also every other untreated model against it,
    per metric (:func:`~skewbench.report.aggregate.compare_models`). Model rows name the base
    in ``vs``; treatment rows have no ``vs``."""
    cache: UnitCache = {}
    out: list[pd.DataFrame] = []
    for task, tgrp in keyed(table).groupby("task"):
        task = str(task)
        spec = task_spec(task, tgrp, dict(configs))
        families = {
            m: significance(store, tgrp, m, method=method, cache=cache)
            for m in dict.fromkeys(m for m in (spec.unit_metric, spec.unit_exposure) if m)
            if m in tgrp.columns
        }
        out += families.values()
        if spec.model_contrast and spec.unit_metric:
            base, prefixes = spec.model_contrast
            models = sorted(m for m in tgrp["model"].unique() if str(m).startswith(prefixes))
            out.append(
                compare_models(
                    store, tgrp, spec.unit_metric, base, models, method=method, cache=cache
                )
            )
        out += factor_tests(store, tgrp, configs, task, spec, cache, families, method)
        out.append(contrast_table(store, tgrp, model_params(tgrp, dict(configs))))
        if versus is not None and versus in set(tgrp["model"]):
            others = sorted(str(m) for m in tgrp["model"].unique() if m != versus)
            out += [
                compare_models(store, tgrp, m, versus, others, method=method, cache=cache)
                for m in families
            ]
    return [f for f in out if not f.empty]


def plan(
    output: Path,
    delta: Mapping[str, float | str] | None = None,
    *,
    power: float = POWER,
    alpha: float = ALPHA_SIG,
    versus: str | None = None,
) -> pd.DataFrame:
    """One row per comparison the report tests on the pilot (:func:`comparison_families`; with
    ``versus``, also each untreated model against that one): pilot n, Δ, SE, MDE now, the
    target δ (``delta``: metric → |Δ| or ``OBSERVED`` for the pilot's own |Δ|, key "" for every
    metric; default each metric's smallest effect of interest) and the units and seeds needed
    to detect it."""
    store_file = output / "results.sqlite"
    if not store_file.is_file():
        raise FileNotFoundError(f"no results store at {store_file}; run the pilot config first")
    rows = []
    with ResultStore(store_file) as store:
        raw = store.table()
        if raw.empty:
            return pd.DataFrame()
        configs = store.configs()
        if versus is not None and versus not in set(raw["model"]):
            known = ", ".join(sorted(set(raw["model"].astype(str))))
            raise ConfigError(f"--versus: no model {versus!r} in {output}; its models: {known}")
        table = with_conditions(raw, configs)
        for family in comparison_families(store, table, configs, versus=versus):
            for _, r in family.iterrows():
                rows.append(_row(r, len(family), delta or {}, power, alpha))
    return pd.DataFrame(rows)


def _row(
    r: pd.Series, m: int, delta: Mapping[str, float | str], power: float, alpha: float
) -> dict:
    metric, n = str(r["metric"]), int(r["n_units"])
    wanted = delta.get(metric, delta.get("", sesoi_for(metric)))
    target = abs(float(r["delta"])) if wanted == OBSERVED else float(wanted)
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
    vs = r.get("vs")
    return {
        **{k: r[k] for k in ("task", "dataset", "imbalance", "control", "setting")},
        "model": r.get("model", ""),
        "treatment": r.get("treatment", BASE_TREATMENT),  # model contrasts: untreated
        "vs": vs if isinstance(vs, str) else BASE_TREATMENT,
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
            "vs": res["vs"],
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
            f"(Holm within each comparison's family), median "
            f"{_count(median)} and at most {_count(worst)} units per comparison "
            f"(the pilot has {fmt.num(int(g['n_units'].max()))})."
        )
    return "\n".join(lines)


def _count(v: int) -> str:
    return "unreachable" if v < 0 else fmt.num(int(v))


def _seeds(v: int) -> str:
    return "more units per seed" if v < 0 else fmt.num(int(v))
