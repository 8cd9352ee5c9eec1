r"""Uncertainty and significance over per-unit metric vectors.

Units (users, queries, test examples) are the sampling unit: bootstrap CIs resample units, paired
tests pair the same unit across two systems. NaN units (e.g. empty truth) are dropped first —
for paired tests, a unit is dropped when either system has NaN. Randomness comes only from the
``rng`` argument (a ``np.random.Generator`` or an int seed).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from scipy import special

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


def _t_ppf(q: float, df: float | np.ndarray) -> np.ndarray:
    """Student's t quantile, the function ``scipy.stats.t.ppf`` calls for 0 < q < 1 (the
    report then need not import ``scipy.stats``: a second of a report's CPU)."""
    return special.stdtrit(df, q)


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
    units → (NaN, NaN). :func:`bootstrap_cis` of the one column.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    lo, hi = bootstrap_cis(x[~np.isnan(x)][:, None], n_boot, alpha, rng)
    return float(lo[0]), float(hi[0])


def bootstrap_cis(
    values: np.ndarray,
    n_boot: int = 1000,
    alpha: float = 0.05,
    rng: np.random.Generator | int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Percentile bootstrap CIs of the means of the k columns of an (n × k) array whose rows
    are units: every column is resampled with the same B = ``n_boot`` draws of units (a joint
    bootstrap, one set of random indices for all k), so column j's interval equals
    :func:`bootstrap_ci` of column j with the same ``rng`` when the rows are mostly distinct.
    Rows must hold no NaN. Indices are drawn as int32 in batches; when at most n/8 rows are
    distinct, each resample is drawn as multinomial counts of the distinct rows instead (the
    same distribution, O(distinct rows) per resample). n < 2 → NaN intervals.
    """
    alpha = _check_alpha(alpha)
    if n_boot < 1:
        raise ConfigError(f"n_boot: must be >= 1, got {n_boot!r}")
    x = np.asarray(values, dtype=np.float64)
    n, k = x.shape
    if n < 2:
        return np.full(k, np.nan), np.full(k, np.nan)
    gen = _rng(rng)
    rows, inverse = np.unique(x, axis=0, return_inverse=True)
    if len(rows) * 8 <= n:
        # Few distinct rows (e.g. 0/1 correctness shares: 29 among 5,201 test examples): a
        # resample is how often each distinct row is drawn, multinomial(n, row frequencies),
        # which has exactly the distribution of n draws of units with replacement.
        freq = np.bincount(inverse.reshape(-1), minlength=len(rows)) / n
        counts = gen.multinomial(n, freq, size=n_boot)
        lo, hi = np.quantile((counts @ rows).T / n, [alpha / 2, 1 - alpha / 2], axis=1)
        return lo, hi
    cols = np.ascontiguousarray(x.T)  # k × n: each column's units contiguous for the gather
    means = np.empty((k, n_boot), dtype=np.float64)
    batch = max(1, _BATCH_ELEMENTS // n)  # independent of k: the draws do not depend on it
    for s in range(0, n_boot, batch):
        e = min(n_boot, s + batch)
        idx = gen.integers(0, n, size=(e - s, n), dtype=np.int32)
        _resample_means(cols, idx, means[:, s:e])
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2], axis=1)
    return lo, hi


def _resample_means(cols: np.ndarray, idx: np.ndarray, out: np.ndarray) -> None:
    """``out[j, b]`` = ``cols[j][idx[b]].mean()`` to the last bit, without the B × n gathered
    copy numpy makes (2.6× less CPU): numpy sums a row pairwise — a block of at most 128
    values in 8 interleaved partial sums, a longer one halved at a multiple of 8
    (numpy/_core/src/umath/loops_utils.h.src) — and the kernel adds in that order: the
    blocks' sums, then ``plan``'s additions."""
    starts, sizes, plan = _pairwise_plan(idx.shape[1])
    _resample_kernel()(cols, idx, starts, sizes, plan, out)


@functools.lru_cache(maxsize=64)
def _pairwise_plan(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numpy's pairwise summation tree of n values: its blocks (start, size) and the tree in
    postfix order (k >= 0: block k's sum; -1: add the last two sums)."""
    starts: list[int] = []
    sizes: list[int] = []
    plan: list[int] = []

    def split(lo: int, size: int) -> None:
        if size <= 128:
            plan.append(len(starts))
            starts.append(lo)
            sizes.append(size)
            return
        half = size // 2 - (size // 2) % 8
        split(lo, half)
        split(lo + half, size - half)
        plan.append(-1)

    split(0, n)
    return np.array(starts), np.array(sizes), np.array(plan)


@functools.cache
def _resample_kernel():
    """Compiled on first use (one function, no recursion: numba's disk cache then holds)."""
    import numba

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def resample_means(cols, idx, starts, sizes, plan, out):
        n = idx.shape[1]
        r = np.empty(8)
        stack = np.empty(plan.size)
        for b in range(idx.shape[0]):
            row = idx[b]
            for j in range(cols.shape[0]):
                x = cols[j]
                top = 0
                for op in plan:
                    if op < 0:
                        top -= 1
                        stack[top - 1] += stack[top]
                        continue
                    lo, size = starts[op], sizes[op]
                    if size < 8:
                        res = 0.0
                        for i in range(lo, lo + size):
                            res += x[row[i]]
                    else:
                        for q in range(8):
                            r[q] = x[row[lo + q]]
                        i = lo + 8
                        while i < lo + size - size % 8:
                            for q in range(8):
                                r[q] += x[row[i + q]]
                            i += 8
                        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
                        while i < lo + size:
                            res += x[row[i]]
                            i += 1
                    stack[top] = res
                    top += 1
                out[j, b] = stack[0] / n

    return resample_means


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
    half = float(_t_ppf(1 - alpha / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return mean, mean - half, mean + half


def paired_test(
    a: np.ndarray,
    b: np.ndarray,
    method: str = "t",
    rng: np.random.Generator | int = 0,
    n_perm: int = 10_000,
) -> PairedTestResult:
    r"""Two-sided paired test of H0: systems a and b have the same mean over units.

    Units where either value is NaN are dropped; the test is :func:`one_sample_test` of the
    differences d = a − b.
    """
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.asarray(b, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ConfigError(f"paired_test: a has {x.size} units, b has {y.size}; they must pair")
    keep = ~(np.isnan(x) | np.isnan(y))
    return one_sample_test(x[keep] - y[keep], method, rng, n_perm)


def one_sample_test(
    d: np.ndarray,
    method: str = "t",
    rng: np.random.Generator | int = 0,
    n_perm: int = 10_000,
) -> PairedTestResult:
    r"""Two-sided test of H0: the per-unit values d are symmetric about 0 (mean 0).

    - ``"t"``: one-sample t-test (equal to ``scipy.stats.ttest_rel`` on the pairs); statistic t.
    - ``"wilcoxon"``: Wilcoxon signed-rank (``scipy.stats.wilcoxon``, zero values dropped by
      scipy's default ``zero_method="wilcox"``); statistic W. All-zero d → p = 1.
    - ``"randomization"``: sign-flip test of Σ d (equivalently \bar d); statistic \bar d; p =
      share of sign vectors s with |Σ s·d| >= |Σ d| − 10⁻⁹ Σ|d| (the slack makes values equal in
      theory count as extreme). Exact over all 2^n sign vectors when 2^n <= ``n_perm``;
      otherwise ``n_perm`` random sign vectors from ``rng`` and p = (1 + count) / (1 + n_perm)
      (never 0; Phipson & Smyth 2010), Monte-Carlo standard error √(p(1 − p)/n_perm).
    NaN values are dropped. n < 2 → NaN statistic and p.
    """
    d = np.asarray(d, dtype=np.float64).reshape(-1)
    d = d[~np.isnan(d)]
    n = int(d.size)
    mean_diff = float(d.mean()) if n else float("nan")
    if n < 2:
        return PairedTestResult(float("nan"), float("nan"), mean_diff, n, method)
    if method == "t":
        if np.all(d == d[0]):  # zero variance: t undefined
            p = 1.0 if d[0] == 0 else 0.0
            return PairedTestResult(float("nan"), p, mean_diff, n, method)
        from scipy import stats as sps

        res = sps.ttest_1samp(d, 0.0)
        return PairedTestResult(float(res.statistic), float(res.pvalue), mean_diff, n, method)
    if method == "wilcoxon":
        if np.all(d == 0):
            return PairedTestResult(0.0, 1.0, mean_diff, n, method)
        from scipy import stats as sps

        res = sps.wilcoxon(d)
        return PairedTestResult(float(res.statistic), float(res.pvalue), mean_diff, n, method)
    if method == "randomization":
        if n_perm < 1:
            raise ConfigError(f"n_perm: must be >= 1, got {n_perm!r}")
        return PairedTestResult(mean_diff, _sign_flip_p(d, _rng(rng), n_perm), mean_diff, n, method)
    raise ConfigError(f"method: expected 't', 'wilcoxon' or 'randomization', got {method!r}")


# Sign vectors are drawn as random bytes: byte j of a draw holds the signs of units 8j … 8j+7,
# and _BYTE_BITS[v] are the 8 bits of byte value v (1 = flipped).
_BYTE_BITS = ((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1).astype(np.float64)


def _sign_flip_p(d: np.ndarray, gen: np.random.Generator, n_perm: int) -> float:
    # A zero flips to itself: dropping the zeros leaves the distribution of Σ s·d unchanged
    # (and the exact p: each zero doubles both the count and the total).
    d = d[d != 0]
    n = d.size
    if n == 0:
        return 1.0
    total = float(d.sum())
    # Σ s·d = Σ d − 2 Σ_{flipped} d; equal-in-theory sums may differ by rounding, so a slack
    # relative to Σ|d| (far below any real gap between distinct sums) counts them as extreme.
    threshold = abs(total) - 1e-9 * float(np.abs(d).sum())
    exact = n <= 30 and 2**n <= n_perm
    if exact:
        # Row r's signs are the bits of r: every sign vector exactly once.
        rows = np.arange(2**n)
        bits = (rows[:, None] >> np.arange(n)[None, :]) & 1
        count = int(np.count_nonzero(np.abs(total - 2.0 * (bits @ d)) >= threshold))
        return count / 2**n
    # Table of each byte position's flipped sum for all 256 byte values: one draw's Σ_{flipped}
    # is then n/8 look-ups instead of n multiply-adds (≈ 10× less CPU than float signs).
    n_bytes = -(-n // 8)
    padded = np.zeros(n_bytes * 8)
    padded[:n] = d
    table = (padded.reshape(n_bytes, 8) @ _BYTE_BITS.T).reshape(-1)  # [byte j, value v]
    offsets = (np.arange(n_bytes, dtype=np.int32) * 256)[None, :]
    count = 0
    batch = max(1, _BATCH_ELEMENTS // n_bytes)
    for s in range(0, n_perm, batch):
        k = min(n_perm, s + batch) - s
        draws = gen.integers(0, 256, size=(k, n_bytes), dtype=np.uint8)
        flipped = table[draws.astype(np.int32) + offsets].sum(axis=1)
        count += int(np.count_nonzero(np.abs(total - 2.0 * flipped) >= threshold))
    return (1 + count) / (1 + n_perm)


def sum_se(d: np.ndarray) -> float:
    r"""Standard error of Σ d over n units: √n · s_d (ddof = 1); NaN dropped; n < 2 → NaN."""
    d = np.asarray(d, dtype=np.float64).reshape(-1)
    d = d[~np.isnan(d)]
    return float(np.sqrt(d.size) * d.std(ddof=1)) if d.size >= 2 else float("nan")


def min_detectable_effect(
    se: float | np.ndarray, n: int | np.ndarray, alpha: float, power: float = 0.8
) -> float | np.ndarray:
    r"""Smallest |effect| a two-sided level-α test detects with probability ``power``:
    (t_{1−α/2, n−1} + t_{power, n−1}) · SE (normal-theory approximation with the observed
    spread). Vectorised over ``se`` and ``n``."""
    alpha = _check_alpha(alpha)
    df = np.maximum(np.asarray(n, dtype=np.float64) - 1, 1)
    return (_t_ppf(1 - alpha / 2, df) + _t_ppf(power, df)) * np.asarray(se, dtype=float)


def equivalence_p(d: np.ndarray, margin: float) -> float:
    r"""TOST p-value for H0: |Σ d| >= ``margin`` (two one-sided t-tests, Schuirmann 1987).

    With SE(Σ d) = √n · s_d: p = max(1 − F(( Σd + margin)/SE), F((Σd − margin)/SE)), F the
    t_{n−1} CDF. Small p: Σ d lies within ±margin. n < 2 or margin <= 0 → NaN.
    """
    d = np.asarray(d, dtype=np.float64).reshape(-1)
    d = d[~np.isnan(d)]
    if d.size < 2 or not margin > 0:
        return float("nan")
    total = float(d.sum())
    se = sum_se(d)
    if se == 0:
        return 0.0 if abs(total) < margin else 1.0
    df = d.size - 1
    lower = special.stdtr(df, -(total + margin) / se)  # the t_{n-1} survival function
    upper = special.stdtr(df, (total - margin) / se)
    return float(max(lower, upper))


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
