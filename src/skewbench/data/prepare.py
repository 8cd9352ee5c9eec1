"""Cleaning steps for interactions and labelled tables: dedupe, binarize, iterative k-core.

Each step returns a new frame (index labels kept) and never modifies its input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd


def _pair_codes(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    u, _ = pd.factorize(df["user_id"], sort=False)
    i, _ = pd.factorize(df["item_id"], sort=False)
    return u, i


def dedupe(
    interactions: pd.DataFrame,
    *,
    weight: Literal["sum", "count", "max"] = "sum",
    timestamp: Literal["first", "last"] = "first",
    sum_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per (user, item): weight = sum / count (rows) / max of the rows' weights;
    timestamp = the first (min) or last (max) one; ``sum_columns`` are summed; any other extra
    column keeps the value of the pair's earliest row (by timestamp, then row order). Output is
    ordered by the pair's first appearance in the input and gets a fresh RangeIndex.
    """
    df = interactions
    u, i = _pair_codes(df)
    key = u.astype(np.int64) * (int(i.max()) + 1 if i.size else 1) + i
    pair, first_pos = np.unique(key, return_index=True)  # first_pos: earliest row of the pair
    inv = np.searchsorted(pair, key)
    g = pd.Series(inv)
    w = df["weight"].to_numpy(dtype=float)
    ts = df["timestamp"].to_numpy()
    order = np.lexsort((np.arange(len(df)), ts, inv))  # by pair, then time, then row order
    earliest = order[np.searchsorted(inv[order], np.arange(pair.size))]
    out = df.iloc[earliest].reset_index(drop=True)
    if weight == "sum":
        agg = np.bincount(inv, weights=w, minlength=pair.size)
    elif weight == "count":
        agg = np.bincount(inv, minlength=pair.size).astype(float)
    elif weight == "max":
        agg = pd.Series(w).groupby(g).max().to_numpy()
    else:
        raise ValueError(f"weight must be 'sum', 'count' or 'max', got {weight!r}")
    out["weight"] = agg
    if timestamp == "first":
        out["timestamp"] = pd.Series(ts).groupby(g).min().to_numpy()
    elif timestamp == "last":
        out["timestamp"] = pd.Series(ts).groupby(g).max().to_numpy()
    else:
        raise ValueError(f"timestamp must be 'first' or 'last', got {timestamp!r}")
    for c in sum_columns:
        out[c] = pd.Series(df[c].to_numpy()).groupby(g).sum().to_numpy()
    # back to the order of first appearance, so the result does not depend on hashing
    return out.iloc[np.argsort(first_pos, kind="stable")].reset_index(drop=True)


def binarize(
    interactions: pd.DataFrame, column: str = "weight", threshold: float | None = None
) -> pd.DataFrame:
    """Keep rows with ``column >= threshold`` (all rows if None) and set ``weight`` to 1.0.

    E.g. MovieLens ``binarize(ratings, "rating", 4)``: ratings ≥ 4 count as relevant.
    """
    df = interactions
    if threshold is not None:
        df = df.loc[df[column].to_numpy() >= threshold]
    df = df.copy(deep=False)
    df["weight"] = 1.0
    return df


def kcore(
    interactions: pd.DataFrame,
    user_k: int = 5,
    item_k: int = 5,
    *,
    return_steps: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Iterative k-core: repeat {drop rows of users with < user_k rows and of items with
    < item_k rows, both counted on the current rows} until nothing changes (a fixpoint where
    every remaining user has ≥ user_k and every item ≥ item_k rows). Counts rows, so
    :func:`dedupe` first to count distinct pairs. With ``return_steps`` also returns one row per
    iteration (``step``, ``rows``, ``users``, ``items``; step 0 = input) for printing.
    """
    if user_k < 1 or item_k < 1:
        raise ValueError(f"user_k and item_k must be >= 1, got {user_k}, {item_k}")
    u, i = _pair_codes(interactions)
    keep = np.ones(u.size, dtype=bool)
    steps = []

    def record(step: int) -> None:
        steps.append(
            {
                "step": step,
                "rows": int(keep.sum()),
                "users": int(np.unique(u[keep]).size),
                "items": int(np.unique(i[keep]).size),
            }
        )

    record(0)
    step = 0
    while True:
        uc = np.bincount(u[keep], minlength=u.max() + 1 if u.size else 0)
        ic = np.bincount(i[keep], minlength=i.max() + 1 if i.size else 0)
        new_keep = keep & (uc[u] >= user_k) & (ic[i] >= item_k)
        if new_keep.sum() == keep.sum():
            break
        keep = new_keep
        step += 1
        record(step)
    out = interactions.loc[keep]
    if return_steps:
        return out, pd.DataFrame(steps)
    return out


def drop_rare_classes(df: pd.DataFrame, label: str, min_count: int) -> pd.DataFrame:
    """Rows of classes of ``label`` with at least ``min_count`` rows."""
    counts = df[label].value_counts()
    return df.loc[df[label].isin(counts.index[counts >= min_count])]
