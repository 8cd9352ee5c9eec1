"""A ``table`` data set is as capable as the bundled ones: the whole catalog counts (items
nobody bought included), category paths at any level, a catalog without a column gives "not
available (why)" instead of 0, and search reads popularity from an interactions file (and
refuses a popularity prior without one)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from skewbench.errors import ConfigError
from skewbench.runner.cell import Cell, Component
from skewbench.runner.tasks import get_task
from tests.data.own_files import N_UNSOLD, write_files

ORDERS = {"path": "orders.csv", "columns": {"user_id": "customer", "item_id": "sku", "timestamp": "order"}}  # fmt: skip
ITEMS = {"path": "items.csv", "columns": {"item_id": "sku", "title": "name", "category_path": "cat"}}  # fmt: skip


@pytest.fixture
def data(tmp_path):
    """The shop's files, and a catalog without manufacturer and price columns."""
    folder = write_files(tmp_path) / "data"
    items = pd.read_csv(folder / "items.csv")
    items.drop(columns=["manufacturer", "price"]).to_csv(folder / "bare.csv", index=False)
    return folder


def _files(folder, **names: str) -> dict:
    spec = {"interactions": ORDERS, "catalog": ITEMS, "queries": None, "qrels": None}
    spec["queries"] = {"path": "queries.csv", "columns": {"query_id": "qid", "text": "q"}}
    spec["qrels"] = {"path": "judgments.parquet", "columns": {"query_id": "qid", "item_id": "sku"}}
    out = {}
    for key, file in names.items():
        base = dict(spec[file])
        out[key] = {**base, "path": str(folder / base["path"])}
    return out


def _cell(task: str, params: dict, model: str = "popularity", **options) -> Cell:
    return Cell(task, Component("table", params), Component(model), Component("none"), None, 0,
                options=options)  # fmt: skip


def test_recommend_counts_the_whole_catalog_at_the_chosen_category_level(data):
    bare = _files(data, catalog="catalog")["catalog"] | {"path": str(data / "bare.csv")}
    params = {**_files(data, interactions="interactions"), "catalog": bare, "category_level": 2}
    res = get_task("recommend").run(_cell("recommend", params, cutoffs=[3], k=3))
    n_items = 24 + N_UNSOLD
    assert res.info["dataset"]["catalog_items_without_interactions"] == N_UNSOLD
    assert res.info["n_items"] == n_items
    # brands cycle over the catalog: 30 items → 10 each, the unsold ones included
    assert res.metrics["catalog_share[brand=Acme]"] == pytest.approx(10 / n_items)
    assert res.metrics["catalog_share[category=Kitchen > Mugs]"] == pytest.approx(0.5)
    assert res.metrics["exposure_gini[category]"] >= 0
    # unsold items are never recommended by popularity, so the item Gini over the whole
    # catalog is at least the share of unshown items (Gini ≥ share of zeros for n items)
    assert res.metrics["exposure_gini"] >= N_UNSOLD / n_items
    assert set(res.info["not_available"]) == {"exposure_gini[manufacturer]", "exposure_gini[price]"}
    assert (
        "manufacturer column holds no value"
        in res.info["not_available"]["exposure_gini[manufacturer]"]
    )
    assert not any("manufacturer" in k or "price=" in k for k in res.metrics)


def test_search_reads_popularity_from_interactions_and_refuses_a_prior_without_it(data):
    files = _files(data, queries="queries", qrels="qrels", catalog="catalog")
    bare = {**files, "catalog": files["catalog"] | {"path": str(data / "bare.csv")}}
    with pytest.raises(ConfigError, match="bm25_pop adds item popularity"):
        get_task("search").check(_cell("search", bare, "bm25_pop", k=3))
    with_pop = {**bare, **_files(data, interactions="interactions")}
    task = get_task("search")
    plain = task.run(_cell("search", with_pop, "bm25", k=3))
    prior = task.run(_cell("search", with_pop, "bm25_pop", k=3))
    assert "exposure_share[popularity=head]" in plain.metrics  # a popularity grouping now
    orders = pd.read_csv(data / "orders.csv")
    assert prior.metrics["arp"] == pytest.approx(
        np.mean([orders["sku"].value_counts().reindex(r).fillna(0).mean() for r in _ranked(prior)])
    )
    assert math.isnan(plain.metrics["exposure_gini_manufacturer"])
    assert "exposure_gini_manufacturer" in plain.info["not_available"]
    assert "private_share" in plain.info["not_available"]


def _ranked(result) -> list[list[str]]:
    """Each query's list as skus (catalog row i holds sku s<i>)."""
    return [[f"s{i}" for i in items] for items in result.units["ranked"]]
