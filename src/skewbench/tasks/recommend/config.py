"""The recommend task's names, options and data set parameters (validated by the specs)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from skewbench.errors import ConfigError
from skewbench.runner.cell import Cell, Component
from skewbench.specs.recommend import RANKING_METRICS as RANKING_METRICS
from skewbench.specs.recommend import RERANKERS, TREATMENT_NAMES

MODELS: tuple[str, ...] = (
    "random",
    "popularity",
    "itemknn",
    "ease",
    "bpr",
    "als",
    "content",
    "hybrid",
    "sasrec",
    "two_tower",
    "llm_rerank",
    "precomputed",
    "plugin",
)

TUNABLE = True  # models may carry `tune:` (skewbench.tuning)

SIZE_MATCHED_SWEEPS = True  # the grid passes a sweep's levels as options["imbalance_levels"]

DEFAULT_TUNE_METRIC = "ndcg@10"

TREATMENTS: tuple[str, ...] = TREATMENT_NAMES  # declared once, in the specs

DATASETS: tuple[str, ...] = (
    "completejourney",
    "movielens100k",
    "table",
    "recbole",
    "amazon2023",
    "movielens",
)

POLICIES: tuple[str, ...] = ("plackett_luce",)  # stochastic list-side policies

LIST_SIDE: tuple[str, ...] = RERANKERS + POLICIES  # re-use the untreated model's candidates


# --------------------------------------------------------------------------------------------
# config


def options(cell: Cell) -> dict[str, Any]:
    cutoffs = sorted({int(c) for c in cell.options.get("cutoffs", (5, 10, 20, 50))})
    if not cutoffs or cutoffs[0] < 1:
        raise ConfigError(f"options.cutoffs: positive integers required, got {cutoffs}")
    k = int(cell.options.get("k", cutoffs[-1]))
    exposure_k = int(cell.options.get("exposure_k", min(10, k)))
    candidates = int(cell.options.get("candidates", max(100, k)))
    if k < cutoffs[-1]:
        raise ConfigError(f"options.k: {k} is shorter than the largest cutoff {cutoffs[-1]}")
    if not 1 <= exposure_k <= k:
        raise ConfigError(f"options.exposure_k: must be in [1, k={k}], got {exposure_k}")
    if candidates < k:
        raise ConfigError(f"options.candidates: {candidates} < k = {k}")
    max_users = cell.options.get("max_users")
    levels = cell.options.get("imbalance_levels")
    if levels is not None:
        if not isinstance(levels, list | tuple) or cell.imbalance not in levels:
            raise ConfigError(
                f"options.imbalance_levels: a list holding the cell's level {cell.imbalance!r}, "
                f"got {levels!r}"
            )
        for v in levels:
            if v is not None and not 0 <= float(v) < 1:
                raise ConfigError(f"imbalance: a target Gini in [0, 1) expected, got {v!r}")
        levels = tuple(None if v is None else float(v) for v in levels)
    elif cell.imbalance is not None:
        levels = (float(cell.imbalance),)
    return {
        "levels": levels,
        "cutoffs": cutoffs,
        "k": k,
        "exposure_k": exposure_k,
        "candidates": candidates,
        "max_users": None if max_users is None else int(max_users),
    }


def dataset_params(cell: Cell) -> dict[str, Any]:
    """The data set's parameters with the defaults of its spec filled in (validated by
    :func:`check`); the spec is the one place that declares them."""
    from skewbench import specs

    name = cell.dataset.name
    entry = specs.find("dataset", "recommend", name) if name in DATASETS else None
    if entry is None:
        raise ConfigError(f"dataset.name: {name!r} is not one of {DATASETS} for task recommend")
    return {**specs.defaults(entry.spec), **cell.dataset.params}


def items_without_text(cell: Cell) -> tuple[str, str] | None:
    """(parameter, what is missing) when the data set gives its items no text, else None."""
    params = cell.dataset.params
    if cell.dataset.name == "table" and params.get("catalog") is None:
        return "catalog", "a table data set without a catalog"
    if cell.dataset.name == "amazon2023" and params.get("meta") is None:
        return "meta", "Amazon reviews without their meta file"
    if cell.dataset.name == "recbole" and "path" in params:
        from skewbench.data.sources.recbole import atomic_files
        from skewbench.errors import SchemaError

        try:
            files = atomic_files(params["path"], params.get("dataset"))
        except SchemaError:
            return None  # the missing folder is reported by the file check
        return None if "item" in files else ("path", "a RecBole folder without a .item file")
    return None


def catalog_bound_errors(cell: Cell) -> list[str]:
    """k / candidates longer than the catalog (a k of 10⁶ would allocate users × k)."""
    from skewbench.data.sources import get_info

    sizes = get_info(cell.dataset.name).sizes
    n_items = sizes.get("items", sizes.get("products"))
    if n_items is None:
        return []
    opts = options(cell)
    return [
        f"options.{name}: {opts[name]} is longer than the catalog of {cell.dataset.name} "
        f"({n_items} items before filtering); choose {name} <= {n_items}"
        for name in ("k", "candidates")
        if opts[name] > n_items and (name == "k" or "candidates" in cell.options)
    ]


def level_rng(cell: Cell, level: float | None, stream: str) -> np.random.Generator:
    return dataclasses.replace(cell, imbalance=level).rng(stream, data_side=True)


def base_cell(cell: Cell) -> Cell:
    """The cell whose model a re-ranker cell re-ranks: same everything, treatment ``none``."""
    if cell.treatment.name not in LIST_SIDE:
        return cell
    return dataclasses.replace(cell, treatment=Component("none"))
