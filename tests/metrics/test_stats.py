"""Statistics: bootstrap coverage, t-interval, paired tests against scipy, Holm by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from skewbench.errors import ConfigError
from skewbench.metrics.stats import bootstrap_ci, holm, paired_test, seed_ci


def test_bootstrap_ci_covers_true_mean():
    # 200 samples of 60 units from Exp(1) (true mean 1): a 90% percentile CI should cover it
    # in roughly 90% of samples (percentile intervals under-cover slightly for skewed data).
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(200):
        x = rng.exponential(1.0, size=60)
        lo, hi = bootstrap_ci(x, n_boot=400, alpha=0.10, rng=rng)
        covered += lo <= 1.0 <= hi
    assert 0.80 <= covered / 200 <= 0.96


def test_bootstrap_ci_deterministic_and_nan_units():
    x = np.array([0.1, 0.5, np.nan, 0.9, 0.3, 0.7])
    a = bootstrap_ci(x, n_boot=500, rng=np.random.default_rng(1))
    b = bootstrap_ci(x, n_boot=500, rng=np.random.default_rng(1))
    assert a == b and a[0] < np.nanmean(x) < a[1]
    assert bootstrap_ci(x, n_boot=500, rng=3) == bootstrap_ci(x, n_boot=500, rng=3)
    # Batched resampling (tiny batches) gives the same draws as one batch.
    big = np.random.default_rng(2).random(5000)
    assert bootstrap_ci(big, n_boot=2000, rng=5) == pytest.approx(
        _naive_bootstrap(big, 2000, 0.05, 5), abs=0
    )
    assert np.isnan(bootstrap_ci(np.array([1.0]), rng=0)).all()


def test_joint_bootstrap_equals_each_column_alone():
    from skewbench.metrics.stats import bootstrap_cis

    x = np.random.default_rng(3).random((700, 4))
    lo, hi = bootstrap_cis(x, n_boot=3000, rng=9)  # 3 batches of draws for 4 columns
    for j in range(4):
        assert (lo[j], hi[j]) == bootstrap_ci(x[:, j], n_boot=3000, rng=9)


def test_bootstrap_of_few_distinct_rows_draws_counts_with_the_same_distribution():
    from skewbench.metrics.stats import bootstrap_cis

    # 0/1 correctness of 3,000 units, two columns (30 % and 70 % ones): 4 distinct rows, so
    # resamples are multinomial counts; the interval matches the normal one of a proportion.
    rng = np.random.default_rng(2)
    a = (rng.random(3000) < 0.3).astype(float)
    x = np.column_stack([a, 1 - a * (rng.random(3000) < 0.5)])
    lo, hi = bootstrap_cis(x, n_boot=20_000, rng=1)
    for j in range(2):
        m, se = x[:, j].mean(), x[:, j].std() / np.sqrt(3000)
        assert lo[j] == pytest.approx(m - 1.96 * se, abs=4e-4)
        assert hi[j] == pytest.approx(m + 1.96 * se, abs=4e-4)


def _naive_bootstrap(x, n_boot, alpha, seed):
    gen = np.random.default_rng(seed)
    batch = max(1, (1 << 22) // x.size)
    means = []
    for s in range(0, n_boot, batch):
        size = (min(n_boot, s + batch) - s, x.size)
        means.append(x[gen.integers(0, x.size, size=size, dtype=np.int32)].mean(1))
    return tuple(np.quantile(np.concatenate(means), [alpha / 2, 1 - alpha / 2]))


def test_seed_ci_t_interval():
    x = np.array([0.30, 0.32, 0.35])
    mean, lo, hi = seed_ci(x, alpha=0.05)
    half = 4.302652729749464 * np.std(x, ddof=1) / np.sqrt(3)  # t_{0.975, 2}
    assert mean == pytest.approx(0.32333333333333336)
    assert (lo, hi) == pytest.approx((mean - half, mean + half), abs=1e-12)
    m1, lo1, hi1 = seed_ci(np.array([0.4]))
    assert m1 == 0.4 and np.isnan(lo1) and np.isnan(hi1)


def test_paired_t_and_wilcoxon_match_scipy():
    rng = np.random.default_rng(11)
    a = rng.random(40)
    b = a + rng.normal(0.03, 0.05, 40)
    t = paired_test(a, b, "t")
    ref = sps.ttest_rel(a, b)
    assert (t.statistic, t.pvalue) == pytest.approx((ref.statistic, ref.pvalue), abs=1e-12)
    w = paired_test(a, b, "wilcoxon")
    ref = sps.wilcoxon(a - b)
    assert (w.statistic, w.pvalue) == pytest.approx((ref.statistic, ref.pvalue), abs=1e-12)
    assert w.n == 40 and w.mean_diff == pytest.approx(np.mean(a - b))
    # NaN units are dropped pairwise.
    a2, b2 = a.copy(), b.copy()
    a2[0], b2[1] = np.nan, np.nan
    assert paired_test(a2, b2, "t").pvalue == pytest.approx(sps.ttest_rel(a[2:], b[2:]).pvalue)


def test_randomization_exact_matches_scipy_permutation_test():
    rng = np.random.default_rng(5)
    a, b = rng.random(12), rng.random(12) + 0.1
    ours = paired_test(a, b, "randomization", rng=0, n_perm=2**12)
    ref = sps.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        n_resamples=2**12,
        vectorized=True,
    )
    assert ours.pvalue == pytest.approx(ref.pvalue, abs=1e-12)
    # Monte Carlo: close to the exact value, never 0, reproducible from the rng.
    mc = paired_test(a, b, "randomization", rng=np.random.default_rng(1), n_perm=2000)
    assert mc.pvalue == pytest.approx(ref.pvalue, abs=0.03) and mc.pvalue > 0
    assert mc == paired_test(a, b, "randomization", rng=np.random.default_rng(1), n_perm=2000)


def test_paired_test_bad_method():
    with pytest.raises(ConfigError, match="method"):
        paired_test(np.ones(3), np.zeros(3), "sign")


def test_holm_hand_example():
    # statsmodels.stats.multitest.multipletests([0.01, 0.04, 0.03, 0.005], method="holm")
    # by hand: sorted 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04
    # → running max 0.02, 0.03, 0.06, 0.06; back in input order:
    adj = holm(np.array([0.01, 0.04, 0.03, 0.005]))
    np.testing.assert_allclose(adj, [0.03, 0.06, 0.06, 0.02], atol=1e-15)
    adj = holm(np.array([0.5, np.nan, 0.4]))
    np.testing.assert_allclose(adj, [0.8, np.nan, 0.8])
    assert holm(np.array([0.9, 0.8])).max() == 1.0


def test_sign_flip_monte_carlo_matches_exact_and_counts_ties():
    from skewbench.metrics.stats import one_sample_test

    # 0/±1 differences: many sign vectors tie with the observed sum; the sampled p must count
    # them (exact p by enumeration of the 2^14 vectors vs 200,000 random ones).
    d = np.array([1, 1, 1, 1, 1, 1, 1, -1, -1, 0, 0, 1, 1, -1], dtype=float) / 7
    exact = one_sample_test(d, "randomization", n_perm=2**14).pvalue
    mc = one_sample_test(d, "randomization", rng=3, n_perm=200_000).pvalue
    assert abs(mc - exact) < 4 * np.sqrt(exact * (1 - exact) / 200_000)
    # odd lengths (a partial last byte of signs) and a zero observed sum → p = 1
    assert one_sample_test(np.array([1.0, -1.0, 0.5, -0.5, 0.0]) / 3, "randomization",
                           rng=1, n_perm=50_000).pvalue == 1.0  # fmt: skip


def test_min_detectable_effect_has_the_stated_power():
    from skewbench.metrics.stats import min_detectable_effect, sum_se

    # Normal units, n = 50: a true mean shift of MDE/n (MDE is on Σ's scale) is rejected by the
    # two-sided t-test at α = 0.05 in ≈ 80 % of 4,000 simulated studies.
    rng = np.random.default_rng(4)
    n, alpha = 50, 0.05
    x = rng.normal(0, 1, (4000, n))
    shift = min_detectable_effect(np.sqrt(n), n, alpha) / n  # SE(Σ) = √n·σ with σ = 1
    p = sps.ttest_1samp(x + shift, 0.0, axis=1).pvalue
    assert 0.77 <= np.mean(p < alpha) <= 0.83
    assert sum_se(x[0]) == pytest.approx(np.sqrt(n) * x[0].std(ddof=1))


def test_equivalence_p_is_scipy_two_one_sided_tests():
    from skewbench.metrics.stats import equivalence_p

    rng = np.random.default_rng(8)
    d = rng.normal(0.001, 0.02, 300) / 300  # shares of a Δ ≈ 0.001
    margin = 0.005
    lower = sps.ttest_1samp(d, -margin / d.size, alternative="greater").pvalue
    upper = sps.ttest_1samp(d, margin / d.size, alternative="less").pvalue
    assert equivalence_p(d, margin) == pytest.approx(max(lower, upper), rel=1e-10)
    assert equivalence_p(d, margin) < 0.01  # |Δ| well inside ±0.005 with 300 units
    assert equivalence_p(d, 1e-5) > 0.5
    assert np.isnan(equivalence_p(d, 0.0))


def test_t_quantiles_are_scipys_without_importing_scipy_stats():
    from skewbench.metrics.stats import _t_ppf, min_detectable_effect

    q = np.array([0.6, 0.8, 0.975, 0.995, 1 - 1e-9])
    df = np.array([1.0, 2.0, 9.0, 299.0, 1e6])
    assert np.array_equal(_t_ppf(q[:, None], df[None, :]), sps.t.ppf(q[:, None], df[None, :]))
    se, n = np.array([0.3, 1.2]), np.array([5, 943])
    want = (sps.t.ppf(1 - 0.01 / 4, n - 1) + sps.t.ppf(0.8, n - 1)) * se
    assert np.array_equal(min_detectable_effect(se, n, 0.01 / 2), want)


@pytest.mark.parametrize("n", [2, 7, 8, 9, 127, 128, 129, 136, 255, 943, 4099])
def test_resampled_means_are_numpys_to_the_last_bit(n):
    # the compiled kernel adds in numpy's pairwise order, so the bootstrap intervals the report
    # printed before it are unchanged (not merely close)
    from skewbench.metrics.stats import _resample_means, bootstrap_cis

    rng = np.random.default_rng(n)
    cols = rng.normal(size=(3, n)) * np.array([[1e-6], [1.0], [1e6]])
    cols[0] = np.round(cols[0], 7)  # ties
    idx = rng.integers(0, n, size=(40, n), dtype=np.int32)
    out = np.empty((3, 40))
    _resample_means(cols, idx, out)
    assert np.array_equal(out, np.stack([c[idx].mean(axis=1) for c in cols]))
    draws = np.random.default_rng(5).integers(0, n, size=(300, n), dtype=np.int32)
    means = cols[1][draws].mean(axis=1)  # the interval as numpy alone computes it
    lo, hi = bootstrap_cis(cols[1][:, None], n_boot=300, rng=5)
    assert (lo[0], hi[0]) == tuple(np.quantile(means, [0.025, 0.975]))
