r"""Uncertainty and significance over per-unit metric vectors.

Units (users, queries, test examples) are the sampling unit: bootstrap CIs resample units, paired
tests pair the same unit across two systems. NaN units (e.g. empty truth) are dropped first —
for paired tests, a unit is dropped when either system has NaN. Randomness comes only from the
``rng`` argument (a ``np.random.Generator`` or an int seed).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats as sps

from skewbench.errors import ConfigError

# Elements per resampling batch (float64 scratch of 2**22 → 32 MiB) to bound memory.
_BATCH_ELEMENTS = 1 << 22


class PairedTestResult(NamedTuple):
    """Outcome of :func:`paired_test`. ``mean_diff`` = mean(a − b) over the paired units."""

    statistic: float
    pvalue: float
    mean_diff: float
    n: int
    method: str


def _rng(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ConfigError(f"rng: expected a numpy Generator or an int seed, got {type(rng).__name__}")


def _check_alpha(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha: must be in (0, 1), got {alpha!r}")
    return float(alpha)


def bootstrap_ci(
    values: np.ndarray,
    n_boot: int = 1000,
    alpha: float = 0.05,
    rng: np.random.Generator | int = 0,
) -> tuple[float, float]:
    r"""Percentile bootstrap CI of the mean, resampling units with replacement.

    Draw B = ``n_boot`` resamples of the n non-NaN units, take each mean \bar x^*_b, and return
    the (α/2, 1 − α/2) quantiles of \{\bar x^*_b\} (numpy's linear interpolation). Fewer than 2
    units → (NaN, NaN). Vectorised in batches of resamples.
    """
    alpha = _check_alpha(alpha)
    if n_boot < 1:
        raise ConfigError(f"n_boot: must be >= 1, got {n_boot!r}")
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    x = x[~np.isnan(x)]
    n = x.size
    if n < 2:
        return float("nan"), float("nan")
    gen = _rng(rng)
    means = np.empty(n_boot, dtype=np.float64)
    batch = max(1, _BATCH_ELEMENTS // n)
    for s in range(0, n_boot, batch):
        e = min(n_boot, s + batch)
        means[s:e] = x[gen.integers(0, n, size=(e - s, n))].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def seed_ci(values: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float]:
    r"""Mean and Student-t interval over replicate seeds: \bar x ± t_{1−α/2, n−1} · s / \sqrt n.

    ``s`` uses ddof = 1. NaN seeds are dropped; n = 1 → (x, NaN, NaN); n = 0 → all NaN.
    """
    alpha = _check_alpha(alpha)
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(x.mean())
    if x.size == 1:
        return mean, float("nan"), float("nan")
    half = float(sps.t.ppf(1 - alpha / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return mean, mean - half, mean + half


def paired_test(
    a: np.ndarray,
    b: np.ndarray,
    method: str = "t",
    rng: np.random.Generator | int = 0,
    n_perm: int = 10_000,
) -> PairedTestResult:
    r"""Two-sided paired test of H0: systems a and b have the same mean over units.

    - ``"t"``: paired t-test on d = a − b (``scipy.stats.ttest_rel``); statistic t.
    - ``"wilcoxon"``: Wilcoxon signed-rank (``scipy.stats.wilcoxon``, zero differences dropped
      by scipy's default ``zero_method="wilcox"``); statistic W. All-zero d → p = 1.
    - ``"randomization"``: sign-flip test on the mean difference, statistic \bar d; p = share of
      sign vectors s with |mean(s·d)| >= |\bar d| (relative tolerance 1e-12). Exact over all
      2^n sign vectors when 2^n <= ``n_perm``; otherwise ``n_perm`` random sign vectors from
      ``rng`` and p = (1 + count) / (1 + n_perm) (never 0; Phipson & Smyth 2010).
    Units where either value is NaN are dropped. n < 2 → NaN statistic and p.
    """
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.asarray(b, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ConfigError(f"paired_test: a has {x.size} units, b has {y.size}; they must pair")
    keep = ~(np.isnan(x) | np.isnan(y))
    d = x[keep] - y[keep]
    n = int(d.size)
    mean_diff = float(d.mean()) if n else float("nan")
    if n < 2:
        return PairedTestResult(float("nan"), float("nan"), mean_diff, n, method)
    if method == "t":
        if np.all(d == d[0]):  # zero variance: t undefined
            p = 1.0 if d[0] == 0 else 0.0
            return PairedTestResult(float("nan"), p, mean_diff, n, method)
        res = sps.ttest_rel(x[keep], y[keep])
        return PairedTestResult(float(res.statistic), float(res.pvalue), mean_diff, n, method)
    if method == "wilcoxon":
        if np.all(d == 0):
            return PairedTestResult(0.0, 1.0, mean_diff, n, method)
        res = sps.wilcoxon(d)
        return PairedTestResult(float(res.statistic), float(res.pvalue), mean_diff, n, method)
    if method == "randomization":
        if n_perm < 1:
            raise ConfigError(f"n_perm: must be >= 1, got {n_perm!r}")
        return PairedTestResult(mean_diff, _sign_flip_p(d, _rng(rng), n_perm), mean_diff, n, method)
    raise ConfigError(f"method: expected 't', 'wilcoxon' or 'randomization', got {method!r}")


def _sign_flip_p(d: np.ndarray, gen: np.random.Generator, n_perm: int) -> float:
    n = d.size
    observed = abs(d.mean())
    threshold = observed - 1e-12 * observed  # equal-in-theory values count as extreme
    exact = n <= 30 and 2**n <= n_perm
    total = 2**n if exact else n_perm
    count = 0
    batch = max(1, _BATCH_ELEMENTS // n)
    for s in range(0, total, batch):
        e = min(total, s + batch)
        if exact:
            # Row r's signs are the bits of r: every sign vector exactly once.
            bits = (np.arange(s, e)[:, None] >> np.arange(n)[None, :]) & 1
            signs = 1.0 - 2.0 * bits
        else:
            signs = 1.0 - 2.0 * gen.integers(0, 2, size=(e - s, n))
        count += int(np.count_nonzero(np.abs(signs @ d) / n >= threshold))
    return count / total if exact else (1 + count) / (1 + n_perm)


def holm(pvalues: np.ndarray) -> np.ndarray:
    r"""Holm–Bonferroni step-down adjusted p-values (controls the family-wise error rate).

    With the m non-NaN p-values sorted ascending p_{(1)} <= … <= p_{(m)}:
    \tilde p_{(i)} = \max_{j <= i} \min(1, (m − j + 1) p_{(j)}). Returned in the input order;
    NaN stays NaN and is not counted in m. Reject H_i at level α iff \tilde p_i <= α.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    flat = p.reshape(-1)
    idx = np.flatnonzero(~np.isnan(flat))
    m = idx.size
    if m == 0:
        return out
    order = idx[np.argsort(flat[idx], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * flat[order])
    out.reshape(-1)[order] = np.maximum.accumulate(scaled)
    return out
