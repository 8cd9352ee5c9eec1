"""The recommend task's entry points: check, prepare and run one cell through the shared
pipeline (data → candidates → list-side treatment → evaluation)."""

from __future__ import annotations

import resource
from typing import Any

import numpy as np
import pandas as pd

from skewbench.data.sources.table import freeze
from skewbench.errors import ConfigError
from skewbench.pipeline import Candidates, Timings, run_stages
from skewbench.runner.cell import Cell, CellResult
from skewbench.tasks.recommend.candidates import base_candidates
from skewbench.tasks.recommend.config import (
    LIST_SIDE,
    catalog_bound_errors,
    dataset_params,
    items_without_text,
    level_rng,
    options,
)
from skewbench.tasks.recommend.data import item_embeddings, load
from skewbench.tasks.recommend.evaluate import evaluate_lists
from skewbench.tasks.recommend.models import needs_embeddings
from skewbench.tasks.recommend.split import load_split, sweep_plan
from skewbench.tasks.recommend.treat import treat_lists
from skewbench.tasks.recommend.tune import tune_plan


def check(cell: Cell) -> None:
    """Refuse a cell that cannot run, naming every bad field, before any work."""
    from skewbench.specs.validate import cell_errors, raise_errors

    if cell.task != "recommend":
        raise ConfigError(f"task: {cell.task!r} is not 'recommend'")
    errors, incompatible = cell_errors(cell)
    if not errors:
        errors += catalog_bound_errors(cell)
    if cell.imbalance is not None and not 0 <= float(cell.imbalance) < 1:
        errors.append(f"target_gini: a target Gini in [0, 1) expected, got {cell.imbalance!r}")
        incompatible = False
    no_text = items_without_text(cell)
    if no_text and needs_embeddings(cell):
        errors.append(
            f"dataset.params.{no_text[0]}: {cell.model.label} / {cell.treatment.label} embed the "
            f"items' text, and {no_text[1]} has none"
        )
        incompatible = incompatible or len(errors) == 1
    raise_errors(errors, incompatible)
    if cell.control not in (None, "uniform"):
        raise ConfigError(f"control: only 'uniform' is known, got {cell.control!r}")
    if cell.control is not None and cell.imbalance is None:
        raise ConfigError("control: a matched control needs an imbalance level")
    if cell.tune is not None:
        tune_plan(cell)
    if options(cell)["levels"] is not None:
        sweep_plan(cell)  # loads the data: refuses an unreachable level before any work


def check_data(cells: list[Cell]) -> None:
    """Own data sets, loaded once each before any cell: some user must have two interactions
    (one to learn from, one to test), and ``k`` / ``candidates`` must fit the items left after
    filtering (bundled sets are bounded by :func:`catalog_bound_errors` without loading)."""
    errors: dict[str, None] = {}
    for cell in cells:
        if cell.dataset.name != "table":
            continue
        data = load(cell.dataset.name, freeze(dataset_params(cell)), cell.dataset.files)
        where = _interactions_path(cell)
        per_user = np.bincount(data.interactions["user_id"].to_numpy(), minlength=data.users.size)
        if not (per_user >= 2).any():
            errors.setdefault(
                f"dataset {where}: every one of its {data.users.size} users has a single "
                "interaction; a recommender needs users with at least two (one to learn from, "
                "one to test)",
                None,
            )
            continue
        opts, n_items = options(cell), int(data.items.size)
        for name in ("k", "candidates"):
            if opts[name] > n_items and (name == "k" or "candidates" in cell.options):
                errors.setdefault(
                    f"options.{name}: {opts[name]} is longer than the {n_items} items of "
                    f"{where} (after filtering); choose {name} <= {n_items}",
                    None,
                )
    if errors:
        lines = list(errors)
        raise ConfigError(lines[0] if len(lines) == 1 else "; ".join(lines))


def _interactions_path(cell: Cell) -> str:
    spec = cell.dataset.params.get("interactions")
    return str(spec.get("path") if isinstance(spec, dict) else spec)


