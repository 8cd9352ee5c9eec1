"""The leaderboard: per system of one condition, each metric as ``mean [lo, hi]``.

The interval is the seed t-interval where replicates differ, else the unit bootstrap
(:mod:`skewbench.report.aggregate`); :data:`INTERVAL_NOTE` says so under every leaderboard.
"""

from __future__ import annotations

import pandas as pd

from skewbench.report import fmt
from skewbench.report.aggregate import N_BOOT


def interval_kind(r: pd.Series) -> str:
    if r.get("deterministic") is True:
        return "units (deterministic)"
    if r["n_seeds"] < 2:
        return "units (1 seed)"
    return "seeds (t)"


def leaderboard(merged: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Display table: per system the metrics as ``mean [lo, hi]``.

    The interval is the seed t-interval where replicates differ, else the unit bootstrap (for
    metrics stored per unit; list-level metrics of deterministic cells get no interval).
    """
    cols = [c for c in columns if c in merged.columns]
    rows = []
    for _, r in merged.iterrows():
        kind = interval_kind(r)
        row = {
            "model": r["model"],
            "treatment": r["treatment"],
            "seeds": fmt.num(int(r["n_seeds"])),
            "interval": kind,
            "units": fmt.num(int(r["n_units"])) if pd.notna(r.get("n_units")) else fmt.DASH,
        }
        for c in cols:
            if kind.startswith("units"):
                lo, hi = r.get(f"{c}_blo"), r.get(f"{c}_bhi")
                row[c] = fmt.interval(r[c], lo, hi)
            else:
                row[c] = fmt.interval(r[c], r[f"{c}_lo"], r[f"{c}_hi"])
        rows.append(row)
    return pd.DataFrame(rows)


INTERVAL_NOTE = (
    "[lo, hi] is a 95 % interval. 'seeds (t)': Student-t over the replicate seeds, shown where "
    "the replicates differ. 'units (deterministic)': every seed gave identical per-unit results "
    "(one effective replicate), so the interval is a percentile bootstrap over distinct units "
    f"({N_BOOT:,} seeded resamples) — available only for metrics stored per unit; list-level "
    "metrics (Gini, coverage …) of such cells have no interval. 'units' counts distinct units, "
    "each the mean over the replicates in which it appears."
)


def shown_intervals(merged: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``<metric>_lo/_hi`` replaced by the unit bootstrap where the leaderboard shows it."""
    if f"{metric}_blo" not in merged:
        return merged
    units = merged.apply(lambda r: interval_kind(r).startswith("units"), axis=1)
    out = merged.copy()
    out.loc[units, f"{metric}_lo"] = merged.loc[units, f"{metric}_blo"]
    out.loc[units, f"{metric}_hi"] = merged.loc[units, f"{metric}_bhi"]
    return out
