"""Categorize-only report sections: the majority-weighting scheme α_k ∝ N_k/(N−N_k) against
no weighting and inverse-frequency weights, and per-epoch learning curves."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from skewbench.report import fmt
from skewbench.report.aggregate import BASE_TREATMENT
from skewbench.report.render import Block, Figure, Heading, Paragraph, Table, file_name
from skewbench.report.spec import TaskReport

# The class-weight scheme α_k ∝ N_k/(N−N_k), under either name it has been stored with.
MAJORITY_WEIGHTED = ("majority_weighted", "source_formula")
MAJORITY_WEIGHTED_TITLE = "Weights α_k ∝ N_k/(N−N_k) (the majority class gets the larger weight)"


def majority_weighted_blocks(merged: pd.DataFrame, spec: TaskReport) -> list[Block]:
    """The weighting α_k ∝ N_k/(N−N_k) against none and inverse-frequency, at the largest ρ."""
    names = [f"class_weight(scheme={s})" for s in MAJORITY_WEIGHTED]
    wanted = [BASE_TREATMENT, "class_weight(scheme=inverse)", *names]
    if not merged["treatment"].isin(names).any() or "recall_tail" not in merged:
        return []
    top = merged["imbalance"].dropna().astype(float).max()
    sub = merged[merged["treatment"].isin(wanted) & (merged["control"] == "")]
    sub = sub[sub["imbalance"].astype(float) == top] if not math.isnan(top) else sub
    if sub.empty:
        return []
    tab = pd.DataFrame(
        {
            "dataset": sub["dataset"],
            "model": sub["model"],
            "treatment": sub["treatment"],
            "recall_tail": [
                fmt.interval(m, lo, hi)
                for m, lo, hi in zip(
                    sub["recall_tail"], sub["recall_tail_lo"], sub["recall_tail_hi"], strict=True
                )
            ],
        }
    )
    tab = tab.assign(_o=tab["treatment"].map({t: i for i, t in enumerate(wanted)}))
    tab = tab.sort_values(["dataset", "model", "_o"]).drop(columns="_o")
    where = f", at ρ = {top:g}" if not math.isnan(top) else ""
    return [
        Heading(MAJORITY_WEIGHTED_TITLE + where, 3),
        Paragraph(
            "This scheme weights class k by N_k/(N−N_k), which grows with the class size: the "
            "majority class gets the larger weight, the opposite of inverse-frequency weighting. "
            "Tail-class recall without treatment, with inverse-frequency weights and with this "
            "scheme (mean [95 % t-interval over seeds]):"
        ),
        Table(tab.reset_index(drop=True), sticky=2),
    ]


def learning_curve_blocks(data: pd.DataFrame, out: Path) -> list[Block]:
    """Per-epoch training and validation curves of the models that record a ``history``
    (the Keras source model), one figure per dataset × ρ × control × model, one line per
    treatment (replicates averaged, min–max band)."""
    from skewbench.report.plots import learning_curves

    has = [isinstance(i, dict) and isinstance(i.get("history"), dict) for i in data["info"]]
    sub = data[has]
    if sub.empty:
        return []
    blocks: list[Block] = [
        Heading("Learning curves (models with per-epoch histories)", 3),
        Paragraph(
            "Training (solid) and validation (dashed) loss and accuracy per epoch; a validation "
            "loss that turns up while training loss falls is over-fitting."
        ),
    ]
    keys = ["dataset", "imbalance", "control", "model"]
    keys = [k for k in keys if k in sub.columns]
    keyed = sub.assign(
        imbalance=sub["imbalance"].astype(object).where(sub["imbalance"].notna(), None)
    )
    for key, grp in keyed.groupby(keys, dropna=False, sort=True):
        label = ", ".join(f"{k}={v}" for k, v in zip(keys, key, strict=True) if v not in ("", None))
        histories = [(t, i["history"]) for t, i in zip(grp["treatment"], grp["info"], strict=True)]
        name = file_name(f"learning_curves_{label}", ".svg")
        path = learning_curves(histories, out / name, label)
        blocks.append(Figure(path))
    return blocks
