"""The recommend task's data: a data set loaded, k-cored and indexed, with its item groups.

- ``completejourney``: household × product purchases (FUEL / coupon lines removed by the
  loader), one row per pair (weight = purchase lines), iterative k-core on distinct pairs
  (``user_k``, ``item_k``; sizes in ``info["kcore"]``).
- ``movielens100k``: ratings ≥ ``min_rating`` are the (binary) interactions, no k-core.
- ``table``, ``recbole``, ``amazon2023``, ``movielens``: your files (item groups from the
  catalog's columns, the path cut at ``category_level``; user groups from the user-attributes
  table when there is one); every catalog item is a candidate, interacted with or not
  (``info["catalog_items_without_interactions"]``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass(eq=False)
class Data:
    """A data set loaded for the recommend task: coded interactions, index maps, item groups."""

    name: str
    params: dict[str, Any]
    interactions: pd.DataFrame  # user_id / item_id as codes into ``users`` / ``items``
    users: np.ndarray
    items: np.ndarray
    item_text: np.ndarray
    labels: dict[str, np.ndarray]
    category: np.ndarray
    user_groups: np.ndarray
    info: dict[str, Any]
    # your user attributes (``ug_<attribute>`` groups, aligned with ``users``), or None
    user_attributes: dict[str, np.ndarray] | None = None
    # (user · n_items + item) keys and each pair's first time, computed on first use
    pair_times: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)


@lru_cache(maxsize=4)
def load(
    name: str, frozen: tuple[tuple[str, Any], ...], files: tuple[tuple[str, str], ...] = ()
) -> Data:
    """Interactions after filtering/k-core, indexed items and their group labels; ``files``
    (the data set's content fingerprints) keys the cache, so a changed file is read again.

    A data set read from your files is built once per data side and kept on disk
    (:func:`_disk_cached`): the data check, the prepare child and every worker process would
    otherwise each parse, validate and code the same files again."""
    if not files:
        return _build(name, frozen)
    return _disk_cached(name, frozen, files)


def _disk_cached(
    name: str, frozen: tuple[tuple[str, Any], ...], files: tuple[tuple[str, str], ...]
) -> Data:
    """:func:`_build`'s result kept by :func:`skewbench.data.stored.stored` (kind
    ``recommend_data``), keyed by the data set's name, parameters, file contents (``files``:
    fingerprints, not paths) and this loader's code."""
    from skewbench.data.stored import stored
    from skewbench.tuning_memo import code_version

    key = [name, frozen, [fp for _, fp in files], code_version("tasks/recommend/data.py", "data")]
    arrays, meta = stored("recommend_data", key, lambda: _as_arrays(_build(name, frozen)))
    return Data(
        name=name,
        params=dict(frozen),
        interactions=pd.DataFrame({c: arrays[f"interactions/{c}"] for c in meta["columns"]}),
        users=arrays["users"],
        items=arrays["items"],
        item_text=arrays["item_text"],
        labels={g: arrays[f"labels/{g}"] for g in meta["labels"]},
        category=arrays["category"],
        user_groups=arrays["user_groups"],
        info=meta["info"],
        user_attributes=(
            None
            if meta["attributes"] is None
            else {g: arrays[f"attributes/{g}"] for g in meta["attributes"]}
        ),
    )