def prepare(cells: list[Cell]) -> None:
    """Load each data set once and fill the embedding cache for content/hybrid/MMR cells."""
    done: set[tuple[Any, ...]] = set()
    for cell in cells:
        check(cell)
        key = (cell.dataset.name, freeze(dataset_params(cell)), cell.dataset.files)
        if key in done:
            continue
        done.add(key)
        from skewbench.progress import step

        with step(f"recommend: loading {cell.dataset.label}"):
            data = load(*key)
        if any(needs_embeddings(c) and c.dataset == cell.dataset for c in cells):
            item_embeddings(data)
        runs = {c.model.params["path"] for c in cells if c.model.name == "precomputed"}
        for path in sorted(runs):  # refuse a run naming unknown items once, before any cell
            from skewbench.models.recommend import Precomputed

            with step(f"recommend: reading {path}"):
                Precomputed(path, data.users, data.items).fit(None)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def run(cell: Cell) -> CellResult:
    """Run one cell (see the module docstring of :mod:`skewbench.tasks.recommend`)."""
    from skewbench.data.groups import (
        item_popularity_matrix,
        missing_groupings,
        popularity_groups,
    )

    check(cell)
    timings = Timings()
    opts = options(cell)
    with timings.stage("data"):
        data, X, T, split_info = load_split(cell)

    # Evaluation users: at least one test item (and, by construction, in the k-core).
    eval_users = np.flatnonzero(np.diff(T.indptr) > 0)
    if opts["max_users"] is not None and eval_users.size > opts["max_users"]:
        # keyed without the imbalance level: every level and control of a replicate is
        # evaluated on the same users (the test split does not depend on the level)
        sub = level_rng(cell, None, "eval_users")
        eval_users = np.sort(sub.choice(eval_users, opts["max_users"], replace=False))
    pop = item_popularity_matrix(X)
    pop_label = popularity_groups(pop)
    long_tail = (pop_label != "head").astype(np.int64)  # 1 = long tail (mid + tail)

    embeddings = item_embeddings(data) if needs_embeddings(cell) else None
    list_side = cell.treatment.name in LIST_SIDE
    depth = opts["candidates"] if list_side else opts["k"]
    truth = T[eval_users]

    def treat(cand: Candidates) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
        return treat_lists(
            cell, data, X, eval_users, cand, pop_label, long_tail, embeddings, opts["k"]
        )

    def evaluate(treated: tuple[np.ndarray, np.ndarray | None, dict[str, Any]]):
        ranked, samples, _ = treated
        lists = ranked[:, None, :] if samples is None else samples
        return evaluate_lists(
            data, X, truth, eval_users, lists, pop, pop_label, long_tail, embeddings, opts
        )

    cand, (ranked, _, caps), (per_unit, metrics) = run_stages(
        timings,
        lambda: base_candidates(cell, data, X, eval_users, depth, embeddings),
        treat,
        evaluate,
    )

    units = pd.DataFrame(
        {
            "user_id": data.users[eval_users],
            "user_group": data.user_groups[eval_users],
            "n_train": np.diff(X.indptr)[eval_users],
            "n_test": np.diff(truth.indptr),
            **{name: v for name, v in per_unit.items()},
        }
    )
    fitted = cand.info
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
        "n_train": fitted["n_train"],
        "model_params": fitted["model_params"],
        **({"model_info": fitted["model_info"]} if fitted["model_info"] else {}),
        **({"tuning": fitted["tuning"]} if fitted["tuning"] is not None else {}),
        **caps,
        "timings_s": timings.to_info(),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }
    # Explanation and user-fairness facts (user groups, lists, group shares): skewbench.explain.
    from skewbench.pipeline.facts import recommend_facts

    pool = cand.items if list_side else None  # the candidates, for skewbench.explain
    extra_units, extra_info = recommend_facts(
        data, X, eval_users, pop, pop_label, ranked, opts["exposure_k"], pool
    )
    units = pd.concat([units, pd.DataFrame(extra_units)], axis=1)
    info.update(extra_info)
    if data.name == "table":  # groupings your catalog cannot give: shown as not available
        missing = missing_groupings(data.labels, data.params["catalog"] is not None)
        if missing:
            info["not_available"] = {f"exposure_gini[{g}]": why for g, why in missing.items()}
    return CellResult(metrics=metrics, units=units, info=info)
