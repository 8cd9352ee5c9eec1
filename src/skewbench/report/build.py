"""The report: Markdown plus one self-contained HTML page, and the exports beside them.

Layout: the headline (per task and condition, the accuracy–exposure trade-off of every
treatment on the Pareto front, with its paired test over distinct units) comes first; then per
task the leaderboards (one per condition), sweep and control tables, re-ranker caps, plots and,
collapsed, the full significance tables and other details. Every statistic counts each unit
(user, query, example) once: see :mod:`skewbench.report.aggregate`.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from skewbench.report import fmt
from skewbench.report.aggregate import (
    BASE_TREATMENT,
    CONDITION,
    N_BOOT,
    compare_models,
    significance,
    summarise,
    unit_summary,
    with_conditions,
)
from skewbench.report.plots import metric_vs_imbalance, pareto, pareto_front
from skewbench.report.render import Block, to_html, to_markdown
from skewbench.report.spec import REPORTS, TaskReport
from skewbench.runner.store import ResultStore

ALPHA_SIG = 0.01
IDS = ["key", "task", "dataset", "imbalance", "control", "setting", "model", "treatment", "seed",
       "seconds", "info"]  # fmt: skip
# The class-weight scheme α_k ∝ N_k/(N−N_k), under either name it has been stored with.
MAJORITY_WEIGHTED = ("majority_weighted", "source_formula")
MAJORITY_WEIGHTED_TITLE = "Weights α_k ∝ N_k/(N−N_k) (the majority class gets the larger weight)"


# ------------------------------------------------------------------------------ helpers


def higher_is_better(metric: str, spec: TaskReport | None = None) -> bool:
    """A metric's better direction: the task's report spec, then the metric registry's
    ``higher_is_better`` where it declares one, then the name (concentration and error
    metrics — Gini, ARP, ECE, PopREO/RSP, divergences — are lower-is-better)."""
    if spec is not None and metric in spec.higher_is_better:
        return spec.higher_is_better[metric]
    try:
        from skewbench.metrics.registry import spec_for_key

        declared = getattr(spec_for_key(metric), "higher_is_better", None)
        if declared is not None:
            return bool(declared)
    except (KeyError, ImportError):
        pass
    return not re.search(r"gini|^arp|^ece|popreo|poprsp|_vs_|kl_|divergence", metric)


def _imb(v: object, spec: TaskReport | None = None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "natural"
    return f"{v:g}"


def condition_label(r: pd.Series | dict, spec: TaskReport | None) -> str:
    """ "dataset, target training Gini 0.5 (matched uniform control), candidates=200"."""
    parts = [str(r["dataset"])]
    if spec is None or spec.imbalance_name is not None:
        name = spec.imbalance_name if spec else "imbalance"
        imb = r["imbalance"]
        natural = imb is None or (isinstance(imb, float) and math.isnan(imb))
        parts.append("data as collected" if natural else f"{name} = {imb:g}")
    if r.get("control"):
        parts[-1] += (
            f" ({'matched uniform control' if r['control'] == 'uniform' else r['control']})"
        )
    if r.get("setting"):
        parts.append(str(r["setting"]))
    return ", ".join(parts)


def _conditions(frame: pd.DataFrame) -> list[tuple[dict, pd.DataFrame]]:
    """Groups by condition, each control right after the skewed level it matches."""
    keyed = frame.assign(
        _imb=frame["imbalance"].astype(float).fillna(-1.0), _ctl=frame["control"].astype(str)
    )
    out = []
    for _, grp in keyed.groupby(["task", "dataset", "_imb", "setting", "_ctl"], sort=True):
        first = grp.iloc[0]
        cond = {c: first[c] for c in CONDITION}
        out.append((cond, grp.drop(columns=["_imb", "_ctl"])))
    return out


# Older stores recorded the training size only as the data set's ``train_rows``.
_FALLBACK = {"n_train": "train_rows"}


def _info_values(data: pd.DataFrame, name: str) -> list[float]:
    vals = []
    for info in data["info"]:
        v = info.get(name)
        if v is None and isinstance(info.get("dataset"), dict):
            v = info["dataset"].get(name, info["dataset"].get(_FALLBACK.get(name, "")))
        if isinstance(v, int | float) and not isinstance(v, bool):
            vals.append(float(v))
    return vals


def _range(vals: list[float]) -> str:
    if not vals:
        return fmt.DASH
    lo, hi = min(vals), max(vals)
    as_int = all(float(v).is_integer() for v in vals)
    f = (lambda v: fmt.num(int(v))) if as_int else fmt.num
    return f(lo) if lo == hi else f"{f(lo)}–{f(hi)}"


def _order_systems(grp: pd.DataFrame, primary: str) -> pd.DataFrame:
    """Rows grouped by model (best baseline first), the baseline first within a model, then
    treatments by the primary metric, best first."""
    if primary not in grp.columns:
        return grp.sort_values(["model", "treatment"])
    base = grp[grp["treatment"] == BASE_TREATMENT].set_index("model")[primary]
    model_rank = grp["model"].map(lambda m: -base.get(m, grp.loc[grp["model"] == m, primary].max()))
    return (
        grp.assign(_m=model_rank.fillna(0), _b=grp["treatment"] != BASE_TREATMENT, _p=-grp[primary])
        .sort_values(["_m", "model", "_b", "_p"])
        .drop(columns=["_m", "_b", "_p"])
    )


# ------------------------------------------------------------------------------ leaderboard


def _interval_kind(r: pd.Series) -> str:
    if r.get("deterministic") is True:
        return "units (deterministic)"
    if r["n_seeds"] < 2:
        return "units (1 seed)"
    return "seeds (t)"


def leaderboard(merged: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Display table: per system the metrics as ``mean [lo, hi]``.

    The interval is the seed t-interval where replicates differ, else the unit bootstrap (for
    metrics stored per unit; list-level metrics of deterministic cells get no interval).
    """
    cols = [c for c in columns if c in merged.columns]
    rows = []
    for _, r in merged.iterrows():
        kind = _interval_kind(r)
        row = {
            "model": r["model"],
            "treatment": r["treatment"],
            "seeds": fmt.num(int(r["n_seeds"])),
            "interval": kind,
            "units": fmt.num(int(r["n_units"])) if pd.notna(r.get("n_units")) else fmt.DASH,
        }
        for c in cols:
            if kind.startswith("units"):
                lo, hi = r.get(f"{c}_blo"), r.get(f"{c}_bhi")
                row[c] = fmt.interval(r[c], lo, hi)
            else:
                row[c] = fmt.interval(r[c], r[f"{c}_lo"], r[f"{c}_hi"])
        rows.append(row)
    return pd.DataFrame(rows)


