"""Train / test / validation splits of a recommend replicate, and the size-matched imbalance
sweep (module doc of :mod:`skewbench.tasks.recommend`, steps 1–3). Every split is built from
data-side streams, so it is shared by every model and treatment of a replicate; each is cached
for the condition running now."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from skewbench.data.sources.table import freeze
from skewbench.errors import ConfigError
from skewbench.runner.cell import Cell
from skewbench.tasks.recommend.config import dataset_params, level_rng, options
from skewbench.tasks.recommend.data import Data, load, matrix

_FULL_CACHE: dict[tuple[Any, ...], Any] = {}
_PLAN_CACHE: dict[tuple[Any, ...], dict[str, Any]] = {}
_SPLIT_CACHE: dict[tuple[Any, ...], Any] = {}
_VAL_CACHE: dict[tuple[Any, ...], Any] = {}


def load_split(cell: Cell) -> tuple[Data, sp.csr_matrix, sp.csr_matrix, dict[str, Any]]:
    """(data, train matrix, test truth matrix, info) for the cell's dataset, replicate,
    imbalance level and control. Shared by every model and treatment of a replicate
    (data-side streams)."""
    data, X, T, info, _ = split(cell)
    return data, X, T, info


def full_split(cell: Cell) -> tuple[Data, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The replicate's train / test interactions before any imbalance subsampling (cached)."""
    from skewbench.data.split import per_user_ratio_split, temporal_split

    p = dataset_params(cell)
    key = (cell.dataset.name, freeze(p), cell.master_seed, *cell.data_keys())
    if key in _FULL_CACHE:
        return _FULL_CACHE[key]
    data = load(cell.dataset.name, freeze(p), cell.dataset.files)
    inter = data.interactions
    if p["split"] == "temporal":
        train, test = temporal_split(inter, float(p["test_frac"]), drop_cold=True)
        info = {"split": "temporal", "cut": int(test.attrs.get("cut", -1))}
        info["cold_test_rows_dropped"] = int(test.attrs.get("cold_rows_dropped", 0))
    else:
        train, test = per_user_ratio_split(
            inter, float(p["test_frac"]), cell.rng("split", data_side=True)
        )
        info = {"split": "ratio"}
    train = train.reset_index(drop=True)
    out = (data, train, test, info)
    _FULL_CACHE.clear()  # one replicate at a time: cells of a replicate run together
    _FULL_CACHE[key] = out
    return out


def sweep_plan(cell: Cell) -> dict[str, Any]:
    """The replicate's sweep: common training size and the kept training rows of each level.

    Raises ConfigError (before any work) when a level cannot be reached, with the reachable
    range. Cached per (data set, replicate, levels).
    """
    from skewbench.data.imbalance import gini
    from skewbench.data.subsample import (
        max_reachable_gini,
        subsample_to_gini,
        subsample_to_gini_at_size,
    )

    levels = options(cell)["levels"]
    p = dataset_params(cell)
    key = (cell.dataset.name, freeze(p), cell.master_seed, *cell.data_keys(), levels)
    if key in _PLAN_CACHE:
        return _PLAN_CACHE[key]
    _, train, _, _ = full_split(cell)
    items = train["item_id"].to_numpy()
    counts = np.bincount(items)
    natural = gini(counts[counts > 0])  # over the items present, as subsample_to_gini counts
    where = f"on {cell.dataset.label} (replicate {cell.seed})"
    sizes: dict[float | None, int] = {}
    for level in levels:
        if level is None:
            sizes[level] = int(items.size)
            continue
        try:
            kept, _ = subsample_to_gini(items, level, level_rng(cell, level, "imbalance"))
        except ValueError:
            top, _ = max_reachable_gini(items, level_rng(cell, level, "imbalance"))
            raise ConfigError(
                f"imbalance: target Gini {level:g} is not reachable {where}: the training "
                f"split's Gini is {natural:.4f} (the smallest reachable) and subsampling reaches "
                f"at most {top:.4f}"
            ) from None
        sizes[level] = int(kept.size)
    n = min(sizes.values())
    kept_at: dict[float | None, np.ndarray] = {}
    achieved: dict[float | None, float] = {}
    control, g_control = subsample_to_gini_at_size(items, None, n, level_rng(cell, None, "control"))
    for level in levels:
        if level is None:
            kept_at[level], achieved[level] = control, g_control
            continue
        try:
            kept_at[level], achieved[level] = subsample_to_gini_at_size(
                items, level, n, level_rng(cell, level, "imbalance")
            )
        except ValueError as err:
            smallest = min(sizes, key=lambda v: sizes[v])
            raise ConfigError(
                f"imbalance: target Gini {level:g} is not reachable {where} at the sweep's "
                f"common training size n_train = {n} (set by level {smallest}): {err}"
            ) from None
    plan = {
        "n_train": n,
        "sizes": sizes,
        "kept": kept_at,
        "achieved": achieved,
        "control": control,
        "control_gini": g_control,
        "natural_gini": natural,
    }
    _PLAN_CACHE.clear()
    _PLAN_CACHE[key] = plan
    return plan


