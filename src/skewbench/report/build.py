"""The report: Markdown plus one self-contained HTML file (plots inlined as base64 PNG).

Both are rendered from one list of blocks, so they always say the same thing.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skewbench.report.aggregate import BASE_TREATMENT, compare_models, significance, summarise
from skewbench.report.plots import metric_vs_imbalance, pareto
from skewbench.report.spec import REPORTS, TaskReport
from skewbench.runner.store import ResultStore

ALPHA_SIG = 0.01


@dataclass
class Block:
    kind: str  # "h1" | "h2" | "h3" | "p" | "table" | "img"
    content: object


def _fmt(mean: float, lo: float, hi: float) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if lo is None or math.isnan(lo):
        return f"{mean:.4f}"
    return f"{mean:.4f} ± {(hi - lo) / 2:.4f}"


def _imb(v: object) -> str:
    return "natural" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:g}"


def leaderboard(summary: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    cols = [c for c in columns if c in summary.columns]
    out = summary[["model", "treatment", "n_seeds"]].copy()
    for c in cols:
        out[c] = [
            _fmt(m, lo, hi)
            for m, lo, hi in zip(summary[c], summary[f"{c}_lo"], summary[f"{c}_hi"], strict=True)
        ]
    return out.reset_index(drop=True)


def _categorize_blocks(summary: pd.DataFrame) -> list[Block]:
    """Head/tail trade-off per treatment, and the source-formula check at the largest ρ."""
    blocks: list[Block] = []
    need = {"recall_head", "recall_tail"}
    if not need <= set(summary.columns):
        return blocks
    for (dataset, imb), grp in summary.groupby(["dataset", "imbalance"], dropna=False):
        rows = []
        for model, mgrp in grp.groupby("model"):
            base = mgrp[mgrp["treatment"] == BASE_TREATMENT]
            for _, r in mgrp.iterrows():
                row = {
                    "model": model,
                    "treatment": r["treatment"],
                    "recall_head": _fmt(r["recall_head"], r["recall_head_lo"], r["recall_head_hi"]),
                    "recall_tail": _fmt(r["recall_tail"], r["recall_tail_lo"], r["recall_tail_hi"]),
                }
                if not base.empty:
                    row["Δ head vs none"] = f"{r['recall_head'] - base['recall_head'].iloc[0]:+.4f}"
                    row["Δ tail vs none"] = f"{r['recall_tail'] - base['recall_tail'].iloc[0]:+.4f}"
                rows.append(row)
        blocks.append(Block("h3", f"Head/tail recall trade-off — {dataset}, ρ = {_imb(imb)}"))
        blocks.append(Block("table", pd.DataFrame(rows)))
    imbs = summary["imbalance"].dropna()
    if not imbs.empty:
        top = imbs.max()
        wanted = [
            BASE_TREATMENT,
            "class_weight(scheme=inverse)",
            "class_weight(scheme=majority_weighted)",
        ]
        sub = summary[(summary["imbalance"] == top) & summary["treatment"].isin(wanted)]
        if not sub.empty:
            blocks.append(
                Block(
                    "h3", f"The source document's class weights α_k = N_k/(N−N_k), at ρ = {top:g}"
                )
            )
            blocks.append(
                Block(
                    "p",
                    "The source formula gives the majority class the larger weight — the "
                    "opposite of its stated aim. Tail-class recall under no treatment, inverse-"
                    "frequency weights and the source formula (mean ± 95 % CI half-width over "
                    "seeds):",
                )
            )
            tab = sub[
                ["dataset", "model", "treatment", "recall_tail", "recall_tail_lo", "recall_tail_hi"]
            ]
            tab = tab.assign(
                recall_tail=[
                    _fmt(m, lo, hi)
                    for m, lo, hi in zip(
                        tab["recall_tail"],
                        tab["recall_tail_lo"],
                        tab["recall_tail_hi"],
                        strict=True,
                    )
                ]
            )[["dataset", "model", "treatment", "recall_tail"]]
            blocks.append(Block("table", tab.reset_index(drop=True)))
    return blocks


def _group_exposure_blocks(table: pd.DataFrame) -> list[Block]:
    """Per-group exposure share against relevance share (metrics named ``…share[group=…]``)."""
    cols = [c for c in table.columns if c.startswith(("exposure_share[", "relevant_share["))]
    if not cols:
        return []
    # Popularity and brand groups only: other groupings (department, manufacturer …) are in the
    # store, but would make this table unreadably long.
    cols = [c for c in cols if "[popularity=" in c or "[brand=" in c]
    if not cols:
        return []
    mean = table.groupby(["dataset", "model", "treatment"])[cols].mean().reset_index()
    long = mean.melt(id_vars=["dataset", "model", "treatment"], var_name="metric", value_name="v")
    long["kind"] = long["metric"].str.split("[").str[0]
    long["group"] = long["metric"].str.extract(r"\[(.*)\]")[0]
    wide = long.pivot_table(
        index=["dataset", "model", "treatment", "group"], columns="kind", values="v"
    ).reset_index()
    wide.columns.name = None
    return [
        Block("h3", "Per-group exposure share vs relevance share (mean over seeds)"),
        Block("table", wide.round(4)),
    ]


def _task_blocks(
    store: ResultStore, table: pd.DataFrame, task: str, spec: TaskReport, out: Path
) -> list[Block]:
    blocks: list[Block] = [Block("h2", f"Task: {task}")]
    ids = ["key", "task", "dataset", "imbalance", "model", "treatment", "seed", "seconds", "info"]
    metrics = [c for c in table.columns if c not in ids and table[c].notna().any()]
    data = table[ids + metrics]
    summary = summarise(data, metrics)
    for (dataset, imb), grp in summary.groupby(["dataset", "imbalance"], dropna=False):
        blocks.append(Block("h3", f"Leaderboard — {dataset}, imbalance {_imb(imb)}"))
        blocks.append(Block("p", "mean ± half-width of the 95 % t-interval over seeds"))
        ordered = grp.sort_values(spec.primary, ascending=False) if spec.primary in grp else grp
        blocks.append(Block("table", leaderboard(ordered, spec.columns)))
    if task == "categorize":
        blocks += _categorize_blocks(summary)
    else:
        blocks += _group_exposure_blocks(data)
    for metric in spec.vs_imbalance:
        for dataset, grp in summary.groupby("dataset"):
            name = f"{task}_{dataset}_{metric}_vs_imbalance.png".replace("/", "_")
            path = metric_vs_imbalance(grp, metric, out / name, f"{dataset}: {metric} vs ρ")
            if path:
                blocks.append(Block("img", path))
    for acc, exp in spec.tradeoff:
        for dataset, grp in summary.groupby("dataset"):
            name = f"{task}_{dataset}_{acc}_vs_{exp}.png"
            name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)
            path = pareto(grp, acc, exp, out / name, f"{task} — {dataset}: {acc} vs {exp}")
            if path:
                blocks.append(Block("img", path))
    if spec.info_facts:
        blocks += _info_fact_blocks(data, spec.info_facts)
    if spec.model_contrast and spec.unit_metric:
        blocks += _contrast_blocks(store, data, spec.unit_metric, *spec.model_contrast)
    if spec.unit_metric:
        sig = significance(store, data, spec.unit_metric)
        if not sig.empty:
            blocks.append(
                Block("h3", f"Significance against '{BASE_TREATMENT}' ({spec.unit_metric})")
            )
            blocks.append(
                Block(
                    "p",
                    f"Paired randomization test ({sig.attrs.get('n_perm', 0):,} sign flips, "
                    "enough that Holm over every comparison in this table can reach "
                    f"{ALPHA_SIG}) over units pooled across seeds; ★ marks p_holm < {ALPHA_SIG}.",
                )
            )
            sig = sig.assign(
                imbalance=sig["imbalance"].map(_imb),
                sig=["★" if p < ALPHA_SIG else "" for p in sig["p_holm"]],
            )
            if spec.unit_exposure and spec.unit_exposure in data.columns:
                sig = _with_companion(sig, data, spec.unit_exposure)
            blocks.append(Block("table", sig.round(5)))
    return blocks


def _info_fact_blocks(data: pd.DataFrame, facts: dict[str, str]) -> list[Block]:
    """Per-model means of facts each cell recorded in its ``info`` (e.g. tie counts)."""
    rows = []
    for (dataset, model), grp in data.groupby(["dataset", "model"]):
        row: dict[str, object] = {"dataset": dataset, "model": model, "cells": len(grp)}
        for name in facts:
            values = [i.get(name) for i in grp["info"] if i.get(name) is not None]
            row[name] = float(np.mean(values)) if values else float("nan")
        rows.append(row)
    meaning = "; ".join(f"{k}: {v}" for k, v in facts.items())
    return [
        Block("h3", "Ties among equally scored products (mean per cell)"),
        Block("p", meaning + "."),
        Block("table", pd.DataFrame(rows).round(1)),
    ]


def _contrast_blocks(
    store: ResultStore, data: pd.DataFrame, metric: str, base: str, prefixes: tuple[str, ...]
) -> list[Block]:
    """Trained models against a frozen base on held-out units, in words and as a table."""
    models = sorted(m for m in data["model"].unique() if m.startswith(prefixes))
    res = compare_models(store, data, metric, base, models)
    if res.empty:
        return []
    blocks = [Block("h3", f"Do trained models beat '{base}' on held-out queries? ({metric})")]
    for _, r in res.iterrows():
        verdict = (
            ("beats" if r["delta"] > 0 else "is worse than")
            if r["p_holm"] < ALPHA_SIG
            else "does not differ significantly from"
        )
        blocks.append(
            Block(
                "p",
                f"{r['dataset']}: {r['model']} {verdict} {base}: {metric} "
                f"{r['base'] + r['delta']:.4f} vs {r['base']:.4f} ({r['rel_delta']:+.1%}), "
                f"paired randomization test over {r['n_units']} query×seed units, "
                f"p_holm = {r['p_holm']:.4g}.",
            )
        )
    blocks.append(Block("table", res.assign(imbalance=res["imbalance"].map(_imb)).round(5)))
    return blocks


def _with_companion(sig: pd.DataFrame, data: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Add the mean (over seeds) change of ``metric`` beside each tested accuracy change, so a
    row reads "tail exposure +X for accuracy −Y"."""
    keys = ["dataset", "imbalance", "model", "treatment"]
    cell_means = data.assign(imbalance=data["imbalance"].map(_imb)).groupby(keys)[metric].mean()
    base = cell_means.xs(BASE_TREATMENT, level="treatment")
    deltas = []
    for _, r in sig.iterrows():
        t = cell_means.get((r["dataset"], r["imbalance"], r["model"], r["treatment"]))
        b = base.get((r["dataset"], r["imbalance"], r["model"]))
        deltas.append(t - b if t is not None and b is not None else float("nan"))
    return sig.assign(**{f"Δ {metric}": deltas})