_INTERVAL_NOTE = (
    "[lo, hi] is a 95 % interval. 'seeds (t)': Student-t over the replicate seeds, shown where "
    "the replicates differ. 'units (deterministic)': every seed gave identical per-unit results "
    "(one effective replicate), so the interval is a percentile bootstrap over distinct units "
    f"({N_BOOT:,} seeded resamples) — available only for metrics stored per unit; list-level "
    "metrics (Gini, coverage …) of such cells have no interval. 'units' counts distinct units, "
    "each the mean over the replicates in which it appears."
)


# ------------------------------------------------------------------------------ headline


def _verdict(dacc: float, pacc: float, acc: str, dexp: float, pexp: float, exp: str) -> str:
    def word(d: float, p: float, m: str) -> str | None:
        if not (isinstance(p, float) and p < ALPHA_SIG):
            return None
        return f"{m} {'higher' if d > 0 else 'lower'}"

    parts = [w for w in (word(dacc, pacc, acc), word(dexp, pexp, exp)) if w]
    return "; ".join(parts) if parts else "no significant change"


def _headline(
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
    exp_up = higher_is_better(exp, spec)
    keys = [*CONDITION, "model", "treatment"]

    def lookup(sig: pd.DataFrame) -> dict:
        if sig.empty:
            return {}
        return {tuple(_norm(r[k]) for k in keys): r for _, r in sig.iterrows()}

    acc_t, exp_t = lookup(sig_acc), lookup(sig_exp)
    blocks: list[Block] = []
    for cond, grp in _conditions(merged):
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
                        "verdict": _verdict(dacc, pacc, acc, dexp, pexp, exp),
                    }
                )
                gain = dexp if exp_up else -dexp
                if gain > 0 and (best is None or gain > best[0]):
                    best = (gain, r, dacc, dexp, pacc, pexp, n, ta)
            if best is not None:
                _, r, dacc, dexp, pacc, pexp, n, ta = best
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
                    f"tests over {fmt.num(n) if n else fmt.DASH} distinct {_unit_word(task)}{det}: "
                    f"p_holm {fmt.p_is(pacc)} for {acc}, {_p_or_untested(pexp, exp)} — "
                    f"{_verdict(dacc, pacc, acc, dexp, pexp, exp)}."
                )
        if not rows:
            continue
        title = f"{task} — {condition_label(cond, spec)}"
        blocks.append(Block("h3", title))
        blocks += [Block("p", s, {"headline": True}) for s in sentences]
        blocks.append(Block("table", pd.DataFrame(rows), {"sticky": 2, "group": "model"}))
    if blocks:
        blocks.insert(
            0,
            Block(
                "note",
                f"{task}: per model, the treatments on the {acc}–{exp} Pareto front "
                f"({exp}: {'higher' if exp_up else 'lower'} is better) against the untreated "
                "baseline; Δ = difference of means; p_holm: paired randomization test over "
                f"distinct units, Holm-corrected; significant at p_holm < {ALPHA_SIG}. Each "
                "sentence names the model's treatment with the largest exposure gain.",
            ),
        )
    return blocks


