"""The cells whose numbers pin the recommend / search pipeline across refactors.

``python -m tests.pipeline.pinned`` (with ``PYTHONPATH=src``) runs every cell and writes
``pinned_cells.json`` next to this file: every metric, the re-ranker caps and a digest of the
per-unit table. ``test_pinned.py`` re-runs the cells and compares.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from skewbench.runner.cell import Cell, Component

PATH = Path(__file__).with_name("pinned_cells.json")
REC_OPTIONS = {"cutoffs": [10, 20], "max_users": 150}
SEARCH_DS = {"queries": "type", "min_item_count": 300}
SEARCH_OPTIONS = {"k": 10, "cutoffs": [5, 10], "candidates": 30}
TUNE = {"method": "grid", "trials": 2, "refit": True}


def _rec(model: str, treatment: str = "none", tp=None, mp=None, **kw: Any) -> Cell:
    return Cell(
        "recommend",
        Component("movielens100k"),
        Component(model, mp or {}),
        Component(treatment, tp or {}),
        kw.pop("imbalance", None),
        0,
        master_seed=0,
        options={**REC_OPTIONS, **kw.pop("options", {})},
        **kw,
    )


def _search(model: str, treatment: str = "none", tp=None, **kw: Any) -> Cell:
    return Cell(
        "search",
        Component("completejourney", SEARCH_DS),
        Component(model),
        Component(treatment, tp or {}),
        None,
        0,
        master_seed=7,
        options=SEARCH_OPTIONS,
        **kw,
    )


# name → (cell, tolerance of the committed test). Closed forms are pinned to 1e-9 (BLAS may
# round differently on another CPU); SGD-trained BPR to 0.01 (README: float rounding drifts
# across CPUs). On the machine that wrote the file every value matches exactly.
CELLS: dict[str, tuple[Cell, float]] = {
    "rec/popularity": (_rec("popularity"), 1e-9),
    "rec/itemknn": (_rec("itemknn"), 1e-9),
    "rec/ease": (_rec("ease"), 1e-9),
    "rec/bpr": (_rec("bpr", mp={"epochs": 5}), 0.01),
    "rec/bpr_ips": (_rec("bpr", "ips", mp={"epochs": 5}), 0.01),
    "rec/ease_xquad": (_rec("ease", "xquad", {"lambda": 0.5}), 1e-9),
    "rec/ease_xquad_genre": (_rec("ease", "xquad", {"lambda": 0.7, "group": "genre"}), 1e-9),
    "rec/ease_fair": (_rec("ease", "fair", {"p": 0.5}), 1e-9),
    "rec/ease_calibrated": (_rec("ease", "calibrated", {"lambda": 0.5}), 1e-9),
    "rec/ease_mmr": (_rec("ease", "mmr", {"lambda": 0.5}), 1e-9),
    "rec/ease_pl": (_rec("ease", "plackett_luce", {"samples": 4}), 1e-9),
    "rec/ease_gini": (
        _rec("ease", imbalance=0.7, options={"imbalance_levels": [None, 0.7]}),
        1e-9,
    ),
    "rec/ease_tuned": (_rec("ease", tune={**TUNE, "space": {"l2": [50.0, 500.0]}}), 1e-9),
    "search/bm25": (_search("bm25"), 1e-9),
    "search/bm25_fair": (_search("bm25", "fair"), 1e-9),
    "search/bm25_fair_manu": (_search("bm25", "fair", {"group": "manufacturer"}), 1e-9),
    "search/bm25_xquad": (_search("bm25", "xquad", {"lambda": 0.5}), 1e-9),
    "search/bm25_xquad_values": (
        _search("bm25", "xquad", {"aspects": "values", "lambda": 0.9}),
        1e-9,
    ),
    "search/bm25_calibrated": (_search("bm25", "calibrated"), 1e-9),
    "search/bm25_group_norm": (_search("bm25", "group_norm"), 1e-9),
    "search/dense": (_search("dense"), 1e-6),
    "search/dense_xquad": (_search("dense", "xquad", {"lambda": 0.5}), 1e-6),
    "search/bm25_tuned": (_search("bm25", tune={**TUNE, "space": {"k1": [0.9, 1.5]}}), 1e-9),
}
CAPS = (
    "candidate_pool_size",
    "candidate_pool_size_min",
    "candidate_pool_size_mean",
    "protected_group",
    "share_units_no_protected_in_pool",
    "share_units_no_long_tail_in_pool",
    "n_train",
    "model_params",
    "achieved_gini",
    "n_queries_evaluated",
)


def _clean(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return v


def units_digest(units: pd.DataFrame) -> str:
    """sha256 of the per-unit table as text (every column, full float repr)."""
    text = units.to_csv(index=False, float_format="%.17g")
    return hashlib.sha256(text.encode()).hexdigest()


def run_cell(name: str) -> dict[str, Any]:
    from skewbench.runner.tasks import get_task

    cell = CELLS[name][0]
    result = get_task(cell.task).run(cell)
    info = result.info
    return {
        "metrics": {k: _clean(float(v)) for k, v in sorted(result.metrics.items())},
        "info": {k: _clean(info[k]) for k in CAPS if k in info},
        "units": units_digest(result.units),
    }


def main() -> None:
    out = {name: run_cell(name) for name in CELLS}
    PATH.write_text(json.dumps(out, indent=1, sort_keys=True, default=str) + "\n")


if __name__ == "__main__":
    main()
