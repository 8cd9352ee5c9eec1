"""Imbalance profiles: counts, ratio, Gini, Lorenz curve and head/mid/tail groups of classes.

Definitions (each a parameter where libraries disagree):

- **Imbalance ratio** ρ = max_k n_k / min_k n_k over classes with n_k > 0.
- **Gini** of non-negative values x_1..x_n (mean μ > 0)::

      G_n   = Σ_i Σ_j |x_i − x_j| / (2 n² μ)        normalizer="n"   (default; Lorenz-area form,
                                                                       max (n−1)/n)
      G_n-1 = G_n · n / (n − 1)                     normalizer="n-1" (max 1; unbiased form)

  computed in O(n log n) as G_n = 2 Σ_i i·x_(i) / (n Σ x) − (n + 1)/n with x sorted ascending.
  All-zero input and n = 1 give 0.
- **Head / mid / tail** (``rule="share"``, default): sort classes by count descending (ties keep
  input order). Head = the smallest top prefix whose examples reach ``head`` (default 0.5) of
  all examples; tail = the largest bottom suffix whose examples are at most ``tail`` (default
  0.2) of all examples; mid = the rest. ``rule="rank"`` uses fractions of *classes* instead:
  head = top ⌈head·K⌉ classes, tail = bottom ⌊tail·K⌋ classes (Pareto 20/80: head=0.2,
  tail=0.8). Head always holds at least one class and wins over tail.

Subsamples that follow a chosen skew (controlled imbalance) are in :mod:`skewbench.data.subsample`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from skewbench.metrics.exposure import gini as metric_gini

Normalizer = Literal["n", "n-1"]
GroupRule = Literal["share", "rank"]
GROUP_NAMES = ("head", "mid", "tail")


# --------------------------------------------------------------------------------------------
# measures


def gini(values: Sequence[float] | np.ndarray, normalizer: Normalizer = "n") -> float:
    """Gini coefficient of non-negative values (formula in the module docstring)."""
    x = np.sort(np.asarray(values, dtype=float).ravel())
    if normalizer not in ("n", "n-1"):
        raise ValueError(f"gini normalizer must be 'n' or 'n-1', got {normalizer!r}")
    if x.size == 0:
        raise ValueError("gini of an empty array is undefined")
    if x[0] < 0 or not np.isfinite(x).all():
        raise ValueError("gini needs finite non-negative values")
    if x.size == 1 or x.sum() == 0:
        return 0.0  # a profile of one class, or of nothing, is perfectly even
    return metric_gini(x, normalizer)


def imbalance_ratio(counts: Sequence[float] | np.ndarray) -> float:
    """max / min over the classes that occur (count > 0)."""
    c = np.asarray(counts, dtype=float)
    c = c[c > 0]
    if c.size == 0:
        raise ValueError("imbalance ratio needs at least one non-zero count")
    return float(c.max() / c.min())


def lorenz_curve(counts: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve: (share of classes, share of examples), classes sorted ascending; from (0,0).

    The area between the diagonal and the curve is G_n / 2.
    """
    c = np.sort(np.asarray(counts, dtype=float).ravel())
    x = np.arange(c.size + 1) / c.size
    y = np.concatenate([[0.0], np.cumsum(c) / c.sum()])
    return x, y


def _desc_order(counts: np.ndarray) -> np.ndarray:
    # count descending, ties by input position (stable) — deterministic ranks
    return np.argsort(-counts, kind="stable")


def class_ranks(counts: Sequence[float] | np.ndarray) -> np.ndarray:
    """Rank of each class by count, 0 = most frequent (ties keep input order)."""
    c = np.asarray(counts, dtype=float)
    ranks = np.empty(c.size, dtype=np.int64)
    ranks[_desc_order(c)] = np.arange(c.size)
    return ranks


def head_mid_tail(
    counts: Sequence[float] | np.ndarray,
    rule: GroupRule = "share",
    head: float = 0.5,
    tail: float = 0.2,
) -> np.ndarray:
    """Group of each class ("head" / "mid" / "tail"), aligned with ``counts``; rule in module doc."""
    c = np.asarray(counts, dtype=float)
    if c.size == 0:
        return np.array([], dtype=object)
    if not (0 < head <= 1 and 0 <= tail < 1):
        raise ValueError(f"head must be in (0, 1] and tail in [0, 1), got {head}, {tail}")
    order = _desc_order(c)
    k = c.size
    if rule == "share":
        sc = c[order] / c.sum()
        cum_before = np.concatenate([[0.0], np.cumsum(sc)[:-1]])
        is_head = cum_before < head - 1e-12  # prefix up to and including the class reaching head
        suffix = np.cumsum(sc[::-1])[::-1]  # examples from this class to the smallest
        is_tail = suffix <= tail + 1e-12
    elif rule == "rank":
        pos = np.arange(k)
        is_head = pos < max(1, int(np.ceil(head * k - 1e-9)))
        is_tail = pos >= k - int(np.floor(tail * k + 1e-9))
    else:
        raise ValueError(f"head/tail rule must be 'share' or 'rank', got {rule!r}")
    is_head[0] = True
    sorted_groups = np.where(is_head, "head", np.where(is_tail, "tail", "mid")).astype(object)
    out = np.empty(k, dtype=object)
    out[order] = sorted_groups
    return out


def rule_text(rule: GroupRule = "share", head: float = 0.5, tail: float = 0.2) -> str:
    """One line stating the head/mid/tail rule, for reports."""
    if rule == "share":
        return (
            f"head = most frequent classes until {head:.0%} of examples are covered; "
            f"tail = least frequent classes together holding at most {tail:.0%}; mid = rest"
        )
    return f"head = top {head:.0%} of classes by count; tail = bottom {tail:.0%}; mid = rest"