def _p_or_untested(p: float, metric: str) -> str:
    if isinstance(p, float) and math.isnan(p):
        return f"{metric} not tested (not stored per unit)"
    return f"{fmt.p_is(p)} for {metric}"


def _unit_word(task: str) -> str:
    return {"recommend": "users", "search": "queries", "categorize": "test examples"}.get(
        task, "units"
    )


def _norm(v: object) -> object:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, int | float | np.floating | np.integer) and not isinstance(v, bool):
        return float(v)
    return v


# ------------------------------------------------------------------------------ task sections


def _sweep_blocks(data: pd.DataFrame, spec: TaskReport, merged: pd.DataFrame) -> list[Block]:
    """Training size beside every imbalance level, and the matched uniform control beside each
    skewed level, so that skew and size can be told apart."""
    levels = data[["dataset", "imbalance", "control", "setting"]].astype(str).drop_duplicates()
    if spec.imbalance_name is None or not levels["dataset"].duplicated().any():
        return []
    blocks = [Block("h3", "Imbalance sweep: training size and matched controls")]
    base = merged[merged["treatment"] == BASE_TREATMENT]
    for dataset, dgrp in data.groupby("dataset", sort=True):
        if (levels["dataset"] == dataset).sum() < 2:
            continue
        rows = []
        for cond, cgrp in _conditions(dgrp):
            row = {
                spec.imbalance_name: _imb(cond["imbalance"]),
                "condition": "matched uniform control"
                if cond["control"] == "uniform"
                else (cond["control"] or _level_word(cond["imbalance"])),
                "setting": cond["setting"],
                spec.size_fact: _range(_info_values(cgrp, spec.size_fact)),
            }
            if spec.achieved_fact:
                row[spec.achieved_fact] = _range(_info_values(cgrp, spec.achieved_fact))
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
            Block(
                "p",
                f"{dataset}: {spec.size_fact} per level (min–max over cells); "
                f"{spec.primary} of each model without treatment.",
            )
        )
        blocks.append(Block("table", tab, {"sticky": 2}))
    if not (data["control"] == "uniform").any():
        blocks.append(
            Block(
                "note",
                "No matched uniform control in this run: a change across "
                "levels may come from the training size as well as the skew "
                "unless the training size above is constant.",
            )
        )
    return blocks


def _tuning_blocks(data: pd.DataFrame, spec: TaskReport) -> list[Block]:
    """Hyper-parameters chosen on validation (INTERFACES §4: ``info["tuning"]``), per cell."""
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
        Block("h3", "Hyper-parameters chosen on validation"),
        Block(
            "note",
            "Each cell searched its model's declared ranges on a validation split carved from "
            "training and touched test once with the chosen values.",
        ),
        Block("table", tab.reset_index(drop=True), {"sticky": 2, "group": "model"}),
    ]


def _level_word(imbalance: object) -> str:
    natural = imbalance is None or (isinstance(imbalance, float) and math.isnan(imbalance))
    return "as collected" if natural else "target level"


