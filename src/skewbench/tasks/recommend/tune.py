"""Tuning a recommend model on validation carved from its training split (module doc of
:mod:`skewbench.tasks.recommend`, step 3); results memoised by :mod:`skewbench.tuning_memo`."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from skewbench.errors import ConfigError
from skewbench.models.recommend.base import rank_users
from skewbench.runner.cell import Cell, Component
from skewbench.tasks.recommend.config import DEFAULT_TUNE_METRIC, MODELS, RANKING_METRICS, options
from skewbench.tasks.recommend.models import (
    SEEDED_MODELS,
    build_model,
    fit_model,
    model_class,
)
from skewbench.tasks.recommend.split import load_split, validation_split
from skewbench.tuning_memo import code_version, fingerprint, memo_key, memoised

# What a stored tuning result depends on besides its data (tuning_memo.code_version).
CODE = ("models/recommend", "metrics", "data", "tasks/recommend", "tuning.py", "tuning_memo.py")


def tune_plan(cell: Cell) -> tuple[Any, Any, str, int]:
    """(space, settings, metric name, metric cutoff) of a tuned cell; ConfigError if invalid."""
    from skewbench.tuning import Range, TuneSettings, candidates, parse_metric, parse_space

    req = dict(cell.tune or {})
    declared = model_class(cell.model.name).tune_space
    if not declared:
        tunable = [n for n in MODELS if model_class(n).tune_space]
        raise ConfigError(
            f"model.tune: model {cell.model.name!r} has no tunable parameters (tunable: {tunable})"
        )
    space = parse_space(req.get("space"), declared, fixed=cell.model.params, what="model")
    try:
        settings = TuneSettings.model_validate({k: v for k, v in req.items() if k != "space"})
    except Exception as err:
        raise ConfigError(f"tune: {err}") from None
    name, cut = parse_metric(settings.metric, RANKING_METRICS, DEFAULT_TUNE_METRIC)
    # Every candidate must build (ranges, types): refuse now rather than mid-search.
    probes = candidates(space, settings.method, settings.trials, np.random.default_rng(0))
    for key, value in space.items():
        if isinstance(value, Range):
            lo, hi = (int(value.low), int(value.high)) if value.int else (value.low, value.high)
            probes += [{key: lo}, {key: hi}]
    for params in probes:
        build_model(cell.model.name, {**cell.model.params, **params}, Component("none"), None, None)
    return space, settings, name, cut


def tune(cell: Cell, embeddings: np.ndarray | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(chosen parameters, ``info["tuning"]``) of a tuned cell, on its validation split.

    Memoised in this process and on disk (``$SKEWBENCH_CACHE/tuning``) under a key of
    everything the result depends on: fit and validation data, validation users, model and
    fixed parameters, the tuning request, the candidate list, the trial seed (ALS / BPR only)
    and a digest of the code."""
    from skewbench.tuning import candidates

    space, settings, _, _ = tune_plan(cell)
    untreated = dataclasses.replace(cell, treatment=Component("none"))
    F, V, val_info = validation_split(cell)
    seed = untreated.seed_int("tune") if cell.model.name in SEEDED_MODELS else 0
    val_users = np.flatnonzero(np.diff(V.indptr) > 0)
    max_users = options(cell)["max_users"]
    if max_users is not None and val_users.size > max_users:
        sub = cell.rng("validation_users", data_side=True)
        val_users = np.sort(sub.choice(val_users, max_users, replace=False))
    trials = candidates(space, settings.method, settings.trials, untreated.rng("tune"))
    key = memo_key(
        fingerprint(F, V),
        val_users.tolist(),
        cell.model.to_dict(),
        cell.tune,
        trials,
        seed,
        code_version(*CODE),
    )
    return memoised(key, lambda: _search(cell, trials, F, V, val_info, val_users, seed, embeddings))


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
    from skewbench.tuning import evaluate_all

    _, settings, metric, cut = tune_plan(cell)
    data = load_split(cell)[0]
    if val_users.size == 0:
        raise ConfigError(f"tune: the validation split of {cell.dataset.label} holds no user")
    fixed = dict(cell.model.params)
    truth = V[val_users]

    def evaluate(params: dict[str, Any]) -> float:
        model = build_model(
            cell.model.name, {**fixed, **params}, Component("none"), data, embeddings
        )
        fit_model(model, F, seed, data)
        ranked, _ = rank_users(model, F, val_users, cut)
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
