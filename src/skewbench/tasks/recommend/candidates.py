"""The recommend task's candidate stage: the fitted base model's top items per user."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from skewbench.models.recommend.base import rank_users
from skewbench.pipeline import CandidateCache, Candidates, candidate_key
from skewbench.runner.cell import Cell
from skewbench.tasks.recommend.config import LIST_SIDE, base_cell
from skewbench.tasks.recommend.data import Data
from skewbench.tasks.recommend.models import build_model, fit_model, model_info, reuse_key
from skewbench.tasks.recommend.split import validation_split
from skewbench.tasks.recommend.tune import tune

# A re-ranker never changes training, so every list-side cell of a replicate re-ranks the
# base model's candidates instead of refitting.
CANDIDATES = CandidateCache(size=2)


def base_candidates(
    cell: Cell,
    data: Data,
    X: sp.csr_matrix,
    eval_users: np.ndarray,
    depth: int,
    embeddings: np.ndarray | None,
) -> Candidates:
    """Top-``depth`` items (and their scores for list-side treatments) of the fitted base
    model, with the fitted parameters, tuning record and timings.

    The model's seed comes from the base cell, so a re-ranked list and the base cell's list
    start from the very same fitted model — the paired comparison isolates the re-ranker.
    """
    base = base_cell(cell)
    with_scores = cell.treatment.name in LIST_SIDE
    key = candidate_key(base.key, depth, eval_users.size)

    def make() -> Candidates:
        params, tuning, fit_X = dict(cell.model.params), None, X
        t0 = time.perf_counter()
        if cell.tune is not None:
            chosen, tuning = tune(cell, embeddings)
            params.update(chosen)
            if not tuning["refit"]:
                fit_X = validation_split(cell)[0]
        tune_s = time.perf_counter() - t0
        model = build_model(cell.model.name, params, base.treatment, data, embeddings)
        t0 = time.perf_counter()
        model = fit_model(model, fit_X, base.seed_int("model"), data, reuse_key(cell, depth))
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ranked, scores = rank_users(model, X, eval_users, depth, with_scores)
        return Candidates(
            ranked,
            scores,
            {"tune": tune_s, "fit": fit_s, "score": time.perf_counter() - t0},
            {
                "model_params": params,
                "tuning": tuning,
                "n_train": int(fit_X.nnz),
                "model_info": model_info(model),
            },
        )

    return CANDIDATES.get(key, make, store=with_scores)  # only list-side cells share them
