"""The tables beside each task's leaderboards: the imbalance sweep with training sizes and
matched controls, hyper-parameters chosen on validation, what caps the re-rankers, per-group
exposure, facts the cells recorded, and cells whose solver did not converge."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from skewbench.report import fmt
from skewbench.report.aggregate import BASE_TREATMENT
from skewbench.report.conditions import (
    by_condition,
    condition_label,
    imbalance_text,
    info_values,
    order_systems,
    unit_word,
    value_range,
)
from skewbench.report.render import Block, Details, Heading, Paragraph, Table
from skewbench.report.spec import TaskReport


def sweep_blocks(data: pd.DataFrame, spec: TaskReport, merged: pd.DataFrame) -> list[Block]:
    """Training size beside every imbalance level, and the matched uniform control beside each
    skewed level, so that skew and size can be told apart."""
    levels = data[["dataset", "imbalance", "control", "setting"]].astype(str).drop_duplicates()
    if spec.imbalance_name is None or not levels["dataset"].duplicated().any():
        return []
    blocks: list[Block] = [Heading("Imbalance sweep: training size and matched controls", 3)]
    base = merged[merged["treatment"] == BASE_TREATMENT]
    for dataset, dgrp in data.groupby("dataset", sort=True):
        if (levels["dataset"] == dataset).sum() < 2:
            continue
        rows = []
        for cond, cgrp in by_condition(dgrp):
            row = {
                spec.imbalance_name: imbalance_text(cond["imbalance"]),
                "condition": "matched uniform control"
                if cond["control"] == "uniform"
                else (cond["control"] or _level_word(cond["imbalance"])),
                "setting": cond["setting"],
                spec.size_fact: value_range(info_values(cgrp, spec.size_fact)),
            }
            if spec.achieved_fact:
                row[spec.achieved_fact] = value_range(info_values(cgrp, spec.achieved_fact))
            mb = base[
                (base["dataset"] == dataset)
                & (
                    base["imbalance"].astype(float).fillna(-1)
                    == (-1 if pd.isna(cond["imbalance"]) else float(cond["imbalance"]))
                )
                & (base["control"] == cond["control"])
                & (base["setting"] == cond["setting"])
            ]
            for _, r in mb.iterrows():
                row[f"{spec.primary} · {r['model']}"] = fmt.num(r.get(spec.primary))
            rows.append(row)
        tab = pd.DataFrame(rows)
        if not tab["setting"].astype(bool).any():
            tab = tab.drop(columns="setting")
        blocks.append(
            Paragraph(
                f"{dataset}: {spec.size_fact} per level (min–max over cells); "
                f"{spec.primary} of each model without treatment."
            )
        )
        blocks.append(Table(tab, sticky=2))
    if not (data["control"] == "uniform").any():
        blocks.append(
            Paragraph(
                "No matched uniform control in this run: a change across "
                "levels may come from the training size as well as the skew "
                "unless the training size above is constant.",
                style="note",
            )
        )
    return blocks


def _level_word(imbalance: object) -> str:
    natural = imbalance is None or (isinstance(imbalance, float) and math.isnan(imbalance))
    return "as collected" if natural else "target level"


def tuning_blocks(data: pd.DataFrame, spec: TaskReport) -> list[Block]:
    """Hyper-parameters chosen on validation (``info["tuning"]``, :meth:`skewbench.tuning.TuningResult.to_info`), per cell."""
    tuned = data[[isinstance(i, dict) and isinstance(i.get("tuning"), dict) for i in data["info"]]]
    if tuned.empty:
        return []
    rows = []
    for _, r in tuned.iterrows():
        t = r["info"]["tuning"]
        scores = [tr.get("score") for tr in t.get("trials", []) if tr.get("score") is not None]
        rows.append(
            {
                "condition": condition_label(r, spec),
                "model": r["model"],
                "treatment": r["treatment"],
                "seed": str(r["seed"]),
                "chosen": ", ".join(f"{k}={v}" for k, v in sorted(t.get("chosen", {}).items())),
                "validation metric": str(t.get("metric", "")),
                "method": str(t.get("method", "")),
                "trials": fmt.num(len(t.get("trials", []))),
                "best validation score": fmt.num(max(scores)) if scores else fmt.DASH,
                "refit": fmt.num(bool(t.get("refit"))),
            }
        )
    tab = pd.DataFrame(rows).sort_values(["condition", "model", "treatment", "seed"])
    return [
        Heading("Hyper-parameters chosen on validation", 3),
        Paragraph(
            "Each cell searched its model's declared ranges on a validation split carved from "
            "training and touched test once with the chosen values.",
            style="note",
        ),
        Table(tab.reset_index(drop=True), sticky=2, group="model"),
    ]


def caps_blocks(data: pd.DataFrame, spec: TaskReport, task: str) -> list[Block]:
    """Re-ranker caps (from the cells' ``info``): units whose candidate pool holds no protected item."""
    has = [isinstance(i, dict) and "share_units_no_protected_in_pool" in i for i in data["info"]]
    sub = data[has]
    if sub.empty:
        return []
    rows, sentences = [], []
    sub = sub.assign(_cond=[condition_label(r, spec) for _, r in sub.iterrows()])
    for (cond, model, treatment), grp in sub.groupby(["_cond", "model", "treatment"], sort=True):
        share = info_values(grp, "share_units_no_protected_in_pool")
        pool = value_range(info_values(grp, "candidate_pool_size"))
        protected = ", ".join(sorted({str(i.get("protected_group")) for i in grp["info"]}))
        rows.append(
            {
                "condition": cond,
                "model": model,
                "treatment": treatment,
                "candidate_pool_size": pool,
                "protected_group": protected,
                "share_units_no_protected_in_pool": fmt.num(float(np.mean(share))),
            }
        )
    tab = pd.DataFrame(rows)
    for (cond, model, pool, prot), g in tab.groupby(
        ["condition", "model", "candidate_pool_size", "protected_group"], sort=True
    ):
        share = g["share_units_no_protected_in_pool"].iloc[0]
        try:
            share_pct = f"{100 * float(share.replace('−', '-')):.0f} %"
        except ValueError:
            continue
        sentences.append(
            f"{cond}, {model}: for {share_pct} of the evaluated {unit_word(task)} the "
            f"{pool} candidates hold no {prot} item, so no re-ranker can give those "
            f"{unit_word(task)} any {prot} exposure."
        )
    return [
        Heading("What caps the re-rankers: protected items in the candidate pool", 3),
        *[Paragraph(s) for s in sentences],
        Table(tab, sticky=2),
    ]


def group_exposure_blocks(data: pd.DataFrame, spec: TaskReport) -> list[Block]:
    """Per condition: each system's exposure share per group beside the test relevance share
    (metrics named ``…share[group=…]``), never averaged across conditions."""
    cols = [c for c in data.columns if c.startswith(("exposure_share[", "relevant_share["))]
    # Popularity and brand groups only: other groupings (department, manufacturer …) are in the
    # store, but would make these tables unreadably wide.
    cols = [c for c in cols if "[popularity=" in c or "[brand=" in c]
    if not cols:
        return []
    inner: list[Block] = []
    for cond, grp in by_condition(data):
        expo = [c for c in cols if c.startswith("exposure_share[") and grp[c].notna().any()]
        rel = [c for c in cols if c.startswith("relevant_share[") and grp[c].notna().any()]
        if not expo:
            continue
        mean = grp.groupby(["model", "treatment"], sort=True)[expo].mean().reset_index()
        mean = order_systems(mean.assign(_k=0), expo[0]).drop(columns="_k")
        names = [c[len("exposure_share[") : -1] for c in expo]
        tab = mean.rename(columns=dict(zip(expo, names, strict=True)))
        if rel:
            ref = grp[rel].mean()
            row = {"model": "(test relevance)", "treatment": "relevant share"}
            row.update({c[len("relevant_share[") : -1]: ref[c] for c in rel})
            tab = pd.concat([pd.DataFrame([row]), tab], ignore_index=True)
        for n in names:
            if n in tab:
                tab[n] = [fmt.num(v) for v in tab[n]]
        inner.append(
            Heading(f"Exposure share per group — {condition_label(cond, spec)}", 3, toc=False)
        )
        inner.append(Table(tab, sticky=2, group="model", heat=names))
    if not inner:
        return []
    return [
        Details(
            "Per-group exposure share vs relevance share (mean over seeds, one table per "
            "condition; darker = larger share)",
            inner,
        )
    ]


def info_fact_blocks(data: pd.DataFrame, facts: dict[str, str]) -> list[Block]:
    """Per-model means of facts each cell recorded in its ``info`` (e.g. tie counts)."""
    rows = []
    for (dataset, model), grp in data.groupby(["dataset", "model"]):
        row: dict[str, object] = {"dataset": dataset, "model": model, "cells": fmt.num(len(grp))}
        for name in facts:
            values = [i.get(name) for i in grp["info"] if i.get(name) is not None]
            row[name] = fmt.num(float(np.mean(values))) if values else fmt.DASH
        rows.append(row)
    meaning = "; ".join(f"{k}: {v}" for k, v in facts.items())
    return [
        Details(
            "Ties among equally scored products (mean per cell)",
            [Paragraph(meaning + "."), Table(pd.DataFrame(rows), sticky=2)],
        )
    ]


def convergence_blocks(table: pd.DataFrame) -> list[Block]:
    """Cells whose model reported an unconverged fit: their numbers depend on the budget."""
    if table.empty:
        return []
    flagged = table[[info.get("converged") is False for info in table["info"]]]
    if flagged.empty:
        return []
    return [
        Heading(f"Warning: {len(flagged)} cell(s) stopped before their solver converged", 3),
        Table(
            flagged[["task", "dataset", "imbalance", "model", "treatment", "seed"]]
            .astype(str)
            .reset_index(drop=True)
        ),
    ]


def not_available(data: pd.DataFrame) -> dict[str, str]:
    """Metric → why this data cannot give it, as the cells recorded (``info["not_available"]``:
    a table catalog without the column a metric reads)."""
    out: dict[str, str] = {}
    for info in data["info"]:
        if isinstance(info, dict):
            out.update(info.get("not_available") or {})
    return out


def not_available_note(data: pd.DataFrame, columns: list[str]) -> list[Block]:
    """One line under a leaderboard naming the columns it leaves out because this data cannot
    give them, each with its reason (never shown as 0)."""
    why = not_available(data)
    shown = [c for c in columns if c in why and not (c in data and data[c].notna().any())]
    if not shown:
        return []
    return [
        Paragraph(
            "Not available on this data: " + "; ".join(f"{c} ({why[c]})" for c in shown) + ".",
            style="note",
        )
    ]


#: Groupings of the inequality table, in this order (the ones a data set has).
GINI_GROUPINGS = ("popularity", "brand", "category", "department", "genre", "manufacturer", "price")


def group_gini_blocks(data: pd.DataFrame, spec: TaskReport) -> list[Block]:
    """Per condition: the Gini of exposure between the groups of each grouping (brand,
    category, manufacturer, price band, popularity …) per system, under the same Gini of the
    groups' catalogue sizes and of their relevant test pairs; a grouping this data cannot give
    is shown as not available with its reason. The share vectors behind each Gini are in the
    exposure-share tables."""
    names = [g for g in GINI_GROUPINGS if f"exposure_gini[{g}]" in data.columns]
    extra = sorted(
        c[len("exposure_gini[") : -1]
        for c in data.columns
        if c.startswith("exposure_gini[") and c[len("exposure_gini[") : -1] not in names
    )
    why = not_available(data)
    missing = [g for g in GINI_GROUPINGS if f"exposure_gini[{g}]" in why and g not in names]
    names += extra
    if not names:
        return []
    blocks: list[Block] = [
        Heading("Exposure inequality between groups (Gini)", 3),
        Paragraph(
            "Gini coefficient of the position-weighted exposure summed per group, over every "
            "group of the catalogue (a group never shown counts 0); 0 = every group gets the "
            "same exposure. The reference rows give the same Gini of the groups' catalogue "
            "sizes and of their relevant test pairs, so a system can be read against both. "
            "Mean over seeds."
        ),
    ]
    for cond, grp in by_condition(data):
        cols = [f"exposure_gini[{g}]" for g in names]
        mean = grp.groupby(["model", "treatment"], sort=True)[cols].mean().reset_index()
        mean = order_systems(mean.assign(_k=0), cols[0]).drop(columns="_k")
        tab = mean.rename(columns=dict(zip(cols, names, strict=True)))
        refs = []
        for kind, label in (("catalog", "catalogue size"), ("relevant", "relevant pairs")):
            row: dict[str, object] = {"model": f"({label})", "treatment": "reference"}
            for g in names:
                c = f"{kind}_gini[{g}]"
                row[g] = grp[c].mean() if c in grp and grp[c].notna().any() else float("nan")
            refs.append(row)
        tab = pd.concat([pd.DataFrame(refs), tab], ignore_index=True)
        for g in names:
            tab[g] = [fmt.num(v) for v in tab[g]]
        for g in missing:
            tab[g] = f"not available ({why[f'exposure_gini[{g}]']})"
        blocks.append(Paragraph(f"{condition_label(cond, spec)}:"))
        blocks.append(Table(tab, sticky=2, group="model"))
    return blocks
