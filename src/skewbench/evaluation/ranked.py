"""Scoring external runs (recommend / search): judged units and the catalogue indexed once, each
run turned into (units × depth) lists and evaluated by the recommend task's own list evaluation
(:func:`skewbench.tasks.recommend.evaluate.evaluate_lists`), so an external run gets every
metric a shipped model gets, computed by the same kernels."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from skewbench.data.runfiles import read_table
from skewbench.errors import SchemaError
from skewbench.runner.cell import CellResult

CUTOFFS = (5, 10, 20, 50)  # the recommend task's default cutoffs

# Metrics that need item popularity (``--train``); left out without it rather than computed on
# an all-zero popularity.
POPULARITY_METRICS = ("non_head_share", "awrf_popularity", "arp", "aplt", "aclt", "poprsp",
                      "popreo", "novelty", "popularity_lift")  # fmt: skip


@dataclass
class Judged:
    """Units (qrels order: sorted ids), the catalogue and the item / user side facts."""

    units: np.ndarray  # unit ids (str), row order of ``truth`` and of every run's lists
    items: np.ndarray  # item ids (str), column order
    truth: sp.csr_matrix  # units × items grades
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # grouping → label per item
    popularity: np.ndarray | None = None  # per item, from --train
    history: sp.csr_matrix | None = None  # units × items training pairs, from --train
    user_labels: dict[str, np.ndarray] = field(default_factory=dict)  # attribute → per unit
    catalogue_given: bool = False  # items come from --items (a run may not name others)


def item_labels(frame: pd.DataFrame, path: str, groupings: list[str]) -> dict[str, pd.Series]:
    """Groupings of an item table indexed by ``item``: ``brand``, ``manufacturer``,
    ``category`` (first level of ``category_path``, else the ``category`` column), ``price``
    (quartile bands) where present, plus every column named in ``groupings``."""
    from skewbench.data import groups as G

    if "item" not in frame.columns:
        raise SchemaError(path, f"an items file needs an 'item' column (found {list(frame)})")
    missing = [g for g in groupings if g not in frame.columns]
    if missing:
        raise SchemaError(path, f"--group {missing[0]}: no such column (found {list(frame)})")
    dup = frame["item"].duplicated().to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise SchemaError(f"{path} row {row + 1}", f"item {frame['item'].iloc[row]!r} again")
    index = pd.Index(frame["item"].astype(str).str.strip())
    out: dict[str, pd.Series] = {}

    def text(col: pd.Series) -> pd.Series:
        s = col.astype("string").str.strip()
        return s.mask(s == "")

    if "category_path" in frame.columns:
        top = text(frame["category_path"]).str.split(" > ", regex=False).str[0]
        out["category"] = pd.Series(G.column_groups(top.to_numpy()), index=index)
    for name in ("category", "brand", "manufacturer", *groupings):
        if name in frame.columns and name not in out and name != "price":
            out[name] = pd.Series(G.column_groups(text(frame[name]).to_numpy()), index=index)
    if "price" in frame.columns:
        price = pd.to_numeric(text(frame["price"]), errors="coerce").to_numpy(dtype=np.float64)
        out["price"] = pd.Series(G.price_bands(price, 4), index=index)
    return {k: v.where(v != "<NA>", G.UNKNOWN) for k, v in out.items()}


def train_frame(path: str) -> pd.DataFrame:
    """``--train``: interactions (``unit``, ``item``) or per-item ``popularity`` (``item``,
    ``popularity``); returned as (unit or None, item, popularity or None)."""
    frame = read_table(Path(path))
    if "item" not in frame.columns or not {"unit", "popularity"} & set(frame.columns):
        raise SchemaError(
            path,
            "--train needs 'unit' and 'item' columns (interactions) or 'item' and 'popularity' "
            f"(found {list(frame.columns)})",
        )
    return frame


def judged(
    qrels: pd.DataFrame,
    runs: dict[str, pd.DataFrame],
    *,
    items: pd.DataFrame | None = None,
    items_path: str = "--items",
    groupings: list[str] | None = None,
    train: pd.DataFrame | None = None,
    train_path: str = "--train",
    users: pd.DataFrame | None = None,
    users_path: str = "--users",
) -> Judged:
    """Index units and items, build the truth matrix and the item / user facts."""
    units = np.sort(qrels["unit"].unique().astype(str))
    labels_by_item: dict[str, pd.Series] = {}
    if items is not None:
        labels_by_item = item_labels(items, items_path, list(groupings or []))
        catalogue = items["item"].astype(str).str.strip().to_numpy()
        extra = np.setdiff1d(qrels["item"].unique(), catalogue)  # judged, not in --items
        all_items = np.concatenate([catalogue, extra])
    else:
        seen = [qrels["item"].to_numpy()] + [r["item"].to_numpy() for r in runs.values()]
        all_items = np.unique(np.concatenate(seen).astype(str))
    item_index = pd.Index(all_items)
    rows = np.searchsorted(units, qrels["unit"].to_numpy())
    cols = item_index.get_indexer(qrels["item"].to_numpy())
    truth = sp.csr_matrix(
        (qrels["grade"].to_numpy(dtype=np.float64), (rows, cols)),
        shape=(units.size, all_items.size),
    )
    truth.sort_indices()
    labels = {k: v.reindex(item_index).fillna("unknown").to_numpy(dtype=object)
              for k, v in labels_by_item.items()}  # fmt: skip
    out = Judged(units, all_items, truth, labels, catalogue_given=items is not None)
    if train is not None:
        _add_train(out, train, train_path, item_index)
    if users is not None:
        out.user_labels = _user_labels(users, users_path, units)
    return out


def _add_train(out: Judged, train: pd.DataFrame, path: str, item_index: pd.Index) -> None:
    """Popularity = distinct training units per item (as the recommend task counts it), or the
    given ``popularity`` column; the history (for popularity lift) when units are given."""
    col = item_index.get_indexer(train["item"].astype(str).str.strip().to_numpy())
    known = col >= 0  # training items outside the catalogue cannot be exposed: ignored
    if "unit" in train.columns:
        unit_ids = train["unit"].astype(str).str.strip().to_numpy()
        all_units = np.unique(unit_ids)
        B = sp.csr_matrix(
            (np.ones(known.sum()), (np.searchsorted(all_units, unit_ids[known]), col[known])),
            shape=(all_units.size, item_index.size),
        )
        B.sum_duplicates()
        B.data[:] = 1.0
        out.popularity = np.bincount(B.indices, minlength=item_index.size).astype(np.float64)
        where = pd.Index(all_units).get_indexer(out.units)  # judged units' rows, -1 = none
        padded = sp.vstack([B, sp.csr_matrix((1, item_index.size))]).tocsr()
        out.history = padded[np.where(where >= 0, where, all_units.size)]
    else:
        values = pd.to_numeric(train["popularity"], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise SchemaError(
                f"{path} row {row + 1}",
                f"popularity {train['popularity'].iloc[row]!r} is not a non-negative number",
            )
        pop = np.zeros(item_index.size)
        np.add.at(pop, col[known], values[known])
        out.popularity = pop


def _user_labels(users: pd.DataFrame, path: str, units: np.ndarray) -> dict[str, np.ndarray]:
    """Every column but ``unit`` of ``--users`` as a grouping of the judged units ("unknown"
    for units the file does not list)."""
    from skewbench.data.groups import UNKNOWN, column_groups

    if "unit" not in users.columns or len(users.columns) < 2:
        raise SchemaError(
            path, f"--users needs a 'unit' column and attribute columns (found {list(users)})"
        )
    table = users.assign(unit=users["unit"].astype(str).str.strip()).drop_duplicates("unit")
    table = table.set_index("unit").reindex(pd.Index(units))
    return {
        str(c): np.where(table[c].isna(), UNKNOWN, column_groups(table[c].to_numpy()))
        for c in table.columns
    }


def lists_of(run: pd.DataFrame, name: str, path: str, data: Judged, depth: int) -> np.ndarray:
    """(units × depth) item indices of a read run (:func:`read_run` order), -1 padding; units
    the run leaves out get an empty list (they score 0, as in trec_eval)."""
    from skewbench.data.runfiles import known_index

    tag = f" (run {name})"
    fix = "is not in the qrels; evaluate only judged units (remove its lines or judge it)"
    rows = known_index(run, path, "unit", pd.Index(data.units), fix, tag)
    fix = "is not in --items; add it to the items file or remove it from the run"
    cols = known_index(run, path, "item", pd.Index(data.items), fix, tag)
    keep = run["rank"].to_numpy() <= depth
    lists = np.full((data.units.size, depth), -1, dtype=np.int64)
    lists[rows[keep], run["rank"].to_numpy()[keep] - 1] = cols[keep]
    return lists


def score_run(
    lists: np.ndarray, data: Judged, task: str, k: int, cutoffs: tuple[int, ...]
) -> CellResult:
    """Per-unit and cell metrics of one run's lists (the recommend task's list evaluation)."""
    from skewbench.data.groups import popularity_groups
    from skewbench.metrics.calibration import popularity_lift
    from skewbench.tasks.recommend.data import Data
    from skewbench.tasks.recommend.evaluate import evaluate_lists

    n_units, n_items = data.truth.shape
    have_pop = data.popularity is not None
    pop = data.popularity if data.popularity is not None else np.zeros(n_items)
    pop_label = popularity_groups(pop) if have_pop else np.full(n_items, "tail", dtype=object)
    long_tail = (pop_label != "head").astype(np.int64)
    X = data.history if data.history is not None else sp.csr_matrix((n_units, n_items))
    labels = dict(data.labels)
    category = labels.get("category", np.full(n_items, "unknown", dtype=object))
    facts = Data(
        name="evaluate",
        params={},
        interactions=pd.DataFrame(columns=["user_id", "item_id", "timestamp", "weight"]),
        users=data.units,
        items=data.items,
        item_text=data.items,
        labels=labels,
        category=category,
        user_groups=np.full(n_units, "all", dtype=object),
        info={},
    )
    eval_rows = np.arange(n_units)
    opts = {"exposure_k": k, "cutoffs": list(cutoffs)}
    with warnings.catch_warnings():  # AWRF without popularity (dropped below) warns
        warnings.simplefilter("ignore", RuntimeWarning)
        per_unit, metrics = evaluate_lists(
            facts,
            X,
            data.truth,
            eval_rows,
            lists[:, None, :],
            pop,
            pop_label,
            long_tail,
            None,
            opts,
        )
    unit_col = "user_id" if task == "recommend" or data.user_labels else "query_id"
    units = pd.DataFrame({"unit": data.units, "n_test": np.diff((data.truth > 0).indptr)})
    if unit_col == "user_id" and task == "search":
        units["query_id"] = data.units
    units[unit_col] = data.units
    info: dict[str, Any] = {"n_units": int(n_units), "n_items": int(n_items)}
    extra: dict[str, Any] = {}
    if have_pop and data.history is not None:
        from skewbench.pipeline.facts import recommend_facts

        extra, more = recommend_facts(facts, X, eval_rows, pop, pop_label, lists, k, None)
        info.update(more)
        metrics["popularity_lift"] = popularity_lift(extra["profile_pop"], extra["list_pop"])
    else:
        extra = {"ranked": [r[r >= 0].tolist() for r in lists]}
    extra.update({f"ug_{a}": v for a, v in data.user_labels.items()})
    units = pd.concat(
        [units, pd.DataFrame(per_unit), pd.DataFrame(extra, index=units.index)], axis=1
    )
    if not have_pop:
        drop = [m for m in metrics if _needs_popularity(m)]
        metrics = {m: v for m, v in metrics.items() if m not in drop}
        units = units.drop(columns=[c for c in units.columns if _needs_popularity(c)])
    info["n_eval_users"] = int(n_units)
    return CellResult(metrics=metrics, units=units, info=info)


def _needs_popularity(name: str) -> bool:
    return name in POPULARITY_METRICS or "popularity" in name
