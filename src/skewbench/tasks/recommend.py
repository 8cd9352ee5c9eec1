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
2. Controlled imbalance: ``cell.imbalance`` = target item-popularity Gini (normaliser n, over
   the items present in train) reached by ``subsample_to_gini`` on the TRAIN interactions only
   (data-side stream ``imbalance``); test untouched.
3. Model (``MODELS``) fitted on the train matrix with seed ``cell.seed_int("model")``; full
   ranking over all items with the user's training items excluded (``topk(..., exclude=)``).
4. Treatment (``TREATMENTS``): ``ips`` / ``pop_negatives`` change BPR's training; re-rankers take
   the base model's top-``candidates`` (default 100) and produce the top-``k`` list.
5. Metrics over test users with ≥ 1 test item: ``ndcg/recall/precision/hit_rate/map/mrr @
   cutoffs`` (default 5, 10, 20, 50), and at depth ``exposure_k`` (default 10)
   the exposure and diversity families, per-group exposure and relevance shares and
   ``tail_share`` (share of list slots given to long-tail = non-head items).

Item popularity = distinct training users; head/mid/tail by ``popularity_groups`` (head: the
most popular items holding 50 % of training interactions; tail: the least popular holding 20 %).
"""

from __future__ import annotations

import dataclasses
import resource
import time
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from skewbench.errors import ConfigError
from skewbench.runner.cell import Cell, CellResult, Component

MODELS: tuple[str, ...] = (
    "random",
    "popularity",
    "itemknn",
    "ease",
    "bpr",
    "als",
    "content",
    "hybrid",
)
TREATMENTS: tuple[str, ...] = ("none", "ips", "pop_negatives", "calibrated", "xquad", "fair", "mmr")
DATASETS: tuple[str, ...] = ("completejourney", "movielens100k", "table")
RERANKERS: tuple[str, ...] = ("calibrated", "xquad", "fair", "mmr")
RANKING_METRICS: tuple[str, ...] = ("ndcg", "recall", "precision", "hit_rate", "map", "mrr")

_DATASET_PARAMS: dict[str, dict[str, Any]] = {
    "completejourney": {
        "user_k": 10,
        "item_k": 30,
        "split": "temporal",
        "test_frac": 0.2,
        "feedback": "binary",
    },
    "movielens100k": {
        "user_k": 1,
        "item_k": 1,
        "split": "ratio",
        "test_frac": 0.2,
        "min_rating": 4,
    },
    "table": {
        "catalog": None,
        "user_k": 1,
        "item_k": 1,
        "split": "ratio",
        "test_frac": 0.2,
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
    return {
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
    kw = {k: v for k, v in params.items() if k not in ("groups", "similarity")}
    if name == "fair":
        kw["protected"] = 1  # long-tail (non-head) items
    return kw


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
    """(data, train matrix, test truth matrix, info) for the cell's dataset, replicate and
    imbalance. Shared by every model and treatment of a replicate (data-side streams)."""
    p = _dataset_params(cell)
    return _split(cell.dataset.name, _freeze(p), cell.imbalance, cell)


def _split_key(cell: Cell) -> tuple[Any, ...]:
    return (cell.master_seed, *cell.data_keys(), cell.imbalance)


_SPLIT_CACHE: dict[tuple[Any, ...], Any] = {}


def _split(name: str, frozen: tuple[tuple[str, Any], ...], imbalance: float | None, cell: Cell):
    key = _split_key(cell)
    if key in _SPLIT_CACHE:
        return _SPLIT_CACHE[key]
    from skewbench.data.imbalance import gini, subsample_to_gini
    from skewbench.data.split import per_user_ratio_split, temporal_split

    data = _load(name, frozen)
    p = data.params
    inter = data.interactions
    rng = cell.rng("split", data_side=True)
    if p["split"] == "temporal":
        train, test = temporal_split(inter, float(p["test_frac"]), drop_cold=True)
        split_info = {"split": "temporal", "cut": int(test.attrs.get("cut", -1))}
        split_info["cold_test_rows_dropped"] = int(test.attrs.get("cold_rows_dropped", 0))
    else:
        train, test = per_user_ratio_split(inter, float(p["test_frac"]), rng)
        split_info = {"split": "ratio"}
    info: dict[str, Any] = {**split_info, "train_rows_full": len(train)}
    info["train_gini_before"] = gini(train["item_id"].value_counts().to_numpy())
    if imbalance is not None:
        kept, achieved = subsample_to_gini(
            train["item_id"].to_numpy(), float(imbalance), cell.rng("imbalance", data_side=True)
        )
        train = train.iloc[kept]
        info["train_gini_achieved"] = achieved
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
    out = (data, X, T, info)
    _SPLIT_CACHE.clear()  # keep one replicate in memory: cells of a replicate run together
    _SPLIT_CACHE[key] = out
    return out


# --------------------------------------------------------------------------------------------
# models


def _build_model(name: str, params: dict[str, Any], treatment: Any, embeddings: np.ndarray | None):
    from skewbench.models import recommend as R

    if name == "random":
        return R.RandomRanker()
    if name == "popularity":
        return R.Popularity()
    if name == "itemknn":
        return R.ItemKNN(**params)
    if name == "ease":
        return R.EASE(**params)
    if name == "als":
        return R.ALS(**params)
    if name == "bpr":
        tp = dict(treatment.params)
        extra: dict[str, Any] = {}
        if treatment.name == "ips":
            extra = {
                "ips_eta": float(tp.get("eta", 0.5)),
                "ips_clip": float(tp.get("clip", 100.0)),
                "ips_self_normalised": bool(tp.get("self_normalised", False)),
            }
        elif treatment.name == "pop_negatives":
            extra = {"neg_beta": float(tp.get("beta", 0.75))}
        return R.BPR(**params, **extra)
    if name == "content":
        return R.ContentModel(embeddings)
    if name == "hybrid":
        params = dict(params)
        collab = params.pop("collaborative", "ease")
        return R.Hybrid(
            R.ContentModel(embeddings),
            _build_model(collab, {}, treatment, embeddings),
            **params,
        )
    raise ConfigError(f"model.name: {name!r} is not one of {MODELS}")


def _needs_embeddings(cell: Cell) -> bool:
    return cell.model.name in ("content", "hybrid") or (
        cell.treatment.name == "mmr" and cell.treatment.params.get("similarity") == "embedding"
    )


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
_BASE_CACHE: dict[str, tuple[np.ndarray, np.ndarray | None, float, float]] = {}
_BASE_CACHE_SIZE = 2


def _base_cell(cell: Cell) -> Cell:
    """The cell whose model a re-ranker cell re-ranks: same everything, treatment ``none``."""
    if cell.treatment.name not in RERANKERS:
        return cell
    return dataclasses.replace(cell, treatment=Component("none"))


def _base_ranking(
    cell: Cell,
    data: Data,
    X: sp.csr_matrix,
    eval_users: np.ndarray,
    depth: int,
    embeddings: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray | None, float, float]:
    """Top-``depth`` items (and their scores for re-rankers) of the fitted base model.

    The model's seed comes from the base cell, so a re-ranked list and the base cell's list
    start from the very same fitted model — the paired comparison isolates the re-ranker.
    """
    from skewbench.metrics.topk import topk

    base = _base_cell(cell)
    key = f"{base.key}:{depth}:{eval_users.size}"
    if key in _BASE_CACHE:
        return _BASE_CACHE[key]
    with_scores = cell.treatment.name in RERANKERS
    model = _build_model(cell.model.name, dict(cell.model.params), base.treatment, embeddings)
    t0 = time.perf_counter()
    model.fit(X, seed=base.seed_int("model"))
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ranked_parts, score_parts = [], []
    for start in range(0, eval_users.size, 512):
        u = eval_users[start : start + 512]
        S = model.score(u)
        top = topk(S, depth, exclude=X[u])
        ranked_parts.append(top)
        if with_scores:
            s = np.take_along_axis(S, np.maximum(top, 0), axis=1).astype(np.float64)
            score_parts.append(np.where(top >= 0, s, -np.inf))
    ranked = np.concatenate(ranked_parts) if ranked_parts else np.zeros((0, depth), np.int64)
    scores = np.concatenate(score_parts) if score_parts else None
    out = (ranked, scores, fit_s, time.perf_counter() - t0)
    if with_scores:  # only re-ranker cells share a base ranking
        while len(_BASE_CACHE) >= _BASE_CACHE_SIZE:
            _BASE_CACHE.pop(next(iter(_BASE_CACHE)))
        _BASE_CACHE[key] = out
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
        sub = cell.rng("eval_users", data_side=True)
        eval_users = np.sort(sub.choice(eval_users, opts["max_users"], replace=False))
    pop = item_popularity_matrix(X)
    pop_label = popularity_groups(pop)
    long_tail = (pop_label != "head").astype(np.int64)  # 1 = long tail (mid + tail)

    embeddings = item_embeddings(data) if _needs_embeddings(cell) else None
    treat = cell.treatment
    depth = opts["candidates"] if treat.name in RERANKERS else opts["k"]
    ranked, cand_scores, fit_s, score_s = _base_ranking(
        cell, data, X, eval_users, depth, embeddings
    )

    rerank_s = 0.0
    pool = ranked if treat.name in RERANKERS else None  # the candidates, for skewbench.explain
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
        elif treat.name == "xquad":
            groups = long_tail
            kw["aspect_weights"] = _history_share(X, long_tail, 2)[eval_users]
        elif treat.name == "fair":
            groups = long_tail
        else:  # mmr
            groups = group_codes(data.category)[0]
            if treat.params.get("similarity", "category") == "embedding":
                kw["item_embeddings"] = embeddings
        ranked = rerank(treat.name, ranked, cand_scores, opts["k"], groups, **kw)
        rerank_s = time.perf_counter() - t0

    # Metrics
    t0 = time.perf_counter()
    truth = T[eval_users]
    per_unit = ranking_metrics(ranked, truth, list(RANKING_METRICS), opts["cutoffs"])
    top = ranked[:, : opts["exposure_k"]]
    valid = top >= 0
    per_unit["tail_share"] = np.where(valid, long_tail[np.maximum(top, 0)], 0).sum(1) / np.maximum(
        valid.sum(1), 1
    )
    metrics = {
        name: float(np.nanmean(v)) if v.size else float("nan") for name, v in per_unit.items()
    }
    group_labels = {"popularity": pop_label, **data.labels}
    # One pass over the lists for the item sums both metric sets need.
    stats = list_item_stats(top, X.shape[1], position_weights(top.shape[1], "log"), truth)
    metrics.update(
        exposure_metrics(
            top,
            X.shape[1],
            pop,
            groups=group_labels,
            truth=truth,
            tail=long_tail.astype(bool),
            exclude=X[eval_users],
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
        "timings_s": {
            "data": round(t_data, 3),
            "fit": round(fit_s, 3),
            "score": round(score_s, 3),
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
