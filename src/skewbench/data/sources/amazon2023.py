"""Amazon Reviews 2023 (Hou et al. 2024, McAuley Lab): a category's review file
``<Category>.jsonl`` and its item metadata ``meta_<Category>.jsonl`` (``.gz`` too), one JSON
object per line — the standard long-tail e-commerce corpus.

- interactions: one per review — ``user_id``, ``item_id`` = ``parent_asin`` (the product, all
  its variants), ``timestamp`` (milliseconds → seconds), ``rating`` 1–5 (reviews rated below
  ``min_rating`` are dropped when it is set);
- catalog (meta): ``title``; ``category_path`` = ``categories`` joined by " > " (level 1 first);
  ``brand`` = ``store`` (the brand or seller shown on the product page), else
  ``details["Brand"]``; ``manufacturer`` = ``details["Manufacturer"]``; ``price`` (null, "None"
  or "" = unknown); ``main_category``, ``average_rating``, ``rating_number`` kept. Without a
  meta file the catalog is the reviewed ids.

Rows are lines: row 0 is the file's first line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from skewbench.data import schema
from skewbench.data.sources.frames import (
    Frames,
    frame_table,
    ids_as_catalog,
    keep_ratings,
    one_per_pair,
    require_covered,
)
from skewbench.errors import SchemaError

REVIEW_FIELDS = ("user_id", "parent_asin", "timestamp", "rating")
META_FIELDS = ("parent_asin", "title", "categories", "store", "details", "price")
KEPT_META = ("main_category", "average_rating", "rating_number")
_CHUNK = 200_000  # lines parsed at a time: memory stays bounded on multi-GB files
_UNKNOWN_PRICE = ("", "None", "none", "null", "—")


def read_jsonl(
    path: str | Path, fields: tuple[str, ...], optional: tuple[str, ...] = ()
) -> pd.DataFrame:
    """The ``fields`` (+ ``optional`` where present) of every line; a line that is not a
    JSON object, and a required field missing from the whole file, are named."""
    source = str(path)

    def read(p: Path) -> pd.DataFrame:
        parts = []
        with pd.read_json(p, lines=True, dtype=False, convert_dates=False, chunksize=_CHUNK) as r:
            for chunk in r:
                parts.append(chunk[[c for c in (*fields, *optional) if c in chunk.columns]])
        return pd.concat(parts, ignore_index=True)

    try:
        df = schema.read_file(path, source, read)
    except SchemaError:
        bad = _first_bad_line(Path(path))
        if bad is None:
            raise
        raise SchemaError(source, f"not a JSON object: {bad[1]}", row=bad[0]) from None
    schema.require_columns(df, source, fields)  # a field no line has
    return df


def _first_bad_line(path: Path) -> tuple[int, str] | None:
    """(row, reason) of the first line that is not a JSON object (only read after a failure)."""
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for row, line in enumerate(fh):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as err:
                    return row, err.msg
                if not isinstance(value, dict):
                    return row, f"a JSON {type(value).__name__}"
    except (OSError, UnicodeDecodeError):
        return None
    return None


def reviews(path: str | Path, min_rating: float | None = None) -> pd.DataFrame:
    """Validated interactions of a review file (module docstring)."""
    source = str(path)
    df = read_jsonl(path, REVIEW_FIELDS)
    ms = schema.as_int(df, source, "timestamp", minimum=0)
    inter = schema.validate_interactions(
        pd.DataFrame(
            {
                "user_id": df["user_id"],
                "item_id": df["parent_asin"],
                "timestamp": ms // 1000,
                "rating": df["rating"],
            }
        ),
        source,
    )
    return keep_ratings(inter, min_rating, source)


def meta(path: str | Path) -> pd.DataFrame:
    """Validated catalog of a meta file (module docstring)."""
    source = str(path)
    df = read_jsonl(path, ("parent_asin", "title"), (*META_FIELDS[2:], *KEPT_META))
    details = df["details"] if "details" in df.columns else pd.Series(None, index=df.index)
    # some dumps hold details as a JSON string: only mappings are read
    details = details.where(details.map(lambda v: isinstance(v, dict)))
    out = pd.DataFrame({"item_id": df["parent_asin"], "title": df["title"]})
    if "categories" in df.columns:
        cats = df["categories"].where(df["categories"].map(lambda v: isinstance(v, list)))
        out["category_path"] = cats.str.join(schema.CATEGORY_SEPARATOR).replace("", None)
    store = df["store"] if "store" in df.columns else pd.Series(None, index=df.index)
    out["brand"] = store.replace("", None).fillna(details.str.get("Brand"))
    out["manufacturer"] = details.str.get("Manufacturer")
    if "price" in df.columns:
        price = df["price"].where(~df["price"].isin(_UNKNOWN_PRICE))
        out["price"] = price
    for c in KEPT_META:
        if c in df.columns:
            out[c] = df[c]
    return schema.validate_catalog(out, source)


def recommend_frames(params: dict[str, Any]) -> Frames:
    """Interactions of ``reviews`` and the catalog of ``meta`` (optional)."""
    inter = one_per_pair(reviews(params["reviews"], params.get("min_rating")))
    if params.get("meta") is None:
        return Frames(inter, ids_as_catalog(inter))
    catalog = meta(params["meta"])
    require_covered(inter, catalog, str(params["meta"]))
    return Frames(inter, catalog)


def load(table: str = "interactions", **params: Any) -> pd.DataFrame:
    """Registry entry: ``table`` = interactions (default) | catalog | users."""
    return frame_table(recommend_frames(params), table, "amazon2023")
