"""Every plot of the report, in one place (matplotlib, Agg backend: no display needed).

Every plot shows ONE condition (data set, imbalance level, control, setting), says so in its
title, uses the colour-blind-safe Okabe–Ito palette with the untreated baseline drawn in black,
and is saved once, with a tight bounding box, as SVG: Markdown links it and the HTML inlines it
(drawing a PNG twin as well cost as much again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision
# deficiencies. Black is kept for the baseline.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999"]
LINESTYLES = ["-", "--", ":", "-."]
BASELINE = "none"
FONT = 9  # >= 8 pt everywhere: >= 10.7 px on the page, which shows plots at their drawn size

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
    """Write ``fig`` as ``path`` with an ``.svg`` suffix (the only format drawn) and close it."""
    svg = path.with_suffix(".svg")
    fig.savefig(svg, format="svg", bbox_inches="tight", pad_inches=0.1)
    plt.close(fig)
    return svg


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


def heatmap(
    mat: pd.DataFrame, z: np.ndarray, path: Path, title: str, cmap: str, lim: float, label: str
) -> Path:
    """A rows × systems heat map of ``z`` (labels from ``mat``), symmetric colour scale ±lim."""
    h = max(3.0, 0.22 * len(mat) + 1.5)
    w = max(5.0, 0.45 * mat.shape[1] + 3.5)
    fig, ax = plt.subplots(figsize=(w, h))
    im = ax.imshow(np.ma.masked_invalid(z), cmap=cmap, vmin=-lim, vmax=lim, aspect="auto")
    ax.set_yticks(range(len(mat)), mat.index, fontsize=8)
    ax.set_xticks(range(mat.shape[1]), mat.columns, rotation=60, ha="right", fontsize=8)
    fig.colorbar(im, ax=ax, label=label)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)  # tight box: the title and the colour-bar label are never clipped


def position_bias(curves: dict[str, np.ndarray], path: Path, title: str) -> Path:
    """An LLM's mean output position (1-based) per prompt position, one line per legend label,
    against "copied" (output = input) and "no bias" (the middle)."""
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    n_max = 0
    for i, (label, mean) in enumerate(curves.items()):
        colour, style = _style(i)
        x = np.arange(1, mean.size + 1)
        ax.plot(x, mean, color=colour, linestyle=style, marker="o", ms=3, label=label)
        n_max = max(n_max, mean.size)
    x = np.arange(1, n_max + 1)
    ax.plot(x, x, color="black", lw=0.8, ls="--", label="output = input (copied)")
    ax.plot(x, np.full(x.size, (n_max + 1) / 2), color="grey", lw=0.8, ls=":", label="no bias")
    ax.set_xlabel("position in the prompt")
    ax.set_ylabel("mean position in the LLM's output")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


LEARNING_PANELS = (
    ("loss", "val_loss", "loss (categorical cross-entropy)"),
    ("accuracy", "val_accuracy", "accuracy"),
)


def learning_curves(
    histories: Sequence[tuple[str, Mapping[str, Sequence[float]]]],
    path: str | Path,
    title: str | None = None,
) -> Path:
    """Learning curves from per-epoch histories (``info["history"]`` of the Keras model's
    cells): two panels (loss; accuracy), one colour per label (e.g. treatment), training solid,
    validation dashed, so over-fitting shows as a validation curve turning up (loss) or
    flattening below training (accuracy). Histories sharing a label (replicates) are averaged
    epoch by epoch, with their min–max as a band. Writes an SVG of the (label, history) pairs
    (``path`` with an ``.svg`` suffix) and returns its path; empty input is an error."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not histories:
        raise ValueError("no histories to plot")
    labels = list(dict.fromkeys(label for label, _ in histories))
    fig = Figure(figsize=(11, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    colours = [f"C{i % 10}" for i in range(len(labels))]
    for ax, (train_key, val_key, name) in zip(axes, LEARNING_PANELS, strict=True):
        for label, colour in zip(labels, colours, strict=True):
            runs = [h for lab, h in histories if lab == label]
            for key, style in ((train_key, "-"), (val_key, "--")):
                series = [np.asarray(h[key], dtype=float) for h in runs if key in h]
                if not series:
                    continue
                n = min(len(s) for s in series)
                arr = np.stack([s[:n] for s in series])
                x = np.arange(1, n + 1)
                ax.plot(
                    x,
                    arr.mean(0),
                    style,
                    color=colour,
                    label=f"{label} ({'val' if key == val_key else 'train'})",
                )
                if len(series) > 1:
                    ax.fill_between(x, arr.min(0), arr.max(0), color=colour, alpha=0.12)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(path).with_suffix(".svg")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="svg", bbox_inches="tight")  # the page inlines it
    return out


HEADLINE_FONT = 11  # pt; the figure is 5 in wide, so text stays >= 10 px at a phone's 390 px


def _bar(r: pd.Series, metric: str) -> list[list[float]] | None:
    """Error-bar lengths (below, above) of ``metric`` from its ``_lo``/``_hi`` columns."""
    lo, hi = r.get(f"{metric}_lo"), r.get(f"{metric}_hi")
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return None
    return [[max(0.0, r[metric] - lo)], [max(0.0, hi - r[metric])]]


def short_names(names: Sequence[str], width: int = 24) -> dict[str, str]:
    """Legend names: without their parameters where the base names are still distinct
    ("ease(dtype=float32,l2=500)" → "ease"), else cut to ``width`` characters."""
    base = {n: n.split("(", 1)[0] for n in names}
    if len(set(base.values())) == len(base):
        return base
    return {n: n if len(n) <= width else n[: width - 1] + "…" for n in names}


def tradeoff_figure(
    summary: pd.DataFrame,
    acc: str,
    exp: str,
    path: Path,
    title: str,
    exp_higher_better: bool,
    labels: Mapping[tuple[str, str], str] | None = None,
    highlight: tuple[str, str] | None = None,
) -> Path | None:
    """The headline figure of one condition: every system's accuracy against its exposure with
    both intervals (``<metric>_lo/_hi``), each model's untreated baseline a black-edged square,
    the Pareto front a grey step line, ``labels`` ((model, treatment) → short text) written
    beside their points, ``highlight`` ringed. 5 in wide, constrained layout, 11 pt text."""
    import textwrap

    data = summary[summary[acc].notna() & summary[exp].notna()].reset_index(drop=True)
    if data.empty:
        return None
    models = sorted(data["model"].astype(str).unique())
    colour = {m: OKABE_ITO[i % len(OKABE_ITO)] for i, m in enumerate(models)}
    fig, ax = plt.subplots(figsize=(5.0, 4.8), layout="constrained")
    front = pareto_front(data, acc, exp, exp_higher_better)
    for i, r in data.iterrows():
        base = r["treatment"] == BASELINE
        c = colour[str(r["model"])]
        ax.errorbar(
            r[exp], r[acc], xerr=_bar(r, exp), yerr=_bar(r, acc),
            fmt="s" if base else "o", ms=8 if base else 5, color=c,
            mec="black" if base else c, mew=1.5 if base else 0.5, ecolor=c, elinewidth=0.8,
            alpha=1.0 if (base or front[i]) else 0.5, zorder=3,
        )  # fmt: skip
        system = (str(r["model"]), str(r["treatment"]))
        if highlight == system:
            ax.scatter(r[exp], r[acc], s=280, facecolors="none", edgecolors="black", zorder=4)
        if labels and system in labels:
            ax.annotate(
                labels[system], (r[exp], r[acc]), xytext=(5, 4), textcoords="offset points",
                fontsize=HEADLINE_FONT, fontweight="bold", color="#222222",
            )  # fmt: skip
    line = data[front].sort_values(exp)
    ax.step(
        line[exp], line[acc], where="post" if exp_higher_better else "pre",
        color="#444444", lw=1.0, alpha=0.7, zorder=1,
    )  # fmt: skip
    names = short_names(models)
    for m in models:
        ax.plot([], [], "o", color=colour[m], label=names[m])
    ax.plot([], [], "s", mfc="white", mec="black", mew=1.5, label="untreated")
    ax.plot([], [], "-", color="#444444", label="Pareto front")
    ax.set_xlabel(direction_label(exp, exp_higher_better), fontsize=HEADLINE_FONT)
    ax.set_ylabel(direction_label(acc, True), fontsize=HEADLINE_FONT)
    ax.tick_params(labelsize=HEADLINE_FONT)
    ax.set_title("\n".join(textwrap.wrap(title, 44)), loc="left", fontsize=HEADLINE_FONT + 1)
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncol=2, fontsize=HEADLINE_FONT, frameon=False)
    return _save(fig, path)
