"""Query builders on a tiny hand-made purchases table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skewbench.data.queries import (
    build_personalised_queries,
    build_search_data,
    build_type_queries,
    head_tail,
    path_query_text,
    product_text,
    purchase_grade,
    split_by_time,
)
from skewbench.errors import ConfigError

WEEK = 7 * 86400


def products() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "department": ["GROCERY"] * 4,
            "product_category": ["COLD CEREAL", "COLD CEREAL", "SOUP", "SOUP"],
            "product_type": ["KIDS CEREAL", "ADULT CEREAL", "DRY SOUP", "DRY SOUP"],
            "brand": ["National", "Private", "National", "Private"],
            "manufacturer_id": [1, 2, 3, 2],
            "package_size": ["14 OZ", None, "5 OZ", "5 OZ"],
        }
    )


def purchases() -> pd.DataFrame:
    # weeks 0..3 train, week 9 test (test_weeks=1: cutoff = max − 1 week)
    rows = [
        ("u1", "a", 0),
        ("u1", "a", 1),
        ("u2", "a", 1),
        ("u2", "c", 2),
        ("u3", "b", 3),
        ("u1", "a", 9),
        ("u1", "a", 9),
        ("u1", "a", 9),
        ("u1", "a", 9),  # 4 → grade 3
        ("u1", "c", 9),
        ("u1", "d", 9),
        ("u2", "d", 9),
        ("u2", "d", 9),  # d: 3 lines → grade 2
    ]
    return pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "timestamp": [r[2] * WEEK for r in rows],
        }
    )


def test_purchase_grade():
    assert purchase_grade([0, 1, 2, 3, 4, 7, 8, 100]).tolist() == [0, 1, 2, 2, 3, 3, 3, 3]


def test_head_tail_rule():
    counts = pd.Series({"x": 5, "y": 3, "z": 2, "w": 0})
    # total 10: x alone holds 50 % → head = {x}; w (zero) always tail
    assert head_tail(counts, 0.5).to_dict() == {"x": "head", "y": "tail", "z": "tail", "w": "tail"}
    # 0.6: x (50 %) is short, y completes the prefix
    assert head_tail(counts, 0.6).tolist() == ["head", "head", "tail", "tail"]
    with pytest.raises(ConfigError):
        head_tail(counts, 1.0)


def test_texts_use_different_views():
    p = products()
    text = product_text(p)
    assert text[0] == "cold cereal. grocery. national brand. manufacturer 1. 14 oz"
    assert "kids" not in text[0]  # product_type is the query view, not indexed
    assert product_text(p, index_type=True)[0].startswith("kids cereal. cold cereal")
    assert path_query_text("COLD CEREAL", "KIDS CEREAL") == "cold cereal kids"


def test_split_by_time():
    train, test = split_by_time(purchases(), 1)
    assert train["timestamp"].max() == 3 * WEEK and (test["timestamp"] == 9 * WEEK).all()


def test_type_queries_grades():
    _, test = split_by_time(purchases(), 1)
    q, r = build_type_queries(products(), test, pd.Series({"KIDS CEREAL": "head"}))
    assert q["query_id"].tolist() == ["type:DRY SOUP", "type:KIDS CEREAL"]
    assert q["text"].tolist() == ["dry soup", "kids cereal"]
    assert q["group"].tolist() == ["tail", "head"]
    got = {(a, b): g for a, b, g in zip(r["query_id"], r["item_id"], r["grade"], strict=True)}
    assert got == {
        ("type:KIDS CEREAL", "a"): 3,
        ("type:DRY SOUP", "c"): 1,
        ("type:DRY SOUP", "d"): 2,
    }


def test_personalised_queries_per_household_and_path():
    _, test = split_by_time(purchases(), 1)
    q, r = build_personalised_queries(products(), test)
    assert q["query_id"].tolist() == [
        "u1|cold cereal kids",
        "u1|soup dry",
        "u2|soup dry",
    ]
    got = sorted(zip(r["query_id"], r["item_id"], r["grade"], strict=True))
    assert got == [
        ("u1|cold cereal kids", "a", 3),
        ("u1|soup dry", "c", 1),
        ("u1|soup dry", "d", 1),
        ("u2|soup dry", "d", 2),
    ]
    q2, _ = build_personalised_queries(
        products(), test, max_queries=2, rng=np.random.default_rng(0)
    )
    assert len(q2) == 2 and set(q2["query_id"]) <= set(q["query_id"])


def test_build_search_data_no_leakage():
    d = build_search_data(products(), purchases(), queries="personalised", test_weeks=1)
    # training queries come only from weeks 0..3, test queries only from week 9
    assert set(d.train_queries["query_id"]) == {
        "u1|cold cereal kids",
        "u2|cold cereal kids",
        "u2|soup dry",
        "u3|cold cereal adult",
    }
    # popularity and history from training only: a bought 3 times in training, d never
    pop = dict(zip(d.catalog["item_id"], d.item_popularity, strict=True))
    assert pop == {"a": 3.0, "b": 1.0, "c": 1.0, "d": 0.0}
    assert d.history.sum() == 5
    # head/tail from training type counts: KIDS CEREAL 3 of 5 lines → head alone
    assert dict(zip(d.queries["product_type"], d.queries["group"], strict=True)) == {
        "KIDS CEREAL": "head",
        "DRY SOUP": "tail",
    }
    truth = d.truth().toarray()
    assert truth.shape == (3, 4) and truth[0].tolist() == [3, 0, 0, 0]


def test_min_item_count_filters_catalog():
    d = build_search_data(products(), purchases(), queries="type", test_weeks=1, min_item_count=1)
    assert d.catalog["item_id"].tolist() == ["a", "b", "c"]
    assert d.info["n_test_purchases_outside_catalog"] == 3  # the three d lines
    assert d.qrels["item_id"].tolist() == ["c", "a"] or set(d.qrels["item_id"]) == {"a", "c"}