# --------------------------------------------------------------------------------------------
# profile


@dataclass(frozen=True)
class ImbalanceProfile:
    """Class counts sorted descending, with the summary measures and each class's group."""

    classes: np.ndarray  # class labels, most frequent first
    counts: np.ndarray  # int64, descending
    groups: np.ndarray  # "head" / "mid" / "tail", aligned with classes
    imbalance_ratio: float
    gini: float
    normalizer: Normalizer
    rule: str  # the head/mid/tail rule in words

    @property
    def n_classes(self) -> int:
        return int(self.counts.size)

    @property
    def n_examples(self) -> int:
        return int(self.counts.sum())

    def group_of(self) -> dict[str, str]:
        """class → group."""
        return dict(zip(map(str, self.classes), self.groups, strict=True))

    def table(self) -> pd.DataFrame:
        """One row per class: count, share, cumulative share, group."""
        share = self.counts / self.counts.sum()
        return pd.DataFrame(
            {
                "class": self.classes,
                "count": self.counts,
                "share": share,
                "cum_share": np.cumsum(share),
                "group": self.groups,
            }
        )

    def summary(self) -> dict[str, float | int | str]:
        out: dict[str, float | int | str] = {
            "n_examples": self.n_examples,
            "n_classes": self.n_classes,
            "imbalance_ratio": self.imbalance_ratio,
            f"gini (normaliser {self.normalizer})": self.gini,
        }
        for g in GROUP_NAMES:
            out[f"{g}_classes"] = int((self.groups == g).sum())
        return out

    def to_text(self, max_rows: int = 60) -> str:
        """Printable profile: summary lines, the rule, then the class table (markdown)."""
        s = self.summary()
        lines = [
            f"examples: {s['n_examples']:,}   classes: {s['n_classes']:,}",
            f"imbalance ratio (max/min): {self.imbalance_ratio:,.1f}",
            f"Gini of class counts (normaliser {self.normalizer}): {self.gini:.4f}",
            "groups: "
            + ", ".join(f"{g} {s[f'{g}_classes']}" for g in GROUP_NAMES)
            + f"  [{self.rule}]",
            "",
            "| class | count | share | cum. share | group |",
            "|---|---:|---:|---:|---|",
        ]
        t = self.table()
        for r in t.head(max_rows).itertuples(index=False):
            lines.append(f"| {r[0]} | {r[1]:,} | {r[2]:.2%} | {r[3]:.2%} | {r[4]} |")
        if len(t) > max_rows:
            lines.append(f"| … {len(t) - max_rows} more classes | | | | |")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def _as_counts(
    data: Mapping[object, float] | pd.Series | Sequence[object] | np.ndarray,
    kind: Literal["auto", "labels", "counts"],
) -> pd.Series:
    if kind == "auto":
        is_counts = isinstance(data, Mapping) or (
            isinstance(data, pd.Series)
            and pd.api.types.is_numeric_dtype(data.dtype)
            and not isinstance(data.index, pd.RangeIndex)
            and data.index.is_unique
        )
        kind = "counts" if is_counts else "labels"
    if kind == "counts":
        s = pd.Series(data) if not isinstance(data, pd.Series) else data
        if (s < 0).any():
            raise ValueError("counts must be non-negative")
        return s.astype("int64")
    s = pd.Series(np.asarray(data) if not isinstance(data, pd.Series) else data)
    if s.isna().any():
        raise ValueError(f"labels contain {int(s.isna().sum())} missing values")
    return s.value_counts(sort=False)


def profile(
    data: Mapping[object, float] | pd.Series | Sequence[object] | np.ndarray,
    *,
    kind: Literal["auto", "labels", "counts"] = "auto",
    normalizer: Normalizer = "n",
    rule: GroupRule = "share",
    head: float = 0.5,
    tail: float = 0.2,
) -> ImbalanceProfile:
    """Profile of class counts or of raw labels.

    ``kind="auto"`` treats a Mapping, or a numeric Series with a non-range unique index (e.g.
    ``value_counts()``), as counts; anything else as one label per example.
    """
    s = _as_counts(data, kind)
    order = _desc_order(s.to_numpy(dtype=float))
    s = s.iloc[order]
    counts = s.to_numpy(dtype=np.int64)
    return ImbalanceProfile(
        classes=s.index.to_numpy(),
        counts=counts,
        groups=head_mid_tail(counts, rule=rule, head=head, tail=tail),
        imbalance_ratio=imbalance_ratio(counts),
        gini=gini(counts, normalizer),
        normalizer=normalizer,
        rule=rule_text(rule, head, tail),
    )


def plot_lorenz(
    counts: Sequence[float] | np.ndarray | pd.Series,
    path: str | Path,
    title: str | None = None,
    normalizer: Normalizer = "n",
) -> Path:
    """Write a PNG of the Lorenz curve of ``counts`` (with the equality line and the Gini)."""
    # Figure + Agg canvas directly: no pyplot global state, no display needed
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    c = np.asarray(counts, dtype=float)
    x, y = lorenz_curve(c)
    fig = Figure(figsize=(5, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="equality")
    ax.plot(
        x,
        y,
        drawstyle="default",
        marker="o" if c.size <= 50 else None,
        markersize=3,
        label=f"Lorenz (Gini_{normalizer} = {gini(c, normalizer):.3f})",
    )
    ax.fill_between(x, y, x, alpha=0.15)
    ax.set_xlabel(f"cumulative share of classes (ascending count, K = {c.size:,})")
    ax.set_ylabel(f"cumulative share of examples (N = {int(c.sum()):,})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out
