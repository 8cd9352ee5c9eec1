"""FA*IR's table (Zehlike et al. 2017): the minimum number of protected items m(t) every
prefix t of a fair ranking must hold, and the multiple-testing adjusted significance."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def mtable(k: int, p: float, alpha: float) -> np.ndarray:
    """m(t) for t = 1..k: the minimum protected count in a prefix of length t,
    m(t) = F⁻¹(α; t, p) (Binomial inverse CDF, smallest m with P(X ≤ m) ≥ α)."""
    t = np.arange(1, k + 1)
    import scipy.stats  # here, not at import: only FA*IR needs it, and it is slow to import

    return np.nan_to_num(scipy.stats.binom.ppf(alpha, t, p), nan=0.0).astype(np.int64)


def fail_probability(m: np.ndarray, p: float) -> float:
    """P(a ranking with each position protected i.i.d. with probability p violates m(t) for some
    prefix t): dynamic programme over the protected count, dropping mass that falls below m(t)."""
    k = m.size
    dist = np.zeros(k + 1)
    dist[0] = 1.0
    for t in range(1, k + 1):
        new = dist * (1 - p)
        new[1:] += dist[:-1] * p
        new[: m[t - 1]] = 0.0
        dist = new
    return float(1.0 - dist.sum())


@lru_cache(maxsize=256)
def adjusted_alpha(k: int, p: float, alpha: float, iters: int = 60) -> float:
    """FA*IR's multiple-testing correction: the largest α_c ≤ α with
    fail_probability(mtable(k, p, α_c), p) ≤ α (bisection; the failure probability is
    non-decreasing in α_c because m(t) is)."""
    if fail_probability(mtable(k, p, alpha), p) <= alpha:
        return alpha
    lo, hi = 0.0, alpha
    for _ in range(iters):
        mid = (lo + hi) / 2
        if fail_probability(mtable(k, p, mid), p) <= alpha:
            lo = mid
        else:
            hi = mid
    return lo
