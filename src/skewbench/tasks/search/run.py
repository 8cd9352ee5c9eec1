"""The search task's entry points: prepare, and run one cell through the shared pipeline
(data → candidates → list-side treatment → evaluation)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from skewbench.pipeline import Timings, run_stages
from skewbench.runner.cell import Cell, CellResult
from skewbench.tasks.search.candidates import base_candidates
from skewbench.tasks.search.config import check, options
from skewbench.tasks.search.data import load_data
from skewbench.tasks.search.evaluate import evaluate_lists, unavailable
from skewbench.tasks.search.models import batch
from skewbench.tasks.search.treat import apply_treatment, rerank_caps


def prepare(cells: list[Cell]) -> None:
    """Encode each distinct catalog and its test (and, when tuning, validation) queries into
    the frozen-embedding cache."""
    from skewbench.encoders import encode
    from skewbench.progress import quiet, step

    done: set[tuple] = set()
    for cell in cells:
        if cell.model.name in ("bm25", "bm25_pop", "plugin"):  # no frozen MiniLM embeddings
            continue
        # a dense cell may run its encoder on ONNX Runtime: its own cache namespace
        backend = (
            cell.model.params.get("backend", "torch") if cell.model.name == "dense" else "torch"
        )
        key = (cell.dataset.key_label, cell.master_seed, cell.seed, backend)
        if key in done:
            continue
        with step(
            f"search: loading {cell.dataset.label} and building its queries (seed {cell.seed})"
        ):
            data = load_data(cell)
        done.add(key)
        with step(f"search: encoding the catalog of {cell.dataset.label}"):
            encode(list(dict.fromkeys(data.catalog["text"])), progress=not quiet(), backend=backend)
        texts = list(data.queries["text"])
        if data.validation is not None and getattr(cell, "tune", None) is not None:
            texts += list(data.validation.queries["text"])
        encode(list(dict.fromkeys(texts)), backend=backend)


def run(cell: Cell) -> CellResult:
    """Fit the model on the catalog, retrieve, treat, and score the test queries."""
    check(cell)
    k, cutoffs, cand_k = options(cell)
    timings = Timings()
    with timings.stage("data"):
        data = load_data(cell)
    queries = batch(data, data.queries, data.qrels)
    truth = data.truth()
    group = (
        data.queries["group"].to_numpy()
        if "group" in data.queries
        else np.array(["all"] * len(queries))
    )
    cand, ranked, (per_unit, metrics) = run_stages(
        timings,
        lambda: base_candidates(cell, data, queries, cand_k),
        lambda c: apply_treatment(cell, data, c.items, c.kept_scores(), k),
        lambda lists: evaluate_lists(data, lists, truth, group, cutoffs),
    )
    units = pd.DataFrame({"query_id": data.queries["query_id"].to_numpy(), "group": group})
    if "user_id" in data.queries:
        units["user_id"] = data.queries["user_id"].to_numpy()
    for name, v in per_unit.items():
        units[name] = v
    units["ranked"] = [r[r >= 0].tolist() for r in ranked]
    score_s = cand.seconds["score"]
    info: dict[str, Any] = dict(data.info)
    info.update(
        {
            "n_queries_evaluated": len(queries),
            "n_queries_no_relevant": int(np.sum(np.diff(truth.indptr) == 0)),
            "n_head_queries": int(np.sum(group == "head")),
            "n_tail_queries": int(np.sum(group == "tail")),
            "queries_per_s": len(queries) / score_s if score_s > 0 else float("nan"),
            "candidate_k": cand_k,
            **cand.info,
        }
    )
    # Training queries actually fitted: distinct query texts in the training
    # pairs of a trained encoder; 0 for models that learn nothing from queries.
    info["n_train_queries"] = int(cand.info.get("train_info_train_queries", 0))
    if cell.treatment.name != "none":
        info.update(rerank_caps(data, cell.treatment.params.get("group", "brand"), cand.items))
        info["candidate_pool_size"] = cand_k
    # Group exposure, decomposition shares and user groups: skewbench.explain.
    from skewbench.pipeline.facts import search_facts

    extra_units, extra_info, extra_metrics = search_facts(
        data, ranked, truth, cand.items, cell.dataset.name
    )
    units = pd.concat([units, pd.DataFrame(extra_units)], axis=1)
    info.update(extra_info)
    metrics.update(extra_metrics)
    not_available = unavailable(data)
    if not_available:
        info["not_available"] = not_available
    info["timings_s"] = timings.to_info()
    return CellResult(metrics=metrics, units=units, info=info)
