"""Plots of the report (matplotlib, Agg backend: no display needed).

Every plot shows ONE condition (data set, imbalance level, control, setting), says so in its
title, uses the colour-blind-safe Okabe–Ito palette with the untreated baseline drawn in black,
and is saved with a tight bounding box as PNG (for Markdown) and SVG (inlined in the HTML).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision
# deficiencies. Black is kept for the baseline.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999"]
LINESTYLES = ["-", "--", ":", "-."]
BASELINE = "none"
FONT = 9  # >= 8 pt everywhere

plt.rcParams.update(
    {
        "font.size": FONT,
        "axes.titlesize": FONT + 1,
        "legend.fontsize": FONT - 1,
        "svg.fonttype": "none",  # text stays text in the SVG: small and selectable
    }
)


def _style(i: int) -> tuple[str, str]:
    """Colour and line style of the i-th non-baseline series (colours first, then dashes)."""
    return OKABE_ITO[i % len(OKABE_ITO)], LINESTYLES[(i // len(OKABE_ITO)) % len(LINESTYLES)]


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=120, bbox_inches="tight", pad_inches=0.1)
    fig.savefig(path.with_suffix(".svg"), bbox_inches="tight", pad_inches=0.1)
    plt.close(fig)
    return path


def direction_label(metric: str, higher_is_better: bool | None) -> str:
    if higher_is_better is None:
        return metric
    return f"{metric} ({'higher' if higher_is_better else 'lower'} is better)"


def metric_vs_imbalance(
    summary: pd.DataFrame,
    metric: str,
    path: Path,
    title: str,
    higher_is_better: bool | None = None,
    xlabel: str = "imbalance level (train)",
    log_x: bool = True,
) -> Path | None:
    """One panel per model; one line per treatment with its interval band; x = imbalance."""
    data = (
        summary[summary["imbalance"].notna() & summary[metric].notna()]
        if metric in summary
        else None
    )
    if data is None or data.empty or data["imbalance"].nunique() < 2:
        return None
    models = sorted(data["model"].unique())
    others = sorted(t for t in data["treatment"].unique() if t != BASELINE)
    style = {t: _style(i) for i, t in enumerate(others)}
    style[BASELINE] = ("#000000", "-")
    fig, axes = plt.subplots(
        1, len(models), figsize=(4.6 * len(models), 3.8), squeeze=False, sharey=True
    )
    for ax, model in zip(axes[0], models, strict=True):
        sub = data[data["model"] == model]
        for treatment, grp in sub.groupby("treatment"):
            grp = grp.sort_values("imbalance")
            x = grp["imbalance"].astype(float)
            c, ls = style[treatment]
            base = treatment == BASELINE
            ax.plot(
                x,
                grp[metric],
                marker="o",
                ms=4 if base else 3,
                ls=ls,
                lw=2.2 if base else 1.2,
                label=treatment,
                color=c,
                zorder=3 if base else 2,
            )
            if f"{metric}_lo" in grp:
                ax.fill_between(x, grp[f"{metric}_lo"], grp[f"{metric}_hi"], alpha=0.12, color=c)
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_title(model)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(direction_label(metric, higher_is_better))
    handles: dict[str, Any] = {}
    for ax in axes[0]:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    order = [BASELINE, *others]
    labels = [t for t in order if t in handles]
    fig.legend(
        [handles[t] for t in labels],
        labels,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        title="treatment",
        frameon=False,
    )
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def pareto_front(
    points: pd.DataFrame,
    acc: str,
    exp: str,
    exp_higher_better: bool,
    acc_higher_better: bool = True,
) -> pd.Series:
    """Boolean mask: points no other point weakly beats on both metrics (strictly on one)."""
    a = points[acc].to_numpy(dtype=float) * (1 if acc_higher_better else -1)
    e = points[exp].to_numpy(dtype=float) * (1 if exp_higher_better else -1)
    keep = []
    for i in range(len(points)):
        dominated = ((a >= a[i]) & (e >= e[i]) & ((a > a[i]) | (e > e[i]))).any()
        keep.append(not dominated)
    return pd.Series(keep, index=points.index)


def pareto(
    summary: pd.DataFrame,
    acc: str,
    exp: str,
    path: Path,
    title: str,
    exp_higher_better: bool = False,
) -> Path | None:
    """Accuracy against an exposure metric, one numbered point per model × treatment of ONE
    condition; the baseline of each model is a black-edged square; the Pareto front (better on
    both axes, directions from the metric metadata) is a grey step line; numbers are explained
    in a key below the plot."""
    if acc not in summary or exp not in summary:
        return None
    data = summary[summary[acc].notna() & summary[exp].notna()].reset_index(drop=True)
    if data.empty:
        return None
    models = sorted(data["model"].unique())
    colour = {m: OKABE_ITO[i % len(OKABE_ITO)] for i, m in enumerate(models)}
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    key_lines, n = [], 0
    for model in models:
        grp = data[data["model"] == model]
        for _, r in grp.iterrows():
            base = r["treatment"] == BASELINE
            ax.scatter(
                r[exp],
                r[acc],
                s=60 if base else 30,
                marker="s" if base else "o",
                color=colour[model],
                edgecolors="black" if base else "none",
                linewidths=1.2,
                zorder=3,
            )
            if not base:
                n += 1
                ax.annotate(
                    str(n),
                    (r[exp], r[acc]),
                    xytext=(3, 3),
                    textcoords="offset points",
                    fontsize=8,
                    color="#333333",
                )
                key_lines.append(f"{n}: {model} · {r['treatment']}")
        ax.scatter([], [], color=colour[model], s=30, label=model)
    ax.scatter(
        [], [], marker="s", facecolor="white", edgecolors="black", s=60, label="baseline (none)"
    )
    front = data[pareto_front(data, acc, exp, exp_higher_better)].sort_values(exp)
    ax.step(
        front[exp],
        front[acc],
        where="post" if exp_higher_better else "pre",
        color="#444444",
        lw=0.9,
        alpha=0.7,
        label="Pareto front",
        zorder=1,
    )
    ax.set_xlabel(direction_label(exp, exp_higher_better))
    ax.set_ylabel(direction_label(acc, True))
    ax.set_title(title, loc="left")
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    if key_lines:
        cols = 2 if len(key_lines) > 8 else 1
        per = -(-len(key_lines) // cols)
        text = "\n".join(
            "    ".join(
                f"{key_lines[c * per + i]:<40}" for c in range(cols) if c * per + i < len(key_lines)
            )
            for i in range(per)
        )
        fig.text(0.0, -0.02, text, va="top", ha="left", fontsize=8, family="monospace")
    fig.tight_layout()
    return _save(fig, path)
