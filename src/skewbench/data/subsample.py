"""Controlled imbalance: subsamples of training data whose class or item counts follow a chosen
skew, drawn from a given random stream.

- **Exponential profile** (class imbalance, Buda et al. 2018 / Cao et al. 2019 style):
  n_k = n_max · ρ^(−r_k/(K−1)), r_k the rank of class k by available count (0 = most
  frequent). n_max = min_k avail_k · ρ^(r_k/(K−1)) is the largest value for which every class
  has enough examples, so the achieved ratio is ρ up to flooring. ρ = 1 gives a balanced
  subsample of size min_k avail_k per class.
- **Fixed training size** (:func:`fixed_size_targets`): the same profile scaled to a given
  total, so that a sweep over ρ changes only the shape of the class distribution; a level is
  reachable when its smallest class gets at least one example.
- **Item-popularity Gini** (interactions): :func:`subsample_to_gini` drops tail-item
  interactions until the Gini reaches a target; :func:`subsample_to_gini_at_size` does so at a
  fixed number of interactions (β = 0 is the matched uniform control).

The measures themselves (Gini, ratio, ranks) are in :mod:`skewbench.data.imbalance`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from skewbench.data.imbalance import Normalizer, class_ranks, gini
from skewbench.data.split import within_group_rank

# --------------------------------------------------------------------------------------------
# class imbalance: the exponential profile


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
    expo = _exponents(c)
    n_max = float(np.min(c * rho**expo))
    # the 1e-9 guards against a product like 99.99999999 flooring to 99
    targets = np.floor(n_max * rho ** (-expo) + 1e-9).astype(np.int64)
    return np.clip(targets, 1, c.astype(np.int64))


def _exponents(avail: np.ndarray) -> np.ndarray:
    """e_k = r_k / (K − 1), r_k the rank by available count (0 = most frequent)."""
    k = avail.size
    return class_ranks(avail) / max(k - 1, 1)


def profile_total(avail: np.ndarray, rho: float) -> float:
    """T(ρ): the real-valued total of the exponential profile at its largest (module doc)."""
    e = _exponents(avail)
    n_max = float(np.min(avail * rho**e))
    return float(n_max * np.sum(rho ** (-e)))


def fixed_size_targets(avail: np.ndarray, rho: float, total: int) -> np.ndarray:
    """Per-class counts of the exponential profile with ratio ρ summing to ``total``.

    Real targets x_k = total · ρ^(−e_k) / Σ_j ρ^(−e_j), floored, then the remainder handed out
    one each by largest fractional part (ties: lower rank, i.e. the more frequent class).
    Needs total ≤ T(ρ) (then x_k ≤ avail_k, so no class is asked for more than it has) and
    min x_k ≥ 1 (:func:`reachable`).
    """
    e = _exponents(avail)
    x = total * rho ** (-e) / np.sum(rho ** (-e))
    out = np.floor(x + 1e-9).astype(np.int64)
    rest = int(total - out.sum())
    if rest > 0:
        order = np.lexsort((e, -(x - out)))
        out[order[:rest]] += 1
    return np.minimum(out, avail.astype(np.int64))


def take_per_class(codes: np.ndarray, take: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of a uniform random subset of ``take[c]`` rows of every class c."""
    order = np.lexsort((rng.random(codes.size), codes))  # by class, random within class
    within = within_group_rank(codes, order, take.size)
    return np.sort(order[within < take[codes[order]]])


def _tail_target(avail: np.ndarray, rho: float, total: float) -> float:
    e = _exponents(avail)
    return float(total * rho**-1.0 / np.sum(rho ** (-e)))


def common_train_size(avail: np.ndarray, levels: list[float]) -> int:
    """⌊min over levels of T(ρ)⌋: the largest total every level can supply."""
    return int(np.floor(min(profile_total(avail, r) for r in levels) + 1e-9))


def level_total(avail: np.ndarray, rho: float, levels: list[float], mode: str | int) -> float:
    """The training total of level ρ: its own T(ρ) (``"natural"``), the size every level of the
    sweep can supply (``"fixed"``), or the given integer."""
    if mode == "natural":
        return profile_total(avail, rho)
    if mode == "fixed":
        return float(common_train_size(avail, sorted({*levels, rho})))
    return float(mode)


def reachable(avail: np.ndarray, rho: float, levels: list[float], mode: str | int) -> bool:
    """Whether level ρ gives its smallest class at least one example (before rounding)."""
    if avail.size < 2 or rho == 1:
        return True
    total = level_total(avail, rho, levels, mode)
    if mode == "natural":  # n_max / ρ: the floor of the profile at its own largest size
        e = _exponents(avail)
        return float(np.min(avail * rho**e)) / rho >= 1 - 1e-9
    return _tail_target(avail, rho, total) >= 1 - 1e-9


def largest_reachable(avail: np.ndarray, levels: list[float], mode: str | int) -> float:
    """The largest ρ reachable together with the other levels (bisection on log ρ; the tail
    target decreases in ρ)."""
    others = [r for r in levels]
    lo, hi = 0.0, 40.0  # log ρ in [0, 40]
    if reachable(avail, float(np.exp(hi)), others, mode):
        return float(np.exp(hi))
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if reachable(avail, float(np.exp(mid)), others, mode):
            lo = mid
        else:
            hi = mid
    return float(np.exp(lo))


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
    return take_per_class(codes, exponential_profile_targets(avail, rho), rng)


# --------------------------------------------------------------------------------------------
# item-popularity skew of interactions


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
    best = _bisect(kept_at, lo, hi, (keep, g), target_gini, tol, 60)
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
    hi = float(np.log2(1.0 + max_beta))
    best = _bisect(kept_at, 0.0, hi, best, target_gini, tol, 80, beta=lambda x: 2.0**x - 1.0)
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


def _bisect(
    kept_at: Callable[[float], tuple[np.ndarray, float]],
    lo: float,
    hi: float,
    best: tuple[np.ndarray, float],
    target: float,
    tol: float,
    steps: int,
    beta: Callable[[float], float] = float,
) -> tuple[np.ndarray, float]:
    """The kept set whose Gini is closest to ``target``, by bisection of x on [lo, hi] with the
    exponent β = ``beta(x)`` (the Gini grows with β); stops at ``tol`` or after ``steps``."""
    for _ in range(steps):
        if abs(best[1] - target) <= tol:
            break
        mid = 0.5 * (lo + hi)
        keep, g = kept_at(beta(mid))
        if abs(g - target) < abs(best[1] - target):
            best = (keep, g)
        if g < target:
            lo = mid
        else:
            hi = mid
    return best
