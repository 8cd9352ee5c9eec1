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

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skewbench.report import fmt
from skewbench.report.plots import position_bias
from skewbench.report.render import (
    Block,
    Figure,
    Heading,
    Paragraph,
    Table,
    display_cells,
    file_name,
)
from skewbench.runner.cell import Component
from skewbench.runner.store import ResultStore

LLM_MODEL = "llm_rerank"
FACTS = ("prompts", "model_calls", "parse_failures")
#: Per-unit columns the LLM-vs-first-stage table tests (those a task stores).
CONTRAST_METRICS = ("ndcg@10", "non_head_share", "private_share")

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


def model_params(data: pd.DataFrame, configs: dict[str, dict[str, Any]]) -> dict[str, dict]:
    """Each model label's parameters, read from its cells' stored configs (never parsed back
    out of the label)."""
    out: dict[str, dict] = {}
    for label, key in zip(data["model"], data["key"], strict=True):
        if label not in out and key in configs:
            out[label] = dict(configs[key]["model"].get("params") or {})
    return out


def short_label(params: dict[str, Any]) -> str:
    """An ``llm_rerank`` cell's parameters as a legend entry, e.g. ``bm25 → LLM listwise,
    orders 3, depth 10`` (the parameters that tell cells apart)."""
    parts = [f"{params.get('first_stage', '?')} → LLM {params.get('mode', 'pointwise')}"]
    for name in ("orders", "depth", "pop_tau"):
        if name in params:
            v = params[name]
            parts.append(f"{name} {v:g}" if isinstance(v, float) else f"{name} {v}")
    return ", ".join(parts)


def first_stage_label(params: dict[str, Any]) -> str | None:
    """The model label of an ``llm_rerank`` cell's first stage alone (as the runner writes it),
    e.g. ``ease(l2=500)``; None when its parameters name none."""
    if "first_stage" not in params:
        return None
    return Component(params["first_stage"], dict(params.get("first_stage_params") or {})).label


def contrast_table(store: ResultStore, data: pd.DataFrame, params: dict[str, dict]) -> pd.DataFrame:
    """Each LLM cell against its first stage alone, per treatment and per-unit metric (module
    docstring); Holm over all rows. ``params``: each model label's parameters."""
    from skewbench.report.aggregate import adjust_family, compare_models

    llm = [m for m in data["model"].unique() if str(m).startswith(LLM_MODEL)]
    parts = []
    for model in sorted(llm):
        base = first_stage_label(params.get(model, {}))
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


def _contrast_display(res: pd.DataFrame, params: dict[str, dict]) -> pd.DataFrame:
    from skewbench.report.aggregate import null_phrase

    return pd.DataFrame(
        {
            "dataset": res["dataset"],
            "LLM": [short_label(params.get(m, {})) for m in res["model"]],
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


def llm_blocks(
    store: ResultStore,
    data: pd.DataFrame,
    task: str,
    out: Path,
    configs: dict[str, dict[str, Any]],
) -> list[Block]:
    """The LLM section of one task: a facts table, and per data set a position-bias figure and
    table of its listwise cells. Empty when the task has no ``llm_rerank`` cell. ``configs``:
    cell key → stored config (the models' parameters come from there)."""
    if data.empty or "model" not in data.columns:
        return []
    frame = _frame(data)
    if frame.empty:
        return []
    params = model_params(data, configs)
    blocks: list[Block] = [
        Heading(f"LLM re-ranker: prompts, model calls, position bias ({task})", 3)
    ]
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
    blocks += [Paragraph(FACTS_NOTE), Table(display_cells(facts), sticky=2)]
    res = contrast_table(store, data, params)
    if not res.empty:
        blocks += [
            Heading(f"LLM re-ranker against its first stage alone ({task})", 3),
            Paragraph(
                "Paired randomization test over distinct units (each the mean over the "
                "replicates both cells hold), Holm over every row of this table; the same "
                "treatment on both sides, so a row with a re-ranker compares it after the LLM "
                "with it after the first stage."
            ),
            Table(_contrast_display(res, params), sticky=2),
        ]
    probes = once[once["position_bias"].notna()]
    for dataset, cells in probes.groupby("dataset", sort=True):
        name = file_name(f"{task}_{dataset}", "_llm_position_bias.svg")
        rows, lines = [], {}
        for model, grp in cells.groupby("model", sort=True):
            curves = [
                np.asarray(p["mean_output_position"], dtype=float) for p in grp["position_bias"]
            ]
            n = min(c.size for c in curves)
            mean = np.mean([c[:n] for c in curves], axis=0) + 1.0  # 1-based positions
            label = short_label(params.get(model, {}))
            lines[model if label in lines else label] = mean
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
        title = f"{task} — {dataset}: position bias"
        path = position_bias(lines, out / name, title)
        blocks += [
            Heading(f"LLM position bias — {dataset}", 3),
            Paragraph(POSITION_NOTE),
            Figure(path),
            Table(display_cells(pd.DataFrame(rows)), sticky=1),
        ]
    return blocks
