"""Whether an encoder backend may be the default: the MiniLM categorize cells of
configs/quick.yaml under another ``backend:`` against the same cells under the default
(torch), cell by cell.

1. ``python benchmarks/bench_backend_default.py --write-config onnx_int8 OUT.yaml`` writes
   configs/quick.yaml's ``minilm_frozen`` experiment with that backend (same seed, seeds and
   cells; one worker);
2. ``skewbench run OUT.yaml --output RUN --no-report``;
3. ``python benchmarks/bench_backend_default.py --reference results/quick --candidate RUN
   [--json out.json]`` prints each cell's balanced accuracy (and macro-F1, accuracy) under both,
   the Δ, how many cells exceed the tolerance, and the default run's own seed-to-seed spread of
   the same cells (the noise the Δ is compared with).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from skewbench.runner.store import ResultStore

KEYS = ["imbalance", "treatment", "seed"]
METRICS = ["balanced_accuracy", "macro_f1", "accuracy"]
TOLERANCE = 0.005  # |Δ balanced accuracy| per cell


def write_config(backend: str, path: str) -> None:
    cfg = yaml.safe_load((Path(__file__).parents[1] / "configs" / "quick.yaml").read_text())
    (exp,) = [e for e in cfg["experiments"] if e["models"] == ["minilm_frozen"]]
    exp = {**exp, "models": [{"name": "minilm_frozen", "backend": backend}]}
    out = {k: v for k, v in cfg.items() if k != "experiments"}
    out.update(name=f"quick_minilm_{backend}", workers=1, experiments=[exp])
    Path(path).write_text(yaml.safe_dump(out, sort_keys=False), encoding="utf-8")


def minilm_cells(results: str) -> pd.DataFrame:
    with ResultStore(Path(results) / "results.sqlite") as store:
        t = store.table()
    return t[(t["task"] == "categorize") & t["model"].str.startswith("minilm_frozen")]


def compare(reference: str, candidate: str) -> dict:
    ref, new = minilm_cells(reference), minilm_cells(candidate)
    m = ref[KEYS + METRICS].merge(new[KEYS + METRICS], on=KEYS, suffixes=("_torch", "_new"))
    for c in METRICS:
        m[f"delta_{c}"] = m[f"{c}_new"] - m[f"{c}_torch"]
    spread = ref.pivot_table(index=["imbalance", "treatment"], columns="seed", values=METRICS[0])
    gaps = (spread.max(axis=1) - spread.min(axis=1)).rename("seed_gap")
    m = m.join(gaps, on=["imbalance", "treatment"])  # the default run's own seed-to-seed gap
    seed_gap = gaps.to_numpy()
    d = m["delta_balanced_accuracy"].to_numpy()
    return {
        "cells": int(len(m)),
        "model": str(new["model"].iloc[0]),
        "tolerance": TOLERANCE,
        "over_tolerance": int((np.abs(d) > TOLERANCE).sum()),
        "max_abs_delta": float(np.abs(d).max()),
        "mean_delta": float(d.mean()),
        "mean_abs_delta": float(np.abs(d).mean()),
        "over_own_seed_gap": int((np.abs(d) > m["seed_gap"].to_numpy()).sum()),
        "seed_gap_max": float(seed_gap.max()),
        "seed_gap_mean": float(seed_gap.mean()),
        **{f"mean_delta_{c}": float(m[f"delta_{c}"].mean()) for c in METRICS[1:]},
        "per_cell": m.round(5).to_dict(orient="records"),
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write-config", nargs=2, metavar=("BACKEND", "PATH"))
    ap.add_argument("--reference", help="results folder of the default (torch) run")
    ap.add_argument("--candidate", help="results folder of the same cells, other backend")
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.write_config:
        write_config(*a.write_config)
        return
    res = compare(a.reference, a.candidate)
    rows = pd.DataFrame(res.pop("per_cell"))
    cols = KEYS + ["balanced_accuracy_torch", "balanced_accuracy_new", "delta_balanced_accuracy"]
    print(rows[cols].to_string(index=False))
    print(json.dumps(res, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps({**res, "per_cell": rows.to_dict("records")}, indent=1))


if __name__ == "__main__":
    main()
