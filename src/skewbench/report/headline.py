"""The headline: per task, one accuracy–exposure figure and three plain sentences (the best
trade-off, its cost, whether it is significant), most-skewed condition first; other conditions
where something moves in one sentence each, those where nothing moves in one line; the tested
Pareto front of every condition collapsed below. The verdicts are the paired tests' own
(p_holm, MDE, equivalence): nothing is recomputed here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skewbench.report import fmt
from skewbench.report.aggregate import (
    ALPHA_SIG,
    BASE_TREATMENT,
    CONDITION,
    equivalence_bound,
    null_phrase,
)
from skewbench.report.conditions import by_condition, condition_label, higher_is_better, unit_word
from skewbench.report.leaderboard import shown_intervals
from skewbench.report.plots import pareto_front, tradeoff_figure
from skewbench.report.render import Block, Details, Figure, Heading, Paragraph, Table, file_name
from skewbench.report.spec import TaskReport


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
    # TOST (Holm) shows the accuracy change within ±sesoi, the declared smallest effect of
    # interest: a cost too small to matter even where it is significant
    acc_negligible: float | None = None

    @property
    def d_acc(self) -> float:
        return self.acc[1] - self.acc[0]

    @property
    def d_exp(self) -> float:
        return self.exp[1] - self.exp[0]

    @property
    def moves(self) -> bool:
        return significant(self.p_acc) or significant(self.p_exp)


def significant(p: float) -> bool:
    return not math.isnan(p) and p < ALPHA_SIG


def change_text(base: float, new: float) -> str:
    """ "0.267 → 0.419 (+0.152, +57.0 %)"; the percentage only where |base| >= fmt.PCT_FLOOR."""
    delta = new - base
    rel = fmt.rel(delta, base)
    pct = f", {rel}" if rel != fmt.DASH else ""
    return f"{fmt.num(base)} → {fmt.num(new)} ({fmt.signed(delta)}{pct})"


def best_tradeoff(changes: list[Change], exp_up: bool) -> Change | None:
    """The front treatment with the largest exposure gain among those whose accuracy is not
    significantly lower or is shown equivalent within the smallest effect of interest; if every
    gain costs accuracy beyond that, the one with the most gain per unit of accuracy lost; None
    when no front treatment gains exposure."""

    def gain(c: Change) -> float:
        return c.d_exp if exp_up else -c.d_exp

    gains = [c for c in changes if c.on_front and gain(c) > 0]
    if not gains:
        return None
    free = [
        c
        for c in gains
        if not (c.d_acc < 0 and significant(c.p_acc)) or c.acc_negligible is not None
    ]
    if free:
        return max(free, key=gain)
    return max(gains, key=lambda c: gain(c) / max(-c.d_acc, 1e-12))


def _units(c: Change, task: str) -> str:
    units = f"{fmt.num(c.n)} distinct {unit_word(task)}" if c.n else "the distinct units"
    if c.deterministic:
        units += " (deterministic replicates: one effective replicate)"
    return units


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
        if best.acc_negligible is not None:
            cost = cost[:-1] + (
                f", a change shown to lie within ±{best.acc_negligible:.3g}, the smallest "
                "effect of interest (equivalence test)."
            )

    def verdict(metric: str, p: float, null: str) -> str:
        if math.isnan(p):
            return f"the {metric} change is not tested (not stored per unit)"
        if significant(p):
            return f"the {metric} change is significant (p_holm {fmt.p_is(p)})"
        extra = f"; {null}" if null else ""
        return f"the {metric} change is not significant (p_holm {fmt.p_is(p)}{extra})"

    test = (
        f"{_cap(verdict(exp, best.p_exp, best.null_exp))} and "
        f"{verdict(acc, best.p_acc, best.null_acc)}: paired randomization tests over "
        f"{_units(best, task)}, Holm-corrected, significant below {ALPHA_SIG}."
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
        level = 0.0 if natural else -float(imb)
        return (bool(cond["control"]), natural, level, str(cond["dataset"]), str(cond["setting"]))

    return sorted(conditions, key=key)


def _norm(v: object) -> object:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, int | float | np.floating | np.integer) and not isinstance(v, bool):
        return float(v)
    return v


_KEYS = [*CONDITION, "model", "treatment"]


def _lookup(sig: pd.DataFrame) -> dict[tuple, pd.Series]:
    """The paired tests by (condition, model, treatment)."""
    if sig.empty:
        return {}
    return {tuple(_norm(r[k]) for k in _KEYS): r for _, r in sig.iterrows()}


def _changes(
    grp: pd.DataFrame,
    cond: dict,
    acc: str,
    exp: str,
    exp_up: bool,
    tests: tuple[dict[tuple, pd.Series], dict[tuple, pd.Series]],
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
            ta, te = tests[0].get(k), tests[1].get(k)
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
                    acc_negligible=equivalence_bound(ta) if ta is not None else None,
                )
            )
    return out


def _front_numbers(
    grp: pd.DataFrame, acc: str, exp: str, exp_up: bool
) -> dict[tuple[str, str], int]:
    """(model, treatment) → 1, 2, … for the treated systems on the condition's Pareto front,
    in the order of their exposure (the figure writes the numbers, the note the names)."""
    data = grp[grp[acc].notna() & grp[exp].notna()]
    on = data[pareto_front(data, acc, exp, exp_up) & (data["treatment"] != BASE_TREATMENT)]
    on = on.sort_values(exp, ascending=exp_up)
    pairs = zip(on["model"].astype(str), on["treatment"].astype(str), strict=True)
    return {pair: i for i, pair in enumerate(pairs, 1)}


def _front_table(changes: list[Change], acc: str, exp: str) -> pd.DataFrame:
    rows = [
        {
            "model": c.model,
            "treatment": c.treatment,
            f"Δ {acc}": fmt.signed(c.d_acc),
            f"p_holm ({acc})": fmt.pvalue(c.p_acc),
            f"Δ {exp}": fmt.signed(c.d_exp),
            f"p_holm ({exp})": fmt.pvalue(c.p_exp),
            "n units": fmt.num(c.n) if c.n is not None else fmt.DASH,
        }
        for c in changes
        if c.on_front
    ]
    return pd.DataFrame(rows)


def _other_line(
    label: str, best: Change | None, task: str, acc: str, exp: str, exp_up: bool
) -> str:
    """One sentence for a condition below the lead one where something moves."""
    if best is None:
        return f"{label}: no treatment moves {exp} in its better direction ({_better(exp_up)})."
    sig = "significant" if significant(best.p_exp) else "not significant"
    return (
        f"{label}: {best.model} with {best.treatment}, {exp} {change_text(*best.exp)} ({sig}) "
        f"for {acc} {fmt.signed(best.d_acc)} (p_holm {fmt.p_is(best.p_acc)}; "
        f"{_units(best, task)})."
    )


def headline_blocks(
    task: str,
    spec: TaskReport,
    merged: pd.DataFrame,
    sig_acc: pd.DataFrame,
    sig_exp: pd.DataFrame,
    out: Path,
) -> list[Block]:
    """The task's headline blocks; empty when the task has no tested exposure metric or no
    treatment to compare with its untreated baseline."""
    acc, exp = spec.unit_metric or spec.primary, spec.unit_exposure
    if exp is None or acc not in merged or exp not in merged:
        return []
    exp_up = higher_is_better(exp)
    tests = (_lookup(sig_acc), _lookup(sig_exp))
    conditions = []
    for cond, grp in skew_order(by_condition(merged)):
        changes = _changes(grp, cond, acc, exp, exp_up, tests)
        if changes:
            conditions.append((cond, grp, changes))
    if not conditions:
        return []
    # The lead: the most-skewed condition where some test is significant (else the first).
    cond, grp, changes = next((c for c in conditions if any(x.moves for x in c[2])), conditions[0])
    label = condition_label(cond, spec)
    best = best_tradeoff(changes, exp_up)
    blocks: list[Block] = [Heading(f"{task}: {label}", 3)]
    numbers = _front_numbers(grp, acc, exp, exp_up)
    figure = tradeoff_figure(
        shown_intervals(shown_intervals(grp, acc), exp),
        acc,
        exp,
        out / file_name(f"headline_{task}", ".svg"),
        f"{task}, {label}",
        exp_higher_better=exp_up,
        labels={k: str(n) for k, n in numbers.items()},
        highlight=(best.model, best.treatment) if best else None,
    )
    if figure is not None:
        blocks.append(Figure(figure, fit=True))
    blocks += [
        Paragraph(s, style="headline") for s in sentences(best, task, label, acc, exp, exp_up)
    ]
    if figure is not None:
        key = "; ".join(f"{n} = {m} + {t}" for (m, t), n in numbers.items())
        ring = f" Ringed: {best.model} + {best.treatment}." if best else ""
        blocks.append(
            Paragraph(
                "The figure: one point per system, its mean with the 95 % interval the "
                "leaderboard shows on both axes; squares: untreated baselines; the line: the "
                f"Pareto front.{ring}" + (f" Numbered: {key}." if key else "") + " The best "
                f"trade-off: of the treatments on their model's front, the largest {exp} gain "
                f"whose {acc} is not significantly lower or is shown equivalent within the "
                f"smallest effect of interest (if every gain costs more {acc}: the most gain "
                "per unit lost).",
                style="note",
            )
        )
    still = []
    for c_cond, _, c_changes in conditions:
        if c_cond is cond:
            continue
        lab = condition_label(c_cond, spec)
        if any(x.moves for x in c_changes):
            blocks.append(
                Paragraph(
                    _other_line(lab, best_tradeoff(c_changes, exp_up), task, acc, exp, exp_up)
                )
            )
        else:
            still.append(lab)
    if still:
        blocks.append(
            Paragraph(f"No treatment changes {acc} or {exp} significantly in: {'; '.join(still)}.")
        )
    inner: list[Block] = [
        Paragraph(
            f"Per model, the treatments on the {acc}–{exp} Pareto front ({exp}: "
            f"{_better(exp_up)}) against the untreated baseline; Δ = difference of means; "
            "p_holm: paired randomization test over distinct units, Holm-corrected; "
            f"significant at p_holm < {ALPHA_SIG}. Percent changes are printed only where the "
            f"baseline is at least {fmt.PCT_FLOOR}.",
            style="note",
        )
    ]
    for c_cond, _, c_changes in conditions:
        table = _front_table(c_changes, acc, exp)
        if not table.empty:
            inner.append(Heading(f"{task} front — {condition_label(c_cond, spec)}", 3, toc=False))
            inner.append(Table(table, sticky=2, group="model"))
    blocks.append(Details(f"{task}: every condition's tested Pareto front", inner))
    return blocks
