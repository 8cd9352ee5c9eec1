"""Building, fitting and ranking with the recommend task's models.

Models that read the users' time-ordered histories (SASRec, the two-tower text model, the LLM
re-ranker) declare ``uses_sequences``; :func:`fit_model` hands them the sequences of the very
matrix they are fitted on (train, or train minus validation while tuning), ordered by each
(user, item) pair's first timestamp, ties by item index.

Training-side treatments that replace BPR's objective: ``pda`` and ``macr``
(:mod:`skewbench.models.recommend.causal`) reuse BPR's factors, epochs, learning rate,
regularisation and batch size (tuned on the untreated BPR), so only the objective changes.
Their inference knobs (PDA's γ̃ ``infer_gamma``, MACR's ``c``) need no refit: a fitted model
is kept per process and re-used by the cells that differ only in the knob.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from skewbench.errors import ConfigError
from skewbench.runner.cell import Cell, Component
from skewbench.tasks.recommend.data import Data

if TYPE_CHECKING:  # the models import their libraries; a type hint needs none of that
    from skewbench.models.recommend.base import Recommender

CAUSAL = ("pda", "macr")

INFERENCE_KNOBS = {"pda": "infer_gamma", "macr": "c"}

SEQUENCE_MODELS = ("sasrec", "two_tower", "llm_rerank")

_BPR_SHARED = ("factors", "epochs", "lr", "reg", "batch_size")

SEEDED_MODELS = (
    "als",
    "bpr",
    "sasrec",
    "two_tower",
)  # trial fits depend on the seed; EASE / ItemKNN do not


def build_model(
    name: str, params: dict[str, Any], treatment: Any, data: Any, embeddings: np.ndarray | None
) -> Any:
    """The (unfitted) model of a cell; ``treatment`` shapes BPR's training."""
    from skewbench.models import recommend as R

    if name == "random":
        return R.RandomRanker()
    if name == "precomputed":
        users = None if data is None else data.users  # None: checking params only
        return R.Precomputed(params["path"], users, None if data is None else data.items)
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
        if treatment.name in CAUSAL:
            from skewbench.models.recommend.causal import CausalMF

            shared = {k: v for k, v in params.items() if k in _BPR_SHARED}
            return CausalMF(treatment.name, **shared, **tp)
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
            build_model(collab, {}, treatment, data, embeddings),
            **params,
        )
    if name == "sasrec":
        from skewbench.models.recommend.sasrec import SASRec

        text = embeddings if params.get("item_init") == "text" else None
        return SASRec(**params, text_embeddings=text)
    if name == "two_tower":
        from skewbench.models.recommend.two_tower import TwoTowerText

        texts = None if data is None else list(data.item_text)  # None: checking params only
        return TwoTowerText(**params, item_text=texts)
    if name == "plugin":
        from skewbench.models.recommend.plugin import PluginRecommender

        return PluginRecommender(params, treatment)
    if name == "llm_rerank":
        from skewbench.models.llm.recommender import LLMReranker

        p = dict(params)
        first = p.pop("first_stage", "ease")
        first_params = p.pop("first_stage_params", {}) or {}
        stage = build_model(first, dict(first_params), treatment, data, embeddings)
        return LLMReranker(stage, list(data.item_text), **p)
    raise ConfigError(f"model.name: {name!r} is not a recommend model")


def model_class(name: str) -> type[Recommender]:
    """The class whose ``tune_space`` a tuned cell of model ``name`` searches."""
    from skewbench.models import recommend as R

    classes = {"itemknn": R.ItemKNN, "ease": R.EASE, "als": R.ALS, "bpr": R.BPR}
    if name == "sasrec":
        from skewbench.models.recommend.sasrec import SASRec

        return SASRec
    if name == "two_tower":
        from skewbench.models.recommend.two_tower import TwoTowerText

        return TwoTowerText
    return classes.get(name, R.Recommender)


def needs_embeddings(cell: Cell) -> bool:
    """Does the cell need the MiniLM item embeddings (content models, text-initialised
    SASRec, embedding MMR)?"""
    model, treatment = cell.model, cell.treatment
    return (
        model.name in ("content", "hybrid")
        or (model.name == "sasrec" and model.params.get("item_init") == "text")
        or (treatment.name == "mmr" and treatment.params.get("similarity") == "embedding")
    )


def _pair_times(data: Data) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (user · n_items + item) keys of every interaction and each pair's first time."""
    if data.pair_times is not None:
        return data.pair_times
    inter = data.interactions
    n_items = data.items.size
    keys = inter["user_id"].to_numpy(np.int64) * n_items + inter["item_id"].to_numpy(np.int64)
    first = pd.Series(inter["timestamp"].to_numpy(np.int64)).groupby(keys).min()
    data.pair_times = (first.index.to_numpy(np.int64), first.to_numpy(np.int64))
    return data.pair_times


def sequences(data: Any, X: sp.csr_matrix) -> list[np.ndarray]:
    """Each user's items of ``X`` ordered by the pair's first timestamp (ties: item index)."""
    keys, times = _pair_times(data)
    coo = sp.coo_matrix(X)
    k = coo.row.astype(np.int64) * X.shape[1] + coo.col
    pos = np.searchsorted(keys, k)
    found = (pos < keys.size) & (keys[np.minimum(pos, keys.size - 1)] == k)
    t = np.where(found, times[np.minimum(pos, keys.size - 1)], np.iinfo(np.int64).max)
    order = np.lexsort((coo.col, t, coo.row))
    rows, cols = coo.row[order], coo.col[order].astype(np.int64)
    bounds = np.searchsorted(rows, np.arange(X.shape[0] + 1))
    return [cols[bounds[u] : bounds[u + 1]] for u in range(X.shape[0])]


_FITTED: dict[str, Any] = {}  # causal models by key without their inference knob


def fit_model(model: Any, X: sp.csr_matrix, seed: int, data: Any, reuse_key: str | None = None):
    """Fit ``model`` on ``X`` (with the users' sequences when it reads them). A ``reuse_key``
    returns a model fitted earlier in this process under the same key (same data, seed and
    every training parameter), with the inference parameters of ``model``."""
    if reuse_key is not None and reuse_key in _FITTED:
        fitted = _FITTED[reuse_key]
        for knob in INFERENCE_KNOBS.values():
            setattr(fitted, knob, getattr(model, knob))
        return fitted
    if getattr(model, "uses_sequences", False):
        model.fit(X, seed=seed, sequences=sequences(data, X))
    else:
        model.fit(X, seed=seed)
    if reuse_key is not None:
        _FITTED.clear()
        _FITTED[reuse_key] = model
    return model


def reuse_key(cell: Cell, depth: int) -> str | None:
    """Cells of a causal treatment that differ only in its inference knob share one fit."""
    knob = INFERENCE_KNOBS.get(cell.treatment.name)
    if knob is None:
        return None
    params = {k: v for k, v in cell.treatment.params.items() if k != knob}
    return dataclasses.replace(cell, treatment=Component(cell.treatment.name, params)).key


def model_info(model: Any) -> dict[str, Any]:
    """What a fitted model reports about its own training (losses, LLM calls, …)."""
    if callable(getattr(model, "info", None)):
        return model.info()
    out: dict[str, Any] = {}
    if getattr(model, "history_", None) is not None:
        out["loss_per_epoch"] = [round(float(v), 6) for v in model.history_]
    if getattr(model, "train_info_", None) is not None:
        out.update(model.train_info_)
    return out
