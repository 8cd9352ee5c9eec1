"""The headline: per task, one accuracy–exposure figure and three plain sentences (best
trade-off, its cost, whether it is significant), most-skewed condition first; conditions where
nothing moves in one line; the tested Pareto-front table of every condition collapsed below."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skewbench.report import fmt
from skewbench.report.aggregate import ALPHA_SIG, BASE_TREATMENT, CONDITION, null_phrase
from skewbench.report.conditions import by_condition, condition_label, higher_is_better, unit_word
from skewbench.report.leaderboard import shown_intervals
from skewbench.report.plots import pareto_front, tradeoff_figure
from skewbench.report.render import Block
from skewbench.report.spec import TaskReport

# A relative change is printed only where the baseline's magnitude is at least this: on a tiny
# base a percentage ("+4,264 %") says more about the base than about the change.
PCT_FLOOR = 0.05


@dataclass(frozen=True)
class Change:
    """One treated system against its model's untreated baseline, in one condition."""

    model: str
    treatment: str
    acc: tuple[float, float]  # (baseline, treated)
    exp: tuple[float, float]
    p_acc: float
    p_exp: float
    n: int | None
    on_front: bool
    deterministic: bool = False  # every replicate's per-unit table identical
    null_acc: str = ""  # what a non-significant test can still say (equivalence or its MDE)
    null_exp: str = ""

    @property
    def d_acc(self) -> float:
        return self.acc[1] - self.acc[0]

    @property
    def d_exp(self) -> float:
        return self.exp[1] - self.exp[0]


def _significant(p: float) -> bool:
    return not math.isnan(p) and p < ALPHA_SIG


def change_text(base: float, new: float) -> str:
    """ "0.267 → 0.419 (+0.152, +57.0 %)"; the percentage only where |base| >= PCT_FLOOR."""
    delta = new - base
    pct = f", {fmt.pct(delta / base)}" if abs(base) >= PCT_FLOOR else ""
    return f"{fmt.num(base)} → {fmt.num(new)} ({fmt.signed(delta)}{pct})"


def best_tradeoff(changes: list[Change], exp_up: bool) -> Change | None:
    """The front treatment with the largest exposure gain among those whose accuracy is not
    significantly lower; if every gain costs significant accuracy, the one with the most gain
    per unit of accuracy lost; None when no treatment gains exposure."""
    gains = [c for c in changes if c.on_front and (c.d_exp if exp_up else -c.d_exp) > 0]
    if not gains:
        return None
    gain = (lambda c: c.d_exp) if exp_up else (lambda c: -c.d_exp)
    free = [c for c in gains if not (c.d_acc < 0 and _significant(c.p_acc))]
    if free:
        return max(free, key=gain)
    return max(gains, key=lambda c: gain(c) / max(-c.d_acc, 1e-12))


def sentences(
    best: Change | None, task: str, label: str, acc: str, exp: str, exp_up: bool
) -> list[str]:
    """Three plain sentences: the best trade-off, its cost, and whether it is significant."""
    if best is None:
        return [f"{label}: no treatment moves {exp} in its better direction ({_better(exp_up)})."]
    first = (
        f"Best trade-off in {label}: {best.model} with {best.treatment} moves {exp} "
        f"{change_text(*best.exp)}."
    )
    if best.d_acc > 0:
        cost = f"It costs no {acc}; {acc} rises too: {change_text(*best.acc)}."
    elif best.d_acc == 0:
        cost = f"It costs no {acc}: {fmt.num(best.acc[0])} before and after."
    else:
        cost = f"It costs {fmt.num(-best.d_acc)} {acc}: {change_text(*best.acc)}."
    units = f"{fmt.num(best.n)} distinct {unit_word(task)}" if best.n else "the distinct units"
    if best.deterministic:
        units += " (deterministic replicates: one effective replicate)"

    def verdict(metric: str, p: float, null: str) -> str:
        if math.isnan(p):
            return f"the {metric} change is not tested (not stored per unit)"
        if _significant(p):
            return f"the {metric} change is significant (p_holm {fmt.p_is(p)})"
        extra = f"; {null}" if null else ""
        return f"the {metric} change is not significant (p_holm {fmt.p_is(p)}{extra})"

    test = (
        f"{_cap(verdict(exp, best.p_exp, best.null_exp))} and "
        f"{verdict(acc, best.p_acc, best.null_acc)}: paired "
        f"randomization tests over {units}, Holm-corrected, significant below {ALPHA_SIG}."
    )
    return [first, cost, test]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _better(up: bool) -> str:
    return "higher is better" if up else "lower is better"


def skew_order(conditions: list[tuple[dict, pd.DataFrame]]) -> list[tuple[dict, pd.DataFrame]]:
    """Most-skewed first: skewed levels before their matched controls, the highest imbalance
    level first, the data as collected after the set levels."""

    def key(item: tuple[dict, pd.DataFrame]) -> tuple:
        cond = item[0]
        imb = cond["imbalance"]
        natural = imb is None or (isinstance(imb, float) and math.isnan(imb))
        return (bool(cond["control"]), natural, 0.0 if natural else -float(imb), cond["dataset"])

    return sorted(conditions, key=key)


