"""Per-unit values across replicates: each unit counted once, identical replicates detected.

A *unit* is what a task evaluates one at a time — a user (recommend), a query (search) or a test
example (categorize) — and is named by a stable id column (``UNIT_ID_COLUMNS``). The same unit
usually appears in several replicates (seeds) of a cell. Pooling the replicates would count it
several times and shrink p-values by pseudo-replication, so the report reduces every unit to ONE
value. For one system (bootstrap intervals) that is its mean over the replicates in which it
appears; for a pair of systems (paired tests) it is the unit's share c_i of the printed Δ
(:func:`paired_contributions`), so that the test tests exactly the difference shown even when
replicates hold different units.

Replicates whose per-unit tables are identical (a fixed split and a deterministic model: the seed
changes nothing) are *deterministic*: one effective replicate. Their uncertainty can only come
from resampling units, never from a t-interval over identical seeds.
"""

from __future__ import annotations

import math
import weakref
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
    numeric = [
        c
        for c, x, y in zip(a.columns, a.dtypes, b.dtypes, strict=True)
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y)
    ]
    if numeric and not np.allclose(  # first: cheap, and where replicates usually differ
        a[numeric].to_numpy(dtype=float),
        b[numeric].to_numpy(dtype=float),
        rtol=0.0,
        atol=_IDENTICAL_ATOL,
        equal_nan=True,
    ):
        return False
    return all(_same_objects(a[c], b[c]) for c in a.columns if c not in numeric)


def _same_objects(x: pd.Series, y: pd.Series) -> bool:
    """Equal ids, labels or ranked lists, element by element; a column of lists or arrays is
    compared as its lengths and its concatenated entries."""
    if x.dtype != object and y.dtype != object:  # scalars only (e.g. string ids): at C speed
        a, b = x.reset_index(drop=True), y.reset_index(drop=True)
        return bool(a.isna().equals(b.isna()) and a[a.notna()].equals(b[b.notna()]))
    xs, ys = x.to_numpy(dtype=object), y.to_numpy(dtype=object)
    seqs = (np.ndarray, list, tuple)
    if all(isinstance(v, seqs) for v in xs) and all(isinstance(v, seqs) for v in ys):
        if [len(v) for v in xs] != [len(v) for v in ys]:
            return False
        if not len(xs):
            return True
        flat = [np.concatenate([np.asarray(v).ravel() for v in s]) for s in (xs, ys)]
        return bool(np.array_equal(flat[0], flat[1]))
    return [_hashable(v) for v in xs] == [_hashable(v) for v in ys]


def _hashable(v: object) -> object:
    if isinstance(v, np.ndarray | list | tuple):
        return tuple(np.asarray(v).tolist())
    return v


def deterministic(frames: Mapping[int, pd.DataFrame]) -> bool | None:
    """True when every replicate's per-unit table (ids, metric values, stored lists) is the same.

    ``None`` with fewer than two replicates (nothing to compare). The answer for the same
    frame objects is remembered (a report asks once per system and once per comparison; the
    frames are never modified once read).
    """
    tables = list(frames.values())
    seen = _DETERMINISTIC.get(tuple(map(id, tables)))
    if seen is not None and all(r() is t for r, t in zip(seen[0], tables, strict=True)):
        return seen[1]
    answer = _deterministic(tables)
    if len(_DETERMINISTIC) >= 1024:
        _DETERMINISTIC.clear()
    _DETERMINISTIC[tuple(map(id, tables))] = ([weakref.ref(t) for t in tables], answer)
    return answer


# ids of the frames → (weak references to them, answer); an id is only trusted while its
# frame is alive, and a live frame's id is never another frame's.
_DETERMINISTIC: dict[tuple[int, ...], tuple[list[weakref.ref], bool | None]] = {}


def _deterministic(tables: list[pd.DataFrame]) -> bool | None:
    if len(tables) < 2:
        return None
    first = _canonical(tables[0])
    # Tables equal row by row are equal in canonical (unit id) order too: sort only if not.
    return all(_same(tables[0], t) or _same(first, _canonical(t)) for t in tables[1:])


def overlap(frames: Mapping[int, pd.DataFrame]) -> dict[str, float]:
    """How the replicates' unit sets overlap: ``seeds``, mean ``per_seed`` units, ``distinct``
    units, and how many are in ``every`` replicate or in ``one`` only."""
    sets = [set(indexed(f, []).index) for f in frames.values()]
    counts = pd.Series([u for s in sets for u in s]).value_counts()
    return {
        "seeds": len(sets),
        "per_seed": float(np.mean([len(s) for s in sets])) if sets else math.nan,
        "distinct": len(counts),
        "every": int((counts == len(sets)).sum()),
        "one": int((counts == 1).sum()),
    }


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


def paired_contributions(
    a: Mapping[int, pd.DataFrame], b: Mapping[int, pd.DataFrame], metric: str
) -> tuple[pd.Series, int]:
    r"""Each distinct unit's share of the printed Δ of ``metric`` between systems a and b.

    Within each of the R replicates both systems hold (and where ``metric`` is stored), units
    are matched by id and kept where both values are defined: n_r units, differences d_ir.
    The printed Δ is the mean over those replicates of each one's mean difference, so unit i
    contributes c_i = Σ_r d_ir / (R · n_r) and Σ_i c_i = Δ exactly, however many replicates
    hold each unit. A sign-flip test of Σ c_i tests that Δ. Returns (c indexed and sorted by
    unit id, R).
    """
    parts = []
    for seed in sorted(set(a) & set(b)):
        if metric not in a[seed].columns or metric not in b[seed].columns:
            continue
        x = indexed(a[seed], [metric])[metric]
        y = indexed(b[seed], [metric])[metric]
        x, y = x.align(y, join="inner")
        ok = x.notna() & y.notna()
        if ok.any():
            d = x[ok] - y[ok]
            parts.append(d / len(d))
    if not parts:
        return pd.Series(np.zeros(0), dtype=float), 0
    c = pd.concat(parts).groupby(level=0, sort=True).sum() / len(parts)
    return c, len(parts)
