"""The report's plots section: each metric against the imbalance level, and the accuracy–exposure
trade-off per condition (drawn by :mod:`skewbench.report.plots`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from skewbench.report.conditions import (
    by_condition,
    condition_label,
    higher_is_better,
    imbalance_text,
)
from skewbench.report.leaderboard import shown_intervals
from skewbench.report.plots import metric_vs_imbalance, pareto
from skewbench.report.render import Block, Figure, Heading, Paragraph, file_name
from skewbench.report.spec import TaskReport


def _plot_name(*parts: object) -> str:
    name = "_".join(str(p) for p in parts if p not in (None, ""))
    return file_name(name, ".svg")


def plot_blocks(merged: pd.DataFrame, task: str, spec: TaskReport, out: Path) -> list[Block]:
    inner: list[Block] = []
    skewed = merged[merged["control"] == ""]
    for metric in spec.vs_imbalance:
        for (dataset, setting), grp in skewed.groupby(["dataset", "setting"], sort=True):
            title = (
                f"{dataset}{', ' + setting if setting else ''}: {metric} vs {spec.imbalance_name}"
            )
            path = metric_vs_imbalance(
                shown_intervals(grp, metric),
                metric,
                out / _plot_name(task, dataset, setting, metric, "vs_imbalance"),
                title,
                higher_is_better(metric),
                xlabel=str(spec.imbalance_name),
                log_x=task == "categorize",
            )
            if path:
                inner.append(Figure(path))
    for acc, exp in spec.tradeoff:
        for cond, grp in by_condition(merged):
            path = pareto(
                grp,
                acc,
                exp,
                out
                / _plot_name(
                    task,
                    cond["dataset"],
                    imbalance_text(cond["imbalance"]),
                    cond["control"],
                    cond["setting"],
                    acc,
                    "vs",
                    exp,
                ),
                f"{task} — {condition_label(cond, spec)}",
                exp_higher_better=higher_is_better(exp),
            )
            if path:
                inner.append(Figure(path))
    if not inner:
        return []
    note = Paragraph(
        "One condition per plot. Bands: the 95 % interval the leaderboard shows for that cell "
        "(seed t-interval, or unit bootstrap for deterministic cells). Pareto plots: numbered "
        "points are explained below each plot; squares are the untreated baselines.",
        style="note",
    )
    return [Heading("Plots", 3), note, *inner]