def _caps_blocks(data: pd.DataFrame, spec: TaskReport, task: str) -> list[Block]:
    """Re-ranker caps (INTERFACES §1): units whose candidate pool holds no protected item."""
    has = [isinstance(i, dict) and "share_units_no_protected_in_pool" in i for i in data["info"]]
    sub = data[has]
    if sub.empty:
        return []
    rows, sentences = [], []
    sub = sub.assign(_cond=[condition_label(r, spec) for _, r in sub.iterrows()])
    for (cond, model, treatment), grp in sub.groupby(["_cond", "model", "treatment"], sort=True):
        share = _info_values(grp, "share_units_no_protected_in_pool")
        pool = _range(_info_values(grp, "candidate_pool_size"))
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
            f"{cond}, {model}: for {share_pct} of the evaluated {_unit_word(task)} the "
            f"{pool} candidates hold no {prot} item, so no re-ranker can give those "
            f"{_unit_word(task)} any {prot} exposure."
        )
    return [
        Block("h3", "What caps the re-rankers: protected items in the candidate pool"),
        *[Block("p", s) for s in sentences],
        Block("table", tab, {"sticky": 2}),
    ]


def _group_exposure_blocks(data: pd.DataFrame, spec: TaskReport) -> list[Block]:
    """Per condition: each system's exposure share per group beside the test relevance share
    (metrics named ``…share[group=…]``), never averaged across conditions."""
    cols = [c for c in data.columns if c.startswith(("exposure_share[", "relevant_share["))]
    # Popularity and brand groups only: other groupings (department, manufacturer …) are in the
    # store, but would make these tables unreadably wide.
    cols = [c for c in cols if "[popularity=" in c or "[brand=" in c]
    if not cols:
        return []
    inner: list[Block] = []
    for cond, grp in _conditions(data):
        expo = [c for c in cols if c.startswith("exposure_share[") and grp[c].notna().any()]
        rel = [c for c in cols if c.startswith("relevant_share[") and grp[c].notna().any()]
        if not expo:
            continue
        mean = grp.groupby(["model", "treatment"], sort=True)[expo].mean().reset_index()
        mean = _order_systems(mean.assign(_k=0), expo[0]).drop(columns="_k")
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
            Block("h3", f"Exposure share per group — {condition_label(cond, spec)}", {"toc": False})
        )
        inner.append(Block("table", tab, {"sticky": 2, "group": "model", "heat": names}))
    if not inner:
        return []
    return [
        Block(
            "details",
            (
                "Per-group exposure share vs relevance share (mean over seeds, one table per "
                "condition; darker = larger share)",
                inner,
            ),
        )
    ]


def _majority_weighted_blocks(merged: pd.DataFrame, spec: TaskReport) -> list[Block]:
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
        Block("h3", MAJORITY_WEIGHTED_TITLE + where),
        Block(
            "p",
            "This scheme weights class k by N_k/(N−N_k), which grows with the class size: the "
            "majority class gets the larger weight, the opposite of inverse-frequency weighting. "
            "Tail-class recall without treatment, with inverse-frequency weights and with this "
            "scheme (mean [95 % t-interval over seeds]):",
        ),
        Block("table", tab.reset_index(drop=True), {"sticky": 2}),
    ]


def _held_out_phrase(data: pd.DataFrame) -> str:
    """What the test queries are, from the data's own info (never assumed)."""
    splits = set()
    for info in data["info"]:
        v = info.get("query_split")
        if v is None and isinstance(info.get("dataset"), dict):
            v = info["dataset"].get("query_split")
        splits.add(None if v in (None, False, "", "none", "seen") else str(v))
    if splits and None not in splits:
        return f"on test queries held out from training (query split: {', '.join(sorted(splits))})"
    return (
        "on the test queries (the data's info records no query-level split, so test query "
        "texts may also occur in training)"
    )


