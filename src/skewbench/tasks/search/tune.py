"""Tuning a search model on the validation queries (module doc of
:mod:`skewbench.tasks.search`); results memoised by :mod:`skewbench.tuning_memo`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from skewbench.data.queries import SearchData
from skewbench.errors import ConfigError
from skewbench.metrics.ranking import ranking_metrics
from skewbench.models.search.base import search
from skewbench.runner.cell import Cell
from skewbench.tasks.search.config import RANK_METRICS, VALIDATION_METRIC, tune_space
from skewbench.tasks.search.data import fit_cell
from skewbench.tasks.search.models import batch, build_model, fit_data
from skewbench.tuning import parse_metric
from skewbench.tuning_memo import code_version, memo_key, memoised

# What a stored tuning result depends on besides its data (tuning_memo.code_version).
CODE = (
    "models/search",
    "metrics",
    "data",
    "encoders",
    "tasks/search",
    "tuning.py",
    "tuning_memo.py",
)


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
    name, cut = parse_metric(metric, RANK_METRICS, VALIDATION_METRIC)
    base = fit_cell(cell)
    model = build_model(cell.model.name, {**cell.model.params, **params})
    model.fit(list(view.catalog["text"]), **fit_data(view, base))
    cand = search(model, batch(view, view.queries, view.qrels), cut)
    per_unit = ranking_metrics(cand.items, view.truth(), [name], [cut], empty="zero")
    return float(np.mean(per_unit[f"{name}@{cut}"]))


def tune(cell: Cell, data: SearchData) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the cell's ``tune`` request on validation: (chosen params, info["tuning"] record).

    Memoised under a key of the validation data, the model, the request, the trial seed and
    the code (:mod:`skewbench.tuning_memo`)."""
    from skewbench.tuning import TuneSettings
    from skewbench.tuning import search as tune_search

    request = dict(cell.tune)  # type: ignore[arg-type]
    space = tune_space(cell, request)
    metric = request.get("metric") or VALIDATION_METRIC
    parse_metric(metric, RANK_METRICS, VALIDATION_METRIC)
    settings = TuneSettings(
        method=request.get("method", "grid"),
        trials=request.get("trials", 20),
        metric=metric,
        refit=request.get("refit", True),
    )
    base = fit_cell(cell)
    if data.validation is None:
        raise ConfigError(f"tune: dataset {cell.dataset.label} has no validation queries")

    def compute() -> tuple[dict[str, Any], dict[str, Any]]:
        result = tune_search(
            space,
            lambda params: validation_score(cell, data, params, metric),
            settings=settings,
            metric=metric,
            rng=base.rng("tune"),
        )
        return dict(result.chosen), result.to_info()

    key = memo_key(
        _data_digest(data.validation),
        base.to_dict(),
        cell.model.to_dict(),
        cell.tune,
        code_version(*CODE),
    )
    return memoised(key, compute)


def _data_digest(view: SearchData) -> str:
    """Digest of what the validation fits and scores read: catalog texts, popularity, the
    validation queries and their judgments."""
    parts = [
        pd.util.hash_pandas_object(view.catalog["text"], index=False).to_numpy(),
        np.asarray(
            view.item_popularity if view.item_popularity is not None else [], dtype=np.float64
        ),
        pd.util.hash_pandas_object(view.queries, index=False).to_numpy(),
        pd.util.hash_pandas_object(view.qrels, index=False).to_numpy(),
    ]
    return memo_key(*(p.tobytes().hex() for p in parts))
