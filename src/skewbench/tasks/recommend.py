"""The recommendation task: top-k recommendation under item-popularity imbalance.

Pipeline of one cell (a pure function of the cell):

1. Data (``dataset.params``; cached per process):
   - ``completejourney``: household × product purchases (FUEL / coupon lines removed by the
     loader), one row per pair (weight = purchase lines). Iterative k-core on distinct pairs:
     every household ≥ ``user_k`` (default 10) products and every product ≥ ``item_k`` (default
     30) households — this bounds the catalog so EASE's dense items × items fits (sizes in
     ``info["kcore"]``). Split ``split="temporal"`` (default): a global time cut at the 80 %
     quantile of first-purchase times (``test_frac``), so test = (household, product) pairs first
     bought after the cut, cold users/items dropped; or ``split="ratio"``: per-user random 80/20.
     ``feedback="binary"`` (default) trains on 1/0, ``"count"`` on purchase counts.
   - ``movielens100k``: ratings ≥ 4 are the (binary) interactions, per-user random 80/20 split
     (``test_frac``), no k-core (``user_k``/``item_k`` default 1).
2. Controlled imbalance at a fixed training size: ``cell.imbalance`` = target item-popularity
   Gini (normaliser n, over the items present in train) of the TRAIN interactions only; test
   untouched. Every level of an experiment's sweep (``options.imbalance_levels``, set by the
   grid) trains on the same number of interactions n_train = the smallest of the sizes
   ``subsample_to_gini`` keeps for each level (data-side stream ``imbalance`` of that level;
   a natural level ``null`` in the sweep supplies the whole training split). Each level is then
   drawn at exactly n_train by ``subsample_to_gini_at_size``; the matched control
   (``cell.control == "uniform"``) and the natural level are one uniform random subsample of
   n_train (data-side stream ``control``, the same for every level of the replicate). A level
   that cannot be reached is refused by ``check`` (at validation, before any work) with the
   reachable range in the message; this loads the data set and is cached per process.
3. Validation (only for a model with ``tune:``): carved from the (subsampled) training split by
   the data set's protocol — Complete Journey temporal (the training interactions first bought
   in the last ``val_frac`` of the training period by time, cold pairs dropped), MovieLens
   per-user random (``val_frac`` of each user's training items, data-side stream
   ``validation``). Each trial fits on train-minus-validation and is scored by the validation
   metric (default ndcg@10) over users with a validation item; the chosen values are refit on
   the whole training split (``refit: true``) before test is touched, once. Tuning is done for
   the model without its treatment (training treatments ``ips``/``pop_negatives`` use the
   untreated model's tuned values, so a treatment cell changes one factor) and is reused by
   every re-ranker cell of the same base model. ``info["tuning"]`` holds chosen values and every
   trial's score.
4. Model (``MODELS``) fitted on the train matrix with seed ``cell.seed_int("model")``; full
   ranking over all items with the user's training items excluded (``topk(..., exclude=)``).
5. Treatment (``TREATMENTS``): ``ips`` / ``pop_negatives`` change BPR's training; re-rankers take
   the base model's top-``candidates`` (default 100) and produce the top-``k`` list. Caps of a
   re-ranker cell in ``info``: ``candidate_pool_size``, ``protected_group`` and
   ``share_units_no_protected_in_pool`` (share of evaluated users whose candidate pool holds no
   item of the protected group, so no re-ranker can show them one).
6. Metrics over test users with ≥ 1 test item: ``ndcg/recall/precision/hit_rate/map/mrr @
   cutoffs`` (default 5, 10, 20, 50), and at depth ``exposure_k`` (default 10)
   the exposure and diversity families, per-group exposure and relevance shares and
   ``tail_share`` (share of list slots given to long-tail = non-head items).

Item popularity = distinct training users; head/mid/tail by ``popularity_groups`` (head: the
most popular items holding 50 % of training interactions; tail: the least popular holding 20 %).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import resource
import time
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from skewbench.errors import ConfigError
from skewbench.runner.cell import Cell, CellResult, Component
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
)
TUNABLE = True  # models may carry `tune:` (skewbench.tuning)
SIZE_MATCHED_SWEEPS = True  # the grid passes a sweep's levels as options["imbalance_levels"]
DEFAULT_TUNE_METRIC = "ndcg@10"
TREATMENTS: tuple[str, ...] = TREATMENT_NAMES  # declared once, in the specs
DATASETS: tuple[str, ...] = ("completejourney", "movielens100k", "table")
POLICIES: tuple[str, ...] = ("plackett_luce",)  # stochastic list-side policies
LIST_SIDE: tuple[str, ...] = RERANKERS + POLICIES  # re-use the untreated model's candidates
RANKING_METRICS: tuple[str, ...] = ("ndcg", "recall", "precision", "hit_rate", "map", "mrr")

_DATASET_PARAMS: dict[str, dict[str, Any]] = {
    "completejourney": {
        "user_k": 10,
        "item_k": 30,
        "split": "temporal",
        "test_frac": 0.2,
        "val_frac": 0.2,
        "feedback": "binary",
    },
    "movielens100k": {
        "user_k": 1,
        "item_k": 1,
        "split": "ratio",
        "test_frac": 0.2,
        "val_frac": 0.2,
        "min_rating": 4,
    },
    "table": {
        "catalog": None,
        "user_k": 1,
        "item_k": 1,
        "split": "ratio",
        "test_frac": 0.2,
        "val_frac": 0.2,
        "feedback": "binary",
    },
}


# --------------------------------------------------------------------------------------------
# config


def _options(cell: Cell) -> dict[str, Any]:
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


def _dataset_params(cell: Cell) -> dict[str, Any]:
    """The data set's parameters with the defaults filled in (validated by :func:`check`)."""
    name = cell.dataset.name
    if name not in DATASETS:
        raise ConfigError(f"dataset.name: {name!r} is not one of {DATASETS} for task recommend")
    return {**_DATASET_PARAMS[name], **cell.dataset.params}