def _contrast_blocks(
    store: ResultStore,
    data: pd.DataFrame,
    metric: str,
    base: str,
    prefixes: tuple[str, ...],
    task: str,
    spec: TaskReport,
    cache: dict,
) -> list[Block]:
    """Trained models against a frozen base, in words and as a table."""
    models = sorted(m for m in data["model"].unique() if m.startswith(prefixes))
    res = compare_models(store, data, metric, base, models, cache=cache)
    if res.empty:
        return []
    where = _held_out_phrase(data)
    blocks = [
        Block("h3", f"Trained models against '{base}' ({metric})"),
        Block("p", f"Compared {where}."),
    ]
    for _, r in res.iterrows():
        verdict = (
            ("beats" if r["delta"] > 0 else "is worse than")
            if r["p_holm"] < ALPHA_SIG
            else "does not differ significantly from"
        )
        blocks.append(
            Block(
                "p",
                f"{condition_label(r, spec)}: {r['model']} {verdict} {base}: {metric} "
                f"{fmt.num(r['base'] + r['delta'])} vs {fmt.num(r['base'])} "
                f"({fmt.pct(r['rel_delta'])}), paired randomization test over "
                f"{fmt.num(int(r['n_units']))} distinct {_unit_word(task)}, "
                f"p_holm {fmt.p_is(r['p_holm'])}.",
            )
        )
    blocks.append(Block("table", _sig_display(res, spec), {"sticky": 2}))
    return blocks


def _sig_display(sig: pd.DataFrame, spec: TaskReport) -> pd.DataFrame:
    out = pd.DataFrame({"condition": [condition_label(r, spec) for _, r in sig.iterrows()]})
    for c in ("model", "vs", "treatment", "metric"):
        if c in sig:
            out[c] = sig[c].to_numpy()
    out["n units"] = [fmt.num(int(v)) for v in sig["n_units"]]
    out["replicates"] = [fmt.num(int(v)) for v in sig["replicates"]]
    out["deterministic"] = [fmt.num(v) if v is not None else fmt.DASH for v in sig["deterministic"]]
    out["base"] = [fmt.num(v) for v in sig["base"]]
    out["Δ"] = [fmt.signed(v) for v in sig["delta"]]
    out["Δ %"] = [fmt.pct(v) for v in sig["rel_delta"]]
    out["p"] = [fmt.pvalue(v) for v in sig["p"]]
    out["p_holm"] = [fmt.pvalue(v) for v in sig["p_holm"]]
    out["sig"] = ["★" if p < ALPHA_SIG else "" for p in sig["p_holm"]]
    return out


def _learning_curve_blocks(data: pd.DataFrame, out: Path) -> list[Block]:
    """Per-epoch training and validation curves of the models that record a ``history``
    (the Keras source model), one figure per dataset × ρ × control × model, one line per
    treatment (replicates averaged, min–max band)."""
    from skewbench.models.categorize.learning_curves import plot_learning_curves

    has = [isinstance(i, dict) and isinstance(i.get("history"), dict) for i in data["info"]]
    sub = data[has]
    if sub.empty:
        return []
    blocks: list[Block] = [
        Block("h3", "Learning curves (models with per-epoch histories)"),
        Block(
            "p",
            "Training (solid) and validation (dashed) loss and accuracy per epoch; a validation "
            "loss that turns up while training loss falls is over-fitting.",
        ),
    ]
    keys = ["dataset", "imbalance", "control", "model"]
    keys = [k for k in keys if k in sub.columns]
    keyed = sub.assign(
        imbalance=sub["imbalance"].astype(object).where(sub["imbalance"].notna(), None)
    )
    for key, grp in keyed.groupby(keys, dropna=False, sort=True):
        label = ", ".join(f"{k}={v}" for k, v in zip(keys, key, strict=True) if v not in ("", None))
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"learning_curves_{label}")[:120] + ".png"
        histories = [(t, i["history"]) for t, i in zip(grp["treatment"], grp["info"], strict=True)]
        path = plot_learning_curves(histories, out / name, label)
        blocks.append(Block("img", path))
    return blocks


def _skew_blocks(store: ResultStore, data: pd.DataFrame, task: str, out: Path) -> list[Block]:
    """Explanation (item groups, decomposition, examples) and "who is served" sections."""
    from skewbench.report.explain_blocks import explain_blocks
    from skewbench.report.llm_blocks import llm_blocks
    from skewbench.report.users_blocks import users_blocks

    blocks = explain_blocks(store, data, task, out) + users_blocks(store, data, task, out)
    return blocks + llm_blocks(store, data, task, out)


def _info_fact_blocks(data: pd.DataFrame, facts: dict[str, str]) -> list[Block]:
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
        Block(
            "details",
            (
                "Ties among equally scored products (mean per cell)",
                [Block("p", meaning + "."), Block("table", pd.DataFrame(rows), {"sticky": 2})],
            ),
        )
    ]


def _plot_name(*parts: object) -> str:
    name = "_".join(str(p) for p in parts if p not in (None, ""))
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name) + ".png"


