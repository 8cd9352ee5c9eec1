"""Report section for evaluated runs (``skewbench evaluate``): every run against every other on
the same judged units, and the exposure Gini per item grouping.

A paired randomization test per pair of runs and metric over the distinct units both runs were
scored on (:func:`skewbench.report.aggregate.paired_tests`), Holm-corrected over all pairs of
one metric. The first run of a pair in name order is the base: Δ = other − base.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import pandas as pd

from skewbench.report import fmt
from skewbench.report.aggregate import (
    BASE_TREATMENT,
    CONDITION,
    UnitCache,
    keyed,
    paired_tests,
)
from skewbench.report.render import Block, Heading, Paragraph, Table
from skewbench.report.significance_blocks import paired_sentence, sig_display
from skewbench.report.spec import TaskReport
from skewbench.runner.store import ResultStore

EVALUATED = "evaluate"  # the data set name of evaluated runs' cells
WORDS = ("is higher than", "is lower than", "is not significantly different from")


def evaluated(data: pd.DataFrame, configs: Mapping[str, dict]) -> pd.DataFrame:
    """The cells of ``data`` that score external runs."""
    mask = [(configs.get(k) or {}).get("dataset", {}).get("name") == EVALUATED for k in data["key"]]
    return data[mask]


def run_pairs_tests(
    store: ResultStore, data: pd.DataFrame, metric: str, cache: UnitCache
) -> pd.DataFrame:
    """Paired tests of every pair of runs (treatment ``none``) per condition, Holm over all."""
    pairs = []
    sub = keyed(data)
    sub = sub[sub["treatment"] == BASE_TREATMENT]
    for key, grp in sub.groupby(CONDITION, dropna=False, sort=True):
        for base, other in combinations(sorted(grp["model"].unique()), 2):
            row = {**dict(zip(CONDITION, key, strict=True)), "model": other, "vs": base}
            pairs.append((row, grp[grp["model"] == other], grp[grp["model"] == base]))
    return paired_tests(store, pairs, metric, cache=cache)


def run_blocks(
    store: ResultStore,
    data: pd.DataFrame,
    configs: Mapping[str, dict],
    task: str,
    spec: TaskReport,
    cache: UnitCache,
) -> list[Block]:
    """Runs against each other (in words and as tables) and exposure Gini per grouping."""
    runs = evaluated(data, configs)
    if runs.empty:
        return []
    blocks: list[Block] = []
    for metric in dict.fromkeys(m for m in (spec.unit_metric, spec.unit_exposure) if m):
        res = run_pairs_tests(store, runs, metric, cache)
        if res.empty:
            continue
        blocks.append(Heading(f"Runs against each other ({metric})", 3))
        for _, r in res.iterrows():
            sentence = paired_sentence(
                r, spec, task, metric, r["vs"], WORDS, f"Δ {fmt.signed(r['delta'])}"
            )
            blocks.append(Paragraph(sentence))
        blocks.append(Table(sig_display(res, spec), sticky=2))
    ginis = [c for c in runs.columns if c.startswith("exposure_gini[") and runs[c].notna().any()]
    if ginis:
        table = runs[["dataset", "model", *ginis]].rename(
            columns={c: c.removeprefix("exposure_gini[").removesuffix("]") for c in ginis}
        )
        for c in table.columns[2:]:
            table[c] = [fmt.num(v) for v in table[c]]
        blocks += [
            Heading("Exposure Gini per item grouping", 3),
            Paragraph(
                "Gini (normaliser n) of the position-weighted exposure summed per group of each "
                "grouping, over every group in the catalogue; 0 = every group equally exposed."
            ),
            Table(table.reset_index(drop=True)),
        ]
    return blocks
