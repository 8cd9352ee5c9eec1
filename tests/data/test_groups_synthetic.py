"""Item/user groups and the synthetic generators."""

from __future__ import annotations

import numpy as np
import pandas as pd

from skewbench.data import groups, synthetic
from skewbench.data.imbalance import profile


def test_price_bands_by_hand():
    bands = groups.price_bands([1, 2, 3, 4, np.nan, 5, 6, 7, 8], n_bands=4)
    # inner edges = quartiles of 1..8: 2.75, 4.5, 6.25
    assert bands.tolist() == ["q1", "q1", "q2", "q2", "unknown", "q3", "q3", "q4", "q4"]


def test_popularity_and_groups():
    inter = pd.DataFrame(
        {
            "user_id": ["u", "v", "u", "u", "v"],
            "item_id": ["a", "a", "a", "b", "c"],
            "weight": [1.0, 2.0, 1.0, 1.0, 1.0],
        }
    )
    ids = ["a", "b", "c", "z"]
    assert groups.item_popularity(inter, ids).tolist() == [3, 1, 1, 0]
    assert groups.item_popularity(inter, ids, by="users").tolist() == [2, 1, 1, 0]
    assert groups.item_popularity(inter, ids, by="weight").tolist() == [4, 1, 1, 0]
    # 60 % head with a; bottom suffix <= 20 %: z (0) and c (1 of 5) -> tail; b mid
    assert groups.popularity_groups([3, 1, 1, 0]).tolist() == ["head", "mid", "tail", "tail"]


def test_user_groups_and_codes():
    demo = pd.DataFrame({"user_id": ["1", "2"], "income": ["<25K", "50-74K"]})
    assert groups.user_groups(["2", "3"], demo, "income").tolist() == ["50-74K", "unknown"]
    codes, names = groups.group_codes(["Private", "National", "Private"])
    assert codes.tolist() == [1, 0, 1] and names.tolist() == ["National", "Private"]
    assert groups.brand_groups(pd.DataFrame({"brand": ["P", None]})).tolist() == ["P", "unknown"]


def test_synthetic_text_has_controlled_imbalance():
    df = synthetic.labelled_text(np.random.default_rng(0), n_classes=3, n_max=400, rho=100)
    p = profile(df["label"])
    assert p.counts.tolist() == [400, 40, 4] and p.imbalance_ratio == 100
    assert df["doc_id"].is_unique
    # class-conditional vocabulary: class1 texts use only class1 and shared words
    words = set(" ".join(df.loc[df["label"] == "class1", "text"]).split())
    assert all(w.startswith(("c1w", "s")) for w in words)


def test_synthetic_zipf_popularity():
    df = synthetic.zipf_interactions(
        np.random.default_rng(0), n_users=300, n_items=200, per_user=10, a=1.2
    )
    assert len(df) == 3000 and not df.duplicated(["user_id", "item_id"]).any()
    counts = df["item_id"].value_counts()
    assert counts.index[0] == "i0"
    assert counts["i0"] > counts.get("i50", 0) > counts.get("i199", 0) - 1
