"""One factor at a time: the same model with one parameter changed, under every treatment.

A *one-factor contrast* pairs two configurations of one model that differ in exactly one
parameter (e.g. ``minilm_frozen`` with ``encoder: minilm`` and with ``encoder: mpnet``), with
parameters left at their declared defaults counted as written. Two questions get their own table:

1. **What does the factor change, under each treatment?** The variant against the base under the
   same treatment and condition: Δ of the task's accuracy metric, of its tail metric, and (where
   stored) of the head–tail gap.
2. **Does each treatment still help both sides?** Each treatment against no treatment, on the
   base and on the variant.

Every test is a paired randomization test over distinct units (each unit's mean over the
replicates both systems hold; :mod:`skewbench.report.aggregate`), Holm-corrected over all tests
of one metric in the table — except that table 2 shows the task's significance rows (their Holm
family) for the metrics the task tests there, so a comparison has one p_holm. The base of a pair is the side holding the component's declared
default for that parameter, else the smaller value in sort order.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

import pandas as pd

from skewbench.report import fmt
from skewbench.report.aggregate import (
    ALPHA_SIG,
    BASE_TREATMENT,
    CONDITION,
    UnitCache,
    keyed,
    null_phrase,
    paired_tests,
)
from skewbench.report.conditions import condition_label
from skewbench.report.render import Block, Heading, Paragraph, Table
from skewbench.report.spec import TaskReport
from skewbench.runner.store import ResultStore

GAP = "head_tail_gap"  # per-unit head − tail recall share (categorize); lower = tail served more


def _declared_defaults(task: str, model: str) -> dict[str, Any]:
    from skewbench.specs import defaults, find

    entry = find("model", task, model)
    return defaults(entry.spec) if entry is not None else {}


def one_factor_pairs(
    data: pd.DataFrame, configs: Mapping[str, dict], task: str
) -> list[tuple[str, str, str, object, object]]:
    """(base label, variant label, parameter, base value, variant value) for every pair of model
    labels of one model name whose full parameters differ in exactly one key."""
    params: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, label in zip(data["key"], data["model"], strict=True):
        model = (configs.get(key) or {}).get("model") or {}
        if label not in params and model.get("name"):
            params[label] = (model["name"], dict(model.get("params") or {}))
    pairs = []
    for (la, (na, pa)), (lb, (nb, pb)) in combinations(sorted(params.items()), 2):
        if na != nb:
            continue
        full_a = {**_declared_defaults(task, na), **pa}
        full_b = {**_declared_defaults(task, nb), **pb}
        diff = [k for k in sorted(set(full_a) | set(full_b)) if full_a.get(k) != full_b.get(k)]
        if len(diff) != 1:
            continue
        p = diff[0]
        default = _declared_defaults(task, na).get(p)
        va, vb = full_a.get(p), full_b.get(p)
        b_is_base = vb == default or (va != default and str(vb) < str(va))
        pairs.append((lb, la, p, vb, va) if b_is_base else (la, lb, p, va, vb))
    return pairs


def _metrics(data: pd.DataFrame, spec: TaskReport) -> list[str]:
    wanted = [spec.primary, spec.unit_exposure, GAP]
    return [m for m in dict.fromkeys(wanted) if m and m in data.columns]


def _tests(
    store: ResultStore,
    data: pd.DataFrame,
    metrics: list[str],
    build: Any,
    cache: UnitCache,
    families: Mapping[str, pd.DataFrame] | None = None,
    method: str = "randomization",
) -> dict[str, pd.DataFrame]:
    """Run the pairs ``build(cond, grp)`` yields, per metric (Holm within a metric). A metric
    whose comparisons are already tested in a task-wide family (``families``: metric → the
    significance table of every treatment against none) takes its rows from there, so the
    same comparison shows the same p_holm in every table."""
    pairs = [
        p
        for key, grp in keyed(data).groupby(CONDITION, dropna=False, sort=True)
        for p in build(dict(zip(CONDITION, key, strict=True)), grp)
    ]
    out = {}
    for m in metrics:
        family = (families or {}).get(m)
        if family is not None and not family.empty:
            out[m] = _rows_of(family, [row for row, _, _ in pairs])
        else:
            out[m] = paired_tests(store, pairs, m, method=method, cache=cache)
    return out


def _rows_of(family: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """The rows of ``family`` whose identity (condition, model, treatment) is one of ``rows``."""
    ident = [*CONDITION, "model", "treatment"]

    def key(r: Mapping[str, Any]) -> tuple:
        return tuple(None if pd.isna(r[c]) else str(r[c]) for c in ident)

    wanted = {key(r) for r in rows}
    keep = [key(r) in wanted for _, r in family.iterrows()]
    return family[keep].reset_index(drop=True)


def _table(res: dict[str, pd.DataFrame], lead: list[str], label: Any) -> pd.DataFrame:
    """One row per compared pair (rows matched across metrics by their identity columns)."""
    ident = [c for c in (*CONDITION, "model", "treatment") if c in next(iter(res.values()))]
    rows: dict[tuple, dict[str, str]] = {}
    for m, t in res.items():
        for _, r in t.iterrows():
            k = tuple(str(r[c]) for c in ident)
            row = rows.setdefault(k, {**dict(zip(lead, label(r), strict=True)), "n units": ""})
            star = " ★" if r["p_holm"] < ALPHA_SIG else ""
            null = null_phrase(r)
            row[f"Δ {m}"] = fmt.signed(r["delta"])
            row[f"p_holm ({m})"] = f"{fmt.pvalue(r['p_holm'])}{star}" + (
                f"; {null}" if null else ""
            )
            row["n units"] = row["n units"] or fmt.num(int(r["n_units"]))
    out = pd.DataFrame(list(rows.values()))
    order = [*lead, *(c for m in res for c in (f"Δ {m}", f"p_holm ({m})") if c in out.columns)]
    return out.reindex(columns=[*order, "n units"]).fillna("–")


def _factor_pairs(base: str, variant: str):
    """Pairs (variant, base) under each treatment both ran, per condition."""

    def build(cond: dict, grp: pd.DataFrame):
        a_all, b_all = grp[grp["model"] == variant], grp[grp["model"] == base]
        for t in sorted(set(a_all["treatment"]) & set(b_all["treatment"])):
            yield (
                {**cond, "treatment": t},
                a_all[a_all["treatment"] == t],
                b_all[b_all["treatment"] == t],
            )

    return build


def _treatment_pairs(sides: tuple[str, str]):
    """Pairs (treatment, no treatment) on each side, per condition."""

    def build(cond: dict, grp: pd.DataFrame):
        for side in sides:
            sgrp = grp[grp["model"] == side]
            none = sgrp[sgrp["treatment"] == BASE_TREATMENT]
            if none.empty:
                continue
            for t in sorted(set(sgrp["treatment"]) - {BASE_TREATMENT}):
                yield {**cond, "model": side, "treatment": t}, sgrp[sgrp["treatment"] == t], none

    return build


def factor_tests(
    store: ResultStore,
    data: pd.DataFrame,
    configs: Mapping[str, dict],
    task: str,
    spec: TaskReport,
    cache: UnitCache,
    families: Mapping[str, pd.DataFrame] | None = None,
    method: str = "randomization",
) -> list[pd.DataFrame]:
    """The test families of every one-factor pair's two tables as the report tests them: the
    variant against the base per metric (rows name the variant ``model`` and the base ``vs``),
    and each treatment against none for the metrics ``families`` does not already hold."""
    metrics = _metrics(data, spec)
    # as in _tests: a metric whose task family is given (and not empty) is not tested again
    rest = [m for m in metrics if (families or {}).get(m, pd.DataFrame()).empty]
    out = []
    for base, variant, *_ in one_factor_pairs(data, configs, task):
        res = _tests(store, data, metrics, _factor_pairs(base, variant), cache, method=method)
        out += [t.assign(model=variant, vs=base) for t in res.values() if not t.empty]
        res = _tests(store, data, rest, _treatment_pairs((base, variant)), cache, method=method)
        out += [t for t in res.values() if not t.empty]
    return out


def _pair_blocks(
    store: ResultStore,
    data: pd.DataFrame,
    metrics: list[str],
    pair: tuple[str, str, str, object, object],
    spec: TaskReport,
    cache: UnitCache,
    families: Mapping[str, pd.DataFrame] | None = None,
) -> list[Block]:
    base, variant, param, vb, vv = pair
    by_factor = _tests(store, data, metrics, _factor_pairs(base, variant), cache)
    if all(t.empty for t in by_factor.values()):
        return []
    gap_note = (
        f" {GAP} = recall_head − recall_tail: a negative Δ narrows it." if GAP in metrics else ""
    )
    blocks: list[Block] = [
        Heading(f"One factor at a time: {base.split('(')[0]}, {param} = {vb} → {vv}", 3),
        Paragraph(
            f"'{variant}' against '{base}' under the same treatment and condition (only {param} "
            f"changes). Δ = variant − base (difference of the cell means over the shared seeds); "
            f"paired randomization tests over distinct units, Holm over the rows of each metric; "
            f"★ p_holm < {ALPHA_SIG}; a non-significant p carries its MDE (80 % power) or "
            f"an equivalence verdict.{gap_note}"
        ),
        Table(
            _table(
                by_factor,
                ["condition", "treatment"],
                lambda r: [condition_label(r, spec), r["treatment"]],
            ),
            sticky=2,
        ),
    ]
    by_treat = _tests(store, data, metrics, _treatment_pairs((base, variant)), cache, families)
    if all(t.empty for t in by_treat.values()):
        return blocks
    side = {base: str(vb), variant: str(vv)}
    return blocks + [
        Paragraph(
            f"Does each treatment still help? Each treatment against {BASE_TREATMENT} on each "
            f"side ({param} = {vb} and {vv}), same tests; where the task's significance table "
            "tests a metric, its rows (and Holm family: every treatment of the task) are "
            "shown, so a comparison has one p_holm throughout the report."
        ),
        Table(
            _table(
                by_treat,
                ["condition", param, "treatment"],
                lambda r: [condition_label(r, spec), side[r["model"]], r["treatment"]],
            ),
            sticky=3,
        ),
    ]


def one_factor_blocks(
    store: ResultStore,
    data: pd.DataFrame,
    configs: Mapping[str, dict],
    task: str,
    spec: TaskReport,
    cache: UnitCache,
    families: Mapping[str, pd.DataFrame] | None = None,
) -> list[Block]:
    """The two tables of the module doc, for every one-factor pair of the task's models;
    ``families``: metric → the task's significance table (the treatment table reads its rows)."""
    metrics = _metrics(data, spec)
    return [
        b
        for pair in one_factor_pairs(data, configs, task)
        for b in _pair_blocks(store, data, metrics, pair, spec, cache, families)
    ]
