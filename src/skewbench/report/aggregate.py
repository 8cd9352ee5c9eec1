"""Aggregation over replicates and paired significance tests, each unit counted once.

A *condition* is everything that defines the data a system is evaluated on: task, dataset,
imbalance level, matched control (``control``, "" for the skewed/natural data) and any task
option that differs between cells of the same data set (``setting``, e.g. a candidate pool
size). A *system* is a model × treatment. Tables and tests never mix conditions.

Two kinds of interval:
- **seed t-interval**: mean ± t_{1−α/2, s−1} · sd / √s over the s replicate seeds (cell means);
  meaningful only when replicates differ.
- **unit bootstrap**: percentile interval of the mean over distinct units, each unit being its
  mean over the replicates it appears in; B = ``N_BOOT`` resamples of units with replacement,
  seeded from the condition and system names. The only honest interval for deterministic cells.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd

from skewbench.metrics.stats import (
    bootstrap_ci,
    bootstrap_cis,
    equivalence_p,
    holm,
    min_detectable_effect,
    one_sample_test,
    seed_ci,
    sum_se,
)
from skewbench.report import fmt
from skewbench.report import units as U
from skewbench.runner.store import ResultStore
from skewbench.seeds import make_rng

CONDITION = ["task", "dataset", "imbalance", "control", "setting"]
SYSTEM = ["model", "treatment"]
GROUP = CONDITION + SYSTEM
BASE_TREATMENT = "none"
ALPHA_SIG = 0.01  # the significance level the report marks (on Holm-corrected p-values)
POWER = 0.8  # the power at which minimum detectable effects are stated
N_BOOT = 2000  # unit-bootstrap resamples (>= 1,000: percentile tails of a 95 % CI settle)

UnitCache = dict[str, pd.DataFrame]

# Smallest effect of interest: equivalence (TOST) is tested against ±this absolute Δ. Every
# metric the report tests is a share or rate in [0, 1], where 0.01 (one point) is the usual
# smallest difference a results table would call real. A run config's ``sesoi:`` overrides it
# per metric (0 switches equivalence off for that metric); build_report sets it per report.
DEFAULT_SESOI = 0.01
SESOI: ContextVar[Mapping[str, float] | None] = ContextVar("SESOI", default=None)


def sesoi_for(metric: str) -> float:
    """The declared smallest effect of interest of ``metric`` (``DEFAULT_SESOI`` if none)."""
    return float((SESOI.get() or {}).get(metric, DEFAULT_SESOI))


def with_conditions(table: pd.DataFrame, configs: Mapping[str, dict] | None = None) -> pd.DataFrame:
    """``table`` with the condition columns present: ``control`` ("" when absent) and
    ``setting`` — the task options (from ``configs``, cell key → ``Cell.to_dict()``) whose values
    differ between cells of one task and data set, as "name=value" text ("" when none differ)."""
    out = table.copy()
    if "control" not in out.columns:
        out["control"] = ""
    out["control"] = out["control"].fillna("").astype(str)
    out["setting"] = ""
    if configs and not out.empty:
        opts = [configs.get(k, {}).get("options", {}) or {} for k in out["key"]]
        flat = pd.DataFrame([{n: repr(v) for n, v in o.items()} for o in opts], index=out.index)
        for _, idx in out.groupby(["task", "dataset"]).groups.items():
            sub = flat.loc[idx]
            varying = [c for c in sub.columns if sub[c].fillna("default").nunique() > 1]
            if varying:
                labels = sub[varying].fillna("default")
                out.loc[idx, "setting"] = [
                    ",".join(f"{c}={v}" for c, v in zip(varying, row, strict=True))
                    for row in labels.itertuples(index=False)
                ]
    return out


def keyed(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` ready to group by ``CONDITION``: control and setting present, and a natural
    (NaN) imbalance as ``None`` so it groups as a value instead of vanishing."""
    t = table.assign(
        control=table["control"].fillna("").astype(str) if "control" in table.columns else "",
        setting=table["setting"] if "setting" in table.columns else "",
    )
    return t.assign(imbalance=t["imbalance"].astype(object).where(t["imbalance"].notna(), None))