def _as_arrays(data: Data) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A data side as named arrays and JSON-able facts (what :func:`_disk_cached` stores)."""
    arrays = {f"interactions/{c}": data.interactions[c].to_numpy() for c in data.interactions}
    arrays |= {f"labels/{g}": v for g, v in data.labels.items()}
    arrays |= {f"attributes/{g}": v for g, v in (data.user_attributes or {}).items()}
    for field_name in ("users", "items", "item_text", "category", "user_groups"):
        arrays[field_name] = getattr(data, field_name)
    meta = {
        "columns": list(data.interactions.columns),
        "labels": list(data.labels),
        "attributes": None if data.user_attributes is None else list(data.user_attributes),
        "info": data.info,
    }
    return arrays, meta


def _build(name: str, frozen: tuple[tuple[str, Any], ...]) -> Data:
    """The data set read, filtered, k-cored and coded (the work :func:`load` caches)."""
    from skewbench.data import groups as G
    from skewbench.data.prepare import kcore
    from skewbench.data.sources import recommend_frames
    from skewbench.data.user_groups import DEMOGRAPHICS, attribute_groups

    p = dict(frozen)
    t0 = time.perf_counter()
    frames = recommend_frames(name, p)
    inter, catalog = frames.interactions, frames.catalog
    user_table = user_col = None
    if name == "completejourney":
        user_table, user_col = frames.users, "income"
    elif name == "movielens100k":
        user_table, user_col = frames.users, "gender"
    n_raw = (len(inter), inter["user_id"].nunique(), inter["item_id"].nunique())
    raw_items = pd.Index(inter["item_id"].unique())
    inter, steps = kcore(inter, int(p["user_k"]), int(p["item_k"]), return_steps=True)
    items = np.sort(inter["item_id"].unique())
    unsold = np.array([], dtype=object)
    if name not in ("completejourney", "movielens100k"):  # a catalog of ids adds none
        # Your whole catalog: items nobody interacted with are candidates too, and count in
        # the catalog shares and the exposure Gini (a catalog of interacted items only would
        # understate the inequality measured). Items the k-core removed stay removed.
        unsold = np.asarray(pd.Index(catalog["item_id"]).difference(raw_items), dtype=object)
        items = np.sort(np.concatenate([items.astype(object), unsold]))
    users = np.sort(inter["user_id"].unique())
    cat = catalog.set_index("item_id").reindex(items)
    labels: dict[str, np.ndarray] = {}
    if name == "completejourney":
        labels["department"] = G.column_groups(cat["department"].to_numpy())
        labels["brand"] = G.column_groups(cat["brand"].to_numpy())
        labels["price"] = G.price_bands(cat["price"].to_numpy(), 4)
        # Manufacturers (thousands) grouped by size: head/mid/tail of their products' purchases.
        manu = cat["manufacturer"].astype("str").to_numpy()
        pair_manu = pd.Series(manu, index=items).reindex(inter["item_id"]).to_numpy()
        manu_counts = pd.Series(pair_manu).value_counts()
        manu_group = pd.Series(G.popularity_groups(manu_counts.to_numpy()), index=manu_counts.index)
        labels["manufacturer"] = manu_group.reindex(manu).fillna("tail").to_numpy(dtype=object)
        category = labels["department"]
    elif name == "movielens100k":
        labels["genre"] = G.column_groups(cat["category"].to_numpy())
        category = labels["genre"]
    else:  # table: the catalog columns that hold any value
        labels = G.catalog_groups(cat, int(p["category_level"]))
        category = labels.get("category", np.full(items.size, G.UNKNOWN, dtype=object))
    if user_table is None or user_col is None:
        user_groups = np.full(users.size, "all", dtype=object)
    else:
        user_groups = G.user_groups(users, user_table, user_col)
    # your user attributes (the bundled sets' demographics are chosen in user_groups.DEMOGRAPHICS)
    user_attributes = None
    if frames.users is not None and name not in DEMOGRAPHICS:
        user_attributes = attribute_groups(frames.users, users)
    info = {
        "raw": {"interactions": n_raw[0], "users": n_raw[1], "items": n_raw[2]},
        "kcore": {
            "user_k": int(p["user_k"]),
            "item_k": int(p["item_k"]),
            "interactions": len(inter),
            "users": len(users),
            "items": len(items),
            "iterations": int(steps["step"].max()),
        },
        "catalog_items_without_interactions": int(unsold.size),
        "load_s": round(time.perf_counter() - t0, 3),
    }
    # Integer user/item codes (indices into ``users``/``items``): splitting and matrix building
    # on ints is much faster than on Arrow strings (pandas' string isin is a Python loop).
    coded = pd.DataFrame(
        {
            "user_id": code_ids(users, inter["user_id"]),
            "item_id": code_ids(items, inter["item_id"]),
            "timestamp": inter["timestamp"].to_numpy(),
            "weight": inter["weight"].to_numpy(dtype=np.float64),
        }
    )
    return Data(
        name=name,
        params=p,
        interactions=coded,
        users=users,
        items=items,
        item_text=cat["text"].astype("str").to_numpy(dtype=object),
        labels=labels,
        category=category,
        user_groups=user_groups,
        user_attributes=user_attributes,
        info=info,
    )


def code_ids(sorted_ids: np.ndarray, values: pd.Series) -> np.ndarray:
    """Each value's index in ``sorted_ids`` (every value is one of them), by one hash lookup
    per row: ``np.searchsorted`` gives the same indices with a Python string comparison per
    step of its search, which was most of a cell's time on a 10⁷-row file."""
    codes = pd.Index(sorted_ids).get_indexer(values)
    return codes.astype(np.int64, copy=False)


def matrix(df: pd.DataFrame, shape: tuple[int, int], weight: bool) -> sp.csr_matrix:
    """CSR (users × items) from coded interactions; weights summed over duplicate pairs."""
    w = df["weight"].to_numpy(dtype=np.float32) if weight else np.ones(len(df), np.float32)
    X = sp.csr_matrix(
        (w, (df["user_id"].to_numpy(), df["item_id"].to_numpy())), shape=shape, dtype=np.float32
    )
    X.sum_duplicates()
    if not weight:
        X.data[:] = 1.0
    return X


def item_embeddings(data: Data) -> np.ndarray:
    """MiniLM embeddings of the items' text (catalog order), via the on-disk encoder cache."""
    from skewbench import encoders

    return np.asarray(encoders.encode(list(data.item_text)), dtype=np.float32)
