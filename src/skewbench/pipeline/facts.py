"""Per-cell facts for the explanation and user-fairness sections, computed inside a cell's run.

:func:`recommend_facts` and :func:`search_facts` return ``(unit columns, info entries, metrics)``
the task adds to its :class:`~skewbench.runner.cell.CellResult`:

- unit columns: the user groups (``ug_activity``, ``ug_mainstream``, ``ug_<demographic>``),
  ``profile_pop`` / ``list_pop`` (mean training popularity of the user's distinct history items
  / of the list's items, for the popularity lift), ``miscalibration`` (Steck's C_KL against the
  history over the category grouping), ``list_share[<grouping>=<label>]`` for the tail, brand and
  price-band groups (share of the user's top-``exposure_k`` slots), and ``ranked`` (the final
  list as item indices, so ``skewbench explain`` needs no re-run to show it);
- info ``group_shares``: {grouping: {label: {"catalog", "train", "pool", "before"}}}, the steps
  of :mod:`skewbench.explain.decomposition` not already in the metrics (``relevant`` and
  ``after`` are the metrics ``relevant_share[…]`` and ``exposure_share[…]``); ``pool`` and
  ``before`` only for list-side treatments; info ``user_group_edges`` (activity and
  mainstreamness quantile edges) and ``price_edges``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from skewbench.data.user_groups import activity_groups, demographic_groups, mainstream_groups
from skewbench.metrics.calibration import (
    group_distribution_of_history,
    group_distribution_of_lists,
    mean_item_value,
    miscalibration,
)
from skewbench.metrics.exposure import list_item_stats, position_weights

#: Groupings whose per-user list share is stored as a unit column: (grouping, label).
LIST_SHARE_GROUPS: tuple[tuple[str, str], ...] = (
    ("popularity", "tail"),
    ("brand", "Private"),
    ("price", "q1"),
    ("price", "q4"),
    ("manufacturer", "head"),
)


def _codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    names, codes = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    return codes.reshape(-1).astype(np.int64), names


def group_shares(
    labels: dict[str, np.ndarray],
    train: sp.spmatrix,
    pool: np.ndarray | None = None,
    before: np.ndarray | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Catalog, training, pool and before-treatment shares per grouping and label.

    ``train``: users × items (each positive pair counts once); ``pool``: candidate lists (every
    slot weight 1); ``before``: the untreated top lists (log position weights, as the exposure
    metrics)."""
    n_items = train.shape[1]
    B = sp.csr_matrix(train)
    per_item_train = np.bincount(B.indices[B.data > 0], minlength=n_items).astype(np.float64)
    pool_counts = None if pool is None else list_item_stats(pool, n_items).counts
    before_exp = None
    if before is not None:
        w = position_weights(before.shape[1], "log")
        before_exp = list_item_stats(before, n_items, w).exposure
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, lab in labels.items():
        codes, names = _codes(lab)
        g = names.size

        def share(x: np.ndarray, codes: np.ndarray = codes, g: int = g) -> np.ndarray:
            s = np.bincount(codes, weights=x, minlength=g)
            return s / s.sum() if s.sum() > 0 else np.full(g, np.nan)

        cols = {
            "catalog": np.bincount(codes, minlength=g) / n_items,
            "train": share(per_item_train),
        }
        if pool_counts is not None:
            cols["pool"] = share(pool_counts)
        if before_exp is not None:
            cols["before"] = share(before_exp)
        out[name] = {str(v): {k: float(c[j]) for k, c in cols.items()} for j, v in enumerate(names)}
    return out