def _convergence_blocks(table: pd.DataFrame) -> list[Block]:
    """Cells whose model reported an unconverged fit: their numbers depend on the budget."""
    if table.empty:
        return []
    flagged = table[[info.get("converged") is False for info in table["info"]]]
    if flagged.empty:
        return []
    return [
        Block("h3", f"Warning: {len(flagged)} cell(s) stopped before their solver converged"),
        Block(
            "table",
            flagged[["task", "dataset", "imbalance", "model", "treatment", "seed"]].reset_index(
                drop=True
            ),
        ),
    ]


def build_report(output: Path) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (with PNGs) under ``<output>/report``."""
    store_file = output / "results.sqlite"
    if not store_file.is_file():
        raise FileNotFoundError(f"no results store at {store_file}; run the config first")
    out = output / "report"
    out.mkdir(parents=True, exist_ok=True)
    with ResultStore(store_file) as store:
        table = store.table()
        failures = store.failures()
        blocks: list[Block] = [Block("h1", f"skewbench report — {output.name}")]
        blocks.append(
            Block(
                "p",
                f"{len(table)} finished cells; {failures['key'].nunique() if not failures.empty else 0} "
                f"cells with a recorded failure; total cell time {table['seconds'].sum() if not table.empty else 0:.0f} s.",
            )
        )
        blocks += _convergence_blocks(table)
        for task, tgrp in table.groupby("task") if not table.empty else []:
            spec = REPORTS[task]
            blocks += _task_blocks(store, tgrp, task, spec, out)
    md = out / "report.md"
    md.write_text(_to_markdown(blocks, out), encoding="utf-8")
    page = out / "report.html"
    page.write_text(_to_html(blocks), encoding="utf-8")
    return md, page


def _to_markdown(blocks: list[Block], out: Path) -> str:
    parts = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            parts.append("#" * int(b.kind[1]) + " " + str(b.content))
        elif b.kind == "p":
            parts.append(str(b.content))
        elif b.kind == "table":
            parts.append(b.content.to_markdown(index=False))  # type: ignore[union-attr]
        elif b.kind == "img":
            p = Path(b.content)  # type: ignore[arg-type]
            parts.append(f"![{p.stem}]({p.relative_to(out)})")
    return "\n\n".join(parts) + "\n"


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}"
    "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
    "th{background:#f3f3f3}td:first-child,td:nth-child(2){text-align:left}img{max-width:100%}"
)


def _to_html(blocks: list[Block]) -> str:
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>skewbench report</title><style>{_CSS}</style></head><body>"
    ]
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            parts.append(f"<{b.kind}>{html.escape(str(b.content))}</{b.kind}>")
        elif b.kind == "p":
            parts.append(f"<p>{html.escape(str(b.content))}</p>")
        elif b.kind == "table":
            parts.append(b.content.to_html(index=False, border=0, na_rep="–"))  # type: ignore[union-attr]
        elif b.kind == "img":
            data = base64.b64encode(Path(b.content).read_bytes()).decode("ascii")  # type: ignore[arg-type]
            parts.append(f"<img alt='plot' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    return "\n".join(parts)
