"""Imbalance profiles (counts, ratio, Gini, Lorenz curve, head/mid/tail) and controlled imbalance.

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
- **Exponential profile** (controlled imbalance, Buda et al. 2018 / Cao et al. 2019 style):
  n_k = n_max · ρ^(−r_k/(K−1)), r_k the rank of class k by available count (0 = most
  frequent). n_max = min_k avail_k · ρ^(r_k/(K−1)) is the largest value for which every class
  has enough examples, so the achieved ratio is ρ up to flooring. ρ = 1 gives a balanced
  subsample of size min_k avail_k per class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from skewbench.data.split import within_group_rank
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


# --------------------------------------------------------------------------------------------
# controlled imbalance


def exponential_profile_targets(counts: Sequence[float] | np.ndarray, rho: float) -> np.ndarray:
    """Target count per class (aligned with ``counts``) for the exponential profile with ratio ρ.

    n_k = ⌊n_max · ρ^(−r_k/(K−1))⌋ with n_max = min_k avail_k · ρ^(r_k/(K−1)) (module doc), so
    n_k ≤ avail_k for every class. K = 1 keeps the single class whole.
    """
    c = np.asarray(counts, dtype=float)
    if rho < 1 or not np.isfinite(rho):
        raise ValueError(f"imbalance ratio rho must be a finite number >= 1, got {rho!r}")
    if c.size == 0 or (c <= 0).any():
        raise ValueError("every class needs at least one available example")
    k = c.size
    if k == 1:
        return c.astype(np.int64)
    expo = class_ranks(c) / (k - 1)
    n_max = float(np.min(c * rho**expo))
    # the 1e-9 guards against a product like 99.99999999 flooring to 99
    targets = np.floor(n_max * rho ** (-expo) + 1e-9).astype(np.int64)
    return np.clip(targets, 1, c.astype(np.int64))


def _take_per_class(codes: np.ndarray, take: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions of a uniform random subset of ``take[code]`` items of every class, sorted."""
    order = np.lexsort((rng.random(codes.size), codes))  # by class, random within class
    within = within_group_rank(codes, order, take.size)
    return np.sort(order[within < take[codes[order]]])


def subsample_to_ratio(
    labels: Sequence[object] | np.ndarray | pd.Series, rho: float, rng: np.random.Generator
) -> np.ndarray:
    """Positions (0-based, ascending, into ``labels``) to keep so the classes follow the
    exponential profile with ratio ρ. Pass the training labels only: only those are touched.
    """
    codes, uniques = pd.factorize(pd.Series(labels).to_numpy(), sort=False)
    if (codes < 0).any():
        raise ValueError("labels contain missing values")
    avail = np.bincount(codes, minlength=len(uniques))
    return _take_per_class(codes, exponential_profile_targets(avail, rho), rng)


def subsample_to_gini(
    item_ids: Sequence[object] | np.ndarray | pd.Series,
    target_gini: float,
    rng: np.random.Generator,
    normalizer: Normalizer = "n",
    tol: float = 1e-3,
) -> tuple[np.ndarray, float]:
    """Drop tail-item interactions until the item-popularity Gini reaches ``target_gini``.

    Each interaction of item i is kept with probability p_i = (c_i / c_max)^β (c = interaction
    counts), so the most popular item keeps everything and less popular items lose more. One
    uniform draw per interaction is made up front and reused for every β (common random
    numbers), which makes the kept set shrink monotonically in β; β ≥ 0 is found by bisection
    until |Gini − target| ≤ ``tol``. The Gini is over every item present in the input (an item
    that loses all its interactions counts as 0). Returns (kept positions ascending, achieved
    Gini). The transform can only raise skew: a target below the current Gini is an error.
    """
    codes, _ = pd.factorize(pd.Series(item_ids).to_numpy(), sort=False)
    counts = np.bincount(codes).astype(float)
    n_items = counts.size
    current = gini(counts, normalizer)
    g_max = (n_items - 1) / n_items if normalizer == "n" else 1.0
    if not 0 <= target_gini < g_max:
        raise ValueError(f"target Gini must be in [0, {g_max:.4f}), got {target_gini}")
    if target_gini < current - tol:
        raise ValueError(
            f"target Gini {target_gini:.4f} is below the data's {current:.4f}; dropping tail "
            "interactions can only increase skew"
        )
    all_idx = np.arange(codes.size)
    if target_gini <= current + tol:
        return all_idx, current
    u = rng.random(codes.size)
    rel = counts / counts.max()

    def kept_at(beta: float) -> tuple[np.ndarray, float]:
        keep = u < rel[codes] ** beta
        return keep, gini(np.bincount(codes[keep], minlength=n_items), normalizer)

    lo, hi = 0.0, 1.0
    keep, g = kept_at(hi)
    while g < target_gini:  # grow the bracket
        lo, hi = hi, hi * 2
        if hi > 1024:
            raise ValueError(f"target Gini {target_gini:.4f} is not reachable (got {g:.4f})")
        keep, g = kept_at(hi)
    best = (keep, g)
    for _ in range(60):
        if abs(best[1] - target_gini) <= tol:
            break
        mid = 0.5 * (lo + hi)
        keep, g = kept_at(mid)
        if abs(g - target_gini) < abs(best[1] - target_gini):
            best = (keep, g)
        if g < target_gini:
            lo = mid
        else:
            hi = mid
    return all_idx[best[0]], float(best[1])


