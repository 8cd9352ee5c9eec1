"""The search task end to end on a small Complete Journey subset, and config checks."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from skewbench.data.queries import query_key
from skewbench.errors import ConfigError, IncompatibleError
from skewbench.runner.cell import Cell, Component
from skewbench.tasks import search

SMALL = {"queries": "type", "min_item_count": 300}  # ~400 best-selling products


def cell(model: str, treatment: str = "none", ds: dict | None = None, seed: int = 0, **tp) -> Cell:
    return Cell(
        task="search",
        dataset=Component("completejourney", ds or SMALL),
        model=Component(model),
        treatment=Component(treatment, tp),
        imbalance=None,
        seed=seed,
        master_seed=7,
        options={"k": 10, "cutoffs": [5, 10], "candidates": 30},
    )


def _text_pairs(queries, qrels) -> set[tuple[str, str]]:
    text = dict(zip(queries["query_id"], queries["text"].map(query_key), strict=True))
    rel = qrels[qrels["gain"] > 0]
    return {(text[q], i) for q, i in zip(rel["query_id"], rel["item_id"], strict=True)}


@pytest.mark.parametrize(
    "ds", [SMALL, {"queries": "personalised", "min_item_count": 300, "max_queries": 200}]
)
def test_real_test_queries_are_unseen(ds):
    """Complete Journey: no test query text (hence no test (query, product) pair) is among the
    queries any model is fitted on, refit included, nor among the validation queries."""
    d = search.load_data(cell("bm25", ds=ds))
    test = set(d.queries["text"].map(query_key))
    fitted = set(d.train_queries["text"].map(query_key))  # train + validation folds
    assert len(test) > 20 and len(fitted) > 50
    assert not test & fitted
    assert not test & set(d.validation.queries["text"].map(query_key))
    assert not _text_pairs(d.queries, d.qrels) & _text_pairs(d.train_queries, d.train_qrels)


def test_seen_condition_is_named_and_overlaps():
    d = search.load_data(cell("bm25", ds={**SMALL, "query_split": "seen"}))
    fitted = set(d.train_queries["text"])
    assert set(d.queries["text"]) <= fitted
    assert _text_pairs(d.queries, d.qrels) & _text_pairs(d.train_queries, d.train_qrels)


def test_units_name_the_same_query_across_replicates():
    a, b = search.run(cell("bm25", seed=0)), search.run(cell("bm25", seed=1))
    # each replicate draws its own folds, so the test sets differ, but a shared query_id is
    # the same text, and per query the (deterministic) BM25 value is the same
    assert set(a.units["query_id"]) != set(b.units["query_id"])
    both = a.units.merge(b.units, on="query_id", suffixes=("_a", "_b"))
    assert len(both) > 0
    np.testing.assert_allclose(both["ndcg@10_a"], both["ndcg@10_b"])


def test_reranker_cells_state_their_caps():
    r = search.run(cell("bm25", "fair", group="manufacturer", p=0.5))
    info = r.info
    assert info["candidate_pool_size"] == 30 and info["protected_group"] == "manufacturer=tail"
    d = search.load_data(cell("bm25"))
    codes = search.item_groups(d, "manufacturer")
    plain = search.run(cell("bm25"))  # the same candidates, untreated
    assert "protected_group" not in plain.info
    # recompute the share from the candidate lists of the cached base model
    cand = search.base_candidates(cell("bm25"), d, search.batch(d, d.queries, d.qrels), 30)
    none_in_pool = [not any(codes[i] == 1 for i in row if i >= 0) for row in cand.items]
    assert info["share_units_no_protected_in_pool"] == pytest.approx(np.mean(none_in_pool))
    assert 0 < info["candidate_pool_size_mean"] <= 30


def test_bm25_cell_end_to_end_with_fair_reranker():
    plain = search.run(cell("bm25"))
    fair = search.run(cell("bm25", "fair", group="brand", p=0.5))
    names = set(plain.metrics)
    assert names == set(fair.metrics)
    for m in (
        "ndcg@10",
        "recall@5",
        "mrr@10",
        "ndcg@10_head",
        "ndcg@10_tail",
        "exposure_gini",
        "exposure_gini_manufacturer",
        "private_share",
    ):
        assert m in names
    assert 0 < plain.metrics["ndcg@10"] <= 1
    assert fair.metrics["private_share"] >= plain.metrics["private_share"]
    for res in (plain, fair):  # per-query parts of the list-level share, for paired tests
        assert res.units["private_share"].mean() == pytest.approx(
            res.metrics["private_share"], abs=1e-12
        )
    assert len(plain.units) == plain.info["n_test_queries"]
    assert plain.info["ties_within"] >= 0 and plain.info["ties_boundary"] >= 0
    # same cell, same numbers
    again = search.run(cell("bm25"))
    assert again.metrics == plain.metrics or all(
        (math.isnan(a) and math.isnan(b)) or a == b
        for a, b in zip(again.metrics.values(), plain.metrics.values(), strict=True)
    )


def test_group_norm_and_pop_cells():
    r = search.run(cell("bm25_pop", "group_norm", group="manufacturer"))
    assert np.isfinite(r.metrics["ndcg@10"])


def test_check_rejects_bad_cells():
    with pytest.raises(ConfigError):
        search.check(cell("nope"))
    with pytest.raises(ConfigError):
        search.check(cell("bm25", "fair", group="colour"))
    with pytest.raises(IncompatibleError):
        search.check(cell("personal"))  # type queries have no household
    bad = Cell(
        "search",
        Component("completejourney", {"queries": "logged"}),
        Component("bm25"),
        Component("none"),
        None,
        0,
    )
    with pytest.raises(ConfigError):
        search.check(bad)
    with pytest.raises(ConfigError, match="candidatez"):
        search.check(dataclasses.replace(cell("bm25"), options={"candidatez": 5}))
    with pytest.raises(ConfigError, match="query_split"):
        search.check(cell("bm25", ds={**SMALL, "query_split": "all"}))


def test_validation_score_uses_only_the_validation_view():
    c = cell("bm25")
    d = search.load_data(c)
    s1 = search.validation_score(c, d, {"k1": 1.2, "b": 0.75})
    s2 = search.validation_score(c, d, {"k1": 2.0, "b": 0.4})
    assert 0.0 < s1 < 1.0 and 0.0 < s2 < 1.0 and s1 != s2
    # the test queries and their relevance play no part
    blind = dataclasses.replace(d, queries=d.queries.iloc[:1], qrels=d.qrels.iloc[:1])
    assert search.validation_score(c, blind, {"k1": 1.2, "b": 0.75}) == s1
    # the default params score like an untuned fit on the validation view
    assert search.validation_score(c, d, {}) == search.validation_score(
        c, d, {"k1": 1.5, "b": 0.75}
    )
    with pytest.raises(ConfigError, match="tune.metric"):
        search.validation_score(c, d, {}, "auc@10")


def test_tuned_cell_records_its_choice():
    pytest.importorskip("skewbench.tuning")
    fields = {f.name for f in dataclasses.fields(Cell)}
    if "tune" not in fields:
        pytest.skip("Cell has no tune field yet")
    c = dataclasses.replace(
        cell("bm25_pop"),
        tune={"space": {"w": [0.0, 0.3]}, "method": "grid", "trials": 5, "refit": True},
    )
    search.check(c)
    r = search.run(c)
    rec = r.info["tuning"]
    assert rec["metric"] == "ndcg@10" and rec["refit"] is True
    assert [t["params"]["w"] for t in rec["trials"]] == [0.0, 0.3]
    d = search.load_data(c)
    for t in rec["trials"]:
        assert t["score"] == pytest.approx(search.validation_score(c, d, t["params"]))
    best = max(rec["trials"], key=lambda t: t["score"])
    assert rec["chosen"] == best["params"]
    # refit on train + validation folds: more training queries offered than to an untuned cell
    assert r.info["n_train_queries_available"] == len(d.fit_queries(refit=True)[0])
    assert r.info["n_train_queries"] == 0  # BM25 + popularity learns nothing from queries
    with pytest.raises(ConfigError):
        search.check(dataclasses.replace(cell("bm25"), tune={"space": {"w": [1]}}))
    with pytest.raises(ConfigError):
        search.check(dataclasses.replace(cell("dense"), tune={"space": True}))


def test_seen_and_unseen_share_folds_and_fitted_model():
    unseen = search.load_data(cell("bm25"))
    seen = search.load_data(cell("bm25", ds={**SMALL, "query_split": "seen"}))
    pd.testing.assert_frame_equal(seen.train_queries, unseen.train_queries)
    pd.testing.assert_frame_equal(seen.validation.queries, unseen.validation.queries)
    a = search.fit_data(unseen, search.fit_cell(cell("finetuned")))
    b = search.fit_data(
        seen, search.fit_cell(cell("finetuned", ds={**SMALL, "query_split": "seen"}))
    )
    assert a["seed"] == b["seed"] and a["train_queries"].texts == b["train_queries"].texts
