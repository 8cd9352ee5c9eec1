"""Search task: derived product-search queries, lexical/dense/trained retrievers, fair re-ranking.

Datasets
- ``completejourney``: queries built from purchases and the taxonomy (not a query log; see
  :mod:`skewbench.data.queries`). Params: ``queries`` "type" (default) | "personalised",
  ``test_weeks`` (8), ``min_item_count`` (0 = all 91.6k products; the quick config uses 20:
  products bought at least 20 times in the training period, 11.8k products, 5.5k distinct
  texts), ``max_queries`` (personalised only; default 1000), ``index_type`` (False),
  ``head_share`` (0.5), ``query_split`` ("unseen" | "seen"), ``test_share`` (0.3),
  ``validation_share`` (0.15).
- ``esci``: the Amazon ESCI parquet files (:mod:`skewbench.data.sources.esci`); params
  ``path`` (required), ``version``, ``split``, ``locale``, ``gains``, ``max_queries``,
  ``retrieval`` ("judged" = task 1, each query ranks its own judged products | "catalogue"),
  ``validation_share`` (0.15).

Held out (details in :mod:`skewbench.data.queries`): test relevance comes from the test period
only, and by default (``query_split: unseen``) no test query's text is the text of any query a
model is fitted on (fine-tuned and cross-encoder training pairs, tuning) — query texts are split
into train / validation / test folds from the data-side ``split`` stream, so each replicate has
its own folds and ``query_id`` (the query text, or household + text) names the same query in
every replicate. ``query_split: seen`` asks the training-fold texts instead (memorisation).

Models (``MODELS``; params in their modules under :mod:`skewbench.models.search`): ``bm25``,
``dense`` (``index`` exact|hnsw), ``hybrid`` (RRF of bm25 + dense, k_rrf 60), ``bm25_pop`` /
``dense_pop`` (popularity prior, ``w``), ``personal`` (query + household history),
``finetuned`` (MNRL bi-encoder), ``cross_encoder`` (re-ranks ``first_stage`` top ``depth``).

Treatments (``TREATMENTS``), applied to each query's top ``candidates`` (100) list:
``none``; ``fair`` (FA*IR), ``xquad``, ``calibrated`` via :func:`skewbench.treatments.rerank.rerank`;
``group_norm`` (z-score per group, :mod:`skewbench.models.search.group_norm`). Param ``group``:
``brand`` (Private label = 1, the protected group), ``manufacturer`` or ``category``
(product_category) — for the last two, 1 = tail: the manufacturers/categories outside the
shortest most-bought set that holds 50 % of training purchase lines (ESCI: brands by number of
catalog products). Other params go to the re-ranker; FA*IR's ``p`` defaults to the protected
group's share of the catalog; calibrated's ``target`` is the group distribution of the query's
own candidate list (the top-k should mirror the candidate pool).

Options: ``k`` (10, list length), ``cutoffs`` ([k]), ``candidates`` (max(100, k)).

Tuning (``tune:`` on a model, :mod:`skewbench.tuning`): the spaces are ``TUNE_SPACES`` (declared
on the model classes: bm25 k1/b, bm25_pop and dense_pop w, hybrid k_rrf, finetuned
epochs/lr, personal alpha/beta). Each trial fits the model on the validation view and scores
the validation queries untreated (:func:`validation_score`, default NDCG@10); the chosen values
are refitted on train (+ the validation fold when ``refit``) and test is ranked once.
``info["tuning"]`` holds the trials and the choice; every treatment of a (model, replicate)
re-ranks the same tuned model's candidates.

Units and counting: every test query is a unit; one with no relevant product (ESCI queries
judged only Irrelevant) scores 0 and is counted (trec_eval), ``info["n_queries_no_relevant"]``.
Re-ranker cells also store what caps them: ``candidate_pool_size`` (the ``candidates`` option),
``candidate_pool_size_mean`` (real candidates per query), ``protected_group`` and
``share_units_no_protected_in_pool``. ``info["n_train_queries"]``: distinct training query
texts a trained encoder was fitted on (0 for the others); ``n_train_queries_available``: the
training queries offered (train fold, plus validation fold when refitted).


Metrics (every cell): per cutoff c ``ndcg@c`` (linear gain = grade), ``recall@c``, ``mrr@c``,
and ``ndcg@c_head``/``ndcg@c_tail``/``recall@c_head``/``recall@c_tail`` (mean over the query
group; NaN if empty); over the top-k lists: ``exposure_gini`` (items, log position weights,
engine), ``exposure_gini_manufacturer`` (Gini, normaliser n, of the summed item exposure per
manufacturer over all catalog manufacturers), ``private_share`` (position-weighted share of
exposure on Private-label products; NaN for ESCI), ``arp`` (mean training popularity).
``info``: sizes, timings, encoding items/s, training stats and tie counts (``ties_within``:
adjacent equal-score pairs in the candidate lists; ``ties_boundary``: items outside a list
scoring exactly its last score, i.e. shut out by the item-index tie-break).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pandas as pd

from skewbench.data.queries import (
    SearchData,
    build_search_data,
    head_tail,
    load_completejourney_raw,
)
from skewbench.errors import ConfigError
from skewbench.metrics.exposure import (
    exposure_metrics,
    gini,
    list_item_stats,
    position_weights,
)
from skewbench.metrics.ranking import ranking_metrics
from skewbench.models.search.base import QueryBatch, Retriever, search
from skewbench.models.search.bm25 import BM25Retriever
from skewbench.models.search.dense import DenseRetriever
from skewbench.models.search.fusion import PopularityPrior, RRFHybrid
from skewbench.models.search.group_norm import group_normalise
from skewbench.models.search.personal import PersonalisedDense
from skewbench.models.search.trained import CrossEncoderReranker, FineTunedBiEncoder
from skewbench.runner.cell import Cell, CellResult, Component

DATASETS = ("completejourney", "esci", "table")
MODELS = (
    "bm25",
    "dense",
    "hybrid",
    "bm25_pop",
    "dense_pop",
    "personal",
    "finetuned",
    "cross_encoder",
    "llm_rerank",
)
RERANKERS = ("fair", "xquad", "calibrated")
TREATMENTS = ("none", *RERANKERS, "group_norm")
GROUPS = ("brand", "manufacturer", "category")
RANK_METRICS = ("ndcg", "recall", "mrr")
# What `tune: true` searches per model (declared once, on the model classes); models absent
# here declare nothing to tune.
TUNE_SPACES: dict[str, dict[str, list[Any]]] = {
    "bm25": BM25Retriever.tune_space,
    "bm25_pop": PopularityPrior.tune_space_bm25,
    "dense_pop": PopularityPrior.tune_space_cosine,
    "hybrid": RRFHybrid.tune_space,
    "finetuned": FineTunedBiEncoder.tune_space,
    "personal": PersonalisedDense.tune_space,
}
VALIDATION_METRIC = "ndcg@10"
TUNABLE = True  # the runner lets models of this task carry `tune:`
# ---------------------------------------------------------------------------------------------
# config checks


def _options(cell: Cell) -> tuple[int, list[int], int]:
    o = cell.options
    k = int(o.get("k", 10))
    cutoffs = [int(c) for c in o.get("cutoffs", [k])]
    cand_k = int(o.get("candidates", max(100, k)))
    return k, cutoffs, cand_k


def check(cell: Cell) -> None:
    """Reject unknown names and parameters, and combinations that cannot run (all at once)."""
    from skewbench.specs.validate import cell_errors, raise_errors

    errors, incompatible = cell_errors(cell)
    ds, model, tr = cell.dataset, cell.model, cell.treatment
    more = []
    queries = ds.params.get("queries", "type")
    if model.name == "personal" and (ds.name != "completejourney" or queries != "personalised"):
        more.append(
            "model.name: personal needs dataset completejourney with queries=personalised (a "
            "household per query)"
        )
    if tr.name != "none" and ds.name == "esci" and tr.params.get("group", "brand") != "brand":
        more.append("treatment.params.group: esci has brands only: use group=brand")
    if ds.name == "table" and model.name in ("finetuned", "cross_encoder"):
        more.append(
            f"model.name: {model.name} trains on training queries, and a table data set has "
            "test queries only"
        )
    if cell.imbalance is not None:
        more.append("imbalance: search takes no imbalance level")
    raise_errors(errors + more, incompatible or (not errors and bool(more)))
    request = getattr(cell, "tune", None)
    if request is not None:
        if ds.name == "table":
            raise ConfigError("model.tune: a table data set has no training or validation queries")
        _tune_space(cell, request)


# ---------------------------------------------------------------------------------------------
# data


_DATA: dict[tuple, SearchData] = {}


def _fit_cell(cell: Cell) -> Cell:
    """The cell whose streams seed the data split, tuning and model fitting: untreated, and
    without ``query_split`` — so a ``seen`` and an ``unseen`` cell share folds, tuning and the
    fitted model, and differ only in which test queries they ask."""
    params = {k: v for k, v in cell.dataset.params.items() if k != "query_split"}
    return dataclasses.replace(
        cell, treatment=Component("none"), dataset=Component(cell.dataset.name, params)
    )


def load_data(cell: Cell) -> SearchData:
    """The cell's SearchData (memoised per dataset, master seed and replicate)."""
    key = (cell.dataset.label, cell.master_seed, cell.seed)
    if key not in _DATA:
        p = dict(cell.dataset.params)
        rng = _fit_cell(cell).rng("split", data_side=True)
        if cell.dataset.name == "completejourney":
            products, purchases = load_completejourney_raw()
            if p.get("queries", "type") == "personalised":
                p.setdefault("max_queries", 1000)
            _DATA[key] = build_search_data(products, purchases, rng=rng, **p)
        elif cell.dataset.name == "table":
            from skewbench.data.sources.table import search_data

            _DATA[key] = search_data(p)
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