def check(cell: Cell) -> None:
    """Refuse a cell that cannot run, naming every bad field, before any work."""
    from skewbench.specs.validate import cell_errors, raise_errors

    if cell.task != "recommend":
        raise ConfigError(f"task: {cell.task!r} is not 'recommend'")
    errors, incompatible = cell_errors(cell)
    if not errors:
        errors += _catalog_bound_errors(cell)
    if cell.imbalance is not None and not 0 <= float(cell.imbalance) < 1:
        errors.append(f"target_gini: a target Gini in [0, 1) expected, got {cell.imbalance!r}")
        incompatible = False
    if (
        cell.dataset.name == "table"
        and cell.dataset.params.get("catalog") is None
        and _needs_embeddings(cell)
    ):
        errors.append(
            f"dataset.params.catalog: {cell.model.label} / {cell.treatment.label} embed the "
            "items' text, and a table data set without a catalog has none"
        )
        incompatible = incompatible or len(errors) == 1
    raise_errors(errors, incompatible)
    if cell.control not in (None, "uniform"):
        raise ConfigError(f"control: only 'uniform' is known, got {cell.control!r}")
    if cell.control is not None and cell.imbalance is None:
        raise ConfigError("control: a matched control needs an imbalance level")
    if cell.tune is not None:
        _tune_plan(cell)
    if _options(cell)["levels"] is not None:
        _sweep_plan(cell)  # loads the data: refuses an unreachable level before any work


def _model_class(name: str) -> type:
    from skewbench.models import recommend as R

    classes = {"itemknn": R.ItemKNN, "ease": R.EASE, "als": R.ALS, "bpr": R.BPR}
    if name == "sasrec":
        from skewbench.models.recommend.sasrec import SASRec

        return SASRec
    if name == "two_tower":
        from skewbench.models.recommend.two_tower import TwoTowerText

        return TwoTowerText
    return classes.get(name, R.Recommender)


_SEEDED_MODELS = (
    "als",
    "bpr",
    "sasrec",
    "two_tower",
)  # trial fits depend on the seed; EASE / ItemKNN do not


def _tune_plan(cell: Cell) -> tuple[Any, Any, str, int]:
    """(space, settings, metric name, metric cutoff) of a tuned cell; ConfigError if invalid."""
    from skewbench.tuning import Range, TuneSettings, candidates, parse_space

    req = dict(cell.tune or {})
    declared = _model_class(cell.model.name).tune_space
    if not declared:
        tunable = [n for n in MODELS if _model_class(n).tune_space]
        raise ConfigError(
            f"model.tune: model {cell.model.name!r} has no tunable parameters (tunable: {tunable})"
        )
    space = parse_space(req.get("space"), declared, fixed=cell.model.params, what="model")
    try:
        settings = TuneSettings.model_validate({k: v for k, v in req.items() if k != "space"})
    except Exception as err:
        raise ConfigError(f"tune: {err}") from None
    metric = settings.metric or DEFAULT_TUNE_METRIC
    name, _, cut = metric.partition("@")
    if name not in RANKING_METRICS or not cut.isdigit() or int(cut) < 1:
        raise ConfigError(
            f"tune.metric: {metric!r} is not <metric>@<k> with metric one of {RANKING_METRICS}"
        )
    # Every candidate must build (ranges, types): refuse now rather than mid-search.
    probes = candidates(space, settings.method, settings.trials, np.random.default_rng(0))
    for key, value in space.items():
        if isinstance(value, Range):
            lo, hi = (int(value.low), int(value.high)) if value.int else (value.low, value.high)
            probes += [{key: lo}, {key: hi}]
    for params in probes:
        _build_model(cell.model.name, {**cell.model.params, **params}, Component("none"), None)
    return space, settings, name, int(cut)


def _catalog_bound_errors(cell: Cell) -> list[str]:
    """k / candidates longer than the catalog (a k of 10⁶ would allocate users × k)."""
    from skewbench.data.sources import get_info

    sizes = get_info(cell.dataset.name).sizes
    n_items = sizes.get("items", sizes.get("products"))
    if n_items is None:
        return []
    opts = _options(cell)
    return [
        f"options.{name}: {opts[name]} is longer than the catalog of {cell.dataset.name} "
        f"({n_items} items before filtering); choose {name} <= {n_items}"
        for name in ("k", "candidates")
        if opts[name] > n_items and (name == "k" or "candidates" in cell.options)
    ]


def _rerank_kwargs(name: str, params: dict[str, Any]) -> dict[str, Any]:
    kw = {k: v for k, v in params.items() if k not in ("groups", "group", "target", "similarity")}
    if name == "fair":
        kw["protected"] = 1  # the protected group's code (see _target_groups)
    return kw


PROTECTED = {"popularity": "long_tail", "brand": "Private", "manufacturer": "tail"}


