"""ESCI reader on a tiny fixture in the public parquet layout (written by the test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skewbench.data.sources.esci import EXAMPLES_FILE, PRODUCTS_FILE, gain_mapping, load_esci
from skewbench.errors import ConfigError, SchemaError


def write_fixture(folder: Path, bad_label: bool = False) -> Path:
    ex = pd.DataFrame(
        {
            "example_id": range(8),
            "query": ["red shoe"] * 3 + ["usb cable"] * 2 + ["lamp", "lamp", "zapato rojo"],
            "query_id": [1, 1, 1, 2, 2, 3, 3, 4],
            "product_id": ["P1", "P2", "P3", "P4", "P5", "P6", "P1", "P9"],
            "product_locale": ["us"] * 7 + ["es"],
            "esci_label": ["E", "S", "I", "C", "X" if bad_label else "E", "E", "I", "E"],
            "small_version": [1, 1, 1, 1, 1, 1, 1, 1],
            "large_version": [1] * 8,
            "split": ["test"] * 5 + ["train", "train", "test"],
        }
    )
    pr = pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3", "P4", "P5", "P6", "P9"],
            "product_title": [
                "Red running shoe",
                "Red sandal",
                "Blue hat",
                "USB-C cable",
                "USB cable 2m",
                "Desk lamp",
                "Zapato",
            ],
            "product_description": [None] * 7,
            "product_bullet_point": ["Light", None, None, None, None, None, None],
            "product_brand": ["Acme", "Acme", "Hats Inc", "Cabl", "Cabl", "Lumo", "X"],
            "product_color": ["red", None, "blue", None, None, None, None],
            "product_locale": ["us"] * 6 + ["es"],
        }
    )
    ex.to_parquet(folder / EXAMPLES_FILE)
    pr.to_parquet(folder / PRODUCTS_FILE)
    return folder


def test_load_kddcup_gains(tmp_path):
    d = load_esci(write_fixture(tmp_path))
    assert d.queries["query_id"].tolist() == ["1", "2"]
    assert d.queries["text"].tolist() == ["red shoe", "usb cable"]
    assert d.catalog["item_id"].tolist() == ["P1", "P2", "P3", "P4", "P5", "P6"]
    assert d.catalog["text"][0] == "Red running shoe. Acme. red. Light"
    truth = d.truth().toarray()
    np.testing.assert_allclose(truth[0, :3], [3, 2, 0])  # E, S, I
    np.testing.assert_allclose(truth[1, 3:5], [1, 3])  # C, E
    assert d.qrels["grade"].tolist() == [3, 2, 0, 1, 3]
    assert d.train_queries["query_id"].tolist() == ["3"]  # train split kept for fine-tuning


def test_paper_gains_and_custom(tmp_path):
    d = load_esci(write_fixture(tmp_path), gains="paper")
    np.testing.assert_allclose(d.truth().toarray()[0, :3], [1.0, 0.1, 0.0])
    np.testing.assert_allclose(d.truth().toarray()[1, 3:5], [0.01, 1.0])
    assert gain_mapping({"E": 1, "S": 1, "C": 0, "I": 0})["S"] == 1.0
    with pytest.raises(ConfigError):
        gain_mapping("ndcg")
    with pytest.raises(ConfigError):
        gain_mapping({"E": 1})


def test_locale_and_errors(tmp_path):
    d = load_esci(write_fixture(tmp_path), locale="es")
    assert d.queries["text"].tolist() == ["zapato rojo"]
    with pytest.raises(SchemaError, match="esci_label"):
        load_esci(write_fixture(tmp_path, bad_label=True))
    with pytest.raises(SchemaError):
        load_esci(tmp_path / "missing")