# ---------------------------------------------------------------------------------------------
# models


def build_model(name: str, params: dict[str, Any]) -> Retriever:
    """The retriever named ``name`` with its params (unset → the module defaults)."""
    p = dict(params)
    if name == "bm25":
        return BM25Retriever(**p)
    if name == "dense":
        return DenseRetriever(**p)
    if name == "hybrid":
        return RRFHybrid([BM25Retriever(), DenseRetriever()], **p)
    if name == "bm25_pop":
        return PopularityPrior(
            BM25Retriever(**{k: p[k] for k in ("k1", "b") if k in p}), p.get("w", 0.1)
        )
    if name == "dense_pop":
        return PopularityPrior(DenseRetriever(), p.get("w", 0.01))
    if name == "personal":
        return PersonalisedDense(DenseRetriever(), **p)
    if name == "finetuned":
        return FineTunedBiEncoder(**p)
    if name == "cross_encoder":
        first = p.pop("first_stage", "dense")
        if first not in ("bm25", "dense", "hybrid"):
            raise ConfigError(f"model.params.first_stage: {first!r} is not bm25, dense or hybrid")
        return CrossEncoderReranker(build_model(first, {}), **p)
    if name == "llm_rerank":
        from skewbench.models.llm.search import LLMSearchReranker

        first = p.pop("first_stage", "bm25")
        return LLMSearchReranker(build_model(first, p.pop("first_stage_params", {}) or {}), **p)
    raise ConfigError(f"model.name: {name!r}; choose one of {MODELS}")


