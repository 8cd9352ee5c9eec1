"""Report section on the LLM re-rankers (``llm_rerank`` cells, recommend and search): what the
model was asked (prompts, model calls, parse failures) and the position-bias probe of the
listwise cells.

The probe (:func:`skewbench.models.llm.rank.position_bias`) pools, over every unit and every
input order the cell ranked, the pairs (input position, output position) of the same
candidates. The figure draws the mean output position per input position (1-based), one line
per cell averaged over seeds: the diagonal is a model that returns the prompt's order
unchanged, the flat line at (n + 1)/2 one whose output does not depend on the input order. The
table gives Spearman's ρ between the two positions (1 = pure copying of the input order).

"LLM against its first stage": each LLM cell is paired with the cell of its first stage alone
(same condition and treatment, so a re-ranker after the LLM is compared with the same re-ranker
after the first stage) by :func:`skewbench.report.aggregate.compare_models` — a paired
randomization test over distinct units, Holm over the rows of the table.
Read from the info each cell stored: recommend ``model_info`` (keys ``prompts``,
``model_calls``, ``parse_failures``, ``position_bias``), search ``train_info_llm_*`` and
``train_info_position_bias``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skewbench.report import fmt
from skewbench.report.render import Block, display_cells, file_name
from skewbench.runner.cell import Component
from skewbench.runner.store import ResultStore

LLM_MODEL = "llm_rerank"
FACTS = ("prompts", "model_calls", "parse_failures")
#: Per-unit columns the LLM-vs-first-stage table tests (those a task stores).
CONTRAST_METRICS = ("ndcg@10", "tail_share", "private_share")

POSITION_NOTE = (
    "Each listwise cell ranked every unit's candidates in `orders` input orders (the first "
    "the first stage's order, the others seeded shuffles). Pairs (input position, output "
    "position) of the same candidate are pooled over units and orders. Diagonal: the model "
    "returns the prompt's order unchanged; flat line at (n + 1)/2: the output does not depend "
    "on where a candidate stood in the prompt. ρ: Spearman correlation of the two positions "
    "(1 = the input order copied)."
)
FACTS_NOTE = (
    "One row per LLM model (its untreated cell; the treatments re-rank the same LLM ranking). "
    "prompts: yes/no prompts a pointwise cell scored (units × candidates the first stage "
    "returned; listwise cells send permutation prompts instead); model calls: distinct prompts "
    "the model actually ran, the rest came from the on-disk prompt cache (0 when an earlier "
    "cell or run already asked them); parse failures: listwise answers naming no valid "
    "candidate (that window kept its input order)."
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


def first_stage_label(model: str) -> str | None:
    """The model label of an ``llm_rerank`` cell's first stage alone (as the runner writes it),
    e.g. ``ease(l2=500)``; None when the label names none."""
    stage = re.search(r"first_stage=(\w+)", model)
    if stage is None:
        return None
    params: dict[str, Any] = {}
    found = re.search(r"first_stage_params=(\{[^}]*\})", model)
    if found:
        try:
            params = dict(ast.literal_eval(found.group(1)))
        except (ValueError, SyntaxError):
            return None
    return Component(stage.group(1), params).label


def contrast_table(store: ResultStore, data: pd.DataFrame) -> pd.DataFrame:
    """Each LLM cell against its first stage alone, per treatment and per-unit metric (module
    docstring); Holm over all rows."""
    from skewbench.report.aggregate import adjust_family, compare_models

    llm = [m for m in data["model"].unique() if str(m).startswith(LLM_MODEL)]
    parts = []
    for model in sorted(llm):
        base = first_stage_label(model)
        if base is None or base not in set(data["model"]):
            continue
        for treatment in sorted(data.loc[data["model"] == model, "treatment"].unique()):
            for metric in CONTRAST_METRICS:
                try:
                    res = compare_models(store, data, metric, base, [model], treatment=treatment)
                except (KeyError, ValueError):  # the task stores no such per-unit column
                    continue
                if not res.empty:
                    parts.append(res.assign(treatment=treatment, metric=metric))
    if not parts:
        return pd.DataFrame()
    return adjust_family(pd.concat(parts, ignore_index=True))


def _contrast_display(res: pd.DataFrame) -> pd.DataFrame:
    from skewbench.report.aggregate import null_phrase

    return pd.DataFrame(
        {
            "dataset": res["dataset"],
            "LLM": [short_label(m) for m in res["model"]],
            "vs": res["vs"],
            "treatment": res["treatment"],
            "metric": res["metric"],
            "n units": [fmt.num(int(v)) for v in res["n_units"]],
            "first stage": [fmt.num(v) for v in res["base"]],
            "LLM value": [fmt.num(b + d) for b, d in zip(res["base"], res["delta"], strict=True)],
            "Δ": [fmt.num(v) for v in res["delta"]],
            "p_holm": [fmt.num(v) for v in res["p_holm"]],
            "if not significant": [null_phrase(r) for _, r in res.iterrows()],
        }
    )


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


def llm_blocks(store: ResultStore, data: pd.DataFrame, task: str, out: Path) -> list[Block]:
    """The LLM section of one task: a facts table, and per data set a position-bias figure and
    table of its listwise cells. Empty when the task has no ``llm_rerank`` cell."""
    if data.empty or "model" not in data.columns:
        return []
    frame = _frame(data)
    if frame.empty:
        return []
    blocks = [Block("h3", f"LLM re-ranker: prompts, model calls, position bias ({task})")]
    # Treatments re-rank the same fitted LLM ranking (its info repeated, or re-read from the
    # prompt cache): one row per (data set, model, seed), the untreated cell's where present.
    frame = frame.assign(_untreated=frame["treatment"] != "none").sort_values(
        ["dataset", "model", "seed", "_untreated"], kind="stable"
    )
    once = frame.drop_duplicates(["dataset", "model", "seed"])
    facts = (
        once.groupby(["dataset", "model"], sort=True)
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
    res = contrast_table(store, data)
    if not res.empty:
        blocks += [
            Block("h3", f"LLM re-ranker against its first stage alone ({task})"),
            Block(
                "p",
                "Paired randomization test over distinct units (each the mean over the "
                "replicates both cells hold), Holm over every row of this table; the same "
                "treatment on both sides, so a row with a re-ranker compares it after the LLM "
                "with it after the first stage.",
            ),
            Block("table", _contrast_display(res), {"sticky": 2}),
        ]
    probes = once[once["position_bias"].notna()]
    for dataset, cells in probes.groupby("dataset", sort=True):
        name = file_name(f"{task}_{dataset}", "_llm_position_bias.png")
        path = _position_figure(cells, out / name, f"{task} — {dataset}: position bias")
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