def _changes(
    grp: pd.DataFrame, cond: dict, acc: str, exp: str, exp_up: bool, acc_t: dict, exp_t: dict
) -> list[Change]:
    out = []
    for model, mgrp in grp.groupby("model", sort=True):
        base = mgrp[mgrp["treatment"] == BASE_TREATMENT]
        if base.empty:
            continue
        b = base.iloc[0]
        front = pareto_front(mgrp, acc, exp, exp_up)
        for idx, r in mgrp[mgrp["treatment"] != BASE_TREATMENT].iterrows():
            k = tuple(_norm(v) for v in [*(cond[c] for c in CONDITION), model, r["treatment"]])
            ta, te = acc_t.get(k), exp_t.get(k)
            out.append(
                Change(
                    model=str(model),
                    treatment=str(r["treatment"]),
                    acc=(float(b[acc]), float(r[acc])),
                    exp=(float(b[exp]), float(r[exp])),
                    p_acc=float(ta["p_holm"]) if ta is not None else math.nan,
                    p_exp=float(te["p_holm"]) if te is not None else math.nan,
                    n=int(ta["n_units"]) if ta is not None else None,
                    on_front=bool(front.loc[idx]),
                    deterministic=ta is not None and ta.get("deterministic") is True,
                    null_acc=null_phrase(ta) if ta is not None else "",
                    null_exp=null_phrase(te) if te is not None else "",
                )
            )
    return out


def _front_table(changes: list[Change], acc: str, exp: str) -> pd.DataFrame:
    rows = []
    for c in changes:
        if not c.on_front:
            continue
        rows.append(
            {
                "model": c.model,
                "treatment": c.treatment,
                f"Δ {acc}": fmt.signed(c.d_acc),
                f"p_holm ({acc})": fmt.pvalue(c.p_acc),
                f"Δ {exp}": fmt.signed(c.d_exp),
                f"p_holm ({exp})": fmt.pvalue(c.p_exp),
                "n units": fmt.num(c.n) if c.n is not None else fmt.DASH,
            }
        )
    return pd.DataFrame(rows)


def headline_blocks(
    task: str,
    spec: TaskReport,
    merged: pd.DataFrame,
    sig_acc: pd.DataFrame,
    sig_exp: pd.DataFrame,
    out: Path,
) -> list[Block]:
    """The task's headline blocks (empty when the task has no tested exposure metric)."""
    acc, exp = spec.primary, spec.unit_exposure
    if exp is None or acc not in merged or exp not in merged:
        return []
    exp_up = higher_is_better(exp, spec)
    keys = [*CONDITION, "model", "treatment"]

    def lookup(sig: pd.DataFrame) -> dict:
        if sig.empty:
            return {}
        return {tuple(_norm(r[k]) for k in keys): r for _, r in sig.iterrows()}

    acc_t, exp_t = lookup(sig_acc), lookup(sig_exp)
    conditions = []
    for cond, grp in skew_order(by_condition(merged)):
        changes = _changes(grp, cond, acc, exp, exp_up, acc_t, exp_t)
        if changes:
            moves = any(_significant(c.p_acc) or _significant(c.p_exp) for c in changes)
            conditions.append((cond, grp, changes, moves))
    if not conditions:
        return []
    lead = next((c for c in conditions if c[3]), conditions[0])
    cond, grp, changes, _ = lead
    label = condition_label(cond, spec)
    best = best_tradeoff(changes, exp_up)
    blocks: list[Block] = [Block("h3", f"{task}: {label}")]
    figure = tradeoff_figure(
        shown_intervals(shown_intervals(grp, acc), exp),
        acc,
        exp,
        out / f"headline_{task}.png",
        f"{task}, {label}",
        exp_higher_better=exp_up,
        highlight=(best.model, best.treatment) if best else None,
    )
    if figure is not None:
        blocks.append(Block("img", figure))
    blocks += [
        Block("p", s, {"headline": True}) for s in sentences(best, task, label, acc, exp, exp_up)
    ]
    others, still = [], []
    for c in conditions:
        if c is lead:
            continue
        lab = condition_label(c[0], spec)
        if not c[3]:
            still.append(lab)
            continue
        b = best_tradeoff(c[2], exp_up)
        if b is None:
            others.append(f"{lab}: no treatment moves {exp} in its better direction.")
        else:
            sig = "significant" if _significant(b.p_exp) else "not significant"
            units = f"{fmt.num(b.n)} distinct {unit_word(task)}" if b.n else "distinct units"
            if b.deterministic:
                units += " (deterministic replicates: one effective replicate)"
            others.append(
                f"{lab}: {b.model} with {b.treatment}, {exp} {change_text(*b.exp)} ({sig}) "
                f"for {acc} {fmt.signed(b.d_acc)} (p_holm {fmt.p_is(b.p_acc)}; {units})."
            )
    blocks += [Block("p", s) for s in others]
    if still:
        blocks.append(
            Block("p", f"No treatment changes {acc} or {exp} significantly in: {'; '.join(still)}.")
        )
    inner: list[Block] = [
        Block(
            "note",
            f"Per model, the treatments on the {acc}–{exp} Pareto front ({exp}: "
            f"{_better(exp_up)}) against the untreated baseline; Δ = difference of means; "
            "p_holm: paired randomization test over distinct units, Holm-corrected; "
            f"significant at p_holm < {ALPHA_SIG}. Percent changes are printed only where the "
            f"baseline is at least {PCT_FLOOR}.",
        )
    ]
    for cond, _, changes, _ in conditions:
        table = _front_table(changes, acc, exp)
        if not table.empty:
            inner.append(
                Block("h3", f"{task} front — {condition_label(cond, spec)}", {"toc": False})
            )
            inner.append(Block("table", table, {"sticky": 2, "group": "model"}))
    blocks.append(Block("details", (f"{task}: every condition's tested Pareto front", inner)))
    return blocks


def _norm(v: object) -> object:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, int | float | np.floating | np.integer) and not isinstance(v, bool):
        return float(v)
    return v