def _fit_data(data: SearchData, cell: Cell, refit: bool = False) -> dict[str, Any]:
    """What ``model.fit`` gets: seed, popularity, history and the training queries (the train
    fold; plus the validation fold when ``refit``) with their truth."""
    fit: dict[str, Any] = {"seed": cell.seed_int("model")}
    fit["popularity"] = (
        data.item_popularity if data.item_popularity is not None else np.zeros(len(data.catalog))
    )
    if data.history is not None:
        fit["history"] = data.history
    fitted = data.fit_queries(refit)
    if fitted is not None:
        tq, tr = fitted
        fit["train_queries"] = _batch(data, tq, tr)
        fit["train_truth"] = data.truth(tq, tr)
    return fit


def _batch(data: SearchData, queries: pd.DataFrame, qrels: pd.DataFrame) -> QueryBatch:
    """Queries to score, restricted to their judged products when the data says so."""
    batch = QueryBatch.from_frame(queries, data.user_index)
    batch.allowed = data.allowed(queries, qrels)
    return batch


# ---------------------------------------------------------------------------------------------
# tuning on validation


def _tune_space(cell: Cell, request: dict[str, Any]) -> dict[str, Any]:
    """The resolved search space of a cell's ``tune`` request (refused if the model has none)."""
    from skewbench.tuning import parse_space

    declared = TUNE_SPACES.get(cell.model.name, {})
    return parse_space(
        request.get("space", True),
        declared,
        fixed=cell.model.params,
        what=f"models.{cell.model.name}",
    )


