"""``skewbench compare RUN_A RUN_B``: the same systems in two result folders, side by side.

Cells are matched on condition × system (task, dataset, imbalance, control, setting, model,
treatment). Per metric: the mean over each run's seeds and the difference B − A; where both runs
stored the metric per unit, a paired randomization test over the units both runs evaluated
(each unit the mean over its replicates within a run), Holm-corrected over all rows.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from skewbench.metrics.stats import holm, paired_test
from skewbench.report import fmt
from skewbench.report import units as U
from skewbench.report.aggregate import GROUP, comparison_rng, resamples_for, with_conditions
from skewbench.report.spec import REPORTS
from skewbench.runner.store import ResultStore


def _open(run: Path) -> ResultStore:
    path = run / "results.sqlite"
    if not path.is_file():
        raise FileNotFoundError(f"no results store at {path}; run a config into {run} first")
    return ResultStore(path)


def _key(r: pd.Series) -> tuple:
    imb = r["imbalance"]
    return tuple(
        None if (c == "imbalance" and (imb is None or pd.isna(imb))) else r[c] for c in GROUP
    )


def compare_runs(run_a: Path, run_b: Path, metrics: list[str] | None = None) -> pd.DataFrame:
    """One row per shared condition × system × metric (default: each task's primary metric and
    its per-unit exposure metric)."""
    with _open(run_a) as sa, _open(run_b) as sb:
        ta = with_conditions(sa.table(), sa.configs())
        tb = with_conditions(sb.table(), sb.configs())
        if ta.empty or tb.empty:
            return pd.DataFrame()
        ga = {k: g for k, g in ta.groupby(ta.apply(_key, axis=1))}
        gb = {k: g for k, g in tb.groupby(tb.apply(_key, axis=1))}
        rows: list[dict[str, Any]] = []
        tests = []
        for key in sorted(set(ga) & set(gb), key=str):
            a, b = ga[key], gb[key]
            spec = REPORTS.get(key[0])
            wanted = metrics or [m for m in (spec.primary, spec.unit_exposure) if m] if spec else []
            fa = {int(s): sa.units(k) for s, k in zip(a["seed"], a["key"], strict=True)}
            fb = {int(s): sb.units(k) for s, k in zip(b["seed"], b["key"], strict=True)}
            for m in wanted:
                if m not in a or m not in b:
                    continue
                row = dict(zip(GROUP, key, strict=True))
                row.update(metric=m, a=float(a[m].mean()), b=float(b[m].mean()))
                row["delta"] = row["b"] - row["a"]
                row.update(n_units=0, p=math.nan)
                first_a, first_b = next(iter(fa.values())), next(iter(fb.values()))
                if m in first_a and m in first_b:
                    ua = U.unit_means(fa, [m])[m].dropna()
                    ub = U.unit_means(fb, [m])[m].dropna()
                    ua, ub = ua.align(ub, join="inner")
                    if len(ua) >= 2:
                        tests.append((len(rows), ub.to_numpy(), ua.to_numpy()))
                        row["n_units"] = len(ua)
                rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    n_perm = resamples_for(max(1, len(tests)))
    for i, x, y in tests:
        labels = {c: out.at[i, c] for c in [*GROUP, "metric"]}
        rng = comparison_rng("compare", labels)
        out.at[i, "p"] = paired_test(x, y, "randomization", rng=rng, n_perm=n_perm).pvalue
    out["p_holm"] = holm(out["p"].to_numpy(dtype=float))
    return out


def format_comparison(res: pd.DataFrame, name_a: str, name_b: str) -> str:
    """A terminal table (3 significant digits; one line per row)."""
    if res.empty:
        return "no condition × system in common between the two runs"
    show = pd.DataFrame(
        {
            "task": res["task"],
            "dataset": res["dataset"],
            "imbalance": [
                fmt.num(v) if v is not None and not pd.isna(v) else "" for v in res["imbalance"]
            ],
            "control": res["control"],
            "model": res["model"],
            "treatment": res["treatment"],
            "metric": res["metric"],
            name_a: [fmt.num(v) for v in res["a"]],
            name_b: [fmt.num(v) for v in res["b"]],
            "Δ (B−A)": [fmt.signed(v) for v in res["delta"]],
            "units": [fmt.num(int(v)) if v else fmt.DASH for v in res["n_units"]],
            "p_holm": [fmt.pvalue(v) for v in res["p_holm"]],
        }
    )
    show = show.loc[:, [c for c in show.columns if c != "control" or show[c].astype(bool).any()]]
    return show.to_string(index=False)
