"""The search task's candidate stage: the fitted (tuned) retriever's top items per query."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from skewbench.data.queries import SearchData
from skewbench.models.search.base import QueryBatch, search
from skewbench.pipeline import CandidateCache, Candidates, candidate_key
from skewbench.runner.cell import Cell, Component
from skewbench.tasks.search.data import fit_cell
from skewbench.tasks.search.models import build_model, fit_data
from skewbench.tasks.search.tune import tune

# Every search treatment is list-side, so all treatments of a (dataset, model, replicate)
# re-rank the same fitted model's candidates.
CANDIDATES = CandidateCache(size=2)
# Where a composite retriever keeps the parts whose encoding / training facts it reports.
_PARTS = ("base", "dense", "dense_", "first_stage")


def base_candidates(cell: Cell, data: SearchData, queries: QueryBatch, depth: int) -> Candidates:
    """Fit the cell's model (seeded from the untreated cell) and retrieve the top ``depth``
    of every query; ``info`` holds the tuning record, the training queries offered, the
    models' encoding and training facts and the tie counts."""
    base = dataclasses.replace(cell, treatment=Component("none"))

    def make() -> Candidates:
        params = dict(cell.model.params)
        info: dict[str, Any] = {}
        refit = False
        t0 = time.perf_counter()
        if getattr(cell, "tune", None) is not None:
            chosen, record = tune(base, data)
            params.update(chosen)
            refit = bool(record["refit"])
            info["tuning"] = record
        tune_s = time.perf_counter() - t0
        model = build_model(cell.model.name, params)
        fit = fit_data(data, fit_cell(cell), refit)
        info["n_train_queries_available"] = len(fit.get("train_queries", ()))
        t1 = time.perf_counter()
        model.fit(list(data.catalog["text"]), **fit)
        fit_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        found = search(model, queries, depth)
        score_s = time.perf_counter() - t2
        for obj in (model, *(getattr(model, name, None) for name in _PARTS)):
            if obj is not None:
                info.update(_reported(obj))
        info.update(found.tie_info())
        seconds = {"tune": tune_s, "fit": fit_s, "score": score_s}
        return Candidates(found.items, found.scores, seconds, info)

    return CANDIDATES.get(candidate_key(base.key, depth, len(queries)), make)


def _reported(model: Any) -> dict[str, Any]:
    """A model's encoding and training facts, keys prefixed ``encode_stat_`` / ``train_info_``."""
    out: dict[str, Any] = {}
    for attr in ("encode_stats_", "train_info_"):
        out.update({f"{attr[:-1]}_{k}": v for k, v in getattr(model, attr, {}).items()})
    return out
