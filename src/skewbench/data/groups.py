"""Item and user groups for fairness and exposure metrics.

Every function returns one label per entity (aligned with its input), as a NumPy object array
of strings; :func:`group_codes` turns labels into the int codes re-rankers take.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from skewbench.data.imbalance import GroupRule, head_mid_tail

UNKNOWN = "unknown"


def price_bands(prices: Sequence[float] | np.ndarray | pd.Series, n_bands: int = 4) -> np.ndarray:
    """Quantile price bands "q1" (cheapest) … "q{n_bands}"; NaN prices → "unknown".

    Edges are the k/n_bands quantiles (numpy linear interpolation) of the known prices; band =
    number of inner edges ≤ price, so equal prices always share a band (bands can be uneven
    when many items share a price).
    """
    if n_bands < 1:
        raise ValueError(f"n_bands must be >= 1, got {n_bands}")
    p = np.asarray(prices, dtype=float)
    known = ~np.isnan(p)
    out = np.full(p.size, UNKNOWN, dtype=object)
    if known.any():
        inner = np.quantile(p[known], np.arange(1, n_bands) / n_bands)
        band = np.searchsorted(inner, p[known], side="right")
        out[known] = np.array([f"q{b + 1}" for b in range(n_bands)], dtype=object)[band]
    return out


def item_popularity(
    interactions: pd.DataFrame,
    item_ids: Sequence[str] | np.ndarray | pd.Index,
    by: Literal["interactions", "users", "weight"] = "interactions",
) -> np.ndarray:
    """Popularity of each of ``item_ids`` (0 if absent): number of interaction rows
    (default), of distinct users, or the sum of ``weight``. Compute it on training data only."""
    if by == "interactions":
        s = interactions["item_id"].value_counts()
    elif by == "users":
        s = interactions.drop_duplicates(["user_id", "item_id"])["item_id"].value_counts()
    elif by == "weight":
        s = interactions.groupby("item_id", sort=False)["weight"].sum()
    else:
        raise ValueError(f"popularity 'by' must be interactions, users or weight, got {by!r}")
    return s.reindex(pd.Index(item_ids), fill_value=0).to_numpy(dtype=float)


def item_popularity_matrix(X: sp.csr_matrix) -> np.ndarray:
    """Popularity of each item (column) of a users × items matrix = number of distinct users
    with a positive weight (one household buying an item 50 times counts once)."""
    return np.bincount(X.indices[X.data > 0], minlength=X.shape[1]).astype(np.float64)


def popularity_groups(
    popularity: Sequence[float] | np.ndarray,
    rule: GroupRule = "share",
    head: float = 0.5,
    tail: float = 0.2,
) -> np.ndarray:
    """ "head" / "mid" / "tail" per item from its popularity, by the same rule as class groups
    (:func:`skewbench.data.imbalance.head_mid_tail`): by default head = the most popular items
    that together reach 50 % of interactions, tail = the least popular items together holding
    at most 20 % (never-seen items are tail), mid = the rest."""
    return head_mid_tail(popularity, rule=rule, head=head, tail=tail)


def column_groups(values: Sequence[object] | np.ndarray | pd.Series) -> np.ndarray:
    """Labels from a categorical column (brand, department, manufacturer …); NA → "unknown"."""
    s = pd.Series(values).astype("str").fillna(UNKNOWN)
    return s.to_numpy(dtype=object)


def brand_groups(catalog: pd.DataFrame) -> np.ndarray:
    """Brand per item (Complete Journey: "National" / "Private"); missing → "unknown"."""
    return column_groups(catalog["brand"])


def user_groups(
    user_ids: Sequence[str] | np.ndarray | pd.Index, table: pd.DataFrame, column: str
) -> np.ndarray:
    """Group of each user from ``table`` (``user_id`` + ``column``, e.g. Complete Journey
    demographics "income"); users absent from the table → "unknown"."""
    s = table.drop_duplicates("user_id").set_index("user_id")[column].astype("str")
    return s.reindex(pd.Index(user_ids)).fillna(UNKNOWN).to_numpy(dtype=object)


def group_codes(labels: Sequence[object] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int64 codes, group names sorted) for labels, e.g. for ``treatments.rerank``."""
    codes, names = pd.factorize(pd.Series(labels), sort=True)
    return codes.astype(np.int64), np.asarray(names, dtype=object)


def category_at(paths: pd.Series, level: int) -> pd.Series:
    """Each category path (levels joined by " > ") cut to its first ``level`` levels; a shorter
    path stays whole, a missing one stays missing."""
    parts = paths.astype("string").str.split(" > ", regex=False)
    return parts.map(lambda p: " > ".join(p[:level]) if isinstance(p, list) else None)


def catalog_groups(catalog: pd.DataFrame, category_level: int = 1) -> dict[str, np.ndarray]:
    """Item groupings of a user's catalog, each only if its column holds a value: category (the
    path cut at ``category_level``), brand and manufacturer as given, price in quartile bands."""
    labels: dict[str, np.ndarray] = {}
    for name, values in (
        ("category", category_at(catalog["category_path"], category_level)),
        ("brand", catalog["brand"]),
        ("manufacturer", catalog["manufacturer"]),
    ):
        if values.notna().any():
            labels[name] = column_groups(values.to_numpy())
    if catalog["price"].notna().any():
        labels["price"] = price_bands(catalog["price"].to_numpy(), 4)
    return labels


def missing_groupings(labels: dict[str, np.ndarray], catalog: bool = True) -> dict[str, str]:
    """Why each catalog grouping absent from ``labels`` is not available: no catalog file
    (``catalog=False``), or its column holds no value."""
    columns = {"category": "category_path", "brand": "brand", "manufacturer": "manufacturer"}
    columns["price"] = "price"
    return {
        g: f"the catalog's {c} column holds no value" if catalog else "no catalog file given"
        for g, c in columns.items()
        if g not in labels
    }
