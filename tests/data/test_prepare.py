"""k-core fixpoint, dedupe and binarize."""

from __future__ import annotations

import numpy as np
import pandas as pd

from skewbench.data.prepare import binarize, dedupe, kcore
from skewbench.data.synthetic import zipf_interactions


def naive_kcore(pairs: set[tuple[str, str]], uk: int, ik: int) -> set[tuple[str, str]]:
    """Independent peer: remove one offending pair at a time until none is left."""
    pairs = set(pairs)
    while True:
        uc: dict[str, int] = {}
        ic: dict[str, int] = {}
        for u, i in pairs:
            uc[u] = uc.get(u, 0) + 1
            ic[i] = ic.get(i, 0) + 1
        bad = {(u, i) for u, i in pairs if uc[u] < uk or ic[i] < ik}
        if not bad:
            return pairs
        pairs -= bad


def test_kcore_needs_iteration_by_hand():
    # u3 has 2 items; item c is only held by u3 and u1; with k=2, dropping nothing at first
    # pass? item d has 1 user -> removed, then u2 has 1 item -> removed, then item b loses u2.
    df = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u2", "u3", "u3", "u1"],
            "item_id": ["a", "b", "b", "d", "a", "c", "c"],
        }
    )
    out, steps = kcore(df, 2, 2, return_steps=True)
    # step 1: d (1 user) goes -> u2 keeps only b; step 2: u2 (1 item) goes -> b keeps only u1;
    # step 3: b goes; left: u1{a,c}, u3{a,c}
    assert sorted(zip(out["user_id"], out["item_id"], strict=True)) == [
        ("u1", "a"),
        ("u1", "c"),
        ("u3", "a"),
        ("u3", "c"),
    ]
    assert steps["rows"].tolist()[0] == 7 and steps["rows"].tolist()[-1] == 4
    assert len(steps) >= 3


def test_kcore_fixpoint_matches_naive_peer():
    df = zipf_interactions(np.random.default_rng(0), n_users=80, n_items=300, per_user=8, a=1.1)
    df = df.iloc[np.random.default_rng(1).random(len(df)) < 0.7]  # uneven user degrees
    out = kcore(df, 5, 4)
    assert (out["user_id"].value_counts() >= 5).all()
    assert (out["item_id"].value_counts() >= 4).all()
    pairs = set(zip(df["user_id"], df["item_id"], strict=True))
    assert set(zip(out["user_id"], out["item_id"], strict=True)) == naive_kcore(pairs, 5, 4)
    assert kcore(out, 5, 4).equals(out)  # fixpoint


def test_dedupe_weights_and_time():
    df = pd.DataFrame(
        {
            "user_id": ["u", "u", "v", "u"],
            "item_id": ["a", "b", "a", "a"],
            "timestamp": [5, 1, 2, 3],
            "weight": [1.0, 1.0, 1.0, 2.0],
            "qty": [1, 2, 3, 4],
            "note": ["late", "x", "y", "early"],
        }
    )
    out = dedupe(df, sum_columns=["qty"])
    assert out[["user_id", "item_id"]].values.tolist() == [["u", "a"], ["u", "b"], ["v", "a"]]
    assert out["weight"].tolist() == [3.0, 1.0, 1.0]
    assert out["timestamp"].tolist() == [3, 1, 2]
    assert out["qty"].tolist() == [5, 2, 3]
    assert out["note"].tolist() == ["early", "x", "y"]  # other columns: the earliest row's
    out = dedupe(df, weight="count", timestamp="last")
    assert out["weight"].tolist() == [2.0, 1.0, 1.0] and out["timestamp"].tolist() == [5, 1, 2]
    assert dedupe(df, weight="max")["weight"].tolist() == [2.0, 1.0, 1.0]


def test_binarize():
    df = pd.DataFrame(
        {"user_id": ["u"] * 3, "item_id": list("abc"), "rating": [5, 3, 4], "weight": 1.0}
    )
    out = binarize(df, "rating", 4)
    assert out["item_id"].tolist() == ["a", "c"] and out["weight"].tolist() == [1.0, 1.0]
    assert df["weight"].tolist() == [1.0, 1.0, 1.0]  # input untouched