def summarise(table: pd.DataFrame, metrics: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """Mean and (1−alpha) t-interval over replicate seeds, per condition × system.

    Columns: ``GROUP``, ``n_seeds``, and ``<metric>``, ``<metric>_lo``, ``<metric>_hi``.
    """
    metrics = [m for m in metrics if m in table.columns]
    rows = []
    for key, grp in keyed(table).groupby(GROUP, dropna=False, sort=True):
        row = dict(zip(GROUP, key, strict=True))
        row["n_seeds"] = len(grp)
        for m in metrics:
            mean, lo, hi = seed_ci(grp[m].to_numpy(dtype=float), alpha=alpha)
            row[m], row[f"{m}_lo"], row[f"{m}_hi"] = mean, lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


def _frames(
    store: ResultStore, keys: Mapping[int, str], cache: UnitCache
) -> dict[int, pd.DataFrame]:
    out = {}
    for seed, key in keys.items():
        if key not in cache:
            cache[key] = store.units(key)
        out[int(seed)] = cache[key]
    return out


def _seed_keys(grp: pd.DataFrame) -> dict[int, str]:
    return dict(zip(grp["seed"].astype(int), grp["key"], strict=True))


def frames_of(store: ResultStore, cells: pd.DataFrame, cache: UnitCache) -> dict[int, pd.DataFrame]:
    """The per-unit tables of one system's cells (one per seed), read once per report."""
    return _frames(store, _seed_keys(cells), cache)


def unit_summary(
    store: ResultStore,
    table: pd.DataFrame,
    metrics: list[str] | None = None,
    *,
    alpha: float = 0.05,
    n_boot: int = N_BOOT,
    cache: UnitCache | None = None,
) -> pd.DataFrame:
    """Per condition × system: replicate facts and unit-bootstrap intervals.

    Columns: ``GROUP``, ``n_seeds``, ``deterministic`` (True: all replicates' per-unit tables
    identical; False: they differ; None: one replicate), ``n_units`` (distinct units), and per
    per-unit metric ``<m>_units`` (mean over distinct units of each unit's replicate mean),
    ``<m>_blo`` / ``<m>_bhi`` (percentile bootstrap, ``n_boot`` resamples of units).
    ``metrics=None``: every numeric per-unit column.
    """
    cache = {} if cache is None else cache
    rows = []
    for key, grp in keyed(table).groupby(GROUP, dropna=False, sort=True):
        row = dict(zip(GROUP, key, strict=True))
        frames = _frames(store, _seed_keys(grp), cache)
        first = next(iter(frames.values()))
        cols = [m for m in (metrics or U.unit_metric_columns(first)) if m in first.columns]
        means = U.unit_means(frames, cols)
        row.update(n_seeds=len(frames), deterministic=U.deterministic(frames), n_units=len(means))
        # Metrics defined for every unit share one set of resampled units (one stream per
        # system); a metric with undefined units resamples its defined ones on its own stream.
        full = [m for m in cols if not means[m].isna().any()]
        if full:
            rng = make_rng(0, "report", "bootstrap", *map(str, key))
            lo, hi = bootstrap_cis(means[full].to_numpy(), n_boot=n_boot, alpha=alpha, rng=rng)
            for j, m in enumerate(full):
                row[f"{m}_blo"], row[f"{m}_bhi"] = float(lo[j]), float(hi[j])
        for m in cols:
            v = means[m].to_numpy()
            if m not in full:
                rng = make_rng(0, "report", "bootstrap", m, *map(str, key))
                lo_m, hi_m = bootstrap_ci(v, n_boot=n_boot, alpha=alpha, rng=rng)
                row[f"{m}_blo"], row[f"{m}_bhi"] = lo_m, hi_m
            row[f"{m}_units"] = float(np.nanmean(v)) if np.any(~np.isnan(v)) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def resamples_for(n_comparisons: int, alpha: float = 0.01, floor: int = 10_000) -> int:
    """Sign flips per test so that Holm over ``n_comparisons`` can still reach ``alpha``.

    A randomization p-value is at least 1/(1 + n_perm), and Holm multiplies the smallest by the
    number of comparisons m; with a fixed 10,000 flips, m > 100 could never be significant at
    0.01. So n_perm = max(10,000, ⌈2m/α⌉): the smallest attainable p_holm is ≤ α/2.
    """
    return max(floor, math.ceil(2 * n_comparisons / alpha))


def comparison_rng(metric: str, row: Mapping[str, object]) -> np.random.Generator:
    """The sign-flip stream of one comparison: derived from its names, so a comparison's p-value
    does not depend on which other comparisons the report makes."""
    return make_rng(0, "report", "paired", metric, *(str(v) for v in row.values()))


def _holm_table(
    pending: list[tuple[dict, pd.Series, dict]], metric: str, method: str
) -> pd.DataFrame:
    """Test every (row, unit shares c, extra), then adjust them as one family
    (:func:`adjust_family`). Δ printed = Σ c_i, the statistic the sign flips act on."""
    n_perm = resamples_for(len(pending))
    sesoi = sesoi_for(metric)
    rows = []
    for row, c, extra in pending:
        extra = dict(extra)
        v = c.to_numpy(dtype=float)
        delta = float(v.sum())
        base_mean = float(extra.pop("cell_base", math.nan))
        res = one_sample_test(v, method=method, n_perm=n_perm, rng=comparison_rng(metric, row))
        rows.append(
            {
                **row,
                "metric": metric,
                "n_units": res.n,
                **extra,
                "base": base_mean,
                "delta": delta,
                "rel_delta": delta / base_mean if base_mean else math.nan,
                "p": res.pvalue,
                "se": sum_se(v),
                "sesoi": sesoi,
                "p_equiv": equivalence_p(v, sesoi) if sesoi else math.nan,
            }
        )
    out = adjust_family(pd.DataFrame(rows))
    if not out.empty:
        out.attrs["n_perm"] = n_perm
        out.attrs["method"] = method
    return out


def adjust_family(tests: pd.DataFrame) -> pd.DataFrame:
    """Holm over the rows of ``tests`` as one family of m comparisons: ``p_holm`` and
    ``p_equiv_holm`` (TOST against ±``sesoi``), and ``mde``, the minimum detectable |Δ| at 80 %
    power and level α/m (``ALPHA_SIG`` over m: the level a comparison must pass were it the
    family's only real effect), from each row's ``se`` = SE(Σ c_i) = √n · s_c."""
    if tests.empty:
        return tests
    out = tests.copy()
    m = len(out)
    out["p_holm"] = holm(out["p"].to_numpy(dtype=float))
    out["p_equiv_holm"] = holm(out["p_equiv"].to_numpy(dtype=float))
    out["mde"] = min_detectable_effect(
        out["se"].to_numpy(dtype=float), out["n_units"].to_numpy(), ALPHA_SIG / m, POWER
    )
    return out


def equivalence_bound(row: Mapping[str, object]) -> float | None:
    """The smallest effect of interest x where the comparison's TOST rejects |Δ| >= x (Holm,
    ``ALPHA_SIG``), else None; it can hold for a significant Δ too (a real but negligible one)."""
    pe = float(row.get("p_equiv_holm", math.nan))  # type: ignore[arg-type]
    return float(row["sesoi"]) if pe < ALPHA_SIG else None  # type: ignore[arg-type]


def null_phrase(row: Mapping[str, object]) -> str:
    """What a non-significant comparison can still say: "equivalent within ±x" when TOST
    rejects |Δ| >= x (Holm, ``ALPHA_SIG``), else the minimum detectable effect; "" when the
    comparison is significant."""
    p = float(row["p_holm"])  # type: ignore[arg-type]
    if p < ALPHA_SIG:
        return ""
    bound = equivalence_bound(row)
    if bound is not None:
        return f"equivalent within ±{bound:.3g}"
    return f"MDE ±{fmt.num(float(row.get('mde', math.nan)))}"  # type: ignore[arg-type]


def _pair(
    store: ResultStore, a_grp: pd.DataFrame, b_grp: pd.DataFrame, metric: str, cache: UnitCache
) -> tuple[pd.Series, dict]:
    fa, fb = _frames(store, _seed_keys(a_grp), cache), _frames(store, _seed_keys(b_grp), cache)
    c, shared = U.paired_contributions(fa, fb, metric)
    det = [U.deterministic(fa), U.deterministic(fb)]
    extra: dict[str, Any] = {
        "replicates": shared,
        "deterministic": bool(all(det)) if None not in det else None,
    }
    seeds = set(a_grp["seed"]) & set(b_grp["seed"])
    if metric in a_grp.columns and metric in b_grp.columns and seeds:
        ma = a_grp[a_grp["seed"].isin(seeds)].groupby("seed")[metric].mean().astype(float)
        mb = b_grp[b_grp["seed"].isin(seeds)].groupby("seed")[metric].mean().astype(float)
        ca, cb = float(ma.mean()), float(mb.mean())
        # The seed part of Δ's variation: the SD of the per-seed Δ_r (NaN with one seed); the
        # unit part is the test's SE of Σ c_i.
        extra["seed_sd"] = float((ma - mb).std(ddof=1)) if len(seeds) > 1 else math.nan
        if np.isfinite(ca) and np.isfinite(cb):
            # The cells' own Δ, kept to check that the tested Σ c_i is the difference the
            # leaderboards show (they differ only where a metric is undefined for a unit in
            # one system but not the other).
            extra["cell_base"], extra["cell_delta"] = float(cb), float(ca - cb)
    return c, extra


def paired_tests(
    store: ResultStore,
    pairs: list[tuple[dict, pd.DataFrame, pd.DataFrame]],
    metric: str,
    *,
    method: str = "randomization",
    cache: UnitCache | None = None,
) -> pd.DataFrame:
    """Paired test of each (row, system a's cells, system b's cells), Holm over all of them.

    Units are matched by id within each replicate both systems hold (units where either side
    is NaN dropped from that replicate's pair); each distinct unit enters once, as its share
    c_i of Δ (:func:`skewbench.report.units.paired_contributions`), and the test flips the
    signs of the c_i, so it tests exactly the Δ printed. Pairs with fewer than two units are
    left out.
    """
    cache = {} if cache is None else cache
    pending = []
    for row, a_grp, b_grp in pairs:
        c, extra = _pair(store, a_grp, b_grp, metric, cache)
        if len(c) >= 2:
            pending.append((row, c, extra))
    return _holm_table(pending, metric, method)


def compare_models(
    store: ResultStore,
    table: pd.DataFrame,
    metric: str,
    base_model: str,
    models: list[str],
    *,
    treatment: str = BASE_TREATMENT,
    method: str = "randomization",
    cache: UnitCache | None = None,
) -> pd.DataFrame:
    """Paired test of each of ``models`` against ``base_model`` (same condition and treatment),
    over distinct units (:func:`paired_tests`), Holm-corrected."""
    pairs = []
    data = keyed(table)
    sub = data[data["treatment"] == treatment]
    for key, grp in sub.groupby(CONDITION, dropna=False, sort=True):
        base = grp[grp["model"] == base_model]
        if base.empty:
            continue
        for model in models:
            mgrp = grp[grp["model"] == model]
            if not mgrp.empty:
                row = {**dict(zip(CONDITION, key, strict=True)), "model": model, "vs": base_model}
                pairs.append((row, mgrp, base))
    return paired_tests(store, pairs, metric, method=method, cache=cache)


def significance(
    store: ResultStore,
    table: pd.DataFrame,
    metric: str,
    *,
    base: str = BASE_TREATMENT,
    method: str = "randomization",
    cache: UnitCache | None = None,
) -> pd.DataFrame:
    """Paired test of every treatment against ``base``, per condition × model, over distinct
    units (:func:`paired_tests`; every model and treatment of a replicate sees the same split),
    Holm-corrected."""
    pairs = []
    for key, grp in keyed(table).groupby([*CONDITION, "model"], dropna=False, sort=True):
        bases = grp[grp["treatment"] == base]
        if bases.empty:
            continue
        for treatment, tgrp in grp[grp["treatment"] != base].groupby("treatment", sort=True):
            row = dict(zip([*CONDITION, "model"], key, strict=True))
            row["treatment"] = treatment
            pairs.append((row, tgrp, bases))
    return paired_tests(store, pairs, metric, method=method, cache=cache)
