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


def _train_files(data, texts: list[str]) -> dict:
    """train_queries / train_qrels files whose queries ask for words of the catalog's names."""
    tq = pd.DataFrame({"qid": [f"t{i}" for i in range(len(texts))], "q": texts})
    tq.to_csv(data / "train_queries.csv", index=False)
    names = pd.read_csv(data / "items.csv")[["sku", "name"]]
    rows = [(q, s, 1) for q, t in zip(tq["qid"], tq["q"], strict=True)
            for s, n in zip(names["sku"], names["name"], strict=True) if t.split()[0] in n]  # fmt: skip
    pd.DataFrame(rows, columns=["qid", "sku", "grade"]).to_csv(
        data / "train_qrels.csv", index=False
    )
    cols = {"columns": {"query_id": "qid", "text": "q"}}
    return {
        "train_queries": {"path": str(data / "train_queries.csv"), **cols},
        "train_qrels": {"path": str(data / "train_qrels.csv"), "columns": {"query_id": "qid", "item_id": "sku"}},
    }  # fmt: skip


def test_training_queries_must_be_given_and_never_a_test_query(data):
    from skewbench.data.sources.table import search_data
    from skewbench.errors import SchemaError

    files = _files(data, queries="queries", qrels="qrels", catalog="catalog")
    with pytest.raises(ConfigError, match="give the table data set train_queries"):
        get_task("search").check(_cell("search", files, "finetuned", k=3))
    leaky = {**files, **_train_files(data, ["blue mug", "Red  MUG"])}  # "red mug" is a test query
    with pytest.raises(SchemaError, match="'Red  MUG' is also a test query") as err:
        search_data(leaky)
    assert err.value.row == 1 and err.value.column == "text"
    ok = {**files, **_train_files(data, ["blue mug", "red cup"])}
    get_task("search").check(_cell("search", ok, "finetuned", k=3))
    built = search_data(ok)
    assert list(built.fit_queries()[0]["text"]) == ["blue mug", "red cup"]


@pytest.mark.slow
def test_finetuned_trains_on_the_training_queries_of_a_table(data):
    files = _files(data, queries="queries", qrels="qrels", catalog="catalog")
    params = {**files, **_train_files(data, ["blue mug", "red cup", "green mug"])}
    cell = Cell("search", Component("table", params), Component("finetuned", {"max_pairs": 8, "batch_size": 4}),
                Component("none"), None, 0, options={"k": 3})  # fmt: skip
    res = get_task("search").run(cell)
    assert res.info["n_train_queries"] == 3
    assert res.info["query_split"] == "unseen"
    assert res.metrics["ndcg@3"] > 0
