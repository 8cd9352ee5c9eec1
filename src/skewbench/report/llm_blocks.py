"""Report section on the LLM re-rankers (``llm_rerank`` cells, recommend and search): what the
model was asked (prompts, model calls, parse failures) and the position-bias probe of the
listwise cells.

The probe (:func:`skewbench.models.llm.rank.position_bias`) pools, over every unit and every
input order the cell ranked, the pairs (input position, output position) of the same
candidates. The figure draws the mean output position per input position (1-based), one line
per cell averaged over seeds: the diagonal is a model that returns the prompt's order
unchanged, the flat line at (n + 1)/2 one whose output does not depend on the input order. The
table gives Spearman's ρ between the two positions (1 = pure copying of the input order).
Read from the info each cell stored: recommend ``model_info`` (keys ``prompts``,
``model_calls``, ``parse_failures``, ``position_bias``), search ``train_info_llm_*`` and
``train_info_position_bias``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skewbench.report.render import Block, display_cells

LLM_MODEL = "llm_rerank"
FACTS = ("prompts", "model_calls", "parse_failures")

POSITION_NOTE = (
    "Each listwise cell ranked every unit's candidates in `orders` input orders (the first "
    "the first stage's order, the others seeded shuffles). Pairs (input position, output "
    "position) of the same candidate are pooled over units and orders. Diagonal: the model "
    "returns the prompt's order unchanged; flat line at (n + 1)/2: the output does not depend "
    "on where a candidate stood in the prompt. ρ: Spearman correlation of the two positions "
    "(1 = the input order copied)."
)
FACTS_NOTE = (
    "prompts: yes/no prompts a pointwise cell scored (units × candidates; listwise cells send "
    "permutation prompts instead); model calls: prompts the model actually ran, the rest came "
    "from the on-disk prompt cache (a cell whose prompts an earlier cell already asked shows 0); "
    "parse failures: listwise answers naming no valid candidate (that window kept its input "
    "order)."
)


def llm_facts(info: dict[str, Any]) -> dict[str, Any] | None:
    """The LLM facts of one cell's info (None when the cell recorded none)."""
    if not info:
        return None
    mi = info.get("model_info")
    if isinstance(mi, dict) and "model_calls" in mi:  # recommend
        return {
            "model_id": mi.get("model_id"),
            **{k: mi.get(k) for k in FACTS},
            "position_bias": mi.get("position_bias"),
        }
    if "train_info_llm_model_calls" in info:  # search
        return {
            "model_id": info.get("train_info_llm_model_id"),
            **{k: info.get(f"train_info_llm_{k}") for k in FACTS},
            "position_bias": info.get("train_info_position_bias"),
        }
    return None


def short_label(model: str) -> str:
    """``llm_rerank(depth=10,first_stage=bm25,mode=listwise,orders=3)`` → ``bm25 → LLM
    listwise, orders 3, depth 10`` (the parameters that tell cells apart in a legend)."""
    params = dict(re.findall(r"(\w+)=([^,(){}]+)", model))
    parts = [f"{params.get('first_stage', '?')} → LLM {params.get('mode', 'pointwise')}"]
    if "orders" in params:
        parts.append(f"orders {params['orders']}")
    if "depth" in params:
        parts.append(f"depth {params['depth']}")
    if "pop_tau" in params:
        parts.append(f"pop_tau {params['pop_tau']}")
    return ", ".join(parts)


def _frame(data: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, r in data[data["model"].astype(str).str.startswith(LLM_MODEL)].iterrows():
        facts = llm_facts(r["info"])
        if facts is not None:
            rows.append(
                {"dataset": r["dataset"], "model": r["model"], "seed": r["seed"]}
                | {
                    "treatment": r["treatment"],
                    **facts,
                }
            )
    return pd.DataFrame(rows)


def _position_figure(cells: pd.DataFrame, path: Path, title: str) -> Path:
    from skewbench.report.plots import _save, _style, plt

    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    n_max = 0
    for i, (model, grp) in enumerate(cells.groupby("model", sort=True)):
        curves = [np.asarray(p["mean_output_position"], dtype=float) for p in grp["position_bias"]]
        n = min(c.size for c in curves)
        mean = np.mean([c[:n] for c in curves], axis=0) + 1.0  # 1-based positions
        colour, style = _style(i)
        x = np.arange(1, n + 1)
        ax.plot(x, mean, color=colour, linestyle=style, marker="o", ms=3, label=short_label(model))
        n_max = max(n_max, n)
    x = np.arange(1, n_max + 1)
    ax.plot(x, x, color="black", lw=0.8, ls="--", label="output = input (copied)")
    ax.plot(x, np.full(x.size, (n_max + 1) / 2), color="grey", lw=0.8, ls=":", label="no bias")
    ax.set_xlabel("position in the prompt")
    ax.set_ylabel("mean position in the LLM's output")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def llm_blocks(data: pd.DataFrame, task: str, out: Path) -> list[Block]:
    """The LLM section of one task: a facts table, and per data set a position-bias figure and
    table of its listwise cells. Empty when the task has no ``llm_rerank`` cell."""
    if data.empty or "model" not in data.columns:
        return []
    frame = _frame(data)
    if frame.empty:
        return []
    blocks = [Block("h3", f"LLM re-ranker: prompts, model calls, position bias ({task})")]
    facts = (
        frame.groupby(["dataset", "model", "treatment"], sort=True)
        .agg(
            model_id=("model_id", "first"),
            seeds=("seed", "nunique"),
            prompts=("prompts", "sum"),
            model_calls=("model_calls", "sum"),
            parse_failures=("parse_failures", "sum"),
        )
        .reset_index()
    )
    blocks += [Block("p", FACTS_NOTE), Block("table", display_cells(facts), {"sticky": 2})]
    # Treatments re-rank the same fitted LLM ranking: one probe per (data set, model, seed).
    probes = frame[frame["position_bias"].notna()].drop_duplicates(["dataset", "model", "seed"])
    for dataset, cells in probes.groupby("dataset", sort=True):
        slug = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in f"{task}_{dataset}")
        path = _position_figure(
            cells, out / f"{slug}_llm_position_bias.png", f"{task} — {dataset}: position bias"
        )
        rows = []
        for model, grp in cells.groupby("model", sort=True):
            curves = [
                np.asarray(p["mean_output_position"], dtype=float) for p in grp["position_bias"]
            ]
            n = min(c.size for c in curves)
            mean = np.mean([c[:n] for c in curves], axis=0) + 1.0
            rows.append(
                {
                    "model": model,
                    "seeds": grp["seed"].nunique(),
                    "candidates n": n,
                    "spearman ρ": float(np.mean([p["spearman"] for p in grp["position_bias"]])),
                    "mean output pos. of input 1": float(mean[0]),
                    f"of input {n}": float(mean[-1]),
                    "parse failures": int(grp["parse_failures"].fillna(0).sum()),
                }
            )
        blocks += [
            Block("h3", f"LLM position bias — {dataset}"),
            Block("p", POSITION_NOTE),
            Block("img", path),
            Block("table", display_cells(pd.DataFrame(rows)), {"sticky": 1}),
        ]
    return blocks
