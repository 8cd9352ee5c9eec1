"""ESCI reader and the task-1 protocol on a tiny fixture in the public parquet layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skewbench.data.queries import query_key
from skewbench.data.sources.esci import EXAMPLES_FILE, PRODUCTS_FILE, gain_mapping, load_esci
from skewbench.errors import ConfigError, SchemaError
from skewbench.runner.cell import Cell, Component
from skewbench.tasks import search

# (query_id, query, product, label, split, locale)
ROWS = [
    (1, "red shoe", "P1", "E", "test", "us"),
    (1, "red shoe", "P2", "S", "test", "us"),
    (1, "red shoe", "P3", "I", "test", "us"),
    (2, "usb cable", "P4", "C", "test", "us"),
    (2, "usb cable", "P5", "E", "test", "us"),
    (5, "broken thing", "P6", "I", "test", "us"),  # judged, nothing relevant
    (3, "lamp", "P6", "E", "train", "us"),
    (3, "lamp", "P1", "I", "train", "us"),
    (6, "Red  Shoe", "P2", "E", "train", "us"),  # a test text in other case/spacing
    (7, "desk", "P7", "E", "train", "us"),
    (8, "cable tie", "P8", "E", "train", "us"),
    (9, "hat", "P3", "E", "train", "us"),
    (4, "zapato rojo", "P9", "E", "test", "es"),
]
TITLES = {
    "P1": "Red running shoe",
    "P2": "Red sandal",
    "P3": "Blue hat",
    "P4": "USB-C cable",
    "P5": "USB cable 2m",
    "P6": "Desk lamp",
    "P7": "Oak desk",
    "P8": "Cable tie pack",
    "P9": "Zapato",
}


def write_fixture(folder: Path, bad_label: bool = False) -> Path:
    ex = pd.DataFrame(
        {
            "example_id": range(len(ROWS)),
            "query": [r[1] for r in ROWS],
            "query_id": [r[0] for r in ROWS],
            "product_id": [r[2] for r in ROWS],
            "product_locale": [r[5] for r in ROWS],
            "esci_label": [r[3] for r in ROWS],
            "small_version": [1] * len(ROWS),
            "large_version": [1] * len(ROWS),
            "split": [r[4] for r in ROWS],
        }
    )
    if bad_label:
        ex.loc[4, "esci_label"] = "X"
    ids = sorted(TITLES)
    pr = pd.DataFrame(
        {
            "product_id": ids,
            "product_title": [TITLES[i] for i in ids],
            "product_description": [None] * len(ids),
            "product_bullet_point": ["Light"] + [None] * (len(ids) - 1),
            "product_brand": [
                "Acme",
                "Acme",
                "Hats Inc",
                "Cabl",
                "Cabl",
                "Lumo",
                "Oak",
                "Cabl",
                "X",
            ],
            "product_color": ["red", None, "blue"] + [None] * (len(ids) - 3),
            "product_locale": ["us"] * (len(ids) - 1) + ["es"],
        }
    )
    ex.to_parquet(folder / EXAMPLES_FILE)
    pr.to_parquet(folder / PRODUCTS_FILE)
    return folder


def load(folder: Path, **kw):
    return load_esci(folder, rng=np.random.default_rng(0), **kw)


def test_load_kddcup_gains(tmp_path):
    d = load(write_fixture(tmp_path))
    assert d.queries["query_id"].tolist() == ["1", "2", "5"]
    assert d.queries["text"].tolist() == ["red shoe", "usb cable", "broken thing"]
    assert d.catalog["item_id"].tolist() == ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"]
    assert d.catalog["text"][0] == "Red running shoe. Acme. red. Light"
    truth = d.truth().toarray()
    np.testing.assert_allclose(truth[0, :3], [3, 2, 0])  # E, S, I
    np.testing.assert_allclose(truth[1, 3:5], [1, 3])  # C, E
    assert truth[2].sum() == 0  # judged, only Irrelevant: an empty row, still a unit
    assert d.info["n_queries_no_relevant"] == 1
    assert d.qrels["grade"].tolist() == [3, 2, 0, 1, 3, 0]


def test_training_and_validation_queries_share_no_text_with_test(tmp_path):
    d = load(write_fixture(tmp_path), validation_share=0.5)
    test_keys = {query_key(t) for t in d.queries["text"]}
    # "Red  Shoe" (query 6) is the test text "red shoe": never trained on
    assert "6" not in set(d.train_queries["query_id"])
    assert d.info["n_train_queries_dropped_as_test_text"] == 1
    folds = d.train_queries.groupby("fold")["text"].apply(lambda s: {query_key(t) for t in s})
    assert len(folds["train"]) == 2 and len(folds["validation"]) == 2
    assert not folds["train"] & folds["validation"]
    assert not (folds["train"] | folds["validation"]) & test_keys
    # the validation view ranks the validation texts and trains on the train texts only
    v = d.validation
    assert {query_key(t) for t in v.queries["text"]} == folds["validation"]
    assert {query_key(t) for t in v.train_queries["text"]} == folds["train"]

    # no (query text, relevant product) pair of test is a training pair
    def pairs(q, r):
        text = dict(zip(q["query_id"], q["text"].map(query_key), strict=True))
        rel = r[r["gain"] > 0]
        return {(text[a], b) for a, b in zip(rel["query_id"], rel["item_id"], strict=True)}

    assert not pairs(d.queries, d.qrels) & pairs(d.train_queries, d.train_qrels)


def test_judged_candidates_are_the_task1_protocol(tmp_path):
    d = load(write_fixture(tmp_path))
    allowed = d.allowed().toarray()
    assert d.judged_only
    assert allowed[0, :3].tolist() == [1, 1, 1] and allowed[0, 3:].sum() == 0
    assert allowed[2].nonzero()[0].tolist() == [5]  # P6, judged Irrelevant, is a candidate
    full = load(write_fixture(tmp_path), retrieval="catalogue")
    assert not full.judged_only and full.allowed() is None
    with pytest.raises(ConfigError, match="retrieval"):
        load(write_fixture(tmp_path), retrieval="all")
    with pytest.raises(ConfigError, match="query_split"):
        load(write_fixture(tmp_path), query_split="seen")


def esci_cell(folder: Path, retrieval: str = "judged", treatment: str = "none", **tp) -> Cell:
    return Cell(
        task="search",
        dataset=Component("esci", {"path": str(folder), "retrieval": retrieval}),
        model=Component("bm25"),
        treatment=Component(treatment, tp),
        imbalance=None,
        seed=0,
        master_seed=3,
        options={"k": 3, "cutoffs": [3], "candidates": 5},
    )


def test_task1_cell_ranks_only_judged_products_and_counts_irrelevant_queries(tmp_path):
    folder = write_fixture(tmp_path)
    r = search.run(esci_cell(folder))
    items = search.load_data(esci_cell(folder)).catalog["item_id"].tolist()
    lists = {
        q: [items[i] for i in ranked]
        for q, ranked in zip(r.units["query_id"], r.units["ranked"], strict=True)
    }
    # every judged product is ranked (BM25 non-matches last), nothing else is
    assert sorted(lists["1"]) == ["P1", "P2", "P3"] and lists["1"][:2] == ["P1", "P2"]
    assert sorted(lists["2"]) == ["P4", "P5"]
    assert lists["5"] == ["P6"]
    # the all-Irrelevant query is a unit with NDCG 0, and enters the mean
    assert len(r.units) == 3 and r.info["n_queries_no_relevant"] == 1
    assert r.units.set_index("query_id").loc["5", "ndcg@3"] == 0.0
    assert r.metrics["ndcg@3"] == pytest.approx(r.units["ndcg@3"].mean())
    # full-catalogue retrieval is a different setting: other products can enter the lists
    full = search.run(esci_cell(folder, "catalogue"))
    assert full.info["retrieval"] == "catalogue"
    caps = search.run(esci_cell(folder, "judged", "fair", group="brand"))
    assert caps.info["protected_group"] == "brand=tail"
    assert caps.info["candidate_pool_size"] == 5
    assert 0.0 <= caps.info["share_units_no_protected_in_pool"] <= 1.0


def test_paper_gains_and_custom(tmp_path):
    d = load(write_fixture(tmp_path), gains="paper")
    np.testing.assert_allclose(d.truth().toarray()[0, :3], [1.0, 0.1, 0.0])
    np.testing.assert_allclose(d.truth().toarray()[1, 3:5], [0.01, 1.0])
    assert gain_mapping({"E": 1, "S": 1, "C": 0, "I": 0})["S"] == 1.0
    with pytest.raises(ConfigError):
        gain_mapping("ndcg")
    with pytest.raises(ConfigError):
        gain_mapping({"E": 1})


def test_locale_and_errors(tmp_path):
    d = load(write_fixture(tmp_path), locale="es")
    assert d.queries["text"].tolist() == ["zapato rojo"]
    with pytest.raises(SchemaError, match="esci_label"):
        load(write_fixture(tmp_path, bad_label=True))
    with pytest.raises(SchemaError):
        load(tmp_path / "missing")
    with pytest.raises(ConfigError, match="rng"):
        load_esci(write_fixture(tmp_path))
