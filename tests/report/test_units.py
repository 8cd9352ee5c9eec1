"""Per-unit reduction across replicates, by hand on tiny tables with ties, NaN and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skewbench.report import units as U


def _t(ids, vals, **extra):
    return pd.DataFrame({"user_id": ids, "ndcg@10": np.asarray(vals, dtype=float), **extra})


def test_unit_id_column_prefers_query_over_user():
    both = pd.DataFrame({"user_id": [1], "query_id": ["q"], "x": [0.5]})
    assert U.unit_id_column(both) == "query_id"
    assert U.unit_id_column(pd.DataFrame({"x": [1.0]})) is None


def test_deterministic_ignores_row_order_and_sees_any_change():
    a = _t([3, 1, 2], [0.1, np.nan, 0.3], ranked=[[1, 2], [3], []])
    same = a.iloc[[1, 2, 0]].reset_index(drop=True)  # same units, another order
    assert U.deterministic({0: a, 1: same, 2: a}) is True
    changed_list = a.assign(ranked=[[2, 1], [3], []])  # same metrics, other ranking
    assert U.deterministic({0: a, 1: changed_list}) is False
    assert U.deterministic({0: a, 1: a.assign(**{"ndcg@10": [0.1, np.nan, 0.31]})}) is False
    assert U.deterministic({0: a, 1: a.iloc[:2]}) is False  # other units
    assert U.deterministic({0: a}) is None


def test_deterministic_compares_string_ids_and_labels_with_missing_values():
    def t(ids, groups, vals=(0.1, 0.2, 0.3)):
        frame = _t(ids, vals).assign(user_id=pd.array(ids, dtype="str"))
        return frame.assign(group=pd.array(groups, dtype="str"))

    a = t(["u3", "u1", "u2"], ["q1", None, "q2"])
    assert U.deterministic({0: a, 1: t(["u3", "u1", "u2"], ["q1", None, "q2"])}) is True
    assert U.deterministic({0: a, 1: t(["u3", "u1", "u2"], ["q1", "q3", "q2"])}) is False
    assert U.deterministic({0: a, 1: t(["u3", "u1", "u2"], ["q1", None, "q1"])}) is False
    assert (
        U.deterministic({0: a, 1: t(["u1", "u2", "u3"], [None, "q2", "q1"], (0.2, 0.3, 0.1))})
        is True
    )


def test_deterministic_remembers_only_the_same_frames():
    a, b = _t([1, 2], [0.1, 0.2]), _t([1, 2], [0.1, 0.2])
    assert U.deterministic({0: a, 1: b}) is True
    calls = []
    real = U._deterministic
    U._deterministic = lambda tables: calls.append(1) or real(tables)
    try:
        assert U.deterministic({0: a, 1: b}) is True and calls == []  # remembered
        c = _t([1, 2], [0.1, 0.25])
        assert U.deterministic({0: a, 1: c}) is False and calls == [1]  # another frame
        del b
        assert U.deterministic({0: a, 1: _t([1, 2], [0.1, 0.3])}) is False  # a dead frame's id
    finally:
        U._deterministic = real


def test_unit_means_average_each_unit_over_the_replicates_holding_it():
    frames = {0: _t([1, 2], [0.2, 0.4]), 1: _t([2, 3], [0.6, np.nan]), 2: _t([1, 3], [0.4, 1.0])}
    m = U.unit_means(frames, ["ndcg@10"])
    assert m.index.tolist() == [1, 2, 3]
    np.testing.assert_allclose(m["ndcg@10"], [0.3, 0.5, 1.0])  # NaN replicate skipped
    assert m["n_replicates"].tolist() == [2, 2, 2]


def test_paired_contributions_sum_to_the_mean_over_replicates_of_each_mean_difference():
    a = {0: _t([1, 2, 3], [1.0, 0.0, 0.5]), 1: _t([1, 2], [0.0, np.nan]), 2: _t([9], [1.0])}
    b = {0: _t([3, 2, 1], [0.5, 0.5, 0.5]), 1: _t([1, 2], [1.0, 1.0])}  # seed 2 missing in b
    c, shared = U.paired_contributions(a, b, "ndcg@10")
    assert shared == 2
    # seed 0: d = (0.5, −0.5, 0) over n_0 = 3; seed 1: only unit 1 (unit 2 is NaN in a), d = −1
    # c_1 = 0.5/(2·3) − 1/(2·1); c_2 = −0.5/(2·3); c_3 = 0
    assert c.index.tolist() == [1, 2, 3]
    np.testing.assert_allclose(c, [0.5 / 6 - 0.5, -0.5 / 6, 0.0], atol=1e-15)
    assert c.sum() == pytest.approx((0.0 + -1.0) / 2, abs=1e-15)  # mean of the seed Δs
    assert U.paired_contributions(a, {}, "ndcg@10")[1] == 0


def test_duplicate_ids_within_a_cell_are_one_unit():
    t = pd.DataFrame({"query_id": ["q1", "q1", "q2"], "ndcg@10": [0.0, 1.0, 0.5]})
    got = U.indexed(t, ["ndcg@10"])
    assert got["ndcg@10"].to_dict() == {"q1": 0.5, "q2": 0.5}


def test_metric_columns_exclude_ids_and_facts():
    t = _t([1], [0.5], n_train=[3], non_head_share=[0.1], correct=[True], true=["a"])
    assert U.unit_metric_columns(t) == ["ndcg@10", "non_head_share"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.32, "0.320"),
        (184.6798, "185"),
        (56244.0, "56,244"),
        (12, "12"),
        (-0.0128, "−0.0128"),
        (0, "0"),
        (float("nan"), "–"),
        (1.23e-6, "1.23e−06"),
    ],
)
def test_three_significant_digits(value, text):
    from skewbench.report.fmt import num

    assert num(value) == text


def test_interval_and_p_formats():
    from skewbench.report.fmt import interval, p_is, pct, signed

    assert interval(0.5, 0.41, 0.597) == "0.500 [0.41, 0.60]"
    assert interval(0.5, float("nan"), float("nan")) == "0.500"
    # bounds round outward: the printed interval never excludes the printed mean
    assert interval(194.0, 193.6, 194.4) == "194 [190, 200]"
    assert interval(0.0283, 0.0098, 0.047) == "0.0283 [0.0098, 0.047]"
    assert interval(-0.0123, -0.0151, -0.0101) == "−0.0123 [−0.016, −0.010]"
    assert signed(0.012) == "+0.0120" and pct(-0.04) == "−4.00 %"
    assert p_is(0.0004) == "< 0.001" and p_is(0.0123) == "= 0.012"


def test_no_percentage_on_a_base_below_the_floor():
    from skewbench.report.fmt import DASH, PCT_FLOOR, rel

    assert PCT_FLOOR == 0.05
    assert rel(0.0426, 0.001) == DASH  # would read "+4,260 %"
    assert rel(-0.01, -0.0499) == DASH and rel(0.01, 0.05) == "+20.0 %"
    assert rel(-0.00209, 0.120) == "−1.74 %" and rel(float("nan"), 0.5) == DASH


@pytest.mark.parametrize("seed", range(5))
def test_printed_interval_contains_the_printed_mean(seed):
    from skewbench.report.fmt import interval

    rng = np.random.default_rng(seed)
    for _ in range(2000):
        scale = 10.0 ** rng.integers(-4, 4)
        mean = rng.normal() * scale
        lo, hi = mean - abs(rng.normal()) * scale / 50, mean + abs(rng.normal()) * scale / 50
        m, rest = interval(mean, lo, hi).split(" [")
        a, b = rest.rstrip("]").split(", ")
        val = [float(s.replace("−", "-").replace(",", "")) for s in (a, m, b)]
        assert val[0] <= val[1] <= val[2], (mean, lo, hi, interval(mean, lo, hi))


def test_overlap_counts_units_in_every_and_in_one_replicate():
    frames = {0: _t([1, 2, 3], [0.1] * 3), 1: _t([2, 3, 4], [0.2] * 3), 2: _t([3, 2, 2], [0.3] * 3)}
    o = U.overlap(frames)
    assert o == {"seeds": 3, "per_seed": 8 / 3, "distinct": 4, "every": 2, "one": 2}
