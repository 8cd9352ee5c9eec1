r"""User-side fairness: how well each user group is served, and whether a treatment moves the gap.

Inputs are per-user vectors (one value per user, NaN = undefined for that user, dropped) and one
group label per user. Definitions (m_g = mean of the metric over the n_g users of group g):

- **per-group table** (:func:`group_table`): n_g, m_g, a percentile unit-bootstrap interval of
  m_g (:func:`skewbench.metrics.stats.bootstrap_ci`, users resampled within the group), and the
  gap to the best-served group, m_best − m_g. Only groups with n_g >= ``min_users`` get an
  interval, a gap and a test, and only they compete for "best"; smaller groups are listed with
  their size and mean.
- **max–min gap**: max_g m_g − min_g m_g over those groups.
- **MAD** (Elliot's UserMADranking; Deldjoo et al. 2021, "A flexible framework for evaluating
  user and item fairness"): the mean absolute difference over all pairs of groups,
  MAD = (2 / (G(G−1))) Σ_{a<b} |m_a − m_b|. For two groups it equals the max–min gap.
- **treatment effect on a gap** (:func:`gap_effect_test`): for users u in groups A and B, the
  paired change d_u = x_u(treated) − x_u(base). The effect on the gap m_A − m_B is
  Δ = mean_{u∈A} d_u − mean_{u∈B} d_u, exactly the treated gap minus the base gap. H0: the
  treatment's per-user effect d_u has the same distribution in A and B (it does not depend on
  the group), tested by permuting the group labels of the paired changes among the A ∪ B users
  (two-sided, |Δ*| >= |Δ|; p = (1 + count) / (1 + n_perm), Phipson & Smyth 2010). A and B are
  fixed from the *base* system (its best- and worst-served groups) before the treatment is
  looked at, so choosing them cannot inflate the test. Its standard error is Welch's,
  SE(Δ) = √(s²_A/n_A + s²_B/n_B) over the paired changes: what a null's minimum detectable
  effect is stated from.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import pandas as pd

from skewbench.errors import ConfigError
from skewbench.metrics.stats import bootstrap_ci

#: Smallest group that gets an interval, a gap and a test.
MIN_USERS = 20


def _clean(values: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    g = np.asarray(groups, dtype=object).reshape(-1)
    if x.shape != g.shape:
        raise ConfigError(f"user fairness: {x.size} values but {g.size} group labels")
    keep = ~np.isnan(x)
    return x[keep], g[keep].astype(str)


def group_table(
    values: np.ndarray,
    groups: np.ndarray,
    *,
    min_users: int = MIN_USERS,
    n_boot: int = 1000,
    alpha: float = 0.05,
    rng: np.random.Generator | int = 0,
) -> pd.DataFrame:
    """One row per group (sorted by name): ``group, n, mean, lo, hi, gap_to_best, tested``.

    ``gap_to_best`` = m_best − m_g with best = the highest mean among groups with at least
    ``min_users`` users; NaN (and no interval) for smaller groups (``tested`` False).
    """
    x, g = _clean(values, groups)
    gen = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    rows = []
    for name in sorted(set(g)):
        v = x[g == name]
        tested = v.size >= min_users
        lo, hi = bootstrap_ci(v, n_boot, alpha, gen) if tested else (np.nan, np.nan)
        rows.append(
            {
                "group": name,
                "n": int(v.size),
                "mean": float(v.mean()),
                "lo": lo,
                "hi": hi,
                "tested": tested,
            }
        )
    out = pd.DataFrame(rows, columns=["group", "n", "mean", "lo", "hi", "tested"])
    big = out[out["tested"]]
    best = big["mean"].max() if not big.empty else np.nan
    out["gap_to_best"] = np.where(out["tested"], best - out["mean"], np.nan)
    return out[["group", "n", "mean", "lo", "hi", "gap_to_best", "tested"]]


def gap_summary(means: np.ndarray) -> dict[str, float]:
    """``max_min_gap`` and ``mad`` (mean pairwise |m_a − m_b|) of group means; NaN under 2."""
    m = np.asarray(means, dtype=np.float64)
    m = m[~np.isnan(m)]
    if m.size < 2:
        return {"max_min_gap": float("nan"), "mad": float("nan")}
    iu = np.triu_indices(m.size, 1)
    diffs = np.abs(m[:, None] - m[None, :])[iu]
    return {"max_min_gap": float(m.max() - m.min()), "mad": float(diffs.mean())}


@functools.cache
def _subset_sums():
    """Compiled on first use: ``out[p]`` = the sum of ``d`` over the first ``m`` entries of a
    partial Fisher–Yates shuffle of the running arrangement ``idx`` driven by the uniforms
    ``u[p]`` (step j swaps in position j + ⌊u·(n − j)⌋); whatever the arrangement it starts
    from, each shuffle's first ``m`` entries are a uniformly random m-subset."""
    import numba

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def subset_sums(d, idx, u, out):
        n = d.size
        m = u.shape[1]
        for p in range(u.shape[0]):
            s = 0.0
            for j in range(m):
                r = min(j + int(u[p, j] * (n - j)), n - 1)  # u·k may round up to k
                t = idx[r]
                idx[r] = idx[j]
                idx[j] = t
                s += d[t]
            out[p] = s

    return subset_sums


