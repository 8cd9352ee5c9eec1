"""What every recommend-capable source returns: interactions, catalog and (optional) user
attributes, validated, with one row per (user, item).

Each such source module defines ``recommend_frames(params) -> Frames``;
:func:`skewbench.data.sources.recommend_frames` dispatches by data-set name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from skewbench.data import schema
from skewbench.errors import SchemaError


@dataclass(frozen=True)
class Frames:
    """``interactions``: user_id, item_id, timestamp, weight (one row per pair); ``catalog``:
    a validated catalog covering every interacted item; ``users``: ``user_id`` + attribute
    columns (one row per user), or None."""

    interactions: pd.DataFrame
    catalog: pd.DataFrame
    users: pd.DataFrame | None = None


TABLES = ("interactions", "catalog", "users")


def frame_table(frames: Frames, table: str, source: str) -> pd.DataFrame:
    """One of a source's tables by name (the registry's ``load(table=…)``)."""
    from skewbench.data.sources import unknown_table

    if table not in TABLES:
        raise unknown_table(source, table, TABLES)
    out = getattr(frames, table)
    if out is None:
        raise SchemaError(source, f"this data set has no {table} table")
    return out


def keep_ratings(inter: pd.DataFrame, min_rating: float | None, source: str) -> pd.DataFrame:
    """Rows with ``rating >= min_rating`` (every row when None), weight 1; the rating column
    must parse as numbers (its first bad row is named)."""
    from skewbench.data.prepare import binarize

    if min_rating is None:
        return inter
    if "rating" not in inter.columns:
        raise SchemaError(source, "min_rating is set but the file has no rating", column="rating")
    inter = inter.assign(rating=schema.as_float(inter, source, "rating"))
    kept = binarize(inter, "rating", float(min_rating))
    if kept.empty:
        raise SchemaError(source, f"no rating is >= min_rating {min_rating:g}", column="rating")
    return kept


def one_per_pair(inter: pd.DataFrame) -> pd.DataFrame:
    """Repeated (user, item) rows merged: weights summed, first timestamp."""
    from skewbench.data.prepare import dedupe

    return dedupe(inter[["user_id", "item_id", "timestamp", "weight"]])


def ids_as_catalog(inter: pd.DataFrame) -> pd.DataFrame:
    """A catalog of the interacted items with their ids as titles (when there is no item file)."""
    items = pd.Index(inter["item_id"].unique())
    return schema.validate_catalog(pd.DataFrame({"item_id": items, "title": items}), "item ids")


def require_covered(inter: pd.DataFrame, catalog: pd.DataFrame, source: str) -> None:
    """Every interacted item has a catalog row; else name the first one that has none."""
    items = pd.Index(inter["item_id"].unique())
    missing = items.difference(pd.Index(catalog["item_id"]))
    if len(missing):
        raise SchemaError(
            source,
            f"{len(missing)} interacted item(s) have no catalog row, e.g. {missing[0]!r}",
            column="item_id",
        )


def validate_users(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """A user-attributes table: ``user_id`` (unique, non-empty) first, then any attribute
    columns as given (missing values allowed: they form the group "unknown")."""
    schema.require_nonempty(df, source)
    schema.require_columns(df, source, ["user_id"])
    ids = schema.as_str(df, source, "user_id")
    out = pd.concat([ids.rename("user_id"), df.drop(columns="user_id")], axis=1)
    schema.require_unique(out, source, "user_id")
    if out.shape[1] == 1:
        raise SchemaError(source, "no attribute column besides user_id")
    return out


def join_tokens(values: pd.Series, separator: str, joiner: str) -> pd.Series:
    """``"a|b| c"`` split on ``separator`` (blank tokens dropped, tokens stripped) and joined
    with ``joiner``; NA and token-less values are NA."""
    sep, j = re.escape(separator), re.escape(joiner)
    s = values.astype("str").str.strip()
    pad = r"\s*" if separator.strip() else ""  # a space separator: runs of spaces are one
    s = s.str.replace(rf"{pad}(?:{sep}{pad})+", joiner, regex=True)
    s = s.str.replace(rf"^(?:{j})+|(?:{j})+$", "", regex=True)
    return s.mask(s == "").astype("str")


def first_token(values: pd.Series, separator: str) -> pd.Series:
    """The first non-blank token of each value (NA when none)."""
    return join_tokens(values, separator, separator).str.split(separator, n=1, regex=False).str[0]
