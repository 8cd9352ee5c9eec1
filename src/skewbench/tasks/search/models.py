"""Building and fitting the search task's retrievers, and its candidate stage."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from skewbench.data.queries import SearchData
from skewbench.errors import ConfigError
from skewbench.models.search.base import QueryBatch, Retriever
from skewbench.models.search.bm25 import BM25Retriever
from skewbench.models.search.dense import DenseRetriever
from skewbench.models.search.fusion import PopularityPrior, RRFHybrid
from skewbench.models.search.personal import PersonalisedDense
from skewbench.models.search.trained import CrossEncoderReranker, FineTunedBiEncoder
from skewbench.runner.cell import Cell
from skewbench.tasks.search.config import MODELS


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
    if name == "plugin":
        from skewbench.models.search.plugin import PluginRetriever

        return PluginRetriever(p)
    if name == "llm_rerank":
        from skewbench.models.llm.search import LLMSearchReranker

        first = p.pop("first_stage", "bm25")
        return LLMSearchReranker(build_model(first, p.pop("first_stage_params", {}) or {}), **p)
    raise ConfigError(f"model.name: {name!r}; choose one of {MODELS}")


def fit_data(data: SearchData, cell: Cell, refit: bool = False) -> dict[str, Any]:
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
        fit["train_queries"] = batch(data, tq, tr)
        fit["train_truth"] = data.truth(tq, tr)
    return fit


def batch(data: SearchData, queries: pd.DataFrame, qrels: pd.DataFrame) -> QueryBatch:
    """Queries to score, restricted to their judged products when the data says so."""
    batch = QueryBatch.from_frame(queries, data.user_index)
    batch.allowed = data.allowed(queries, qrels)
    return batch