def _task_blocks(
    store: ResultStore, table: pd.DataFrame, task: str, spec: TaskReport, out: Path
) -> tuple[list[Block], list[Block], pd.DataFrame]:
    """(headline blocks, section blocks, merged summary) of one task."""
    blocks: list[Block] = [Block("h2", f"Task: {task}")]
    metrics = [c for c in table.columns if c not in IDS and table[c].notna().any()]
    data = table[IDS + metrics]
    cache: dict = {}
    summary = summarise(data, metrics)
    # Bootstrap only what the report shows: the leaderboard columns and the tested metrics.
    shown = list(dict.fromkeys([*spec.columns, spec.unit_metric, spec.unit_exposure]))
    usum = unit_summary(store, data, [m for m in shown if m], cache=cache)
    keys = [*CONDITION, "model", "treatment"]
    merged = summary.merge(usum.drop(columns=["n_seeds"]), on=keys, how="left")

    sig_acc = (
        significance(store, data, spec.unit_metric, cache=cache)
        if spec.unit_metric
        else pd.DataFrame()
    )
    sig_exp = pd.DataFrame()
    if spec.unit_exposure and f"{spec.unit_exposure}_units" in usum.columns:
        sig_exp = significance(store, data, spec.unit_exposure, cache=cache)
    headline = _headline(task, spec, merged, sig_acc, sig_exp)

    blocks.append(Block("note", _INTERVAL_NOTE))
    for cond, grp in _conditions(merged):
        size = _range(_info_values(data[_mask(data, cond)], spec.size_fact))
        blocks.append(Block("h3", f"Leaderboard — {condition_label(cond, spec)}"))
        if size != fmt.DASH:
            blocks.append(Block("note", f"{spec.size_fact} = {size}"))
        board = leaderboard(_order_systems(grp, spec.primary), spec.columns)
        blocks.append(Block("table", board, {"sticky": 2, "group": "model"}))
    blocks += _sweep_blocks(data, spec, merged)
    blocks += _tuning_blocks(data, spec)
    blocks += _caps_blocks(data, spec, task)
    if task == "categorize":
        blocks += _majority_weighted_blocks(merged, spec)
        blocks += _learning_curve_blocks(data, out)
    if spec.model_contrast and spec.unit_metric:
        blocks += _contrast_blocks(
            store, data, spec.unit_metric, *spec.model_contrast, task, spec, cache
        )
    blocks += _plot_blocks(merged, task, spec, out)
    blocks += _group_exposure_blocks(data, spec)
    if task != "categorize":
        blocks += _skew_blocks(store, data, task, out)
    if spec.info_facts:
        blocks += _info_fact_blocks(data, spec.info_facts)
    for metric, sig in ((spec.unit_metric, sig_acc), (spec.unit_exposure, sig_exp)):
        if sig.empty:
            continue
        n_perm = sig.attrs.get("n_perm", 0)
        blocks.append(
            Block(
                "details",
                (
                    f"Significance against '{BASE_TREATMENT}' ({metric}): all comparisons",
                    [
                        Block(
                            "p",
                            f"Paired randomization test ({n_perm:,} sign flips, enough that Holm "
                            f"over every comparison in this table can reach {ALPHA_SIG}) over "
                            "distinct units, each unit the mean over the replicates both cells "
                            f"hold; ★ marks p_holm < {ALPHA_SIG}. 'deterministic': every seed "
                            "gave identical per-unit results for both cells.",
                        ),
                        Block("table", _sig_display(sig, spec), {"sticky": 2}),
                    ],
                ),
            )
        )
    return headline, blocks, merged


def _mask(data: pd.DataFrame, cond: dict) -> pd.Series:
    m = pd.Series(True, index=data.index)
    for c in CONDITION:
        v = cond[c]
        if c == "imbalance":
            m &= data[c].isna() if v is None or pd.isna(v) else (data[c].astype(float) == float(v))
        else:
            m &= data[c] == v
    return m


