"""The headline: per condition and model, the treatments on the accuracy–exposure Pareto front
against the untreated baseline, with their paired tests, in a table and in one sentence."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from skewbench.report import fmt
from skewbench.report.aggregate import ALPHA_SIG, BASE_TREATMENT, CONDITION, null_phrase
from skewbench.report.conditions import by_condition, condition_label, higher_is_better, unit_word
from skewbench.report.plots import pareto_front
from skewbench.report.render import Block, Heading, Paragraph, Table
from skewbench.report.spec import TaskReport


def _verdict(dacc: float, ta: object, acc: str, dexp: float, te: object, exp: str) -> str:
    """Per tested metric: higher / lower when significant, else what the test could say
    (equivalence or its minimum detectable effect)."""

    def word(d: float, t: object, m: str) -> str | None:
        if t is None:
            return None
        p = float(t["p_holm"])  # type: ignore[index]
        if p < ALPHA_SIG:
            return f"{m} {'higher' if d > 0 else 'lower'}"
        return f"{m} no significant change ({null_phrase(t)})"  # type: ignore[arg-type]

    parts = [w for w in (word(dacc, ta, acc), word(dexp, te, exp)) if w]
    return "; ".join(parts) if parts else "not tested"


def headline_blocks(
    task: str,
    spec: TaskReport,
    merged: pd.DataFrame,
    sig_acc: pd.DataFrame,
    sig_exp: pd.DataFrame,
) -> list[Block]:
    """Per condition: each model's treatments on the accuracy–exposure front, tested."""
    acc, exp = spec.primary, spec.unit_exposure
    if exp is None or acc not in merged or exp not in merged:
        return []
    exp_up = higher_is_better(exp)
    keys = [*CONDITION, "model", "treatment"]

    def lookup(sig: pd.DataFrame) -> dict:
        if sig.empty:
            return {}
        return {tuple(_norm(r[k]) for k in keys): r for _, r in sig.iterrows()}

    acc_t, exp_t = lookup(sig_acc), lookup(sig_exp)
    blocks: list[Block] = []
    for cond, grp in by_condition(merged):
        rows, sentences = [], []
        for model, mgrp in grp.groupby("model", sort=True):
            base = mgrp[mgrp["treatment"] == BASE_TREATMENT]
            if base.empty or len(mgrp) < 2:
                continue
            b = base.iloc[0]
            front = mgrp[pareto_front(mgrp, acc, exp, exp_up)]
            best = None
            for _, r in front[front["treatment"] != BASE_TREATMENT].iterrows():
                k = tuple(_norm(v) for v in [*(cond[c] for c in CONDITION), model, r["treatment"]])
                ta, te = acc_t.get(k), exp_t.get(k)
                dacc, dexp = r[acc] - b[acc], r[exp] - b[exp]
                pacc = float(ta["p_holm"]) if ta is not None else math.nan
                pexp = float(te["p_holm"]) if te is not None else math.nan
                n = int(ta["n_units"]) if ta is not None else None
                rows.append(
                    {
                        "model": model,
                        "treatment": r["treatment"],
                        f"Δ {acc}": fmt.signed(dacc),
                        f"Δ {acc} %": fmt.pct(dacc / b[acc] if b[acc] else math.nan),
                        f"p_holm ({acc})": fmt.pvalue(pacc),
                        f"Δ {exp}": fmt.signed(dexp),
                        f"Δ {exp} %": fmt.pct(dexp / b[exp] if b[exp] else math.nan),
                        f"p_holm ({exp})": fmt.pvalue(pexp),
                        "n units": fmt.num(n) if n is not None else fmt.DASH,
                        "verdict": _verdict(dacc, ta, acc, dexp, te, exp),
                    }
                )
                gain = dexp if exp_up else -dexp
                if gain > 0 and (best is None or gain > best[0]):
                    best = (gain, r, dacc, dexp, pacc, pexp, n, ta, te)
            if best is not None:
                _, r, dacc, dexp, pacc, pexp, n, ta, te = best
                det = (
                    " (deterministic replicates: one effective replicate)"
                    if (ta is not None and ta.get("deterministic") is True)
                    else ""
                )
                sentences.append(
                    f"{model} + {r['treatment']}: {exp} {fmt.num(b[exp])} → {fmt.num(r[exp])} "
                    f"({fmt.signed(dexp)}, {fmt.pct(dexp / b[exp] if b[exp] else math.nan)}) for "
                    f"{acc} {fmt.num(b[acc])} → {fmt.num(r[acc])} ({fmt.signed(dacc)}, "
                    f"{fmt.pct(dacc / b[acc] if b[acc] else math.nan)}); paired randomization "
                    f"tests over {fmt.num(n) if n else fmt.DASH} distinct {unit_word(task)}{det}: "
                    f"p_holm {fmt.p_is(pacc)} for {acc}, {_p_or_untested(pexp, exp)} — "
                    f"{_verdict(dacc, ta, acc, dexp, te, exp)}."
                )
        if not rows:
            continue
        title = f"{task} — {condition_label(cond, spec)}"
        blocks.append(Heading(title, 3))
        blocks += [Paragraph(s, style="headline") for s in sentences]
        blocks.append(Table(pd.DataFrame(rows), sticky=2, group="model"))
    if blocks:
        blocks.insert(
            0,
            Paragraph(
                f"{task}: per model, the treatments on the {acc}–{exp} Pareto front "
                f"({exp}: {'higher' if exp_up else 'lower'} is better) against the untreated "
                "baseline; Δ = difference of means; p_holm: paired randomization test over "
                f"distinct units, Holm-corrected; significant at p_holm < {ALPHA_SIG}. Each "
                "sentence names the model's treatment with the largest exposure gain.",
                style="note",
            ),
        )
    return blocks


def _p_or_untested(p: float, metric: str) -> str:
    if isinstance(p, float) and math.isnan(p):
        return f"{metric} not tested (not stored per unit)"
    return f"{fmt.p_is(p)} for {metric}"


def _norm(v: object) -> object:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, int | float | np.floating | np.integer) and not isinstance(v, bool):
        return float(v)
    return v