def user_columns(
    dataset: str,
    user_ids: np.ndarray,
    history: sp.spmatrix,
    popularity: np.ndarray,
    lists: np.ndarray,
    labels: dict[str, np.ndarray],
    category: str | None,
    attributes: dict[str, np.ndarray] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Unit columns for the users (rows of ``history`` and ``lists`` aligned with
    ``user_ids``) and the info entry ``user_group_edges``; ``attributes``: your user groups
    (aligned with ``user_ids``), else the bundled data set's demographics."""
    H = sp.csr_matrix(history)
    length = np.diff(H.indptr).astype(np.float64)
    act, act_edges = activity_groups(length)
    main, main_edges = mainstream_groups(H, popularity)
    cols: dict[str, Any] = {"ug_activity": act, "ug_mainstream": main}
    if attributes is None:
        attributes = demographic_groups(dataset, user_ids)
    for attr, lab in attributes.items():
        key = f"ug_{attr}"
        cols["ug_user_" + attr if key in cols else key] = lab  # yours never replace activity
    from skewbench.metrics.calibration import history_mean

    cols["profile_pop"] = history_mean(H, popularity)
    cols["list_pop"] = mean_item_value(lists, popularity)
    if category is not None and category in labels:
        codes, names = _codes(labels[category])
        p = group_distribution_of_history(H, codes, names.size)
        q = group_distribution_of_lists(lists, codes, names.size)
        cols["miscalibration"] = miscalibration(p, q)
    for grouping, label in LIST_SHARE_GROUPS:
        if grouping in labels:
            member = (np.asarray(labels[grouping]).astype(str) == label).astype(np.float64)
            cols[f"list_share[{grouping}={label}]"] = mean_item_value(lists, member)
    edges = {"activity": act_edges, "mainstream": main_edges}
    return cols, {"user_group_edges": edges}


def recommend_facts(
    data: Any,
    X: sp.csr_matrix,
    eval_users: np.ndarray,
    pop: np.ndarray,
    pop_label: np.ndarray,
    ranked: np.ndarray,
    exposure_k: int,
    pool: np.ndarray | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Unit columns and info entries of a recommend cell (module docstring). ``pool`` = the
    base model's candidate lists of a re-ranker cell (None otherwise)."""
    labels = {"popularity": pop_label, **data.labels}
    top = ranked[:, :exposure_k]
    category = "department" if "department" in labels else "genre"
    attributes = data.user_attributes
    if attributes is not None:
        attributes = {a: lab[eval_users] for a, lab in attributes.items()}
    cols, info = user_columns(
        data.name, data.users[eval_users], X[eval_users], pop, top, labels, category, attributes
    )
    cols["ranked"] = [r[r >= 0].tolist() for r in ranked]
    before = None if pool is None else pool[:, :exposure_k]
    info["group_shares"] = group_shares(labels, X, pool, before)
    if "price" in labels and data.name == "completejourney":
        info["price_edges"] = cj_price_edges(data.items)
    return cols, info


def price_edges(prices: np.ndarray, n_bands: int = 4) -> list[float]:
    """The inner edges :func:`skewbench.data.groups.price_bands` cuts at (same formula)."""
    p = np.asarray(prices, dtype=np.float64)
    p = p[~np.isnan(p)]
    if p.size == 0:
        return []
    return [float(e) for e in np.quantile(p, np.arange(1, n_bands) / n_bands)]


def _cj_prices(item_ids: np.ndarray) -> np.ndarray:
    from skewbench.data.sources import completejourney as src

    price = src.load_products().set_index("item_id")["price"]
    return price.reindex(pd.Index(np.asarray(item_ids).astype(str))).to_numpy(dtype=np.float64)


def cj_price_edges(item_ids: np.ndarray) -> list[float]:
    """Price-band edges (quartiles of median unit price, $) over the given catalog items."""
    return price_edges(_cj_prices(item_ids))


def search_labels(data: Any, dataset: str = "completejourney") -> dict[str, np.ndarray]:
    """Item groupings of a search catalog: popularity (head/mid/tail of training purchase
    lines), brand, manufacturer (head/mid/tail of its products' training purchase lines),
    price band (quartiles of Complete Journey's median unit price) and department; a ``table``
    catalog's own columns (:func:`~skewbench.data.groups.catalog_groups`) and popularity when
    it has any. Empty for a catalog without either (ESCI)."""
    from skewbench.data.groups import catalog_groups, column_groups, popularity_groups, price_bands

    cat = data.catalog
    if data.info.get("source") == "table":  # your catalog's columns, popularity if it has any
        labels = catalog_groups(cat, int(data.info["category_level"]))
        pop = np.asarray(data.item_popularity, dtype=np.float64)
        return {"popularity": popularity_groups(pop), **labels} if pop.sum() > 0 else labels
    if "department" not in cat.columns or data.item_popularity is None:
        return {}
    pop = np.asarray(data.item_popularity, dtype=np.float64)
    labels = {
        "popularity": popularity_groups(pop),
        "brand": column_groups(cat["brand"].to_numpy()),
        "department": column_groups(cat["department"].to_numpy()),
    }
    manu = cat["manufacturer"].astype(str).to_numpy()
    per_manu = pd.Series(pop).groupby(manu).sum()
    manu_group = pd.Series(popularity_groups(per_manu.to_numpy()), index=per_manu.index)
    labels["manufacturer"] = manu_group.reindex(manu).fillna("tail").to_numpy(dtype=object)
    if dataset == "completejourney":  # prices come from Complete Journey's product table
        labels["price"] = price_bands(_cj_prices(cat["item_id"].to_numpy()), 4)
    return labels


#: The per-group metrics a search cell stores: shares and the Gini between the groups.
GROUP_KEYS = (
    "exposure_share[",
    "relevant_share[",
    "catalog_share[",
    "exposure_gini[",
    "relevant_gini[",
    "catalog_gini[",
)


def search_facts(
    data: Any,
    ranked: np.ndarray,
    truth: sp.csr_matrix,
    pool: np.ndarray,
    dataset: str = "completejourney",
) -> tuple[dict[str, Any], dict[str, Any], dict[str, float]]:
    """Unit columns, info entries and group-exposure metrics of a search cell: the same
    groupings as recommend from the catalog, and for personalised queries the user groups of
    the query's household (activity and mainstreamness from its training-period history)."""
    from skewbench.metrics.exposure import exposure_metrics

    labels = search_labels(data, dataset)
    if not labels:
        return {}, {}, {}
    n = len(data.catalog)
    pop = np.asarray(data.item_popularity, dtype=np.float64)
    ex = exposure_metrics(ranked, n, pop, groups=labels, truth=truth)
    metrics = {k: v for k, v in ex.items() if k.startswith(GROUP_KEYS)}
    H = data.history
    info: dict[str, Any] = {}
    train = H if H is not None else sp.csr_matrix((1, n))
    info["group_shares"] = group_shares(labels, train, pool, pool[:, : ranked.shape[1]])
    if dataset == "completejourney":
        info["price_edges"] = cj_price_edges(data.catalog["item_id"].to_numpy())
    cols: dict[str, Any] = {}
    if "user_id" in data.queries.columns and H is not None:
        uids = data.queries["user_id"].astype(str).to_numpy()
        rows = np.array([data.user_index.get(u, -1) for u in uids])
        # Households without training history get an empty row (activity 0, mainstream NaN).
        Hq = sp.vstack([H, sp.csr_matrix((1, n))]).tocsr()[np.where(rows >= 0, rows, H.shape[0])]
        cols, uinfo = user_columns(dataset, uids, Hq, pop, ranked, labels, "department")
        info.update(uinfo)
        for c in ("profile_pop", "list_pop", "miscalibration"):
            cols.pop(c, None)
    return cols, info, metrics