def _parse_metric(metric: str) -> tuple[str, int]:
    name, _, cut = metric.partition("@")
    if name not in RANK_METRICS or not cut.isdigit() or int(cut) < 1:
        raise ConfigError(
            f"tune.metric: {metric!r} is not a search validation metric; use one of "
            f"{[f'{m}@<k>' for m in RANK_METRICS]} (default {VALIDATION_METRIC})"
        )
    return name, int(cut)


def validation_score(
    cell: Cell, data: SearchData, params: dict[str, Any], metric: str = VALIDATION_METRIC
) -> float:
    """Mean ``metric`` over the validation queries of a model fitted with ``params``.

    The model (``cell.model`` with ``params`` overriding its fixed params) is fitted on the
    validation view (``data.validation``: train-fold queries and item-side data from before the
    validation period) and ranks the validation-fold queries, untreated; units with no relevant
    item count 0, as at test. Test data is never touched. This is the ``evaluate`` callback of
    :func:`skewbench.tuning.search`.
    """
    view = data.validation
    if view is None or view.queries.empty:
        raise ConfigError(f"tune: dataset {cell.dataset.label} has no validation queries")
    name, cut = _parse_metric(metric)
    base = _fit_cell(cell)
    model = build_model(cell.model.name, {**cell.model.params, **params})
    model.fit(list(view.catalog["text"]), **_fit_data(view, base))
    cand = search(model, _batch(view, view.queries, view.qrels), cut)
    per_unit = ranking_metrics(cand.items, view.truth(), [name], [cut], empty="zero")
    return float(np.mean(per_unit[f"{name}@{cut}"]))


def tune(cell: Cell, data: SearchData) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the cell's ``tune`` request on validation: (chosen params, info["tuning"] record)."""
    from skewbench.tuning import TuneSettings
    from skewbench.tuning import search as tune_search

    request = dict(cell.tune)  # type: ignore[arg-type]
    space = _tune_space(cell, request)
    metric = request.get("metric") or VALIDATION_METRIC
    _parse_metric(metric)
    settings = TuneSettings(
        method=request.get("method", "grid"),
        trials=request.get("trials", 20),
        metric=metric,
        refit=request.get("refit", True),
    )
    base = _fit_cell(cell)
    result = tune_search(
        space,
        lambda params: validation_score(cell, data, params, metric),
        settings=settings,
        metric=metric,
        rng=base.rng("tune"),
    )
    return result.chosen, result.to_info()


# ---------------------------------------------------------------------------------------------
# treatments and metrics


def apply_treatment(
    cell: Cell, data: SearchData, items: np.ndarray, scores: np.ndarray, k: int
) -> np.ndarray:
    """Top-k lists after the cell's treatment (``none`` = the first k candidates)."""
    tr = cell.treatment
    if tr.name == "none":
        return items[:, :k].copy()
    params = dict(tr.params)
    group = params.pop("group", "brand")
    if tr.name == "xquad" and params.pop("aspects", "protected") == "values":
        params.setdefault("lambda", 0.5)
        return _xquad_over_values(data, group, items, scores, k, params)
    groups = item_groups(data, group)
    if tr.name == "group_norm":
        return group_normalise(items, scores, k, groups)
    if tr.name == "fair":
        params.setdefault("p", float(np.clip(groups.mean(), 0.01, 0.99)))
        params.setdefault("protected", 1)
    elif tr.name in ("xquad", "calibrated"):
        params.setdefault("lambda", 0.5)
    if tr.name == "calibrated" and "target" not in params:
        cg = np.where(items >= 0, groups[np.maximum(items, 0)], -1)
        params["target"] = np.stack([(cg == g).sum(1) for g in (0, 1)], axis=1).astype(float)
    from skewbench.treatments.rerank import rerank

    return rerank(tr.name, items, scores, k, groups, **params)


