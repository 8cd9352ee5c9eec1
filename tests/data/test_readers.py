"""Readers of the formats users already hold — RecBole atomic files, Amazon Reviews 2023 JSONL,
MovieLens 1M / 20M folders — on the tiny committed fixtures (``fixtures/make_fixtures.py``):
values checked against an independent parse of the same files (csv / json modules), bad
files refused with one line naming file, column and row, and user attributes grouped."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skewbench.data.sources import load, recommend_frames
from skewbench.data.user_groups import attribute_groups
from skewbench.errors import SchemaError

FIX = Path(__file__).parent / "fixtures"
RECBOLE = FIX / "recbole" / "shop"
AMAZON = {"reviews": str(FIX / "amazon2023" / "Shop.jsonl")}
AMAZON_META = {**AMAZON, "meta": str(FIX / "amazon2023" / "meta_Shop.jsonl")}


def _tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    names = [h.split(":")[0] for h in rows[0]]
    return [dict(zip(names, r, strict=True)) for r in rows[1:]]


def test_recbole_folder_matches_an_independent_parse():
    inter = _tsv(RECBOLE / "shop.inter")
    items = {r["item_id"]: r for r in _tsv(RECBOLE / "shop.item")}
    f = recommend_frames("recbole", {"path": str(RECBOLE)})
    assert len(f.interactions) == len({(r["user_id"], r["item_id"]) for r in inter})
    assert f.interactions["timestamp"].min() == min(int(r["timestamp"]) for r in inter)
    cat = f.catalog.set_index("item_id")
    assert len(cat) == len(items)
    for iid in ("i0", "i1", "i23"):
        assert cat.loc[iid, "title"] == items[iid]["title"]  # token_seq title: words kept
        assert cat.loc[iid, "category_path"] == " > ".join(items[iid]["categories"].split())
        assert cat.loc[iid, "brand"] == items[iid]["brand"]
        assert cat.loc[iid, "price"] == float(items[iid]["price"])
    users = f.users.set_index("user_id")
    assert list(users.columns) == ["age", "gender", "occupation"]
    assert users["age"].dtype == np.float64  # a float field is a number
    # min_rating keeps the rows rated at least that
    rated = recommend_frames("recbole", {"path": str(RECBOLE), "min_rating": 4})
    assert len(rated.interactions) == len(
        {(r["user_id"], r["item_id"]) for r in inter if float(r["rating"]) >= 4}
    )
    assert load("recbole", table="catalog", path=str(RECBOLE)).shape[0] == len(items)


def test_recbole_columns_map_fields_and_stem(tmp_path):
    folder = tmp_path / "other"
    folder.mkdir()
    text = (RECBOLE / "shop.inter").read_text().replace("user_id:token", "uid:token", 1)
    (folder / "shop.inter").write_text(text)
    f = recommend_frames(
        "recbole", {"path": str(folder), "dataset": "shop", "columns": {"user_id": "uid"}}
    )
    assert f.interactions["user_id"].str.startswith("u").all()
    assert f.users is None and (f.catalog["title"] == f.catalog["item_id"]).all()


def test_amazon2023_matches_an_independent_parse():
    reviews = [json.loads(line) for line in Path(AMAZON["reviews"]).read_text().splitlines()]
    lines = Path(AMAZON_META["meta"]).read_text().splitlines()
    meta = {m["parent_asin"]: m for m in map(json.loads, lines)}
    f = recommend_frames("amazon2023", AMAZON_META)
    pairs = {(r["user_id"], r["parent_asin"]) for r in reviews}
    assert len(f.interactions) == len(pairs)
    first = f.interactions.iloc[0]
    r0 = reviews[0]
    assert (first["user_id"], first["item_id"]) == (r0["user_id"], r0["parent_asin"])
    assert first["timestamp"] == r0["timestamp"] // 1000  # milliseconds → seconds
    cat = f.catalog.set_index("item_id")
    for asin, m in meta.items():
        assert cat.loc[asin, "category_path"] == " > ".join(m["categories"])
        assert cat.loc[asin, "brand"] == (m["store"] or m["details"]["Brand"])
        assert cat.loc[asin, "manufacturer"] == m["details"]["Manufacturer"]
        price = m["price"] if isinstance(m["price"], float) else np.nan
        np.testing.assert_equal(cat.loc[asin, "price"], price)  # null and "None" → unknown
    assert cat["price"].isna().sum() == sum(
        not isinstance(m["price"], float) for m in meta.values()
    )
    assert meta["B0007"]["store"] is None and cat.loc["B0007", "brand"] == "Bolt"
    no_meta = recommend_frames("amazon2023", AMAZON)
    assert (no_meta.catalog["title"] == no_meta.catalog["item_id"]).all()


def test_movielens_1m_and_20m_folders():
    one = recommend_frames("movielens", {"path": str(FIX / "ml-1m"), "min_rating": 4})
    with open(FIX / "ml-1m" / "ratings.dat") as fh:
        ratings = [line.strip().split("::") for line in fh]
    assert len(one.interactions) == sum(float(r[2]) >= 4 for r in ratings)
    movies = one.catalog.set_index("item_id")
    assert movies.loc["1", "title"] == "Misérables 0: Part 0 (1995)"  # Latin-1, colon kept
    assert movies.loc["3", "category"] == "Children's"
    assert movies.loc["3", "genres"] == "Children's|Comedy|Sci-Fi"
    users = one.users.set_index("user_id")
    assert users.loc["1", "age"] == "<18" and users.loc["2", "age"] == "18-24"
    assert users.loc["2", "occupation"] == "academic/educator"
    twenty = recommend_frames("movielens", {"path": str(FIX / "ml-20m"), "min_rating": 3.5})
    with open(FIX / "ml-20m" / "ratings.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(twenty.interactions) == sum(float(r["rating"]) >= 3.5 for r in rows)
    assert twenty.users is None
    titles = twenty.catalog.set_index("item_id")
    assert titles.loc["1", "title"] == "Shop, The 0 (2001)"  # quoted comma
    assert pd.isna(titles.loc["1", "category"])  # "(no genres listed)"


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def _edit(path: Path, line: int, new: str) -> None:
    lines = path.read_text(encoding="latin-1").splitlines(keepends=True)
    lines[line] = new
    path.write_text("".join(lines), encoding="latin-1")


@pytest.mark.parametrize(
    ("fixture", "file", "line", "text", "name", "params", "needles"),
    [
        ("recbole/shop", "shop.inter", 0, "user_id\titem_id:token\trating:float\ttimestamp:float\n",
         "recbole", {}, ["shop.inter", "column 'user_id'", "name:type"]),
        ("recbole/shop", "shop.inter", 4, "u0\ti3\tfive\t1600000000\n",
         "recbole", {}, ["shop.inter", "column 'rating'", "row 3", "'five'"]),
        ("recbole/shop", "shop.item", 2, "i1\tblue cup 1\tKitchen Cups\tBolt\t-3\n",
         "recbole", {}, ["shop.item", "column 'price'", "row 1"]),
        ("amazon2023", "Shop.jsonl", 5, '{"user_id": "AG1", "parent_asin": \n',
         "amazon2023", {}, ["Shop.jsonl", "row 5", "not a JSON object"]),
        ("amazon2023", "meta_Shop.jsonl", 3, '{"parent_asin": "B0003", "title": "x", "price": "$x"}\n',
         "amazon2023", {}, ["meta_Shop.jsonl", "column 'price'", "row 3", "'$x'"]),
        ("ml-1m", "ratings.dat", 6, "1::4\n",
         "movielens", {"min_rating": 4}, ["ratings.dat", "row 6", "'::'"]),
        ("ml-20m", "ratings.csv", 3, "1,2,3.5,yesterday\n",
         "movielens", {"min_rating": 4}, ["ratings.csv", "column 'timestamp'", "row 2"]),
    ],
)  # fmt: skip
def test_bad_files_are_one_line_naming_file_column_row(
    tmp_path, fixture, file, line, text, name, params, needles
):
    folder = _copy(FIX / fixture, tmp_path)
    _edit(folder / file, line, text)
    where = {"path": str(folder)}
    if name == "amazon2023":
        where = {"reviews": str(folder / "Shop.jsonl"), "meta": str(folder / "meta_Shop.jsonl")}
    with pytest.raises(SchemaError) as err:
        recommend_frames(name, {**where, **params})
    message = str(err.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message


def test_missing_files_are_named(tmp_path):
    with pytest.raises(SchemaError, match="no empty.inter in the folder"):
        (tmp_path / "empty").mkdir()
        recommend_frames("recbole", {"path": str(tmp_path / "empty")})
    folder = _copy(FIX / "ml-1m", tmp_path)
    (folder / "movies.dat").unlink()
    with pytest.raises(SchemaError, match="ratings.dat is there but movies.dat is not"):
        recommend_frames("movielens", {"path": str(folder), "min_rating": 4})
    with pytest.raises(SchemaError, match="path does not exist"):
        recommend_frames("amazon2023", {"reviews": str(tmp_path / "nope.jsonl")})


def test_attribute_groups_bands_merge_and_drop():
    n = 100
    ids = np.array([f"u{i}" for i in range(n)], dtype=object)
    table = pd.DataFrame(
        {
            "user_id": ids[:90],  # ten users have no row: "unknown"
            "age": np.arange(90, dtype=np.float64),  # many values → quartile bands
            "city": ["A"] * 60 + ["B"] * 20 + ["C"] * 5 + ["D"] * 5,  # C, D merged
            "plan": ["x"] * 90,  # one group (+ unknown) … kept: two groups
            "id_like": [f"z{i}" for i in range(90)],  # every group tiny → one "other": dropped
            "tier": [1.0] * 80 + [2.0] * 10,  # integer-valued floats read as "1", "2"
        }
    )
    g = attribute_groups(table, ids)
    assert set(g) == {"age", "city", "plan", "tier"}
    expected_age, _ = np.unique(g["age"][:90], return_counts=True)
    assert list(expected_age) == ["q1", "q2", "q3", "q4"]
    edges = np.quantile(np.arange(90.0), [0.25, 0.5, 0.75])
    assert (g["age"][:90] == np.array([f"q{1 + (a > edges).sum()}" for a in range(90)])).all()
    assert (g["age"][90:] == "unknown").all()
    city = pd.Series(g["city"]).value_counts().to_dict()
    assert city == {"A": 60, "B": 20, "other": 20}  # C (5), D (5) and unknown (10) merged
    assert pd.Series(g["tier"]).value_counts().to_dict() == {"1": 80, "other": 20}
    # a single small group keeps its name (the report flags it with its n)
    assert pd.Series(g["plan"]).value_counts().to_dict() == {"x": 90, "unknown": 10}


def test_the_movielens_spec_fingerprints_the_files_the_reader_reads():
    from skewbench.data.sources.movielens_files import LAYOUTS
    from skewbench.specs.base import DataPath
    from skewbench.specs.recommend import MovieLensFolder

    (marker,) = [
        m for m in MovieLensFolder.model_fields["path"].metadata if isinstance(m, DataPath)
    ]
    assert marker.folder and set(marker.files) == {f for names in LAYOUTS.values() for f in names}
