"""User-group accuracy, gaps, MAD, the gap-effect permutation test and the calibration /
popularity-lift formulas against hand computations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.data.user_groups import age_bands, demographic_groups, quantile_groups
from skewbench.metrics.calibration import (
    group_distribution_of_history,
    group_distribution_of_lists,
    miscalibration,
    popularity_lift,
)
from skewbench.metrics.stats import bootstrap_ci
from skewbench.metrics.user_fairness import gap_effect_test, gap_summary, group_table


def test_group_table_means_gaps_and_small_groups():
    x = np.r_[np.full(25, 0.4), np.full(30, 0.1), [0.9, 0.7], [np.nan]]
    g = np.array(["a"] * 25 + ["b"] * 30 + ["c", "c", "a"], dtype=object)
    t = group_table(x, g, min_users=20, n_boot=200, rng=3).set_index("group")
    assert t.loc["a", "n"] == 25 and t.loc["b", "n"] == 30 and t.loc["c", "n"] == 2
    assert t.loc["a", "mean"] == pytest.approx(0.4) and t.loc["c", "mean"] == pytest.approx(0.8)
    # best among tested groups only: c (mean 0.8, 2 users) is not eligible
    assert t.loc["b", "gap_to_best"] == pytest.approx(0.3) and t.loc["a", "gap_to_best"] == 0
    assert not t.loc["c", "tested"] and np.isnan(t.loc["c", "lo"])
    assert np.isnan(t.loc["c", "gap_to_best"])
    assert t.loc["a", "lo"] == pytest.approx(0.4) and t.loc["a", "hi"] == pytest.approx(0.4)


def test_group_interval_is_the_unit_bootstrap_of_the_group():
    rng = np.random.default_rng(0)
    x = rng.random(60)
    g = np.array(["a"] * 60, dtype=object)
    t = group_table(x, g, n_boot=300, rng=np.random.default_rng(9))
    lo, hi = bootstrap_ci(x, 300, 0.05, np.random.default_rng(9))
    assert (t["lo"].iloc[0], t["hi"].iloc[0]) == pytest.approx((lo, hi))


def test_gap_summary_max_min_and_mad():
    s = gap_summary(np.array([0.1, 0.3, 0.6]))
    assert s["max_min_gap"] == pytest.approx(0.5)
    assert s["mad"] == pytest.approx((0.2 + 0.5 + 0.3) / 3)
    assert gap_summary(np.array([0.2, 0.5]))["mad"] == pytest.approx(0.3)
    assert np.isnan(gap_summary(np.array([0.2]))["mad"])


def test_gap_effect_delta_by_hand_and_p_against_exact_enumeration():
    base = np.array([0.5, 0.6, 0.7, 0.1, 0.2, 0.0, 0.3])
    d = np.array([0.1, 0.3, 0.2, -0.1, 0.0, 0.05, -0.2])
    g = np.array(["A", "A", "A", "B", "B", "B", "C"], dtype=object)  # C is ignored
    res = gap_effect_test(base, base + d, g, "A", "B", n_perm=40_000, rng=1)
    da, db = d[:3], d[3:6]
    assert res.delta == pytest.approx(da.mean() - db.mean())
    assert res.base_gap == pytest.approx(base[:3].mean() - base[3:6].mean())
    assert res.treated_gap - res.base_gap == pytest.approx(res.delta)
    assert (res.n_a, res.n_b) == (3, 3)
    # exact permutation p over all C(6, 3) = 20 label assignments
    dd = d[:6]
    obs = abs(da.mean() - db.mean())
    stats = [
        abs(dd[list(a)].mean() - np.delete(dd, list(a)).mean())
        for a in itertools.combinations(range(6), 3)
    ]
    exact = np.mean(np.array(stats) >= obs - 1e-12)
    assert res.pvalue == pytest.approx(exact, abs=0.01)


def test_gap_effect_same_change_everywhere_is_no_effect():
    base = np.linspace(0, 1, 40)
    g = np.array(["A", "B"] * 20, dtype=object)
    res = gap_effect_test(base, base - 0.05, g, "A", "B", n_perm=500, rng=0)
    assert res.delta == pytest.approx(0.0, abs=1e-12) and res.pvalue == 1.0


def test_steck_miscalibration_by_hand():
    p = np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 0.0]])
    q = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    c = miscalibration(p, q)
    qt = np.array([0.99 + 0.005, 0.005])
    assert c[0] == pytest.approx(0.5 * np.log(0.5 / qt[0]) + 0.5 * np.log(0.5 / qt[1]))
    assert c[1] == pytest.approx(0.0) and np.isnan(c[2])


def test_history_and_list_distributions_with_padding_and_weights():
    codes = np.array([0, 0, 1, 2])
    H = sp.csr_matrix(np.array([[3, 0, 1, 0], [0, 0, 0, 0]], float))
    np.testing.assert_allclose(
        group_distribution_of_history(H, codes, 3), [[0.5, 0.5, 0], [0, 0, 0]]
    )
    L = np.array([[0, 1, 3, -1], [-1, -1, -1, -1]])
    np.testing.assert_allclose(
        group_distribution_of_lists(L, codes, 3), [[2 / 3, 0, 1 / 3], [0, 0, 0]]
    )


def test_popularity_lift_by_hand():
    assert popularity_lift(np.array([10.0, 20.0, np.nan]), np.array([30.0, 30.0, 5.0])) == (
        pytest.approx((30 - 15) / 15)
    )


def test_quantile_groups_state_edges_and_keep_ties_together():
    x = np.array([1, 2, 2, 2, 3, 4, 5, 6, 7, np.nan])
    g, edges = quantile_groups(x, 3)
    np.testing.assert_allclose(edges, np.quantile(x[:-1], [1 / 3, 2 / 3]))
    assert g[-1] == "unknown" and len(set(g[1:4])) == 1
    for v, lab in zip(x[:-1], g[:-1], strict=True):
        assert lab == f"q{1 + int(np.sum(np.asarray(edges) < v))}"


def test_age_bands_and_missing_demographics_are_their_own_group():
    assert list(age_bands([7, 18, 24, 25, 49, 50, 56, 73, np.nan])) == [
        "<18",
        "18-24",
        "18-24",
        "25-34",
        "45-49",
        "50-55",
        "56+",
        "56+",
        "unknown",
    ]
    d = demographic_groups("completejourney", ["1", "no-such-household"])
    assert d["age"][0] == "65+" and d["income"][0] == "35-49K"
    assert all(d[c][1] == "unknown" for c in ("age", "income", "household_size"))
    m = demographic_groups("movielens100k", ["1", "2"])
    assert list(m["gender"]) == ["M", "F"] and list(m["age"]) == ["18-24", "50-55"]


def test_gap_effect_p_against_scipy_permutation_test():
    from scipy.stats import permutation_test

    rng = np.random.default_rng(4)
    n = 400
    g = rng.choice(["A", "B", "C"], n, p=[0.25, 0.55, 0.2]).astype(object)
    base = rng.random(n)
    d = rng.normal(0.0, 0.2, n) + 0.03 * (g == "A")
    res = gap_effect_test(base, base + d, g, "A", "B", n_perm=20_000, rng=7)
    da, db = d[g == "A"], d[g == "B"]
    ref = permutation_test(
        (da, db),
        lambda x, y: np.mean(x) - np.mean(y),
        permutation_type="independent",
        n_resamples=20_000,
        alternative="two-sided",
        random_state=1,
    )
    se = np.sqrt(2 * ref.pvalue * (1 - ref.pvalue) / 20_000)  # both are 20,000-draw estimates
    assert 0.01 < ref.pvalue < 0.5
    assert abs(res.pvalue - ref.pvalue) < 4 * se
    assert res.delta == pytest.approx(da.mean() - db.mean())


def test_gap_effect_se_is_welchs_against_scipy_ttest_ind():
    from scipy.stats import ttest_ind

    rng = np.random.default_rng(11)
    g = rng.choice(["A", "B"], 300, p=[0.3, 0.7]).astype(object)
    base = rng.random(300)
    d = rng.normal(0.0, 0.1, 300) * np.where(g == "A", 2.0, 1.0) + 0.02 * (g == "A")
    res = gap_effect_test(base, base + d, g, "A", "B", n_perm=10, rng=0)
    ref = ttest_ind(d[g == "A"], d[g == "B"], equal_var=False)
    assert res.delta / res.se == pytest.approx(ref.statistic, rel=1e-12)