def subsample_to_gini_at_size(
    item_ids: Sequence[object] | np.ndarray | pd.Series,
    target_gini: float | None,
    size: int,
    rng: np.random.Generator,
    normalizer: Normalizer = "n",
    tol: float = 1e-3,
    max_beta: float = 1024.0,
) -> tuple[np.ndarray, float]:
    """Keep exactly ``size`` interactions whose item-popularity Gini is ``target_gini``.

    The fixed-size member of :func:`subsample_to_gini`'s family: with one uniform draw u_j per
    interaction (the same draws as there, for the same ``rng`` state) and c_i the interaction
    counts, keep the ``size`` interactions with the smallest u_j / (c_i / c_max)^β — i.e.
    "keep if u_j < s·(c_i/c_max)^β" with s set so exactly ``size`` survive. β = 0 is a uniform
    random subsample of that size (the matched control; ``target_gini=None`` returns it); β is
    found by bisection of log2(1 + β) on [0, log2(1 + ``max_beta``)] until |Gini − target| ≤
    ``tol`` (the closest found otherwise). Returns (kept positions ascending, achieved Gini).

    Raises ValueError naming the reachable interval when the target is below the Gini of the
    uniform subsample or above the Gini at β = ``max_beta``.
    """
    codes, _ = pd.factorize(pd.Series(item_ids).to_numpy(), sort=False)
    n = codes.size
    if not 1 <= size <= n:
        raise ValueError(f"size must be in [1, {n}], got {size}")
    counts = np.bincount(codes).astype(float)
    n_items = counts.size
    u = rng.random(n)
    log_u = np.log(np.maximum(u, np.finfo(float).tiny))
    log_rel = np.log(counts / counts.max())[codes]

    def kept_at(beta: float) -> tuple[np.ndarray, float]:
        key = log_u - beta * log_rel  # smaller = kept first; β > 0 favours popular items
        keep = np.sort(np.argpartition(key, size - 1)[:size]) if size < n else np.arange(n)
        return keep, gini(np.bincount(codes[keep], minlength=n_items), normalizer)

    lo_keep, lo_g = kept_at(0.0)
    if target_gini is None or abs(lo_g - target_gini) <= tol:
        return lo_keep, lo_g
    hi_keep, hi_g = kept_at(max_beta)
    if not lo_g - tol <= target_gini <= hi_g + tol:
        raise ValueError(
            f"target Gini {target_gini:.4f} is not reachable with {size} interactions: the "
            f"reachable range is [{lo_g:.4f}, {hi_g:.4f}]"
        )
    best = min(((lo_keep, lo_g), (hi_keep, hi_g)), key=lambda kg: abs(kg[1] - target_gini))
    lo, hi = 0.0, float(np.log2(1.0 + max_beta))
    for _ in range(80):
        if abs(best[1] - target_gini) <= tol:
            break
        mid = 0.5 * (lo + hi)
        keep, g = kept_at(2.0**mid - 1.0)
        if abs(g - target_gini) < abs(best[1] - target_gini):
            best = (keep, g)
        if g < target_gini:
            lo = mid
        else:
            hi = mid
    return best[0], float(best[1])


def max_reachable_gini(
    item_ids: Sequence[object] | np.ndarray | pd.Series,
    rng: np.random.Generator,
    normalizer: Normalizer = "n",
    max_beta: float = 1024.0,
) -> tuple[float, int]:
    """(Gini, kept size) at :func:`subsample_to_gini`'s largest exponent β = ``max_beta``: the
    highest target it can reach with these draws (it refuses anything above)."""
    codes, _ = pd.factorize(pd.Series(item_ids).to_numpy(), sort=False)
    counts = np.bincount(codes).astype(float)
    u = rng.random(codes.size)
    keep = u < (counts / counts.max())[codes] ** max_beta
    return gini(np.bincount(codes[keep], minlength=counts.size), normalizer), int(keep.sum())
