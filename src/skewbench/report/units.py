"""Per-unit values across replicates: each unit counted once, identical replicates detected.

A *unit* is what a task evaluates one at a time — a user (recommend), a query (search) or a test
example (categorize) — and is named by a stable id column (``UNIT_ID_COLUMNS``). The same unit
usually appears in several replicates (seeds) of a cell. Pooling the replicates would count it
several times and shrink p-values by pseudo-replication, so the report reduces every unit to ONE
value: its mean over the replicates in which it appears (for a pair of systems, over the
replicates in which both have it). Tests and bootstrap intervals then run over distinct units.

Replicates whose per-unit tables are identical (a fixed split and a deterministic model: the seed
changes nothing) are *deterministic*: one effective replicate. Their uncertainty can only come
from resampling units, never from a t-interval over identical seeds.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from skewbench.runner.store import ResultStore

# First present wins. Search units may carry a user id too, but the unit is the query.
UNIT_ID_COLUMNS = ("unit", "query_id", "user_id", "example_id")
# Numeric per-unit values that are facts about the unit, not metrics of the system.
_NOT_METRICS = {"n_train", "n_test"}
# Per-unit values equal within this absolute tolerance count as identical (exact in practice;
# the slack only absorbs last-bit noise of multi-threaded BLAS).
_IDENTICAL_ATOL = 1e-12


def unit_id_column(units: pd.DataFrame) -> str | None:
    """The id column of a per-unit table (``None``: rows are matched by position)."""
    return next((c for c in UNIT_ID_COLUMNS if c in units.columns), None)


def unit_metric_columns(units: pd.DataFrame) -> list[str]:
    """Numeric per-unit metric columns (ids, counts and booleans excluded)."""
    id_col = unit_id_column(units)
    return [
        c
        for c in units.columns
        if c != id_col
        and c not in _NOT_METRICS
        and pd.api.types.is_float_dtype(units[c])
        and not pd.api.types.is_bool_dtype(units[c])
    ]


def indexed(units: pd.DataFrame, metrics: list[str] | None = None) -> pd.DataFrame:
    """Per-unit metric values indexed by unit id; a unit listed twice in one cell is averaged."""
    cols = [m for m in (metrics or unit_metric_columns(units)) if m in units.columns]
    id_col = unit_id_column(units)
    frame = units[cols].astype(float)
    if id_col is None:
        return frame.set_axis(pd.RangeIndex(len(units), name="unit"))
    frame.index = pd.Index(units[id_col].to_numpy(), name="unit")
    if frame.index.has_duplicates:
        frame = frame.groupby(level=0, sort=False).mean()
    return frame


def load(store: ResultStore, keys: Mapping[int, str]) -> dict[int, pd.DataFrame]:
    """The raw per-unit tables of one system, by replicate seed."""
    return {int(seed): store.units(key) for seed, key in keys.items()}


def _canonical(units: pd.DataFrame) -> pd.DataFrame:
    id_col = unit_id_column(units)
    if id_col is None:
        return units.reset_index(drop=True)
    return units.sort_values(id_col, kind="mergesort").reset_index(drop=True)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            if not np.allclose(
                x.to_numpy(dtype=float),
                y.to_numpy(dtype=float),
                rtol=0.0,
                atol=_IDENTICAL_ATOL,
                equal_nan=True,
            ):
                return False
        elif [_hashable(v) for v in x] != [_hashable(v) for v in y]:  # ids, labels, ranked lists
            return False
    return True


def _hashable(v: object) -> object:
    if isinstance(v, np.ndarray | list | tuple):
        return tuple(np.asarray(v).tolist())
    return v


def deterministic(frames: Mapping[int, pd.DataFrame]) -> bool | None:
    """True when every replicate's per-unit table (ids, metric values, stored lists) is the same.

    ``None`` with fewer than two replicates (nothing to compare).
    """
    tables = [_canonical(f) for f in frames.values()]
    if len(tables) < 2:
        return None
    return all(_same(tables[0], t) for t in tables[1:])


def unit_means(frames: Mapping[int, pd.DataFrame], metrics: list[str]) -> pd.DataFrame:
    """One row per distinct unit: each metric's mean over the replicates where the unit appears
    (NaN replicate values skipped), and ``n_replicates``, the number of replicates holding it."""
    parts = [indexed(f, metrics) for f in frames.values()]
    if not parts:
        return pd.DataFrame(columns=[*metrics, "n_replicates"])
    long = pd.concat(parts)
    out = long.groupby(level=0, sort=True).mean()
    out["n_replicates"] = long.groupby(level=0, sort=True).size()
    return out


def paired_unit_means(
    a: Mapping[int, pd.DataFrame], b: Mapping[int, pd.DataFrame], metric: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """Two systems' values of ``metric`` per distinct unit, for a paired test.

    Within each replicate both systems hold, units are matched by id and a unit is kept where
    both values are defined; each unit's pair is then averaged over those replicates. Returns
    (a values, b values, number of shared replicates); arrays are sorted by unit id.
    """
    a_parts, b_parts = [], []
    shared = sorted(set(a) & set(b))
    for seed in shared:
        if metric not in a[seed].columns or metric not in b[seed].columns:
            continue
        x = indexed(a[seed], [metric])[metric]
        y = indexed(b[seed], [metric])[metric]
        x, y = x.align(y, join="inner")
        ok = x.notna() & y.notna()
        a_parts.append(x[ok])
        b_parts.append(y[ok])
    if not a_parts:
        return np.zeros(0), np.zeros(0), 0
    xa = pd.concat(a_parts).groupby(level=0, sort=True).mean()
    xb = pd.concat(b_parts).groupby(level=0, sort=True).mean()
    return xa.to_numpy(), xb.reindex(xa.index).to_numpy(), len(a_parts)