def _target_groups(
    family: str, data: Data, long_tail: np.ndarray, binary: bool
) -> tuple[np.ndarray, str]:
    """Item group codes a re-ranker targets, and the name of what it promotes.

    ``popularity``: 1 = long tail (mid + tail by training popularity), 0 = head. Other
    families come from the catalog: with ``binary`` (FA*IR) 1 = the protected value
    (brand Private, manufacturer tail), else one code per group value.
    """
    from skewbench.data.groups import group_codes

    if family == "popularity":
        return long_tail, "long_tail"
    if family not in data.labels:
        raise ConfigError(
            f"treatment.params.group: {family!r} is not an item grouping of "
            f"{data.name} (available: popularity, {', '.join(sorted(data.labels))})"
        )
    labels = np.asarray(data.labels[family]).astype(str)
    if binary:
        if family not in PROTECTED:
            raise ConfigError(
                f"treatment.params.group: FA*IR needs a protected group; {family!r} has none "
                f"(choose one of {sorted(PROTECTED)})"
            )
        return (labels == PROTECTED[family]).astype(np.int64), f"{family}={PROTECTED[family]}"
    return group_codes(labels)[0], f"{family} groups"


def _aspect_weights(
    target: str, codes: np.ndarray, X: sp.csr_matrix, users: np.ndarray
) -> np.ndarray:
    """xQuAD's P(group | user): the user's history share (``history``), uniform over groups
    (``uniform``) or the groups' catalog shares (``catalog``)."""
    n_groups = int(codes.max()) + 1
    if target == "history":
        return _history_share(X, codes, n_groups)[users]
    share = (
        np.full(n_groups, 1.0 / n_groups)
        if target == "uniform"
        else np.bincount(codes, minlength=n_groups) / codes.size
    )
    return np.broadcast_to(share, (users.size, n_groups)).copy()


# --------------------------------------------------------------------------------------------
# data


class Data:
    """A dataset ready for one replicate: index maps, catalog groups, train/test matrices."""

    def __init__(self, **kw: Any):
        self.__dict__.update(kw)