def group_values(data: SearchData, group: str) -> np.ndarray:
    """One int code per catalog item for each distinct value of the grouping (e.g. every
    manufacturer id), not the binary protected/rest split of :func:`item_groups`."""
    cat = data.catalog
    column = {"manufacturer": "manufacturer", "category": "product_category"}.get(group, "brand")
    if column not in cat.columns:
        column = "manufacturer"  # ESCI: its brands are stored as manufacturers
    return pd.factorize(cat[column].astype(str).fillna("NA"))[0].astype(np.int64)


def _xquad_over_values(
    data: SearchData,
    group: str,
    items: np.ndarray,
    scores: np.ndarray,
    k: int,
    params: dict[str, Any],
) -> np.ndarray:
    """xQuAD with one aspect per value of the grouping (``aspects: values``), uniform aspect
    weights over the values present in the query's own candidates: the list is spread over
    manufacturers (or brands, categories) instead of pushing one binary "tail" group, which can
    pile exposure onto the few tail manufacturers a query's candidates happen to hold. Runs one
    query at a time with the candidates' values re-coded 0 … m−1 (m ≤ candidates), so the
    thousands of catalog manufacturers never become a dense aspect axis. With m aspects each
    weighs 1/m, so the diversity term competes with relevance only for λ near 1 (sweep it)."""
    from skewbench.treatments.rerank import rerank

    values = group_values(data, group)
    out = np.full((items.shape[0], k), -1, dtype=np.int64)
    for r in range(items.shape[0]):
        row = items[r]
        valid = row >= 0
        if not valid.any():
            continue
        local, codes = np.unique(values[row[valid]], return_inverse=True)
        cand = np.where(valid, np.arange(row.size), -1)[None]
        g = np.full(row.size, 0, dtype=np.int64)
        g[valid] = codes
        weights = np.full((1, local.size), 1.0 / local.size)
        picked = rerank("xquad", cand, scores[r][None], k, g, aspect_weights=weights, **params)[0]
        out[r, : picked.size] = np.where(picked >= 0, row[np.maximum(picked, 0)], -1)
    return out


def protected_label(data: SearchData, group: str) -> str:
    """What a re-ranker over ``group`` promotes (item code 1 of :func:`item_groups`)."""
    if group == "brand" and "product_category" in data.catalog.columns:
        return "brand=Private"
    return f"{group}=tail"


def rerank_caps(data: SearchData, group: str, pool: np.ndarray) -> dict[str, Any]:
    """What caps a re-ranker (INTERFACES §1): the protected group, the mean number of real
    candidates per unit (lists can be shorter than the ``candidates`` option: ESCI task 1, BM25 misses), and
    the share of units whose candidate pool holds no protected item — for them no re-ranker
    can expose the group at all."""
    codes = item_groups(data, group)
    valid = pool >= 0
    has = ((codes[np.maximum(pool, 0)] == 1) & valid).any(axis=1)
    return {
        "protected_group": protected_label(data, group),
        "candidate_pool_size_mean": float(valid.sum(axis=1).mean()) if len(pool) else 0.0,
        "share_units_no_protected_in_pool": float(1.0 - has.mean()) if len(pool) else float("nan"),
    }


