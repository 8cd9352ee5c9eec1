"""Learning curves from per-epoch histories (``info["history"]`` of the Keras model's cells).

One figure, two panels (loss; accuracy), one colour per label (e.g. treatment): training solid,
validation dashed, so over-fitting shows as a validation curve turning up (loss) or flattening
below training (accuracy). Histories sharing a label (replicates) are averaged epoch by epoch;
the line is their mean and the shaded band their min–max.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

PANELS = (
    ("loss", "val_loss", "loss (categorical cross-entropy)"),
    ("accuracy", "val_accuracy", "accuracy"),
)


def plot_learning_curves(
    histories: Sequence[tuple[str, Mapping[str, Sequence[float]]]],
    path: str | Path,
    title: str | None = None,
) -> Path:
    """Write a PNG of (label, history) pairs; returns its path. Empty input is an error."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not histories:
        raise ValueError("no histories to plot")
    labels = list(dict.fromkeys(label for label, _ in histories))
    fig = Figure(figsize=(11, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    colours = [f"C{i % 10}" for i in range(len(labels))]
    for ax, (train_key, val_key, name) in zip(axes, PANELS, strict=True):
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
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", bbox_inches="tight")
    return out
