"""Query builders on a tiny hand-made purchases table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skewbench.data.queries import build_search_data, split_by_time, split_query_texts
from skewbench.data.query_builders import (
    build_personalised_queries,
    build_type_queries,
    head_tail,
    purchase_grade,
)
from skewbench.data.query_text import path_query_text, product_text, query_key
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
    d = build_search_data(
        products(),
        purchases(),
        queries="personalised",
        test_weeks=1,
        query_split="seen",  # three texts only: the head text is always in the train fold
        rng=np.random.default_rng(0),
    )
    # training queries come only from weeks 0..3, test queries only from week 9
    assert set(d.train_queries["query_id"]) <= {
        "u1|cold cereal kids",
        "u2|cold cereal kids",
        "u2|soup dry",
        "u3|cold cereal adult",
    }
    assert "u1|cold cereal kids" in set(d.queries["query_id"])
    assert d.truth().toarray()[list(d.queries["query_id"]).index("u1|cold cereal kids"), 0] == 3
    # popularity and history from training only: a bought 3 times in training, d never
    pop = dict(zip(d.catalog["item_id"], d.item_popularity, strict=True))
    assert pop == {"a": 3.0, "b": 1.0, "c": 1.0, "d": 0.0}
    assert d.history.sum() == 5
    # validation view: popularity from before the validation period (week 3 = u3's b)
    vpop = dict(zip(d.catalog["item_id"], d.validation.item_popularity, strict=True))
    assert vpop == {"a": 3.0, "b": 0.0, "c": 1.0, "d": 0.0}


def test_min_item_count_filters_catalog():
    d = build_search_data(
        products(),
        purchases(),
        queries="type",
        test_weeks=1,
        min_item_count=1,
        query_split="seen",
        rng=np.random.default_rng(0),
    )
    assert d.catalog["item_id"].tolist() == ["a", "b", "c"]
    assert d.info["n_test_purchases_outside_catalog"] == 3  # the three d lines


# ---------------------------------------------------------------------------------------------
# the query-level split, on a larger generated purchase table


def many_products(n_types: int = 60) -> pd.DataFrame:
    rows = []
    for t in range(n_types):
        for j in range(3):
            rows.append(
                {
                    "item_id": f"i{t:03d}{j}",
                    "department": "GROCERY",
                    "product_category": f"CAT {t % 7}",
                    "product_type": f"TYPE {t}",
                    "brand": "Private" if j == 0 else "National",
                    "manufacturer_id": t % 11,
                    "package_size": "1 OZ",
                }
            )
    return pd.DataFrame(rows)


def many_purchases(products: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = products["item_id"].to_numpy()
    p = 1.0 / np.arange(1, len(ids) + 1)  # skewed: low item ids are best-sellers
    n = 4000
    return pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in rng.integers(0, 40, n)],
            "item_id": rng.choice(ids, size=n, p=p / p.sum()),
            "timestamp": rng.integers(0, 12 * WEEK, n),
        }
    )


def _pairs(queries: pd.DataFrame, qrels: pd.DataFrame) -> set[tuple[str, str]]:
    text = dict(zip(queries["query_id"], queries["text"], strict=True))
    return {(text[q], i) for q, i in zip(qrels["query_id"], qrels["item_id"], strict=True)}


@pytest.mark.parametrize("kind", ["type", "personalised"])
def test_unseen_split_shares_no_text_and_no_pair_with_training(kind):
    prods = many_products()
    d = build_search_data(
        prods, many_purchases(prods), queries=kind, test_weeks=2, rng=np.random.default_rng(1)
    )
    test_texts = set(d.queries["text"])
    fit_texts = set(d.train_queries["text"])
    val_texts = set(d.validation.queries["text"])
    assert test_texts and fit_texts and val_texts
    assert not test_texts & fit_texts  # no test text is ever fitted on (train or validation)
    assert not test_texts & val_texts and not test_texts & set(d.validation.train_queries["text"])
    assert not _pairs(d.queries, d.qrels) & _pairs(d.train_queries, d.train_qrels)
    # validation texts are the validation fold, never in the validation view's training
    assert val_texts <= set(d.train_queries.loc[d.train_queries["fold"] == "validation", "text"])
    assert not val_texts & set(d.validation.train_queries["text"])
    tq, _ = d.fit_queries(refit=False)
    assert set(tq["fold"]) == {"train"} and len(tq) == d.info["n_train_queries"]
    assert set(d.fit_queries(refit=True)[0]["fold"]) == {"train", "validation"}
    # fold sizes follow the shares (per head/tail stratum, rounded)
    n = d.info["n_train_texts"] + d.info["n_validation_texts"] + d.info["n_test_texts"]
    assert abs(d.info["n_test_texts"] - 0.3 * n) <= 2
    assert abs(d.info["n_validation_texts"] - 0.15 * n) <= 2


def test_seen_split_asks_training_texts_with_the_same_training_queries():
    prods = many_products()
    buys = many_purchases(prods)
    unseen = build_search_data(prods, buys, test_weeks=2, rng=np.random.default_rng(1))
    seen = build_search_data(
        prods, buys, test_weeks=2, query_split="seen", rng=np.random.default_rng(1)
    )
    pd.testing.assert_frame_equal(seen.train_queries, unseen.train_queries)
    train_fold = set(seen.train_queries.loc[seen.train_queries["fold"] == "train", "text"])
    assert set(seen.queries["text"]) <= train_fold
    assert _pairs(seen.queries, seen.qrels) & _pairs(seen.train_queries, seen.train_qrels)


def test_folds_follow_the_seed_and_query_ids_name_texts():
    prods = many_products()
    buys = many_purchases(prods)
    a = build_search_data(prods, buys, test_weeks=2, rng=np.random.default_rng(1))
    b = build_search_data(prods, buys, test_weeks=2, rng=np.random.default_rng(2))
    again = build_search_data(prods, buys, test_weeks=2, rng=np.random.default_rng(1))
    pd.testing.assert_frame_equal(a.queries, again.queries)
    assert set(a.queries["query_id"]) != set(b.queries["query_id"])
    for d in (a, b):  # the id is the type, whichever replicate holds it
        assert (d.queries["query_id"] == "type:" + d.queries["product_type"]).all()


def test_split_query_texts_and_bad_shares():
    texts = pd.Series(["head"] * 10 + ["tail"] * 20, index=[f"T {i}" for i in range(30)])
    folds = split_query_texts(texts, np.random.default_rng(0), 0.3, 0.2)
    assert folds.index.tolist() == sorted(query_key(t) for t in texts.index)
    head = folds[[query_key(f"T {i}") for i in range(10)]]
    assert (head == "test").sum() == 3 and (head == "validation").sum() == 2
    assert (folds == "test").sum() == 9 and (folds == "validation").sum() == 6
    assert query_key("  Red   SHOE ") == "red shoe"
    with pytest.raises(ConfigError, match="test_share"):
        split_query_texts(texts, np.random.default_rng(0), 0.0, 0.2)
    with pytest.raises(ConfigError, match="< 1"):
        split_query_texts(texts, np.random.default_rng(0), 0.6, 0.5)
    with pytest.raises(ConfigError, match="query_split"):
        build_search_data(products(), purchases(), query_split="both", rng=np.random.default_rng(0))