def list_metrics(data: SearchData, ranked: np.ndarray) -> dict[str, float]:
    """Exposure metrics of the final lists (module docstring)."""
    n = len(data.catalog)
    pop = data.item_popularity if data.item_popularity is not None else np.zeros(n)
    is_cj = "product_category" in data.catalog.columns
    groups = {"brand": data.catalog["brand"].astype(str).to_numpy()} if is_cj else None
    ex = exposure_metrics(ranked, n, pop, groups=groups)
    # Item exposure from the engine (same log position weights as exposure_gini), summed per
    # manufacturer: exposure_metrics' per-group keys would add one entry per manufacturer (~6k).
    exposure = list_item_stats(ranked, n, position_weights(ranked.shape[1], "log")).exposure
    manu = data.catalog["manufacturer"].astype(str).fillna("NA").to_numpy()
    per_manu = pd.Series(exposure).groupby(manu).sum().to_numpy()
    out: dict[str, float] = {}
    if data.info.get("source") == "table":  # your catalog: brand and price-band exposure
        from skewbench.data.groups import column_groups, price_bands

        labels = {}
        if data.catalog["brand"].notna().any():
            labels["brand"] = column_groups(data.catalog["brand"].to_numpy())
        if data.catalog["price"].notna().any():
            labels["price"] = price_bands(data.catalog["price"].to_numpy(), 4)
        group_ex = exposure_metrics(ranked, n, pop, groups=labels)
        out = {k: float(v) for k, v in group_ex.items() if "[" in k}
    return out | {
        "exposure_gini": float(ex["exposure_gini"]),
        "exposure_gini_manufacturer": gini(per_manu) if exposure.sum() > 0 else float("nan"),
        "private_share": float(ex.get("exposure_share[brand=Private]", 0.0))
        if is_cj
        else float("nan"),
        "arp": float(ex["arp"]),
    }


def _group_mean(values: np.ndarray, mask: np.ndarray) -> float:
    v = values[mask]
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


# ---------------------------------------------------------------------------------------------
# task interface


def prepare(cells: list[Cell]) -> None:
    """Encode each distinct catalog and its test (and, when tuning, validation) queries into
    the frozen-embedding cache."""
    from skewbench.encoders import encode
    from skewbench.progress import quiet, step

    done: set[tuple] = set()
    for cell in cells:
        if cell.model.name == "bm25" or cell.model.name == "bm25_pop":
            continue
        key = (cell.dataset.label, cell.master_seed, cell.seed)
        if key in done:
            continue
        with step(
            f"search: loading {cell.dataset.label} and building its queries (seed {cell.seed})"
        ):
            data = load_data(cell)
        done.add(key)
        with step(f"search: encoding the catalog of {cell.dataset.label}"):
            encode(list(dict.fromkeys(data.catalog["text"])), progress=not quiet())
        texts = list(data.queries["text"])
        if data.validation is not None and getattr(cell, "tune", None) is not None:
            texts += list(data.validation.queries["text"])
        encode(list(dict.fromkeys(texts)))


# Candidates of the cells run last in this process. Every treatment is list-side, so all
# treatments of a (dataset, model, replicate) re-rank the same fitted model's candidates.
_CANDIDATES: dict[str, tuple[Any, float, float, dict[str, Any]]] = {}
_CANDIDATES_SIZE = 2


def _candidates(
    cell: Cell, data: SearchData, queries: QueryBatch, cand_k: int
) -> tuple[Any, float, float, dict[str, Any]]:
    """Fit the cell's model (seeded from the untreated cell) and retrieve top ``cand_k``."""
    base = dataclasses.replace(cell, treatment=Component("none"))
    key = f"{base.key}:{cand_k}"
    if key in _CANDIDATES:
        return _CANDIDATES[key]
    params, model_info = dict(cell.model.params), {}
    refit = False
    t0 = time.perf_counter()
    if getattr(cell, "tune", None) is not None:
        chosen, record = tune(base, data)
        params.update(chosen)
        refit = bool(record["refit"])
        model_info["tuning"] = record
        model_info["tune_s"] = time.perf_counter() - t0
    model = build_model(cell.model.name, params)
    fit = _fit_data(data, _fit_cell(cell), refit)
    model_info["n_train_queries_available"] = len(fit.get("train_queries", ()))
    t1 = time.perf_counter()
    model.fit(list(data.catalog["text"]), **fit)
    t_fit = time.perf_counter() - t1
    t2 = time.perf_counter()
    cand = search(model, queries, cand_k)
    t_search = time.perf_counter() - t2
    for obj in (
        model,
        getattr(model, "base", None),
        getattr(model, "dense", None),
        getattr(model, "dense_", None),
        getattr(model, "first_stage", None),
    ):
        if obj is None:
            continue
        for attr in ("encode_stats_", "train_info_"):
            model_info.update({f"{attr[:-1]}_{k2}": v for k2, v in getattr(obj, attr, {}).items()})
    while len(_CANDIDATES) >= _CANDIDATES_SIZE:
        _CANDIDATES.pop(next(iter(_CANDIDATES)))
    _CANDIDATES[key] = (cand, t_fit, t_search, model_info)
    return _CANDIDATES[key]