def _freeze(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    from skewbench.data.sources.table import freeze

    return freeze(params)


@lru_cache(maxsize=4)
def _load(name: str, frozen: tuple[tuple[str, Any], ...]) -> Data:
    """Interactions after filtering/k-core, indexed items and their group labels."""
    from skewbench.data import groups as G
    from skewbench.data.prepare import binarize, kcore

    p = dict(frozen)
    t0 = time.perf_counter()
    user_table = None
    if name == "table":
        from skewbench.data.sources.table import recommend_frames

        inter, catalog = recommend_frames(p)
    elif name == "completejourney":
        from skewbench.data.sources import completejourney as src

        inter = src.load_purchases(aggregate=True)
        catalog = src.load_products()
        demo = src.load_demographics()
        user_table, user_col = demo, "income"
    else:
        from skewbench.data.sources import movielens as src

        inter = binarize(src.load_ratings(), "rating", float(p["min_rating"]))
        catalog = src.load_items()
        user_table, user_col = src.load_users(), "gender"
    n_raw = (len(inter), inter["user_id"].nunique(), inter["item_id"].nunique())
    inter, steps = kcore(inter, int(p["user_k"]), int(p["item_k"]), return_steps=True)
    items = np.sort(inter["item_id"].unique())
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
        labels = _table_labels(cat)
        category = labels.get("category", np.full(items.size, G.UNKNOWN, dtype=object))
    if user_table is None:
        user_groups = np.full(users.size, "all", dtype=object)
    else:
        user_groups = G.user_groups(users, user_table, user_col)
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
        "load_s": round(time.perf_counter() - t0, 3),
    }
    # Integer user/item codes (indices into ``users``/``items``): splitting and matrix building
    # on ints is much faster than on Arrow strings (pandas' string isin is a Python loop).
    coded = pd.DataFrame(
        {
            "user_id": np.searchsorted(users, inter["user_id"].to_numpy()),
            "item_id": np.searchsorted(items, inter["item_id"].to_numpy()),
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
        info=info,
    )


def _table_labels(cat: pd.DataFrame) -> dict[str, np.ndarray]:
    """Item groups of a user catalog: category (first level of the path), brand,
    manufacturer as given, price in quartile bands — each only if the column has values."""
    from skewbench.data import groups as G

    labels: dict[str, np.ndarray] = {}
    top = cat["category_path"].str.split(" > ", regex=False).str[0]
    for name, values in (
        ("category", top),
        ("brand", cat["brand"]),
        ("manufacturer", cat["manufacturer"]),
    ):
        if values.notna().any():
            labels[name] = G.column_groups(values.to_numpy())
    if cat["price"].notna().any():
        labels["price"] = G.price_bands(cat["price"].to_numpy(), 4)
    return labels


def _matrix(df: pd.DataFrame, shape: tuple[int, int], weight: bool) -> sp.csr_matrix:
    """CSR (users × items) from coded interactions; weights summed over duplicate pairs."""
    w = df["weight"].to_numpy(dtype=np.float32) if weight else np.ones(len(df), np.float32)
    X = sp.csr_matrix(
        (w, (df["user_id"].to_numpy(), df["item_id"].to_numpy())), shape=shape, dtype=np.float32
    )
    X.sum_duplicates()
    if not weight:
        X.data[:] = 1.0
    return X


def load_split(cell: Cell) -> tuple[Data, sp.csr_matrix, sp.csr_matrix, dict[str, Any]]:
    """(data, train matrix, test truth matrix, info) for the cell's dataset, replicate,
    imbalance level and control. Shared by every model and treatment of a replicate
    (data-side streams)."""
    data, X, T, info, _ = _split(cell)
    return data, X, T, info


def _full_split(cell: Cell) -> tuple[Data, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The replicate's train / test interactions before any imbalance subsampling (cached)."""
    from skewbench.data.split import per_user_ratio_split, temporal_split

    p = _dataset_params(cell)
    key = (cell.dataset.name, _freeze(p), cell.master_seed, *cell.data_keys())
    if key in _FULL_CACHE:
        return _FULL_CACHE[key]
    data = _load(cell.dataset.name, _freeze(p))
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


_FULL_CACHE: dict[tuple[Any, ...], Any] = {}
_PLAN_CACHE: dict[tuple[Any, ...], dict[str, Any]] = {}


def _level_rng(cell: Cell, level: float | None, stream: str) -> np.random.Generator:
    return dataclasses.replace(cell, imbalance=level).rng(stream, data_side=True)


def _sweep_plan(cell: Cell) -> dict[str, Any]:
    """The replicate's sweep: common training size and the kept training rows of each level.

    Raises ConfigError (before any work) when a level cannot be reached, with the reachable
    range. Cached per (data set, replicate, levels).
    """
    from skewbench.data.imbalance import (
        gini,
        max_reachable_gini,
        subsample_to_gini,
        subsample_to_gini_at_size,
    )

    levels = _options(cell)["levels"]
    p = _dataset_params(cell)
    key = (cell.dataset.name, _freeze(p), cell.master_seed, *cell.data_keys(), levels)
    if key in _PLAN_CACHE:
        return _PLAN_CACHE[key]
    _, train, _, _ = _full_split(cell)
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
            kept, _ = subsample_to_gini(items, level, _level_rng(cell, level, "imbalance"))
        except ValueError:
            top, _ = max_reachable_gini(items, _level_rng(cell, level, "imbalance"))
            raise ConfigError(
                f"imbalance: target Gini {level:g} is not reachable {where}: the training "
                f"split's Gini is {natural:.4f} (the smallest reachable) and subsampling reaches "
                f"at most {top:.4f}"
            ) from None
        sizes[level] = int(kept.size)
    n = min(sizes.values())
    kept_at: dict[float | None, np.ndarray] = {}
    achieved: dict[float | None, float] = {}
    control, g_control = subsample_to_gini_at_size(
        items, None, n, _level_rng(cell, None, "control")
    )
    for level in levels:
        if level is None:
            kept_at[level], achieved[level] = control, g_control
            continue
        try:
            kept_at[level], achieved[level] = subsample_to_gini_at_size(
                items, level, n, _level_rng(cell, level, "imbalance")
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


def _split_key(cell: Cell) -> tuple[Any, ...]:
    levels = _options(cell)["levels"]
    return (cell.master_seed, *cell.data_keys(), cell.imbalance, cell.control, levels)


_SPLIT_CACHE: dict[tuple[Any, ...], Any] = {}


def _split(cell: Cell):
    """(data, train X, test T, info, train rows) of the cell's condition (cached)."""
    from skewbench.data.imbalance import gini

    key = _split_key(cell)
    if key in _SPLIT_CACHE:
        return _SPLIT_CACHE[key]
    data, train, test, split_info = _full_split(cell)
    p = data.params
    info: dict[str, Any] = {**split_info, "train_rows_full": len(train)}
    counts = np.bincount(train["item_id"].to_numpy())
    info["train_gini_before"] = gini(counts[counts > 0])
    levels = _options(cell)["levels"]
    if levels is not None:
        plan = _sweep_plan(cell)
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
    X = _matrix(train, shape, weighted)
    T = _matrix(test, shape, False)
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

    data, _, _, _, train = _split(cell)
    key = ("validation", *_split_key(cell))
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
    F = _matrix(fit, shape, p.get("feedback", "binary") == "count")
    V = _matrix(val, shape, False)
    V = sp.csr_matrix(V - V.multiply(F > 0))
    V.eliminate_zeros()
    info.update({"val_frac": frac, "fit_rows": int(F.nnz), "val_rows": int(V.nnz)})
    out = (F, V, info)
    _VAL_CACHE.clear()
    _VAL_CACHE[key] = out
    return out


_VAL_CACHE: dict[tuple[Any, ...], Any] = {}


# --------------------------------------------------------------------------------------------
# models


def _build_model(
    name: str,
    params: dict[str, Any],
    treatment: Any,
    embeddings: np.ndarray | None,
    data: Data | None = None,
):
    from skewbench.tasks.recommend_models import build_model

    return build_model(name, params, treatment, data, embeddings)


def _needs_embeddings(cell: Cell) -> bool:
    from skewbench.tasks.recommend_models import needs_embeddings

    return needs_embeddings(cell.model, cell.treatment)


def item_embeddings(data: Data) -> np.ndarray:
    """MiniLM embeddings of the items' text (catalog order), via the on-disk encoder cache."""
    from skewbench import encoders

    return np.asarray(encoders.encode(list(data.item_text)), dtype=np.float32)


def prepare(cells: list[Cell]) -> None:
    """Load each data set once and fill the embedding cache for content/hybrid/MMR cells."""
    done: set[tuple[Any, ...]] = set()
    for cell in cells:
        check(cell)
        key = (cell.dataset.name, _freeze(_dataset_params(cell)))
        if key in done:
            continue
        done.add(key)
        from skewbench.progress import step

        with step(f"recommend: loading {cell.dataset.label}"):
            data = _load(*key)
        if any(_needs_embeddings(c) and c.dataset == cell.dataset for c in cells):
            item_embeddings(data)


# --------------------------------------------------------------------------------------------
# run


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _history_share(X: sp.csr_matrix, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """(users × groups) share of each user's training items in each group (binary history)."""
    B = X.copy()
    B.data[:] = 1.0
    onehot = sp.csr_matrix(
        (np.ones(codes.size), (np.arange(codes.size), codes)), shape=(codes.size, n_groups)
    )
    counts = np.asarray((B @ onehot).todense(), dtype=np.float64)
    total = counts.sum(1, keepdims=True)
    return counts / np.where(total > 0, total, 1.0)


# Base rankings of the cells run last in this process. A re-ranker never changes training, so
# every re-ranker cell of a replicate re-uses the base model's candidates instead of refitting.
_BASE_CACHE: dict[str, dict[str, Any]] = {}
_BASE_CACHE_SIZE = 2
# Tuning results of this process, keyed by what they depend on (data fingerprint, model, space,
# settings, trial seed), so cells sharing a base model — re-rankers, training treatments, and
# for seed-free models (EASE, ItemKNN) replicates with identical training data — tune once.
_TUNE_CACHE: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
_TUNE_CACHE_SIZE = 8


def _base_cell(cell: Cell) -> Cell:
    """The cell whose model a re-ranker cell re-ranks: same everything, treatment ``none``."""
    if cell.treatment.name not in LIST_SIDE:
        return cell
    return dataclasses.replace(cell, treatment=Component("none"))


def _reuse_key(cell: Cell, depth: int) -> str | None:
    """Cells of a causal treatment that differ only in its inference knob share one fit."""
    from skewbench.tasks.recommend_models import INFERENCE_KNOBS

    knob = INFERENCE_KNOBS.get(cell.treatment.name)
    if knob is None:
        return None
    params = {k: v for k, v in cell.treatment.params.items() if k != knob}
    return dataclasses.replace(cell, treatment=Component(cell.treatment.name, params)).key


def _rank(
    model: Any, X: sp.csr_matrix, users: np.ndarray, depth: int, with_scores: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Top-``depth`` items per user (training items of ``X`` excluded), optionally scores."""
    from skewbench.metrics.topk import topk

    ranked_parts, score_parts = [], []
    for start in range(0, users.size, 512):
        u = users[start : start + 512]
        S = model.score(u)
        top = topk(S, depth, exclude=X[u])
        ranked_parts.append(top)
        if with_scores:
            s = np.take_along_axis(S, np.maximum(top, 0), axis=1).astype(np.float64)
            score_parts.append(np.where(top >= 0, s, -np.inf))
    ranked = np.concatenate(ranked_parts) if ranked_parts else np.zeros((0, depth), np.int64)
    return ranked, (np.concatenate(score_parts) if score_parts else None)


def _fingerprint(*mats: sp.csr_matrix) -> str:
    h = hashlib.sha256()
    for M in mats:
        h.update(repr(M.shape).encode())
        for arr in (M.indptr, M.indices, M.data):
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _tune(cell: Cell, embeddings: np.ndarray | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(chosen parameters, ``info["tuning"]``) of a tuned cell, on its validation split.

    Memoised in this process and on disk (``$SKEWBENCH_CACHE/tuning``) under a key of
    everything the result depends on: fit and validation data, validation users, model and
    fixed parameters, the tuning request, the candidate list, the trial seed (ALS / BPR only)
    and a digest of the code."""
    from skewbench.tuning import candidates

    space, settings, _, _ = _tune_plan(cell)
    untreated = dataclasses.replace(cell, treatment=Component("none"))
    F, V, val_info = validation_split(cell)
    seed = untreated.seed_int("tune") if cell.model.name in _SEEDED_MODELS else 0
    val_users = np.flatnonzero(np.diff(V.indptr) > 0)
    max_users = _options(cell)["max_users"]
    if max_users is not None and val_users.size > max_users:
        sub = cell.rng("validation_users", data_side=True)
        val_users = np.sort(sub.choice(val_users, max_users, replace=False))
    trials = candidates(space, settings.method, settings.trials, untreated.rng("tune"))
    blob = json.dumps(
        [cell.model.to_dict(), cell.tune, trials, seed, _code_version()],
        sort_keys=True,
        default=str,
    )
    h = hashlib.sha256((_fingerprint(F, V) + blob).encode())
    h.update(val_users.tobytes())
    key = h.hexdigest()
    if key in _TUNE_CACHE:
        return _TUNE_CACHE[key]
    with _disk_tuning(key) as stored:
        if stored is not None:
            return _remember(key, stored)
        out = _search(cell, trials, F, V, val_info, val_users, seed, embeddings)
        _write_tuning(key, out)
    return _remember(key, out)


def _remember(key: str, out: tuple[dict[str, Any], dict[str, Any]]):
    while len(_TUNE_CACHE) >= _TUNE_CACHE_SIZE:
        _TUNE_CACHE.pop(next(iter(_TUNE_CACHE)))
    _TUNE_CACHE[key] = out
    return out


@lru_cache(maxsize=1)
def _code_version() -> str:
    """Digest of the code a tuning result depends on, so a stored result of older code is never
    reused (models, metrics, splits, this task, the search)."""
    from pathlib import Path

    import skewbench

    root = Path(skewbench.__file__).parent
    h = hashlib.sha256()
    for sub in ("models/recommend", "metrics", "data", "tasks/recommend.py", "tuning.py"):
        path = root / sub
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _tuning_dir():
    from skewbench.data.sources import cache_dir

    return cache_dir() / "tuning"


class _disk_tuning:
    """Lock the tuning result ``key`` on disk (other worker processes tuning the same base
    model wait and reuse it instead of repeating the search); yields the stored result or None.
    The store is only a memo: a result is a pure function of its key."""

    def __init__(self, key: str):
        self.key = key

    def __enter__(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        import fcntl

        d = _tuning_dir()
        d.mkdir(parents=True, exist_ok=True)
        self.lock = open(d / f"{self.key}.lock", "w")  # noqa: SIM115 - held until __exit__
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        path = d / f"{self.key}.json"
        if path.is_file():
            try:
                rec = json.loads(path.read_text())
                return rec["chosen"], rec["info"]
            except (ValueError, KeyError):
                return None
        return None

    def __exit__(self, *exc: object) -> None:
        import fcntl

        fcntl.flock(self.lock, fcntl.LOCK_UN)
        self.lock.close()


def _write_tuning(key: str, out: tuple[dict[str, Any], dict[str, Any]]) -> None:
    import os

    path = _tuning_dir() / f"{key}.json"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"chosen": out[0], "info": out[1]}, default=float))
    os.replace(tmp, path)  # atomic: a reader sees the whole record or none


def _search(
    cell: Cell,
    trials: list[dict[str, Any]],
    F: sp.csr_matrix,
    V: sp.csr_matrix,
    val_info: dict[str, Any],
    val_users: np.ndarray,
    seed: int,
    embeddings: np.ndarray | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit each candidate on ``F`` (train minus validation), score validation ``V``."""
    from skewbench.metrics.ranking import ranking_metrics
    from skewbench.tasks.recommend_models import fit_model
    from skewbench.tuning import evaluate_all

    _, settings, metric, cut = _tune_plan(cell)
    data = load_split(cell)[0]
    if val_users.size == 0:
        raise ConfigError(f"tune: the validation split of {cell.dataset.label} holds no user")
    fixed = dict(cell.model.params)
    truth = V[val_users]

    def evaluate(params: dict[str, Any]) -> float:
        model = _build_model(
            cell.model.name, {**fixed, **params}, Component("none"), embeddings, data
        )
        fit_model(model, F, seed, data)
        ranked, _ = _rank(model, F, val_users, cut, with_scores=False)
        values = ranking_metrics(ranked, truth, [metric], [cut])[f"{metric}@{cut}"]
        return float(np.nanmean(values))

    t0 = time.perf_counter()
    result = evaluate_all(trials, evaluate, settings=settings, metric=f"{metric}@{cut}")
    info = {
        **result.to_info(),
        "validation": {**val_info, "users": int(val_users.size)},
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return dict(result.chosen), info


def _base_ranking(
    cell: Cell,
    data: Data,
    X: sp.csr_matrix,
    eval_users: np.ndarray,
    depth: int,
    embeddings: np.ndarray | None,
) -> dict[str, Any]:
    """Top-``depth`` items (and their scores for re-rankers) of the fitted base model, with
    the fitted parameters, tuning record and timings.

    The model's seed comes from the base cell, so a re-ranked list and the base cell's list
    start from the very same fitted model — the paired comparison isolates the re-ranker.
    """
    from skewbench.tasks.recommend_models import fit_model

    base = _base_cell(cell)
    key = f"{base.key}:{depth}:{eval_users.size}"
    if key in _BASE_CACHE:
        return _BASE_CACHE[key]
    with_scores = cell.treatment.name in LIST_SIDE
    params, tuning, fit_X = dict(cell.model.params), None, X
    t0 = time.perf_counter()
    if cell.tune is not None:
        chosen, tuning = _tune(cell, embeddings)
        params.update(chosen)
        if not tuning["refit"]:
            fit_X = validation_split(cell)[0]
    tune_s = time.perf_counter() - t0
    model = _build_model(cell.model.name, params, base.treatment, embeddings, data)
    t0 = time.perf_counter()
    model = fit_model(model, fit_X, base.seed_int("model"), data, _reuse_key(cell, depth))
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ranked, scores = _rank(model, X, eval_users, depth, with_scores)
    out = {
        "ranked": ranked,
        "scores": scores,
        "params": params,
        "tuning": tuning,
        "n_train": int(fit_X.nnz),
        "tune_s": tune_s,
        "fit_s": fit_s,
        "score_s": time.perf_counter() - t0,
        "model_info": _model_info(model),
    }
    if with_scores:  # only re-ranker cells share a base ranking
        while len(_BASE_CACHE) >= _BASE_CACHE_SIZE:
            _BASE_CACHE.pop(next(iter(_BASE_CACHE)))
        _BASE_CACHE[key] = out
    return out


EE_PATIENCE = 0.5  # RBP patience of the expected-exposure browsing model
AWRF_P = 0.5  # attention on the first position (AWRF's geometric attention)


def _exposure_fairness(
    lists: np.ndarray, truth: sp.csr_matrix, pop_label: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-unit expected exposure (EE-L/D/R, Diaz et al. 2020) of the unit's (sampled) lists,
    and AWRF over popularity groups (head / mid / tail) against the groups' catalog shares."""
    from skewbench.metrics.expected_exposure import awrf, expected_exposure

    ee = expected_exposure(lists, truth, pop_label.size, patience=EE_PATIENCE)
    names, codes = np.unique(pop_label.astype(str), return_inverse=True)
    target = np.bincount(codes, minlength=names.size) / codes.size
    per_list = awrf(lists.reshape(-1, lists.shape[2]), codes, target, p=AWRF_P)
    return {
        "ee_l": ee["ee_l"],
        "ee_d": ee["ee_d"],
        "ee_r": ee["ee_r"],
        "awrf_popularity": np.nanmean(per_list.reshape(lists.shape[0], -1), axis=1),
    }


def _model_info(model: Any) -> dict[str, Any]:
    """What a fitted model reports about its own training (losses, LLM calls, …)."""
    if callable(getattr(model, "info", None)):
        return model.info()
    out: dict[str, Any] = {}
    if getattr(model, "history_", None) is not None:
        out["loss_per_epoch"] = [round(float(v), 6) for v in model.history_]
    if getattr(model, "train_info_", None) is not None:
        out.update(model.train_info_)
    return out


def _caps(
    name: str,
    params: dict[str, Any],
    ranked: np.ndarray,
    long_tail: np.ndarray,
    labels: np.ndarray | None,
    target: np.ndarray | None,
) -> dict[str, Any]:
    """What caps a re-ranker (INTERFACES §1): pool size, protected group, users with none of it.

    xQuAD / FA*IR promote the long tail (non-head items): the share counts users whose pool has
    no long-tail item. Calibration matches each user's history over ``groups``: it counts users
    whose pool lacks a group of their own history. MMR diversifies over categories: it counts
    users whose pool holds a single category. Every re-ranker also gets the long-tail share.
    """
    valid = ranked >= 0
    idx = np.maximum(ranked, 0)
    no_tail = ~(valid & (long_tail[idx] == 1)).any(1)
    out: dict[str, Any] = {
        "candidate_pool_size": int(ranked.shape[1]),
        "candidate_pool_size_min": int(valid.sum(1).min()) if ranked.shape[0] else 0,
        "share_units_no_long_tail_in_pool": float(no_tail.mean()) if no_tail.size else 0.0,
    }
    if name in ("xquad", "fair"):
        lab = labels if labels is not None else long_tail
        g = np.where(valid, lab[idx], -1)
        if lab.max(initial=0) <= 1:  # binary: 1 = the promoted group
            lacking = ~(g == 1).any(1)
        else:  # several groups: a pool of one group leaves nothing to diversify
            lacking = ((g == g[:, :1]) | (g < 0)).all(1)
        out["protected_group"] = "long_tail"
        out["share_units_no_protected_in_pool"] = float(lacking.mean()) if lacking.size else 0.0
    elif name == "calibrated":
        assert labels is not None and target is not None
        n_groups = target.shape[1]
        present = np.zeros((ranked.shape[0], n_groups), dtype=bool)
        rows = np.repeat(np.arange(ranked.shape[0]), ranked.shape[1])
        present[rows[valid.ravel()], labels[idx].ravel()[valid.ravel()]] = True
        lacking = ((target > 0) & ~present).any(1)
        out["protected_group"] = f"history_groups={params.get('groups', 'default')}"
        out["share_units_no_protected_in_pool"] = float(lacking.mean()) if lacking.size else 0.0
    else:  # mmr
        assert labels is not None
        lab = np.where(valid, labels[idx], -1)
        first = lab[:, :1]
        single = ((lab == first) | (lab < 0)).all(1)
        out["protected_group"] = "category_diversity"
        out["share_units_no_protected_in_pool"] = float(single.mean()) if single.size else 0.0
    return out


def run(cell: Cell) -> CellResult:
    """Run one cell (see the module docstring)."""
    from skewbench.data.groups import group_codes, item_popularity_matrix, popularity_groups
    from skewbench.metrics.diversity import diversity_metrics
    from skewbench.metrics.exposure import exposure_metrics, list_item_stats, position_weights
    from skewbench.metrics.ranking import ranking_metrics
    from skewbench.treatments.rerank import rerank

    check(cell)
    t_start = time.perf_counter()
    opts = _options(cell)
    data, X, T, split_info = load_split(cell)
    t_data = time.perf_counter() - t_start

    # Evaluation users: at least one test item (and, by construction, in the k-core).
    eval_users = np.flatnonzero(np.diff(T.indptr) > 0)
    if opts["max_users"] is not None and eval_users.size > opts["max_users"]:
        # keyed without the imbalance level: every level and control of a replicate is
        # evaluated on the same users (the test split does not depend on the level)
        sub = _level_rng(cell, None, "eval_users")
        eval_users = np.sort(sub.choice(eval_users, opts["max_users"], replace=False))
    pop = item_popularity_matrix(X)
    pop_label = popularity_groups(pop)
    long_tail = (pop_label != "head").astype(np.int64)  # 1 = long tail (mid + tail)

    embeddings = item_embeddings(data) if _needs_embeddings(cell) else None
    treat = cell.treatment
    depth = opts["candidates"] if treat.name in LIST_SIDE else opts["k"]
    base = _base_ranking(cell, data, X, eval_users, depth, embeddings)
    ranked, cand_scores = base["ranked"], base["scores"]

    rerank_s = 0.0
    caps: dict[str, Any] = {}
    pool = ranked if treat.name in LIST_SIDE else None  # the candidates, for skewbench.explain
    if treat.name in RERANKERS:
        t0 = time.perf_counter()
        kw = _rerank_kwargs(treat.name, dict(treat.params))
        if treat.name == "calibrated":
            default = next(
                (f for f in ("department", "genre", "category") if f in data.labels), "popularity"
            )
            fam = treat.params.get("groups", default)
            if fam == "popularity":
                labels = pop_label
            elif fam in data.labels:
                labels = data.labels[fam]
            else:
                raise ConfigError(f"treatment.params.groups: {fam!r} not in {sorted(data.labels)}")
            codes, names = group_codes(labels)
            kw["target"] = _history_share(X, codes, len(names))[eval_users]
            groups = codes
            caps = _caps(treat.name, dict(treat.params), ranked, long_tail, codes, kw["target"])
        elif treat.name in ("xquad", "fair"):
            family = treat.params.get("group", "popularity")
            groups, promoted = _target_groups(family, data, long_tail, treat.name == "fair")
            if treat.name == "xquad":
                target = treat.params.get("target", "history")
                kw["aspect_weights"] = _aspect_weights(target, groups, X, eval_users)
            caps = _caps(treat.name, {}, ranked, long_tail, groups, None)
            caps["protected_group"] = promoted
        else:  # mmr
            groups = group_codes(data.category)[0]
            caps = _caps(treat.name, {}, ranked, long_tail, groups, None)
            if treat.params.get("similarity", "category") == "embedding":
                kw["item_embeddings"] = embeddings
        ranked = rerank(treat.name, ranked, cand_scores, opts["k"], groups, **kw)
        rerank_s = time.perf_counter() - t0
    samples = None  # (users × samples × k) rankings of a stochastic policy
    if treat.name in POLICIES:
        from skewbench.metrics.expected_exposure import plackett_luce_rankings

        t0 = time.perf_counter()
        from skewbench.treatments.rerank import normalised_relevance

        # scores min-max normalised per user (as the re-rankers do), so a temperature means
        # the same for every base model
        rel = normalised_relevance(cand_scores, ranked >= 0)
        samples = plackett_luce_rankings(
            ranked,
            rel,
            opts["k"],
            float(treat.params.get("temperature", 1.0)),
            int(treat.params.get("samples", 20)),
            cell.rng("policy"),
        )
        ranked = samples[:, 0, :]
        rerank_s = time.perf_counter() - t0

    # Metrics
    t0 = time.perf_counter()
    truth = T[eval_users]
    # A stochastic policy is evaluated in expectation: per-unit metrics are means over its
    # sampled lists, exposure and diversity are computed over all sampled lists together.
    lists = ranked[:, None, :] if samples is None else samples
    n_samples = lists.shape[1]
    per_unit: dict[str, np.ndarray] = {}
    for b in range(n_samples):
        sample = lists[:, b, :]
        values = ranking_metrics(sample, truth, list(RANKING_METRICS), opts["cutoffs"])
        top_b = sample[:, : opts["exposure_k"]]
        valid = top_b >= 0
        values["tail_share"] = np.where(valid, long_tail[np.maximum(top_b, 0)], 0).sum(
            1
        ) / np.maximum(valid.sum(1), 1)
        for name, v in values.items():
            per_unit[name] = per_unit.get(name, 0.0) + v / n_samples
    per_unit.update(_exposure_fairness(lists[:, :, : opts["exposure_k"]], truth, pop_label))
    metrics = {
        name: float(np.nanmean(v)) if v.size else float("nan") for name, v in per_unit.items()
    }
    top = lists[:, :, : opts["exposure_k"]].reshape(-1, opts["exposure_k"])
    rows = np.repeat(np.arange(eval_users.size), n_samples)
    group_labels = {"popularity": pop_label, **data.labels}
    # One pass over the lists for the item sums both metric sets need.
    stats = list_item_stats(top, X.shape[1], position_weights(top.shape[1], "log"), truth[rows])
    metrics.update(
        exposure_metrics(
            top,
            X.shape[1],
            pop,
            groups=group_labels,
            truth=truth[rows],
            tail=long_tail.astype(bool),
            exclude=X[eval_users[rows]],
            stats=stats,
        )
    )
    metrics.update(
        diversity_metrics(
            top,
            X.shape[1],
            pop,
            item_category=data.category,
            item_embeddings=embeddings,
            groups=group_labels,
            n_users=X.shape[0],
            stats=stats,
        )
    )
    metric_s = time.perf_counter() - t0

    units = pd.DataFrame(
        {
            "user_id": data.users[eval_users],
            "user_group": data.user_groups[eval_users],
            "n_train": np.diff(X.indptr)[eval_users],
            "n_test": np.diff(truth.indptr),
            **{name: v for name, v in per_unit.items()},
        }
    )
    info = {
        "dataset": {**data.info, **split_info},
        "n_users": int(X.shape[0]),
        "n_items": int(X.shape[1]),
        "n_eval_users": int(eval_users.size),
        "n_head_items": int((pop_label == "head").sum()),
        "n_long_tail_items": int(long_tail.sum()),
        "achieved_gini": split_info["train_gini_achieved"],
        "target_gini": cell.imbalance,
        "control": cell.control or "",
        "n_train": base["n_train"],
        "model_params": base["params"],
        **({"model_info": base["model_info"]} if base["model_info"] else {}),
        **({"tuning": base["tuning"]} if base["tuning"] is not None else {}),
        **caps,
        "timings_s": {
            "data": round(t_data, 3),
            "tune": round(base["tune_s"], 3),
            "fit": round(base["fit_s"], 3),
            "score": round(base["score_s"], 3),
            "rerank": round(rerank_s, 3),
            "metrics": round(metric_s, 3),
            "total": round(time.perf_counter() - t_start, 3),
        },
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }
    # Explanation and user-fairness facts (user groups, lists, group shares): skewbench.explain.
    from skewbench.explain.facts import recommend_facts

    extra_units, extra_info = recommend_facts(
        data, X, eval_users, pop, pop_label, ranked, opts["exposure_k"], pool
    )
    units = pd.concat([units, pd.DataFrame(extra_units)], axis=1)
    info.update(extra_info)
    return CellResult(metrics=metrics, units=units, info=info)
