"""The search task end to end on a small Complete Journey subset, and config checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skewbench.errors import ConfigError, IncompatibleError
from skewbench.runner.cell import Cell, Component
from skewbench.tasks import search

SMALL = {"queries": "type", "min_item_count": 300}  # ~400 best-selling products


def cell(model: str, treatment: str = "none", ds: dict | None = None, **tp) -> Cell:
    return Cell(
        task="search",
        dataset=Component("completejourney", ds or SMALL),
        model=Component(model),
        treatment=Component(treatment, tp),
        imbalance=None,
        seed=0,
        master_seed=7,
        options={"k": 10, "cutoffs": [5, 10], "candidates": 30},
    )


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
