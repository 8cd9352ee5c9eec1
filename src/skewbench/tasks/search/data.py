"""The search task's data (queries, judgments, catalog; built per replicate) and the item
groupings its treatments and metrics read."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from skewbench.data.queries import (
    SearchData,
    build_search_data,
    head_tail,
    load_completejourney_raw,
)
from skewbench.runner.cell import Cell, Component

_DATA: dict[tuple, SearchData] = {}


def fit_cell(cell: Cell) -> Cell:
    """The cell whose streams seed the data split, tuning and model fitting: untreated, and
    without ``query_split`` — so a ``seen`` and an ``unseen`` cell share folds, tuning and the
    fitted model, and differ only in which test queries they ask."""
    params = {k: v for k, v in cell.dataset.params.items() if k != "query_split"}
    return dataclasses.replace(
        cell,
        treatment=Component("none"),
        dataset=dataclasses.replace(cell.dataset, params=params),
    )


def load_data(cell: Cell) -> SearchData:
    """The cell's SearchData (memoised per dataset, master seed and replicate)."""
    key = (cell.dataset.key_label, cell.master_seed, cell.seed)
    if key not in _DATA:
        p = dict(cell.dataset.params)
        rng = fit_cell(cell).rng("split", data_side=True)
        if cell.dataset.name == "completejourney":
            products, purchases = load_completejourney_raw()
            if p.get("queries", "type") == "personalised":
                p.setdefault("max_queries", 1000)
            _DATA[key] = build_search_data(products, purchases, rng=rng, **p)
        elif cell.dataset.name == "table":
            from skewbench.data.sources.table import search_data
            from skewbench.specs import find
            from skewbench.specs.base import defaults

            entry = find("dataset", "search", "table")
            assert entry is not None
            p = {**defaults(entry.spec), **p}
            _DATA[key] = search_data(p)
            _DATA[key].info["category_level"] = int(p["category_level"])
        else:
            from skewbench.data.sources.esci import load_esci

            _DATA[key] = load_esci(p.pop("path"), rng=rng, **p)
    return _DATA[key]


def item_groups(data: SearchData, group: str) -> np.ndarray:
    """Binary int codes per item for a fairness grouping (1 = protected; module docstring)."""
    cat = data.catalog
    if group == "brand" and "product_category" in cat.columns:
        return (cat["brand"] == "Private").to_numpy().astype(np.int64)
    if group == "category":
        column = "product_category" if "product_category" in cat.columns else "category"
        labels = cat[column].astype(str)
    elif group == "brand":  # ESCI and your own catalog: tail brands
        labels = cat["brand"].astype(str).fillna("NA")
    else:  # manufacturer
        labels = cat["manufacturer"].astype(str).fillna("NA")
    pop = data.item_popularity
    if pop is None or not np.any(pop):  # ESCI: no purchases, so catalog presence
        pop = np.ones(len(cat))
    counts = pd.Series(pop).groupby(labels.to_numpy()).sum()
    tail = head_tail(counts, 0.5) == "tail"
    return labels.map(tail).to_numpy().astype(np.int64)


def group_values(data: SearchData, group: str) -> np.ndarray:
    """One int code per catalog item for each distinct value of the grouping (e.g. every
    manufacturer id), not the binary protected/rest split of :func:`item_groups`."""
    cat = data.catalog
    column = {"manufacturer": "manufacturer", "category": "product_category"}.get(group, "brand")
    if column not in cat.columns:
        column = "manufacturer"  # ESCI: its brands are stored as manufacturers
    return pd.factorize(cat[column].astype(str).fillna("NA"))[0].astype(np.int64)


def protected_label(data: SearchData, group: str) -> str:
    """What a re-ranker over ``group`` promotes (item code 1 of :func:`item_groups`)."""
    if group == "brand" and "product_category" in data.catalog.columns:
        return "brand=Private"
    return f"{group}=tail"
