"""Report section "who is served": accuracy and exposure by user group, and what each treatment
does to the gap between the best- and worst-served groups (recommend; personalised search).

A user is one unit: its per-user values are averaged over the seeds it appears in, and its
group label is the one it has in most seeds (ties: the first seed's). Definitions of the
intervals, gaps, MAD and the permutation test: :mod:`skewbench.metrics.user_fairness`.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skewbench.metrics.stats import holm, min_detectable_effect
from skewbench.metrics.user_fairness import MIN_USERS, gap_effect_test, gap_summary, group_table
from skewbench.report.aggregate import ALPHA_SIG, POWER
from skewbench.report.explain_blocks import _slug, condition_groups, system_label
from skewbench.report.plots import heatmap
from skewbench.report.render import Block, Figure, Heading, Paragraph, Table
from skewbench.runner.store import ResultStore
from skewbench.seeds import make_rng

ACCURACY = ("ndcg@10", "recall@20", "recall@10")
EXPOSURE = (
    "list_share[popularity=tail]",
    "list_share[brand=Private]",
    "list_share[price=q1]",
    "non_head_share",
)
N_PERM = 10_000


def user_frame(store: ResultStore, keys: list[str]) -> pd.DataFrame:
    """Per-user table of one system: numeric columns averaged over seeds, ``ug_*`` labels by
    majority over seeds; index = user id."""
    parts = []
    for key in keys:
        u = store.units(key)
        if "user_id" not in u.columns or not any(c.startswith("ug_") for c in u.columns):
            continue
        cols = [c for c in (*accuracy_columns(u.columns), *EXPOSURE) if c in u.columns]
        labels = [c for c in u.columns if c.startswith("ug_")]
        # Personalised search: several queries per household — the household is the unit.
        parts.append(u[["user_id", *cols, *labels]].assign(user_id=u["user_id"].astype(str)))
    if not parts:
        return pd.DataFrame()
    df = pd.concat(parts, ignore_index=True)
    num = [c for c in df.columns if c != "user_id" and not c.startswith("ug_")]
    out = df.groupby("user_id")[num].mean()
    for c in (c for c in df.columns if c.startswith("ug_")):
        out[c] = majority_label(df["user_id"], df[c]).reindex(out.index)
    return out


def majority_label(users: pd.Series, labels: pd.Series) -> pd.Series:
    """Per user, the label it has most often; ties go to the label seen first (rows in seed
    order: the first seed's). Counted per (user, label) pair, not per user group."""
    u, user_names = pd.factorize(users, sort=True)
    g, label_names = pd.factorize(labels)
    ok = (u >= 0) & (g >= 0)  # a missing user id or label counts for nothing
    n_labels = max(len(label_names), 1)
    pairs, first, count = np.unique(
        u[ok].astype(np.int64) * n_labels + g[ok], return_index=True, return_counts=True
    )
    user = pairs // n_labels
    # Per user (ascending): the most frequent label, then the earliest seen.
    order = np.lexsort((first, -count, user))
    keep = order[np.r_[True, user[order][1:] != user[order][:-1]]] if order.size else order
    return pd.Series(
        np.asarray(label_names, dtype=object)[pairs[keep] % n_labels],
        index=pd.Index(np.asarray(user_names, dtype=object)[user[keep]]),
    )


def accuracy_columns(columns: Any) -> list[str]:
    """The per-user accuracy columns shown: those of ``ACCURACY`` present, else NDCG and recall
    at whatever cutoffs the run computed (smallest first)."""
    found = [m for m in ACCURACY if m in columns]
    if found:
        return found
    at = [(m.group(1), int(m.group(2)), c) for c in columns if (m := _AT.fullmatch(str(c)))]
    return [c for _, _, c in sorted(at)]


_AT = re.compile(r"(ndcg|recall)@(\d+)")


def _acc_metrics(frame: pd.DataFrame) -> list[str]:
    return accuracy_columns(frame.columns)[:2]


def _fmt_ci(m: float, lo: float, hi: float) -> str:
    if np.isnan(m):
        return "–"
    return f"{m:.4f}" if np.isnan(lo) else f"{m:.4f} [{lo:.4f}, {hi:.4f}]"


def per_group_table(frame: pd.DataFrame, grouping: str) -> pd.DataFrame:
    """Rows per group of one system: n, accuracy with intervals, gap to best, exposure."""
    acc = _acc_metrics(frame)
    tables = {m: _group_table(frame, grouping, m) for m in acc}
    out = tables[acc[0]][["group", "n"]].copy()
    for m, t in tables.items():
        out[m] = [_fmt_ci(a, b, c) for a, b, c in zip(t["mean"], t["lo"], t["hi"], strict=True)]
        out[f"gap to best ({m})"] = t["gap_to_best"].round(4)
    for e in (c for c in EXPOSURE if c in frame.columns and c != "non_head_share"):
        out[e.replace("list_share", "share")] = (
            frame.groupby(grouping)[e].mean().reindex(out["group"]).round(4).to_numpy()
        )
    out.insert(0, "grouping", grouping.removeprefix("ug_"))
    return out


def _group_table(frame: pd.DataFrame, grouping: str, metric: str) -> pd.DataFrame:
    """:func:`group_table` of one metric by one grouping, bootstrapped from the stream of
    (grouping, metric): a group's interval is the same wherever the report shows it, so the
    same users' values are bootstrapped once per report (memo by content)."""
    values = frame[metric].to_numpy(dtype=np.float64)
    codes, names = pd.factorize(frame[grouping].astype(str))
    key = (values.tobytes(), codes.astype(np.int64).tobytes(), tuple(names))
    return _group_table_of(grouping, metric, *key)


@functools.lru_cache(maxsize=256)
def _group_table_of(
    grouping: str, metric: str, values: bytes, codes: bytes, names: tuple[str, ...]
) -> pd.DataFrame:
    labels = np.array(names, dtype=object)[np.frombuffer(codes, dtype=np.int64)]
    rng = make_rng(0, "report", "users", grouping, metric)
    return group_table(np.frombuffer(values, dtype=np.float64), labels, rng=rng)


def _heatmap(
    rows: list[tuple[str, str, float]], path: Path, title: str, metric: str
) -> Path | None:
    if not rows:
        return None
    df = pd.DataFrame(rows, columns=["row", "system", "v"])
    mat = df.pivot_table(index="row", columns="system", values="v", aggfunc="first", sort=False)
    z = mat.to_numpy(dtype=float)
    lim = np.nanmax(np.abs(z)) if np.isfinite(z).any() else 1.0
    return heatmap(mat, z, path, title, "RdBu", lim, f"group mean − system mean ({metric})")


def users_blocks(store: ResultStore, data: pd.DataFrame, task: str, out: Path) -> list[Block]:
    """The "who is served" section of one task, one part per data set and condition."""
    blocks: list[Block] = []
    for cond, grp in condition_groups(data):
        frames = {
            (m, t): user_frame(store, list(g["key"]))
            for (m, t), g in grp.groupby(["model", "treatment"])
        }
        frames = {k: f for k, f in frames.items() if not f.empty and _acc_metrics(f)}
        if not frames:
            continue
        rng = make_rng(0, "report", "users", cond)
        blocks += _section(frames, cond, task, out, rng)
    return blocks


def _section(
    frames: dict[tuple[str, str], pd.DataFrame], cond: str, task: str, out: Path, rng: Any
) -> list[Block]:
    blocks: list[Block] = [Heading(f"Who is served — {cond}", 3)]
    first = next(iter(frames.values()))
    groupings = [c for c in first.columns if c.startswith("ug_")]
    metric = _acc_metrics(first)[0]
    blocks.append(Paragraph(_note(task, metric)))
    heat, summary = [], []
    for (model, treatment), f in frames.items():
        sysname = system_label(model, treatment)
        overall = float(np.nanmean(f[metric]))
        for g in groupings:
            t = _group_table(f, g, metric)
            for _, r in t.iterrows():
                heat.append(
                    (
                        f"{g.removeprefix('ug_')}={r['group']} (n={r['n']})",
                        sysname,
                        r["mean"] - overall,
                    )
                )
            tested = t[t["tested"]]
            if tested.empty:
                continue
            worst, best = tested.loc[tested["mean"].idxmin()], tested.loc[tested["mean"].idxmax()]
            small = t[~t["tested"]]
            summary.append(
                {
                    "system": sysname,
                    "grouping": g.removeprefix("ug_"),
                    f"worst group ({metric})": f"{worst['group']} "
                    + _fmt_ci(worst["mean"], worst["lo"], worst["hi"]),
                    "best group": f"{best['group']} "
                    + _fmt_ci(best["mean"], best["lo"], best["hi"]),
                    **{k: round(v, 4) for k, v in gap_summary(tested["mean"].to_numpy()).items()},
                    f"groups < {MIN_USERS} users": ", ".join(
                        f"{a} (n={b})" for a, b in zip(small["group"], small["n"], strict=True)
                    ),
                }
            )
    path = _heatmap(
        heat,
        out / _slug(f"{task}_{cond}_who_is_served.svg"),
        f"{task} — {cond}: {metric} by user group",
        metric,
    )
    if path:
        blocks.append(Figure(path))
    if summary:
        blocks.append(Table(pd.DataFrame(summary)))
    # Per-group detail for the untreated systems.
    for (model, treatment), f in frames.items():
        if treatment != "none":
            continue
        detail = pd.concat([per_group_table(f, g) for g in groupings], ignore_index=True)
        blocks.append(
            Paragraph(
                f"Per group, {system_label(model, treatment)} (95 % unit-"
                "bootstrap intervals; groups under "
                f"{MIN_USERS} users: size and mean only):"
            )
        )
        blocks.append(Table(detail))
    effects = _effects(frames, groupings, metric, rng)
    if not effects.empty:
        blocks.append(Paragraph(EFFECT_NOTE.format(metric=metric, alpha=ALPHA_SIG)))
        blocks.append(Table(effects))
    return blocks


def _effects(
    frames: dict[tuple[str, str], pd.DataFrame], groupings: list[str], metric: str, rng: Any
) -> pd.DataFrame:
    rows = []
    tail = next(
        (
            c
            for c in ("non_head_share", "list_share[popularity=tail]")
            if c in next(iter(frames.values())).columns
        ),
        None,
    )
    for (model, treatment), f in frames.items():
        base = frames.get((model, "none"))
        if treatment == "none" or base is None:
            continue
        users = base.index.intersection(f.index)
        b, t = base.loc[users], f.loc[users]
        for g in groupings:
            bw = _group_table(b, g, metric)
            tested = bw[bw["tested"]]
            if len(tested) < 2:
                continue
            best = tested.loc[tested["mean"].idxmax(), "group"]
            worst = tested.loc[tested["mean"].idxmin(), "group"]
            res = gap_effect_test(
                b[metric].to_numpy(),
                t[metric].to_numpy(),
                b[g].to_numpy(),
                best,
                worst,
                n_perm=N_PERM,
                rng=rng,
            )
            row = {
                "system": system_label(model, treatment),
                "grouping": g.removeprefix("ug_"),
                "best → worst (base)": f"{best} → {worst}",
                "gap base": res.base_gap,
                "gap treated": res.treated_gap,
                "Δ gap": res.delta,
                "p": res.pvalue,
                "_se": res.se,
                "_n": res.n_a + res.n_b,
                f"Δ {metric} (all)": float(np.nanmean(t[metric]) - np.nanmean(b[metric])),
            }
            if tail:
                row["Δ tail exposure"] = float(np.nanmean(t[tail]) - np.nanmean(b[tail]))
            rows.append(row)
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    df["p_holm"] = holm(df["p"].to_numpy())
    df["sig"] = ["★" if p < ALPHA_SIG else "" for p in df["p_holm"]]
    # What a non-significant row could have detected: the |Δ gap| found with 80 % power at
    # the level a row must pass were it the table's only real effect (as adjust_family).
    df["MDE"] = min_detectable_effect(
        df["_se"].to_numpy(), df["_n"].to_numpy(), ALPHA_SIG / len(df), POWER
    )
    return df.drop(columns=["_se", "_n"]).round(5)


def _note(task: str, metric: str) -> str:
    unit = "household (its queries' values averaged)" if task == "search" else "user"
    return (
        f"Unit = {unit}, averaged over the seeds it appears in. Groups: activity = quantile "
        "thirds of the number of distinct training items (q1 = least active), mainstreamness = "
        "quantile thirds of the mean training popularity of the user's history items (q1 = most "
        "niche) — edges per cell in info['user_group_edges'] —, and the data set's "
        "demographics (missing = 'unknown'). The figure shows each group's mean "
        f"{metric} minus the system's mean; the table names each system's worst- and "
        "best-served group (95 % unit-bootstrap intervals), the max–min gap and the MAD (mean "
        "absolute difference over pairs of groups, Elliot's UserMADranking) over groups of at "
        f"least {MIN_USERS} users."
    )


EFFECT_NOTE = (
    "Treatment effect on the gap: best and worst group fixed from the untreated system; "
    "Δ gap = (treated gap) − (base gap) = mean paired change in the best group − in the worst "
    "group (negative: the gap narrows). p: permutation test of the group labels of the users' "
    "paired changes (H0: the treatment's effect on a user does not depend on the group; "
    f"{N_PERM:,} permutations), Holm-adjusted over this table (★: p_holm < {{alpha}}). "
    "MDE: the smallest |Δ gap| the test detects with 80 % power at level α/m (m = the "
    "table's rows; Welch's SE of the two groups' mean changes): a row without ★ says the "
    "gap did not move by its MDE or more, not that it did not move. "
    "Beside it the treatment's change of {metric} over all users and of the tail items' share "
    "of list slots, so a re-ranker that helps tail items and hurts a user group shows both."
)
