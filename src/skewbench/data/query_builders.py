"""Queries and graded relevance constructed from purchases (no query log exists): one query
per product type, or one per (household, category path) after Ai et al. (SIGIR 2017); grades
from purchase counts; head/tail groups of product types. The protocol and its reasons are in
:mod:`skewbench.data.queries`."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from skewbench.data.query_text import path_query_text, query_key, type_query_text
from skewbench.errors import ConfigError

MAX_GRADE = 3


def purchase_grade(counts: np.ndarray | pd.Series) -> np.ndarray:
    """``min(3, 1 + floor(log2(count)))`` for counts >= 1 (0 for counts <= 0)."""
    c = np.asarray(counts, dtype=np.float64)
    out = np.zeros(c.shape, dtype=np.int64)
    pos = c >= 1
    out[pos] = np.minimum(MAX_GRADE, 1 + np.floor(np.log2(c[pos]))).astype(np.int64)
    return out


def head_tail(type_counts: pd.Series, head_share: float = 0.5) -> pd.Series:
    """Map each type (index) to "head"/"tail" by its training-period purchase count.

    Sorted by count descending then name ascending; head = the shortest prefix whose counts
    reach ``head_share`` of the total; zero-count types are always tail.
    """
    if not 0.0 < head_share < 1.0:
        raise ConfigError(f"head_share must be in (0, 1), got {head_share!r}")
    counts = type_counts.astype(np.float64)
    order = sorted(counts.index, key=lambda t: (-counts[t], str(t)))
    ordered = counts.reindex(order)
    total = float(ordered.sum())
    before = ordered.cumsum() - ordered  # share held by strictly more popular types
    head = (before < head_share * total) & (ordered > 0)
    return pd.Series(np.where(head, "head", "tail"), index=ordered.index).reindex(type_counts.index)


def _qrels_from_counts(df: pd.DataFrame) -> pd.DataFrame:
    grade = purchase_grade(df["count"].to_numpy())
    return pd.DataFrame(
        {
            "query_id": df["query_id"].to_numpy(),
            "item_id": df["item_id"].to_numpy(),
            "grade": grade,
            "gain": grade.astype(np.float64),
        }
    )


def build_type_queries(
    products: pd.DataFrame,
    purchases: pd.DataFrame,
    groups: pd.Series | None = None,
    keep_texts: Collection[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One query per product_type bought in ``purchases``; relevant = that type's products bought.

    ``products``: item_id, product_type (others ignored); ``purchases``: user_id, item_id (one row
    per purchase line). ``groups`` maps type → head/tail (missing types become tail).
    ``keep_texts``: query keys (:func:`query_key`) to keep; None keeps all. Returns
    (queries: query_id, text, product_type, group; qrels: query_id, item_id, grade, gain).
    """
    typed = purchases.merge(products[["item_id", "product_type"]], on="item_id", how="inner")
    typed = typed[typed["product_type"].notna()]
    if keep_texts is not None:
        keep = set(keep_texts)
        ok = {t: query_key(type_query_text(t)) in keep for t in typed["product_type"].unique()}
        typed = typed[typed["product_type"].map(ok).astype(bool)]
    counts = typed.groupby(["product_type", "item_id"]).size().rename("count").reset_index()
    counts["query_id"] = "type:" + counts["product_type"].astype(str)
    types = sorted(counts["product_type"].unique())
    queries = pd.DataFrame(
        {
            "query_id": ["type:" + t for t in types],
            "text": [type_query_text(t) for t in types],
            "product_type": types,
        }
    )
    queries["group"] = _group_of(queries["product_type"], groups)
    return queries, _qrels_from_counts(counts)


def build_personalised_queries(
    products: pd.DataFrame,
    purchases: pd.DataFrame,
    groups: pd.Series | None = None,
    max_queries: int | None = None,
    rng: np.random.Generator | None = None,
    keep_texts: Collection[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One query per (household, category-path text) in ``purchases`` (Ai et al. 2017).

    Relevant = the products with that path the household bought in ``purchases``, graded by
    count. ``keep_texts``: query keys to keep (None = all), applied before sampling.
    ``max_queries`` keeps a uniform random sample of units (needs ``rng``), drawn after
    sorting units by id so the sample depends only on the rng. Returns (queries: query_id,
    text, user_id, product_type, group; qrels).
    """
    cols = ["item_id", "product_category", "product_type"]
    typed = purchases.merge(products[cols], on="item_id", how="inner")
    typed = typed[typed["product_type"].notna() & typed["product_category"].notna()]
    pairs = typed[["product_category", "product_type"]].drop_duplicates()
    text_of = {
        (c, t): path_query_text(c, t)
        for c, t in zip(pairs["product_category"], pairs["product_type"], strict=True)
    }
    typed = typed.assign(
        text=[
            text_of[(c, t)]
            for c, t in zip(typed["product_category"], typed["product_type"], strict=True)
        ]
    )
    if keep_texts is not None:
        keep = set(keep_texts)
        ok = {t: query_key(t) in keep for t in text_of.values()}
        typed = typed[typed["text"].map(ok).astype(bool)].copy()
    typed["query_id"] = typed["user_id"].astype(str) + "|" + typed["text"]
    units = (
        typed.groupby("query_id", sort=True)
        .agg(
            text=("text", "first"),
            user_id=("user_id", "first"),
            product_type=("product_type", "first"),
        )
        .reset_index()
    )
    if max_queries is not None and len(units) > max_queries:
        if rng is None:
            raise ConfigError("max_queries needs an rng to sample queries reproducibly")
        rows = np.sort(rng.choice(len(units), size=max_queries, replace=False))
        units = units.iloc[rows].reset_index(drop=True)
    units["group"] = _group_of(units["product_type"], groups)
    typed = typed[typed["query_id"].isin(units["query_id"])]
    counts = typed.groupby(["query_id", "item_id"]).size().rename("count").reset_index()
    return units, _qrels_from_counts(counts)


def _group_of(types: pd.Series, groups: pd.Series | None) -> np.ndarray:
    if groups is None:
        return np.full(len(types), "all", dtype=object)
    return types.map(groups).fillna("tail").to_numpy(dtype=object)