class GapEffect(NamedTuple):
    """Outcome of :func:`gap_effect_test`."""

    group_a: str
    group_b: str
    base_gap: float  # m_A − m_B under the base system
    treated_gap: float  # m_A − m_B under the treatment
    delta: float  # treated_gap − base_gap
    pvalue: float
    n_a: int
    n_b: int
    se: float = float("nan")  # Welch's SE of delta over the paired changes


def gap_effect_test(
    base: np.ndarray,
    treated: np.ndarray,
    groups: np.ndarray,
    group_a: str,
    group_b: str,
    *,
    n_perm: int = 10_000,
    rng: np.random.Generator | int = 0,
) -> GapEffect:
    """Permutation test of a treatment's effect on the gap m_A − m_B (module docstring).

    ``base`` and ``treated`` are the same users' values in the same order; a user with NaN in
    either is dropped. Fewer than 2 users in A or B → NaN p-value.
    """
    x0 = np.asarray(base, dtype=np.float64).reshape(-1)
    x1 = np.asarray(treated, dtype=np.float64).reshape(-1)
    g = np.asarray(groups, dtype=object).reshape(-1).astype(str)
    if not (x0.shape == x1.shape == g.shape):
        raise ConfigError("gap_effect_test: base, treated and groups must pair user by user")
    if n_perm < 1:
        raise ConfigError(f"n_perm: must be >= 1, got {n_perm!r}")
    keep = ~(np.isnan(x0) | np.isnan(x1)) & ((g == group_a) | (g == group_b))
    d, in_a = (x1 - x0)[keep], (g[keep] == group_a)
    n_a, n_b = int(in_a.sum()), int((~in_a).sum())
    gap0 = float(x0[keep][in_a].mean() - x0[keep][~in_a].mean()) if n_a and n_b else np.nan
    gap1 = float(x1[keep][in_a].mean() - x1[keep][~in_a].mean()) if n_a and n_b else np.nan
    delta = gap1 - gap0
    if n_a < 2 or n_b < 2:
        return GapEffect(group_a, group_b, gap0, gap1, delta, float("nan"), n_a, n_b)
    se = float(np.sqrt(d[in_a].var(ddof=1) / n_a + d[~in_a].var(ddof=1) / n_b))
    gen = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    observed = abs(d[in_a].mean() - d[~in_a].mean())
    threshold = observed - 1e-12 * max(observed, 1e-300)
    total = d.sum()
    # Each permutation's A is a uniformly random n_a-subset of the users: Σ_A d* is drawn as
    # the sum over a random subset of the smaller group's size (Σ_A = total − Σ_B otherwise).
    small = min(n_a, n_b)
    sums = np.empty(n_perm, dtype=np.float64)
    idx = np.arange(d.size)
    batch = max(1, (1 << 20) // small)
    for s in range(0, n_perm, batch):
        e = min(n_perm, s + batch)
        _subset_sums()(d, idx, gen.random((e - s, small)), sums[s:e])
    sum_a = sums if small == n_a else total - sums
    stat = np.abs(sum_a / n_a - (total - sum_a) / n_b)
    count = int(np.count_nonzero(stat >= threshold))
    p = (1 + count) / (1 + n_perm)
    return GapEffect(group_a, group_b, gap0, gap1, delta, float(p), n_a, n_b, se)
