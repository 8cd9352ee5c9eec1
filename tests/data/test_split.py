"""Split properties: stratified coverage, per-user and temporal rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skewbench.data.split import (
    allocate,
    leave_last_out,
    per_user_ratio_split,
    stratified_split,
    temporal_split,
)


def labels() -> np.ndarray:
    y = np.array(["a"] * 100 + ["b"] * 17 + ["c"] * 3 + ["d"] * 40)
    np.random.default_rng(9).shuffle(y)
    return y


def test_allocate_by_hand():
    f = np.array([0.7, 0.1, 0.2])
    assert allocate(3, f).tolist() == [1, 1, 1]
    assert allocate(10, f).tolist() == [7, 1, 2]
    assert allocate(17, f).tolist() == [12, 2, 3]  # 11.9, 1.7, 3.4 -> 11,1,3 + 2 by remainder
    assert allocate(5, f).tolist() == [3, 1, 1]


def test_stratified_every_class_in_every_split():
    y = labels()
    parts = stratified_split(y, (0.7, 0.1, 0.2), np.random.default_rng(0))
    allidx = np.concatenate(parts)
    assert np.array_equal(np.sort(allidx), np.arange(y.size))  # disjoint and covering
    for part in parts:
        assert set(y[part]) == {"a", "b", "c", "d"}
    for cls, n in zip("abcd", [100, 17, 3, 40], strict=True):
        sizes = [int((y[p] == cls).sum()) for p in parts]
        assert sizes == allocate(n, np.array([0.7, 0.1, 0.2])).tolist()


def test_stratified_deterministic_and_seed_dependent():
    y = labels()
    a = stratified_split(y, rng=np.random.default_rng(1))
    b = stratified_split(y, rng=np.random.default_rng(1))
    c = stratified_split(y, rng=np.random.default_rng(2))
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[2], c[2])


def test_stratified_small_classes():
    y = np.array(["a"] * 20 + ["b"] * 2 + ["c"])
    with pytest.raises(ValueError, match=r"'b' \(2\), 'c' \(1\)"):
        stratified_split(y, rng=np.random.default_rng(0))
    tr, va, te = stratified_split(y, rng=np.random.default_rng(0), small_classes="drop")
    assert set(y[np.concatenate([tr, va, te])]) == {"a"}
    tr, va, te = stratified_split(y, rng=np.random.default_rng(0), small_classes="train")
    assert (y[tr] == "b").sum() == 2 and (y[tr] == "c").sum() == 1
    # two splits need only two examples per class
    tr, te = stratified_split(y[:22], (0.5, 0.5), np.random.default_rng(0))
    assert set(y[tr]) == set(y[te]) == {"a", "b"}


def inter() -> pd.DataFrame:
    rows = []
    for u, n in [("u1", 10), ("u2", 5), ("u3", 1), ("u4", 2)]:
        rows += [(u, f"i{j}", 100 * j + len(u), 1.0) for j in range(n)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp", "weight"])


def test_per_user_ratio_split():
    df = inter()
    tr, te = per_user_ratio_split(df, 0.2, np.random.default_rng(0))
    assert len(set(tr.index) & set(te.index)) == 0 and len(tr) + len(te) == len(df)
    n_test = te["user_id"].value_counts().to_dict()
    # round-half-up(0.2 n): 10 -> 2, 5 -> 1, 1 -> 0 (keeps >= 1 train), 2 -> 0 (0.4 rounds down)
    assert n_test == {"u1": 2, "u2": 1}
    assert set(tr["user_id"]) == {"u1", "u2", "u3", "u4"}


def test_leave_last_out_takes_latest():
    df = inter()
    tr, te = leave_last_out(df, 1)
    latest = df.loc[df.groupby("user_id")["timestamp"].idxmax()]
    expect = latest[latest["user_id"] != "u3"]  # u3 has one interaction: stays in train
    assert sorted(te.index) == sorted(expect.index)


def test_temporal_global_cut_and_cold_start():
    df = pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "b", "c"],
            "item_id": ["x", "y", "x", "z", "x"],
            "timestamp": [1, 2, 3, 4, 5],
        }
    )
    tr, te = temporal_split(df, cut=4, drop_cold=False)
    assert tr["timestamp"].tolist() == [1, 2, 3] and te["timestamp"].tolist() == [4, 5]
    tr, te = temporal_split(df, cut=4)  # z is a new item, c a new user: both dropped
    assert len(te) == 0 and te.attrs["cold_rows_dropped"] == 2
    tr, te = temporal_split(df, test_frac=0.4, drop_cold=False)  # quantile 0.6 -> 3.4 -> 4
    assert te["timestamp"].tolist() == [4, 5]