def split_key(cell: Cell) -> tuple[Any, ...]:
    levels = options(cell)["levels"]
    return (cell.master_seed, *cell.data_keys(), cell.imbalance, cell.control, levels)


def split(cell: Cell):
    """(data, train X, test T, info, train rows) of the cell's condition (cached)."""
    from skewbench.data.imbalance import gini

    key = split_key(cell)
    if key in _SPLIT_CACHE:
        return _SPLIT_CACHE[key]
    data, train, test, split_info = full_split(cell)
    p = data.params
    info: dict[str, Any] = {**split_info, "train_rows_full": len(train)}
    counts = np.bincount(train["item_id"].to_numpy())
    info["train_gini_before"] = gini(counts[counts > 0])
    levels = options(cell)["levels"]
    if levels is not None:
        plan = sweep_plan(cell)
        if cell.control == "uniform" or cell.imbalance is None:
            kept, achieved = plan["control"], plan["control_gini"]
        else:
            kept, achieved = plan["kept"][cell.imbalance], plan["achieved"][cell.imbalance]
        train = train.iloc[kept]
        info["train_gini_achieved"] = achieved
        info["sweep"] = {
            "levels": [None if v is None else float(v) for v in levels],
            "n_train": plan["n_train"],
            "sizes_at_target": {str(k): v for k, v in plan["sizes"].items()},
            "control_gini": plan["control_gini"],
        }
    else:
        info["train_gini_achieved"] = info["train_gini_before"]
    weighted = p.get("feedback", "binary") == "count"
    shape = (data.users.size, data.items.size)
    X = matrix(train, shape, weighted)
    T = matrix(test, shape, False)
    T = T - T.multiply(X > 0)  # never score a training item as a test hit (topk excludes them)
    T = sp.csr_matrix(T)
    T.eliminate_zeros()
    info.update({"train_rows": int(X.nnz), "test_rows": int(T.nnz)})
    out = (data, X, T, info, train)
    _SPLIT_CACHE.clear()  # keep one condition in memory: cells of a condition run together
    _SPLIT_CACHE[key] = out
    return out


def validation_split(cell: Cell) -> tuple[sp.csr_matrix, sp.csr_matrix, dict[str, Any]]:
    """(fit matrix, validation truth, info): validation carved from the cell's TRAINING rows by
    the data set's protocol (module doc, step 3). Test rows are never read here."""
    from skewbench.data.split import per_user_ratio_split, temporal_split

    data, _, _, _, train = split(cell)
    key = ("validation", *split_key(cell))
    if key in _VAL_CACHE:
        return _VAL_CACHE[key]
    p = data.params
    frac = float(p["val_frac"])
    if p["split"] == "temporal":
        fit, val = temporal_split(train, frac, drop_cold=True)
        info = {"protocol": "temporal", "cut": int(val.attrs.get("cut", -1))}
    else:
        fit, val = per_user_ratio_split(train, frac, cell.rng("validation", data_side=True))
        info = {"protocol": "per-user random"}
    shape = (data.users.size, data.items.size)
    F = matrix(fit, shape, p.get("feedback", "binary") == "count")
    V = matrix(val, shape, False)
    V = sp.csr_matrix(V - V.multiply(F > 0))
    V.eliminate_zeros()
    info.update({"val_frac": frac, "fit_rows": int(F.nnz), "val_rows": int(V.nnz)})
    out = (F, V, info)
    _VAL_CACHE.clear()
    _VAL_CACHE[key] = out
    return out
