"""The user's own CSV/Parquet file, mapped onto one of skewbench's schemas and validated.

Config example::

    dataset:
      name: table
      params:
        path: data/my_catalog.csv
        kind: catalog
        columns: {item_id: sku, title: product_name, category: leaf_cat, price: unit_price}

``columns`` maps our column → the file's column; unmapped file columns keep their names.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from skewbench.data import schema
from skewbench.errors import ConfigError, SchemaError

KINDS = ("catalog", "interactions", "queries", "qrels", "labelled_text")


def apply_mapping(df: pd.DataFrame, columns: dict[str, str] | None, source: str) -> pd.DataFrame:
    """Rename the file's columns to ours; a mapped column missing from the file is an error."""
    if not columns:
        return df
    if not isinstance(columns, dict):
        raise ConfigError(f"dataset table: columns must be a mapping, got {type(columns).__name__}")
    for ours, theirs in columns.items():
        if theirs not in df.columns:
            raise SchemaError(
                source,
                f"column {theirs!r} (mapped to {ours!r}) is not in the file; columns present: "
                f"{list(map(str, df.columns))}",
                column=str(theirs),
            )
    mapped = {ours: df[theirs] for ours, theirs in columns.items()}
    rest = {c: df[c] for c in df.columns if c not in columns.values() and c not in mapped}
    return pd.DataFrame({**mapped, **rest}, index=df.index)


def load(
    path: str | Path,
    kind: str = "catalog",
    columns: dict[str, str] | None = None,
    label: str = "label",
    text: str = "text",
    id_column: str | None = None,
) -> pd.DataFrame:
    """Read ``path``, apply ``columns``, validate as ``kind`` (catalog | interactions | queries
    | qrels | labelled_text; the last uses ``label``, ``text``, ``id_column``)."""
    if kind not in KINDS:
        raise ConfigError(f"dataset table: kind {kind!r} unknown; choose one of {KINDS}")
    source = str(path)
    df = apply_mapping(schema.read_table(path, source), columns, source)
    if kind == "labelled_text":
        return schema.validate_labelled_text(df, source, label, text=text, id_column=id_column)
    validate = {
        "catalog": schema.validate_catalog,
        "interactions": schema.validate_interactions,
        "queries": schema.validate_queries,
        "qrels": schema.validate_qrels,
    }[kind]
    return validate(df, source)
