"""The categorize task's data for one replicate: the labelled texts after rare classes are
dropped, the stratified (optionally grouped) train/validation/test split and the class-balanced
test view, each memoised per process so that check and run of a cell load and split once.
The protocol is in :mod:`skewbench.tasks.categorize` (steps 1–2).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from skewbench.data.split import stratified_group_split, stratified_split
from skewbench.errors import ConfigError
from skewbench.runner.cell import Cell

DEFAULT_MIN_CLASS_COUNT = 20
DEFAULT_FRACTIONS = (0.7, 0.1, 0.2)


def fractions(cell: Cell) -> tuple[float, ...]:
    """(train, validation, test) shares; validated by the options spec in :func:`check`."""
    return tuple(float(x) for x in cell.options.get("fractions", DEFAULT_FRACTIONS))


def replicate_split(cell: Cell) -> tuple[np.ndarray, ...]:
    """(train, validation, test positions, training class counts, balanced test view positions
    into test) of the cell's replicate; memoised per process."""
    key = (
        json.dumps(cell.dataset.to_dict(), sort_keys=True, default=str),
        fractions(cell),
        cell.seed,
        cell.master_seed,
    )
    if key not in _SPLITS:
        df, _, label_col = cached_dataset(cell.dataset)
        codes = np.unique(df[label_col].astype(str).to_numpy(), return_inverse=True)[1]
        split_rng = cell.rng("split", data_side=True)
        group = group_column(cell.dataset)
        if group is None:
            tr, va, te = stratified_split(codes, fractions(cell), rng=split_rng)
        else:
            tr, va, te = stratified_group_split(
                codes, df[group].astype(str).to_numpy(), fractions(cell), rng=split_rng
            )
        # the balanced test view continues the same stream (identical across ρ and models)
        bal = balanced_view(codes[te], split_rng)
        k = int(codes.max()) + 1
        if len(_SPLITS) >= 8:
            _SPLITS.clear()
        _SPLITS[key] = (tr, va, te, np.bincount(codes[tr], minlength=k), bal)
    return _SPLITS[key]


_SPLITS: dict[tuple[Any, ...], tuple[np.ndarray, ...]] = {}


_FRAMES: dict[str, tuple[pd.DataFrame, str, str]] = {}


def cached_dataset(dataset: Any) -> tuple[pd.DataFrame, str, str]:
    """:func:`load_dataset`, memoised per process (check and run of one cell load once)."""
    key = json.dumps(dataset.to_dict(), sort_keys=True, default=str)
    if key not in _FRAMES:
        if len(_FRAMES) >= 2:
            _FRAMES.clear()
        _FRAMES[key] = load_dataset(dataset)
    return _FRAMES[key]


def group_column(dataset: Any) -> str | None:
    """The column whose rows must stay together in one split part (``dataset.params.group``).

    Clothing defaults to ``item_id``: every review of a product shares the product's class, so
    a row-level split would put reviews of one product on both sides and let a model memorise
    product-specific words. ``group: null`` asks for the plain row-level split.
    """
    return dataset.params.get("group", "item_id" if dataset.name == "clothing" else None)


def load_dataset(dataset: Any) -> tuple[pd.DataFrame, str, str]:
    """(frame, text column, label column) after dropping rare classes."""
    from skewbench.data.prepare import drop_rare_classes
    from skewbench.data.sources import load

    params = dict(dataset.params)
    mcc = int(params.pop("min_class_count", DEFAULT_MIN_CLASS_COUNT))
    params.pop("group", None)
    label = params.setdefault("label", "class_name" if dataset.name == "clothing" else "label")
    if dataset.name == "table":
        params.setdefault("kind", "labelled_text")
    text = params.get("text", "text")
    df = load(dataset.name, **params)
    group = group_column(dataset)
    if group is not None and group not in df.columns:
        raise ConfigError(
            f"dataset.params.group: {dataset.name} has no column {group!r} "
            f"(columns: {list(df.columns)})"
        )
    return drop_rare_classes(df, label, mcc), text, label


def balanced_view(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of a class-balanced subset: each present class cut to the smallest
    present class count, uniformly at random."""
    counts = np.bincount(codes)
    m = counts[counts > 0].min()
    order = np.lexsort((rng.random(codes.size), codes))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    within = np.arange(codes.size) - starts[codes[order]]
    return np.sort(order[within < m])
