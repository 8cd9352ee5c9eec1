"""The "who is served" section's per-user reductions: the majority label by hand (ties go to the
first seed's label) and against pandas' value_counts, and the per-group tables computed once are
the tables :func:`group_table` gives on the same values and stream."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skewbench.metrics.user_fairness import group_table
from skewbench.report.users_blocks import _group_table, majority_label, per_group_table
from skewbench.seeds import make_rng


def test_majority_label_by_hand_with_ties_to_the_first_seed():
    users = pd.Series(["u1", "u2", "u1", "u2", "u1", "u3", "u3"])
    labels = pd.Series(["q1", "q3", "q2", "q2", "q2", "q1", "q3"])
    got = majority_label(users, labels)
    # u1: q2 twice beats q1 once; u2 and u3: one each, the first row's label wins
    assert got.to_dict() == {"u1": "q2", "u2": "q3", "u3": "q1"}


def test_majority_label_equals_value_counts_per_user():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 80))
        df = pd.DataFrame(
            {"u": rng.integers(0, 12, n).astype(str), "g": rng.choice(["a", "b", "c"], n)}
        )
        ref = df.groupby("u")["g"].agg(lambda s: s.value_counts(sort=True).index[0])
        got = majority_label(df["u"], df["g"]).reindex(ref.index)
        assert (got == ref).all()


def test_group_tables_computed_once_equal_group_table_on_the_same_stream():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "ndcg@10": rng.random(300),
            "recall@20": rng.random(300),
            "ug_activity": rng.choice(["q1", "q2", "q3", "tiny"], 300, p=[0.3, 0.3, 0.35, 0.05]),
        }
    )
    for metric in ("ndcg@10", "recall@20"):
        ref = group_table(
            frame[metric].to_numpy(),
            frame["ug_activity"].to_numpy(),
            rng=make_rng(0, "report", "users", "ug_activity", metric),
        )
        pd.testing.assert_frame_equal(_group_table(frame, "ug_activity", metric), ref)
        pd.testing.assert_frame_equal(_group_table(frame.copy(), "ug_activity", metric), ref)
    detail = per_group_table(frame, "ug_activity").set_index("group")
    t = _group_table(frame, "ug_activity", "ndcg@10").set_index("group")
    assert detail.loc["q1", "ndcg@10"] == (
        f"{t.loc['q1', 'mean']:.4f} [{t.loc['q1', 'lo']:.4f}, {t.loc['q1', 'hi']:.4f}]"
    )
    assert list(detail["n"]) == list(t["n"])


def test_gap_effects_carry_the_mde_of_each_row():
    """The MDE beside each Δ gap is (t_{1−α/2m} + t_{0.8}) · Welch's SE, m = the table's rows."""
    from scipy import stats as sps

    from skewbench.report.aggregate import ALPHA_SIG
    from skewbench.report.users_blocks import _effects

    rng = np.random.default_rng(5)
    n = 240
    groups = rng.choice(["q1", "q2", "q3"], n)
    base = pd.DataFrame({"ndcg@10": rng.random(n) + 0.3 * (groups == "q3"), "ug_activity": groups})
    frames = {("ease", "none"): base}
    for k, shift in (("xquad", 0.05), ("fair", 0.0)):
        frames[("ease", k)] = base.assign(
            **{"ndcg@10": base["ndcg@10"] - shift * (groups == "q3") + rng.normal(0, 0.05, n)}
        )
    eff = _effects(frames, ["ug_activity"], "ndcg@10", make_rng(0, "t"))
    assert len(eff) == 2
    for treat, (_, row) in zip(("xquad", "fair"), eff.iterrows(), strict=True):
        best, worst = row["best → worst (base)"].split(" → ")
        d = frames[("ease", treat)]["ndcg@10"] - base["ndcg@10"]
        da, db = d[groups == best], d[groups == worst]
        assert row["Δ gap"] == pytest.approx(da.mean() - db.mean(), abs=1e-5)
        se = np.sqrt(da.var(ddof=1) / da.size + db.var(ddof=1) / db.size)
        df = da.size + db.size - 1
        want = (sps.t.ppf(1 - ALPHA_SIG / 4, df) + sps.t.ppf(0.8, df)) * se
        assert row["MDE"] == pytest.approx(want, abs=1e-5)