def _shown_intervals(merged: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``<metric>_lo/_hi`` replaced by the unit bootstrap where the leaderboard shows it."""
    if f"{metric}_blo" not in merged:
        return merged
    units = merged.apply(lambda r: _interval_kind(r).startswith("units"), axis=1)
    out = merged.copy()
    out.loc[units, f"{metric}_lo"] = merged.loc[units, f"{metric}_blo"]
    out.loc[units, f"{metric}_hi"] = merged.loc[units, f"{metric}_bhi"]
    return out


def _plot_blocks(merged: pd.DataFrame, task: str, spec: TaskReport, out: Path) -> list[Block]:
    inner: list[Block] = []
    skewed = merged[merged["control"] == ""]
    for metric in spec.vs_imbalance:
        for (dataset, setting), grp in skewed.groupby(["dataset", "setting"], sort=True):
            title = (
                f"{dataset}{', ' + setting if setting else ''}: {metric} vs {spec.imbalance_name}"
            )
            path = metric_vs_imbalance(
                _shown_intervals(grp, metric),
                metric,
                out / _plot_name(task, dataset, setting, metric, "vs_imbalance"),
                title,
                higher_is_better(metric, spec),
                xlabel=str(spec.imbalance_name),
                log_x=task == "categorize",
            )
            if path:
                inner.append(Block("img", path))
    for acc, exp in spec.tradeoff:
        for cond, grp in _conditions(merged):
            path = pareto(
                grp,
                acc,
                exp,
                out
                / _plot_name(
                    task,
                    cond["dataset"],
                    _imb(cond["imbalance"]),
                    cond["control"],
                    cond["setting"],
                    acc,
                    "vs",
                    exp,
                ),
                f"{task} — {condition_label(cond, spec)}",
                exp_higher_better=higher_is_better(exp, spec),
            )
            if path:
                inner.append(Block("img", path))
    if not inner:
        return []
    note = Block(
        "note",
        "One condition per plot. Bands: the 95 % interval the leaderboard shows for that cell "
        "(seed t-interval, or unit bootstrap for deterministic cells). Pareto plots: numbered "
        "points are explained below each plot; squares are the untreated baselines.",
    )
    return [Block("h3", "Plots"), note, *inner]


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
            flagged[["task", "dataset", "imbalance", "model", "treatment", "seed"]]
            .astype(str)
            .reset_index(drop=True),
        ),
    ]


def _write_atomic(path: Path, text: str) -> None:
    """Write to a temporary name in the same folder, then rename: a reader (or a crash) never
    sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def build_report(output: Path, *, exports: bool = True) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (with PNG/SVG plots) under ``<output>/report``,
    and with ``exports`` the tidy cell metrics, per-unit tables and LaTeX leaderboards."""
    store_file = output / "results.sqlite"
    if not store_file.is_file():
        raise FileNotFoundError(f"no results store at {store_file}; run the config first")
    out = output / "report"
    with ResultStore(store_file) as store:  # checks the store before anything is written
        out.mkdir(parents=True, exist_ok=True)
        raw = store.table()
        table = with_conditions(raw, store.configs()) if not raw.empty else raw
        failures = store.open_failures()
        seconds = table["seconds"].sum() if not table.empty else 0
        intro = [
            Block("h1", f"skewbench report — {output.name}"),
            Block(
                "note",
                f"{len(table)} finished cells; {len(failures)} cells whose latest attempt "
                f"failed and that have not finished since; total cell time {seconds:.0f} s.",
            ),
        ]
        if not failures.empty:
            cols = ["task", "dataset", "imbalance", "model", "treatment", "seed", "attempts"]
            intro += [
                Block("h2", f"Open failures ({len(failures)} cells)"),
                Block("table", failures[[*cols, "error"]].reset_index(drop=True)),
            ]
        headline: list[Block] = []
        sections: list[Block] = _convergence_blocks(table)
        summaries = {}
        for task, tgrp in table.groupby("task") if not table.empty else []:
            h, s, merged = _task_blocks(store, tgrp, task, REPORTS[task], out)
            headline += h
            sections += s
            summaries[task] = merged
        if exports and not table.empty:
            from skewbench.report.export import write_exports

            links = write_exports(store, table, summaries, out)
            sections += [
                Block("h2", "Exports"),
                Block("p", "Files beside this report: " + ", ".join(links) + "."),
            ]
    blocks = intro
    if headline:
        blocks += [Block("h2", "Headline: what each treatment buys and costs"), *headline]
    blocks += sections
    md, page = out / "report.md", out / "report.html"
    _write_atomic(md, to_markdown(blocks, out))
    _write_atomic(page, to_html(blocks))
    return md, page
