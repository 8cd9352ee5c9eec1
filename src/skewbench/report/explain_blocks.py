"""Report sections that explain the skew (recommend and search): exposure against relevance
for every item grouping, the amplification decomposition, popularity lift / miscalibration, and
worked examples of re-ranked lists.

Everything here is read from the store: the metrics ``exposure_share[g]``,
``relevant_share[g]``, ``catalog_share[g]``, the info entry ``group_shares`` and the per-unit
columns written by :mod:`skewbench.pipeline.facts`. Numbers are means over seeds; one figure and
one table per data set and condition (imbalance level, control), never mixing conditions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skewbench.explain.decomposition import decompose, ratio_columns
from skewbench.report.plots import heatmap
from skewbench.report.render import Block, Figure, Heading, Paragraph, Table, file_name
from skewbench.runner.store import ResultStore

#: Groupings in the decomposition table (category groupings are in the figure instead).
DECOMPOSE_GROUPS = ("popularity", "brand", "manufacturer", "price")
#: Category labels shown in the exposure table: the most relevant ones.
TOP_CATEGORIES = 6


def condition_groups(data: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """(label, cells) per data set × imbalance level (× control), in sorted order."""
    names = ["dataset", "imbalance"] + (["control"] if "control" in data.columns else [])
    keyed = data.assign(
        imbalance=data["imbalance"].astype(object).where(data["imbalance"].notna(), None)
    )
    for key, grp in keyed.groupby(names, dropna=False, sort=True):
        yield _cond_label(key if isinstance(key, tuple) else (key,), names), grp


def _cond_label(key: tuple[Any, ...], names: list[str]) -> str:
    parts = []
    for n, v in zip(names, key, strict=True):
        if n == "dataset":
            parts.append(str(v))
        elif n == "imbalance":
            nan = v is None or (isinstance(v, float) and math.isnan(v))
            parts.append("natural imbalance" if nan else f"imbalance {v:g}")
        elif v:
            parts.append(f"control {v}")
    return ", ".join(parts)


def _slug(text: str) -> str:
    stem, dot, suffix = text.rpartition(".")
    return file_name(stem, f".{suffix}") if dot else file_name(text)


def system_label(model: str, treatment: str) -> str:
    return f"{model} · {treatment}"


def group_exposure_table(data: pd.DataFrame) -> pd.DataFrame:
    """Long table: system, grouping, group, exposure/relevant/catalog share (mean over seeds)
    and exposure ÷ relevance."""
    cols = [
        c
        for c in data.columns
        if c.startswith(("exposure_share[", "relevant_share[", "catalog_share["))
    ]
    if not cols:
        return pd.DataFrame()
    mean = data.groupby(["model", "treatment"])[cols].mean().reset_index()
    long = mean.melt(id_vars=["model", "treatment"], var_name="metric", value_name="v")
    long["kind"] = long["metric"].str.split("[").str[0]
    inner = long["metric"].str.extract(r"\[(.*?)=(.*)\]")
    long["grouping"], long["group"] = inner[0], inner[1]
    wide = long.pivot_table(
        index=["model", "treatment", "grouping", "group"], columns="kind", values="v"
    ).reset_index()
    wide.columns.name = None
    for c in ("exposure_share", "relevant_share", "catalog_share"):
        if c not in wide.columns:
            wide[c] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        wide["exposure/relevance"] = wide["exposure_share"] / wide["relevant_share"]
    wide["system"] = [
        system_label(m, t) for m, t in zip(wide["model"], wide["treatment"], strict=True)
    ]
    return wide


def _heatmap(wide: pd.DataFrame, path: Path, title: str) -> Path | None:
    mat = wide.assign(row=wide["grouping"] + "=" + wide["group"]).pivot_table(
        index="row", columns="system", values="exposure/relevance", aggfunc="first"
    )
    if mat.empty:
        return None
    order = sorted(mat.index, key=lambda r: (r.split("=")[0] not in DECOMPOSE_GROUPS, r))
    mat = mat.loc[order]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log2(mat.to_numpy(dtype=float))
    z = np.clip(np.where(np.isfinite(z), z, np.where(np.isnan(z), np.nan, -4.0)), -4, 4)
    return heatmap(mat, z, path, title, "RdBu_r", 4.0, "log2(exposure share ÷ relevant share)")


def _exposure_table(wide: pd.DataFrame) -> pd.DataFrame:
    """The table beside the figure: non-category groupings in full, category groupings only
    for their most relevant labels."""
    cat = ~wide["grouping"].isin(DECOMPOSE_GROUPS)
    rel = wide[cat].groupby(["grouping", "group"])["relevant_share"].mean()
    top = set()
    for _, s in rel.groupby(level=0):
        top |= set(s.sort_values(ascending=False).index[:TOP_CATEGORIES])
    keep = ~cat | pd.Series(
        list(zip(wide["grouping"], wide["group"], strict=True)), index=wide.index
    ).isin(top)
    sub = wide[keep]
    base = sub.groupby(["grouping", "group"])[["catalog_share", "relevant_share"]].first()
    exp = sub.pivot_table(
        index=["grouping", "group"],
        columns="system",
        values="exposure_share",
        aggfunc="first",
        sort=False,
    )
    exp.columns = [f"exposure: {c}" for c in exp.columns]
    out = base.join(exp).reset_index()
    out.columns.name = None
    return out.round(4)


def decomposition_table(data: pd.DataFrame) -> pd.DataFrame:
    """One row per (system, grouping, group): the chain of shares (mean over seeds) and the
    ratios of :func:`skewbench.explain.decomposition.decompose`."""
    rows = []
    for (model, treatment), grp in data.groupby(["model", "treatment"]):
        per_seed: dict[tuple[str, str], list[dict[str, float]]] = {}
        for _, r in grp.iterrows():
            shares = (r["info"] or {}).get("group_shares", {})
            for grouping, labels in shares.items():
                if grouping not in DECOMPOSE_GROUPS:
                    continue
                for label, s in labels.items():
                    rec = dict(s)
                    rec["relevant"] = r.get(f"relevant_share[{grouping}={label}]", np.nan)
                    rec["after" if "before" in s else "before"] = r.get(
                        f"exposure_share[{grouping}={label}]", np.nan
                    )
                    per_seed.setdefault((grouping, label), []).append(rec)
        for (grouping, label), recs in per_seed.items():
            mean = pd.DataFrame(recs).mean(numeric_only=True).to_dict()
            rows.append(
                {
                    "system": system_label(model, treatment),
                    "grouping": grouping,
                    "group": label,
                    **mean,
                }
            )
    if not rows:
        return pd.DataFrame()
    out = decompose(pd.DataFrame(rows))
    steps = [c for c in ("catalog", "train", "relevant", "pool", "before", "after") if c in out]
    cols = ["grouping", "group", "system", *steps, *ratio_columns(out), "total"]
    return out[cols].sort_values(["grouping", "group", "system"]).round(4)


def _unit_means(store: ResultStore, grp: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    parts = []
    for key in grp["key"]:
        u = store.units(key)
        have = [c for c in cols if c in u.columns]
        if have:
            parts.append(u[have])
    return pd.concat(parts) if parts else pd.DataFrame()


def lift_table(store: ResultStore, data: pd.DataFrame) -> pd.DataFrame:
    """Per system: popularity lift ΔGAP overall and per mainstreamness group (Abdollahpouri et
    al. 2020) and mean miscalibration C_KL (Steck 2018), users pooled over seeds."""
    from skewbench.metrics.calibration import popularity_lift

    rows = []
    for (model, treatment), grp in data.groupby(["model", "treatment"]):
        u = _unit_means(store, grp, ["profile_pop", "list_pop", "miscalibration", "ug_mainstream"])
        if u.empty or "profile_pop" not in u:
            continue
        row: dict[str, Any] = {"system": system_label(model, treatment)}
        row["lift (all users)"] = popularity_lift(u["profile_pop"], u["list_pop"])
        if "ug_mainstream" in u:
            for g, s in u.groupby("ug_mainstream"):
                row[f"lift ({g})"] = popularity_lift(s["profile_pop"], s["list_pop"])
        if "miscalibration" in u:
            row["miscalibration C_KL"] = float(np.nanmean(u["miscalibration"]))
        rows.append(row)
    return pd.DataFrame(rows).round(4)


def _worked_example(store: ResultStore, data: pd.DataFrame, results: Path) -> list[Block]:
    """One user whose list a re-ranker (over EASE or ItemKNN) changed most towards long-tail
    items, from the stored lists and per-user shares only (the report never refits a model):
    which slots of the top k changed and the user's non-head share before and after; the item
    names, their positions in the untreated model's full ranking and the model's exact reasons
    are one ``skewbench explain`` command away."""
    rer = data[
        data["treatment"].str.startswith(("xquad", "fair", "calibrated"))
        & data["model"].str.startswith(("ease", "itemknn"))  # explain's reasons are exact
    ]
    for _, r in rer.sort_values(["model", "treatment", "seed"]).iterrows():
        base = data[
            (data["model"] == r["model"])
            & (data["treatment"] == "none")
            & (data["seed"] == r["seed"])
        ]
        if base.empty:
            continue
        tu, bu = store.units(r["key"]), store.units(base["key"].iloc[0])
        if not {"ranked", "user_id"} <= set(tu.columns) & set(bu.columns):
            continue
        options = store.config(r["key"]).get("options", {})
        k = int(options.get("exposure_k") or min(10, len(tu["ranked"].iloc[0])))
        pick = _most_changed(tu, bu, k)
        if pick is None:
            continue
        uid, new_ranks, shares = pick
        share = (
            f"; its {SHARE} (top {k}) went from {shares[0]:.2f} to {shares[1]:.2f}"
            if shares
            else ""
        )
        slots = ", ".join(map(str, new_ranks))
        return [
            Heading(f"Worked example — a list a re-ranker changed ({r['dataset']})", 3),
            Paragraph(
                f"{r['dataset']}, {system_label(r['model'], r['treatment'])}, seed {r['seed']}, "
                f"user {uid}: {len(new_ranks)} of the top {k} items (ranks {slots}) were not in "
                f"the untreated model's top {k}{share} — of the users whose list changed, the "
                f"largest rise. The items, their positions in the untreated model's full "
                f"ranking and the model's exact reasons for each: `skewbench explain {results} "
                f"--cell {r['key'][:12]} --user {uid} --top {k}` (it refits the untreated "
                "model; the report reads stored lists only)."
            ),
        ]
    return []


SHARE = "non_head_share"  # the per-user long-tail share of list slots the example quotes


def _most_changed(
    treated: pd.DataFrame, base: pd.DataFrame, k: int
) -> tuple[str, list[int], tuple[float, float] | None] | None:
    """(user, 1-based ranks of the treated top k that are not in the base top k, the user's
    ``SHARE`` base → treated) for the user whose ``SHARE`` rose most among those whose top k
    changed (most new items when the share is not stored; ties: the first in the table)."""
    base_top = {
        str(u): set(list(lst)[:k]) for u, lst in zip(base["user_id"], base["ranked"], strict=True)
    }
    shares = SHARE in treated.columns and SHARE in base.columns
    before = dict(zip(base["user_id"].astype(str), base[SHARE], strict=True)) if shares else {}
    best: tuple[float, str, list[int], tuple[float, float] | None] | None = None
    for i, (uid, lst) in enumerate(
        zip(treated["user_id"].astype(str), treated["ranked"], strict=True)
    ):
        if uid not in base_top:
            continue
        new = [rank for rank, item in enumerate(list(lst)[:k], 1) if item not in base_top[uid]]
        if not new:
            continue
        pair = (float(before[uid]), float(treated[SHARE].iloc[i])) if shares else None
        score = pair[1] - pair[0] if pair else float(len(new))
        if best is None or score > best[0]:
            best = (score, uid, new, pair)
    return None if best is None else best[1:]


def explain_blocks(store: ResultStore, data: pd.DataFrame, task: str, out: Path) -> list[Block]:
    """The explanation sections of one task (recommend or search)."""
    blocks: list[Block] = []
    if data.empty:
        return blocks
    for cond, grp in condition_groups(data):
        wide = group_exposure_table(grp)
        if not wide.empty:
            blocks.append(Heading(f"Exposure vs relevance by item group — {cond}", 3))
            blocks.append(Paragraph(_exposure_note(grp)))
            path = _heatmap(
                wide,
                out / _slug(f"{task}_{cond}_group_exposure.svg"),
                f"{task} — {cond}: exposure ÷ relevance (log2)",
            )
            if path:
                blocks.append(Figure(path))
            blocks.append(Table(_exposure_table(wide).reset_index(drop=True)))
        dec = decomposition_table(grp)
        if not dec.empty:
            blocks.append(Heading(f"Where the skew comes from — {cond}", 3))
            blocks.append(Paragraph(DECOMPOSITION_NOTE))
            blocks.append(Table(dec.reset_index(drop=True)))
        if task == "recommend":
            lift = lift_table(store, grp)
            if not lift.empty:
                blocks.append(Heading(f"Popularity lift and miscalibration — {cond}", 3))
                blocks.append(Paragraph(LIFT_NOTE))
                blocks.append(Table(lift))
    if task == "recommend":
        for _, grp in data.groupby("dataset"):
            try:
                blocks += _worked_example(store, grp[grp["imbalance"].isna()], out.parent)
            except Exception as err:  # an example must never sink the report
                blocks.append(Paragraph(f"(worked example skipped: {err})"))
    return blocks


def _exposure_note(grp: pd.DataFrame) -> str:
    edges = next((i.get("price_edges") for i in grp["info"] if i and i.get("price_edges")), None)
    price = (
        f" Price bands are quartiles of the median unit price over the catalog items: q1 < "
        f"${edges[0]:.2f} ≤ q2 < ${edges[1]:.2f} ≤ q3 < ${edges[2]:.2f} ≤ q4 (ties at an "
        "edge make bands uneven)."
        if edges and len(edges) == 3
        else ""
    )
    return (
        "Exposure share: position-weighted (1/log2(rank+1)) share of list slots in the top "
        "lists; relevant share: share of relevant test pairs; catalog share: share of catalog "
        "items. The figure shows log2(exposure ÷ relevance) for every grouping (red: "
        "over-exposed relative to demand, blue: under-exposed; ±4 clipped); the table lists "
        f"every non-category group and the {TOP_CATEGORIES} most relevant category groups, with "
        "each system's exposure share in its own column. "
        "Popularity head/mid/tail: the most popular items holding 50 % of training "
        "interactions / the least popular holding 20 % / the rest; manufacturer head/mid/tail "
        "by the same rule over manufacturers' training volume." + price
    )


DECOMPOSITION_NOTE = (
    "Share of the group at each stage: catalog items → training interactions → relevant test "
    "pairs → the re-ranker's candidate pool (base model's top candidates, every slot weight 1) "
    "→ exposure before the treatment (base model's top list) → after. Each ratio is the next "
    "share over the previous present one: train/catalog is the skew in the data, relevant/train "
    "the shift to test demand, pool/relevant and before/pool what the model adds, after/before "
    "what the treatment changes. For untreated systems 'before' is their own exposure. The "
    "ratios of a row multiply to 'total' = last share ÷ catalog share."
)
LIFT_NOTE = (
    "Popularity lift ΔGAP = (mean list popularity − mean history popularity) ÷ mean history "
    "popularity over users (Abdollahpouri et al. 2020), overall and per mainstreamness group "
    "(q1 = users with the least popular histories); > 0 means lists more popular than the "
    "users' own taste. Miscalibration: Steck's (2018) KL divergence between the user's history "
    "and list distributions over categories (α = 0.01), mean over users."
)
