"""Significance sections: trained models against a frozen base (in words and as a table) and
the full table of paired tests against the untreated baseline."""

from __future__ import annotations

import pandas as pd

from skewbench.report import fmt
from skewbench.report import units as U
from skewbench.report.aggregate import (
    ALPHA_SIG,
    BASE_TREATMENT,
    CONDITION,
    compare_models,
    frames_of,
    keyed,
    null_phrase,
)
from skewbench.report.conditions import condition_label, unit_word
from skewbench.report.render import Block, Details, Heading, Paragraph, Table
from skewbench.report.spec import TaskReport
from skewbench.runner.store import ResultStore


def _held_out_phrase(data: pd.DataFrame) -> str:
    """What the test queries are, from the data's own info (never assumed)."""
    splits = set()
    for info in data["info"]:
        v = info.get("query_split")
        if v is None and isinstance(info.get("dataset"), dict):
            v = info["dataset"].get("query_split")
        splits.add(None if v in (None, False, "", "none", "seen") else str(v))
    if splits and None not in splits:
        named = sorted(s for s in splits if s is not None)
        return f"on test queries held out from training (query split: {', '.join(named)})"
    return (
        "on the test queries (the data's info records no query-level split, so test query "
        "texts may also occur in training)"
    )


def contrast_blocks(
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
    blocks: list[Block] = [
        Heading(f"Trained models against '{base}' ({metric})", 3),
        Paragraph(f"Compared {where}."),
    ]
    for _, r in res.iterrows():
        blocks.append(Paragraph(paired_sentence(r, spec, task, metric, base)))
    blocks.append(Table(sig_display(res, spec), sticky=2))
    return blocks


def paired_sentence(
    r: pd.Series,
    spec: TaskReport,
    task: str,
    metric: str,
    base: str,
    words: tuple[str, str, str] = ("beats", "is worse than", "does not differ significantly from"),
    change: str | None = None,
) -> str:
    """One paired test in words: ``words`` = (significantly higher, lower, neither); the
    change in brackets is ``change`` (default: the relative Δ)."""
    verdict = (words[0] if r["delta"] > 0 else words[1]) if r["p_holm"] < ALPHA_SIG else words[2]
    return (
        f"{condition_label(r, spec)}: {r['model']} {verdict} {base}: {metric} "
        f"{fmt.num(r['base'] + r['delta'])} vs {fmt.num(r['base'])} "
        f"({change or _relative(r)}), paired randomization test over "
        f"{fmt.num(int(r['n_units']))} distinct {unit_word(task)}, "
        f"p_holm {fmt.p_is(r['p_holm'])}{_null_suffix(r)}."
    )


def _relative(r: pd.Series) -> str:
    """The relative Δ, or the signed Δ where the base is below the percentage floor."""
    rel = fmt.rel(r["delta"], r["base"])
    return rel if rel != fmt.DASH else f"Δ {fmt.signed(r['delta'])}"


def replicate_blocks(
    store: ResultStore, data: pd.DataFrame, spec: TaskReport, cache: dict
) -> list[Block]:
    """Per condition: how the seeds' unit sets overlap, and what the seed interval means."""
    rows = []
    for key, grp in keyed(data).groupby(CONDITION, dropna=False, sort=True):
        sizes = grp.groupby(["model", "treatment"])["seed"].nunique()
        system = sizes.idxmax()
        cells = grp[(grp["model"] == system[0]) & (grp["treatment"] == system[1])]
        o = U.overlap(frames_of(store, cells, cache))
        if o["seeds"] >= 2:
            rows.append({"condition": condition_label(dict(zip(CONDITION, key, strict=True)), spec),
                         "seeds": fmt.num(int(o["seeds"])), "units per seed": fmt.num(o["per_seed"]),
                         "distinct units": fmt.num(int(o["distinct"])),
                         "in every seed": fmt.num(int(o["every"])),
                         "in one seed only": fmt.num(int(o["one"]))})  # fmt: skip
    if not rows:
        return []
    return [
        Heading("Replicates: which units each seed evaluates", 3),
        Paragraph(
            "Where most units are in every seed, the seeds share their test units: a seed "
            "t-interval then measures training randomness, not the sampling of test units "
            "(the unit bootstrap and the paired tests, which count each distinct unit once, "
            "do). Where every seed holds the same units and gives identical results the report "
            "says 'deterministic'."
        ),
        Table(pd.DataFrame(rows), sticky=1),
    ]


def sig_display(sig: pd.DataFrame, spec: TaskReport) -> pd.DataFrame:
    out = pd.DataFrame({"condition": [condition_label(r, spec) for _, r in sig.iterrows()]})
    for c in ("model", "vs", "treatment", "metric"):
        if c in sig:
            out[c] = sig[c].to_numpy()
    out["n units"] = [fmt.num(int(v)) for v in sig["n_units"]]
    out["replicates"] = [fmt.num(int(v)) for v in sig["replicates"]]
    out["deterministic"] = [fmt.num(v) if v is not None else fmt.DASH for v in sig["deterministic"]]
    out["base"] = [fmt.num(v) for v in sig["base"]]
    out["Δ"] = [fmt.signed(v) for v in sig["delta"]]
    out["Δ %"] = [fmt.rel(d, b) for d, b in zip(sig["delta"], sig["base"], strict=True)]
    out["SE (units)"] = [fmt.num(v) for v in sig["se"]]
    if "seed_sd" in sig:
        out["SD of Δ over seeds"] = [fmt.num(v) for v in sig["seed_sd"]]
    out["p"] = [fmt.pvalue(v) for v in sig["p"]]
    out["p_holm"] = [fmt.pvalue(v) for v in sig["p_holm"]]
    out["sig"] = ["★" if p < ALPHA_SIG else "" for p in sig["p_holm"]]
    out["if not significant"] = [null_phrase(r) for _, r in sig.iterrows()]
    return out


def _null_suffix(row: pd.Series) -> str:
    phrase = null_phrase(row)
    return f" ({phrase})" if phrase else ""


def significance_details(metric: str, sig: pd.DataFrame, spec: TaskReport) -> Block:
    """Every paired test of ``metric`` against the untreated baseline, collapsed."""
    n_perm = sig.attrs.get("n_perm", 0)
    return Details(
        f"Significance against '{BASE_TREATMENT}' ({metric}): all comparisons",
        [
            Paragraph(
                f"Paired randomization test ({n_perm:,} sign flips, enough that Holm "
                f"over every comparison in this table can reach {ALPHA_SIG}) over "
                "distinct units, each unit the mean over the replicates both cells "
                f"hold; ★ marks p_holm < {ALPHA_SIG}. 'deterministic': every seed "
                "gave identical per-unit results for both cells. Each unit enters as its "
                "share of Δ, so the test tests exactly the Δ shown. Holm family: every row "
                "of this table. Where not significant: 'equivalent within ±x' (TOST "
                "against the smallest effect of interest x, Holm over the table) or the "
                "minimum detectable effect at 80 % power (MDE; level "
                f"{ALPHA_SIG}/rows). 'SE (units)': the standard error of Δ from its "
                "units; 'SD of Δ over seeds': how much Δ moves from seed to seed. See "
                "docs/statistics.md."
            ),
            Table(sig_display(sig, spec), sticky=2),
        ],
    )