def run(cell: Cell) -> CellResult:
    """Fit the model on the catalog, retrieve, treat, and score the test queries."""
    check(cell)
    k, cutoffs, cand_k = _options(cell)
    t0 = time.perf_counter()
    data = load_data(cell)
    t_data = time.perf_counter() - t0
    queries = _batch(data, data.queries, data.qrels)
    cand, t_fit, t_search, model_info = _candidates(cell, data, queries, cand_k)
    ranked = apply_treatment(cell, data, cand.items, cand.scores, k)
    truth = data.truth()
    # Every test query is judged, so one with no relevant product (ESCI: all labels I) scores 0
    # and is counted, as in trec_eval; it is never dropped.
    per_unit = ranking_metrics(ranked, truth, list(RANK_METRICS), cutoffs, empty="zero")
    metrics = {
        name: float(np.nanmean(v)) if np.any(~np.isnan(v)) else float("nan")
        for name, v in per_unit.items()
    }
    group = (
        data.queries["group"].to_numpy()
        if "group" in data.queries
        else np.array(["all"] * len(queries))
    )
    for c in cutoffs:
        for m in ("ndcg", "recall"):
            for g in ("head", "tail"):
                metrics[f"{m}@{c}_{g}"] = _group_mean(per_unit[f"{m}@{c}"], group == g)
    metrics.update(list_metrics(data, ranked))
    units = pd.DataFrame({"query_id": data.queries["query_id"].to_numpy(), "group": group})
    if "user_id" in data.queries:
        units["user_id"] = data.queries["user_id"].to_numpy()
    for name, v in per_unit.items():
        units[name] = v
    units["ranked"] = [r[r >= 0].tolist() for r in ranked]
    info: dict[str, Any] = dict(data.info)
    info.update(
        {
            "n_queries_evaluated": len(queries),
            "n_queries_no_relevant": int(np.sum(np.diff(truth.indptr) == 0)),
            "n_head_queries": int(np.sum(group == "head")),
            "n_tail_queries": int(np.sum(group == "tail")),
            "data_s": t_data,
            "fit_s": t_fit,
            "search_s": t_search,
            "queries_per_s": len(queries) / t_search if t_search > 0 else float("nan"),
            "candidate_k": cand_k,
            **cand.tie_info(),
        }
    )
    info.update(model_info)
    # Training queries actually fitted (INTERFACES §2): distinct query texts in the training
    # pairs of a trained encoder; 0 for models that learn nothing from queries.
    info["n_train_queries"] = int(model_info.get("train_info_train_queries", 0))
    if cell.treatment.name != "none":
        info.update(rerank_caps(data, cell.treatment.params.get("group", "brand"), cand.items))
        info["candidate_pool_size"] = cand_k
    # Group exposure, decomposition shares and user groups: skewbench.explain.
    from skewbench.explain.facts import search_facts

    extra_units, extra_info, extra_metrics = search_facts(
        data, ranked, truth, cand.items, cell.dataset.name
    )
    units = pd.concat([units, pd.DataFrame(extra_units)], axis=1)
    info.update(extra_info)
    metrics.update(extra_metrics)
    return CellResult(metrics=metrics, units=units, info=info)
