"""Plots of the report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def metric_vs_imbalance(summary: pd.DataFrame, metric: str, path: Path, title: str) -> Path | None:
    """One panel per model; one line per treatment with its 95 % CI band; x = imbalance (log)."""
    data = (
        summary[summary["imbalance"].notna() & summary[metric].notna()]
        if metric in summary
        else None
    )
    if data is None or data.empty or data["imbalance"].nunique() < 2:
        return None
    models = sorted(data["model"].unique())
    treatments = sorted(data["treatment"].unique())
    # One fixed colour per treatment across panels (tab20: enough for every treatment).
    colour = {t: plt.get_cmap("tab20")(i % 20) for i, t in enumerate(treatments)}
    fig, axes = plt.subplots(
        1, len(models), figsize=(5.2 * len(models), 4.2), squeeze=False, sharey=True
    )
    for ax, model in zip(axes[0], models, strict=True):
        sub = data[data["model"] == model]
        for treatment, grp in sub.groupby("treatment"):
            grp = grp.sort_values("imbalance")
            x = grp["imbalance"].astype(float)
            c = colour[treatment]
            ax.plot(x, grp[metric], marker="o", label=treatment, color=c)
            ax.fill_between(x, grp[f"{metric}_lo"], grp[f"{metric}_hi"], alpha=0.08, color=c)
        ax.set_xscale("log")
        ax.set_xlabel("imbalance ratio ρ (train)")
        ax.set_title(model)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(metric)
    handles = {}
    for ax in axes[0]:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    fig.legend(
        list(handles.values()),
        list(handles),
        fontsize=7,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        title="treatment",
    )
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def pareto(summary: pd.DataFrame, acc: str, exp: str, path: Path, title: str) -> Path | None:
    """Accuracy against exposure concentration, one point per model × treatment (× parameter);
    the Pareto front (higher accuracy, lower concentration) is drawn as a step line."""
    if acc not in summary or exp not in summary:
        return None
    data = summary[summary[acc].notna() & summary[exp].notna()]
    if data.empty:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    for model, grp in data.groupby("model"):
        ax.scatter(grp[exp], grp[acc], label=model, s=28)
        for _, r in grp.iterrows():
            if r["treatment"] != "none":
                ax.annotate(r["treatment"], (r[exp], r[acc]), fontsize=5, alpha=0.7)
    # Front: points no other point beats on both accuracy and exposure.
    front = data.sort_values([exp, acc], ascending=["gini" in exp, False])
    best, xs, ys = -float("inf"), [], []
    for _, r in front.iterrows():
        if r[acc] > best:
            best = r[acc]
            xs.append(r[exp])
            ys.append(r[acc])
    ax.step(
        xs,
        ys,
        where="pre" if "gini" in exp else "post",
        color="black",
        lw=0.8,
        alpha=0.6,
        label="Pareto front",
    )
    lower_better = "gini" in exp
    ax.set_xlabel(
        f"{exp} ({'lower' if lower_better else 'higher'} = more exposure to the long tail)"
    )
    ax.set_ylabel(acc)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
