"""Every bad input gives one SchemaError naming the source, the column and the first bad row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skewbench.data import schema
from skewbench.data.sources import table
from skewbench.errors import SchemaError


def catalog(**over: list) -> pd.DataFrame:
    data = {
        "item_id": ["a", "b", "c"],
        "title": ["red shirt", "blue jeans", "green hat"],
        "category": ["Shirts", "Jeans", "Hats"],
        "price": [9.5, 30.0, 12.0],
    }
    data.update(over)
    return pd.DataFrame(data)


def test_valid_catalog_gets_schema_columns_and_defaults():
    out = schema.validate_catalog(catalog(extra=[1, 2, 3]), "cat.csv")
    assert list(out.columns) == [*schema.CATALOG_COLUMNS, "extra"]
    assert out["text"].tolist() == out["title"].tolist()  # text defaults to title
    assert out["brand"].isna().all()
    assert out["price"].dtype == np.float64


def test_missing_column_named():
    with pytest.raises(SchemaError) as e:
        schema.validate_catalog(catalog().drop(columns="title"), "cat.csv")
    assert e.value.source == "cat.csv" and e.value.column == "title"
    assert "missing required column" in str(e.value) and "cat.csv" in str(e.value)


def test_non_numeric_price_names_first_bad_row():
    df = catalog(price=["9.5", "3,20", "oops"])
    with pytest.raises(SchemaError) as e:
        schema.validate_catalog(df, "cat.csv")
    assert (e.value.column, e.value.row) == ("price", 1)
    assert "'3,20'" in str(e.value) and "row 1" in str(e.value)


def test_negative_price_rejected():
    with pytest.raises(SchemaError) as e:
        schema.validate_catalog(catalog(price=[1.0, -2.0, 3.0]), "cat")
    assert (e.value.column, e.value.row) == ("price", 1)


def test_empty_table():
    with pytest.raises(SchemaError, match="in cat.csv: table is empty"):
        schema.validate_catalog(catalog().iloc[:0], "cat.csv")


def test_duplicate_id_names_row_and_first_occurrence():
    df = catalog(item_id=["a", "b", "a"])
    with pytest.raises(SchemaError) as e:
        schema.validate_catalog(df, "cat.csv")
    assert (e.value.column, e.value.row) == ("item_id", 2)
    assert "duplicate id 'a' (first seen at row 0)" in str(e.value)


def test_missing_value_uses_index_label():
    df = catalog(title=["x", None, "z"]).set_axis([10, 11, 12])
    with pytest.raises(SchemaError) as e:
        schema.validate_catalog(df, "cat")
    assert (e.value.column, e.value.row) == ("title", 11)


def test_missing_label_in_labelled_text():
    df = pd.DataFrame({"text": ["a b", "c d", "e f"], "y": ["x", "y", np.nan]})
    with pytest.raises(SchemaError) as e:
        schema.validate_labelled_text(df, "reviews", label="y")
    assert (e.value.source, e.value.column, e.value.row) == ("reviews", "y", 2)


def test_blank_text_is_missing():
    df = pd.DataFrame({"text": ["a b", "   "], "y": ["x", "y"]})
    with pytest.raises(SchemaError) as e:
        schema.validate_labelled_text(df, "reviews", label="y")
    assert (e.value.column, e.value.row) == ("text", 1)


def test_interactions_timestamps_and_weights():
    df = pd.DataFrame(
        {
            "user_id": [1, 2],
            "item_id": [10.0, 11.0],
            "timestamp": pd.to_datetime(["1970-01-01 00:00:10", "1970-01-02 00:00:00"]),
        }
    )
    out = schema.validate_interactions(df, "log")
    assert out["user_id"].tolist() == ["1", "2"]
    assert out["item_id"].tolist() == ["10", "11"]  # integer-valued floats: no ".0"
    assert out["timestamp"].tolist() == [10, 86400]
    assert out["weight"].tolist() == [1.0, 1.0]


def test_interactions_bad_timestamp_and_weight():
    df = pd.DataFrame({"user_id": ["u"] * 3, "item_id": ["i"] * 3, "timestamp": ["1", "2", "x"]})
    with pytest.raises(SchemaError) as e:
        schema.validate_interactions(df, "log")
    assert (e.value.column, e.value.row) == ("timestamp", 2)
    df = pd.DataFrame(
        {"user_id": ["u"] * 2, "item_id": ["i"] * 2, "timestamp": [1, 2], "weight": [1.0, 0.0]}
    )
    with pytest.raises(SchemaError, match="must be > 0") as e:
        schema.validate_interactions(df, "log")
    assert (e.value.column, e.value.row) == ("weight", 1)


def test_qrels_grade_and_duplicate_pairs():
    q = pd.DataFrame({"query_id": ["q1", "q1"], "item_id": ["a", "b"], "grade": [1, 1.5]})
    with pytest.raises(SchemaError, match="not an integer") as e:
        schema.validate_qrels(q, "qrels")
    assert (e.value.column, e.value.row) == ("grade", 1)
    q = pd.DataFrame({"query_id": ["q1", "q1"], "item_id": ["a", "a"], "grade": [1, 2]})
    with pytest.raises(SchemaError, match="duplicate id") as e:
        schema.validate_qrels(q, "qrels")
    assert e.value.row == 1


def test_queries_duplicate_id():
    q = pd.DataFrame({"query_id": ["q1", "q1"], "text": ["a", "b"]})
    with pytest.raises(SchemaError) as e:
        schema.validate_queries(q, "queries")
    assert (e.value.column, e.value.row) == ("query_id", 1)


def test_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(SchemaError, match="path does not exist") as e:
        table.load(missing, kind="catalog")
    assert "nope.csv" in str(e.value)


def test_unreadable_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(SchemaError, match="cannot read file") as e:
        table.load(bad)
    assert "bad.parquet" in str(e.value)


def test_table_loader_maps_and_validates(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("sku,name,cost,colour\n1,shirt,9.5,red\n2,hat,oops,blue\n")
    with pytest.raises(SchemaError) as e:
        table.load(
            path, kind="catalog", columns={"item_id": "sku", "title": "name", "price": "cost"}
        )
    assert (e.value.source, e.value.column, e.value.row) == (str(path), "price", 1)
    path.write_text("sku,name,cost,colour\n1,shirt,9.5,red\n2,hat,3,blue\n")
    out = table.load(
        path, kind="catalog", columns={"item_id": "sku", "title": "name", "price": "cost"}
    )
    assert out["item_id"].tolist() == ["1", "2"] and out["price"].tolist() == [9.5, 3.0]
    assert "colour" in out.columns


def test_table_loader_mapping_to_absent_column(tmp_path):
    path = tmp_path / "shop.parquet"
    pd.DataFrame({"sku": ["a"], "name": ["x"]}).to_parquet(path)
    with pytest.raises(SchemaError) as e:
        table.load(path, columns={"item_id": "sku", "title": "product_name"})
    assert e.value.column == "product_name" and "mapped to 'title'" in str(e.value)


def test_string_dates_parse_and_name_bad_row():
    df = pd.DataFrame(
        {"user_id": ["u", "u"], "item_id": ["a", "b"], "timestamp": ["2017-01-01", "not a date"]}
    )
    with pytest.raises(SchemaError) as e:
        schema.validate_interactions(df, "log.csv")
    assert (e.value.column, e.value.row) == ("timestamp", 1)
    df.loc[1, "timestamp"] = "2017-01-02"
    assert schema.validate_interactions(df, "log.csv")["timestamp"].tolist() == [
        1483228800,
        1483315200,
    ]
