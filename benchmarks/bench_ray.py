"""The same small grid on the local process pool and on a local Ray cluster, in one run:
parity of every stored number, and the overhead per cell of each executor.

Grid (``GRID``, 10 cells): MovieLens-100k recommend cells (popularity, ItemKNN,
random; 2 seeds) and Clothing categorize cells (TF-IDF + logistic regression, ρ = 10, no
treatment and inverse class weights; 2 seeds). Each executor runs it into its own fresh
results store through :func:`skewbench.runner.run.run_config` (so the prepare child, the
data checks and the store writes are in both), with ``--workers`` cells at once:

- ``pool``: ``executor: local`` — spawned processes;
- ``ray``: ``executor: ray`` — a local Ray started here with ``num_cpus = workers`` (its
  start-up is timed apart, ``ray_start_s``), or the cluster at ``--address``.

Parity: for every cell key, the stored metrics JSON text (every metric, exactly), the info
less its durations and memory sizes, and the per-unit table are compared with the first run;
any difference fails the run. Overhead per cell: ``wall × workers − Σ in-cell seconds`` over
the number of cells, i.e. the executor time a cell costs beyond its own work (worker start,
imports, transport of the cell and its per-unit table). Each executor runs
``--repeat`` times, alternating which goes first. Writes benchmarks/measured/ray.json.

    python benchmarks/bench_ray.py [--workers 2] [--repeat 2] [--address HOST:PORT]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

GRID = {
    "name": "bench_ray",
    "seed": 5,
    "seeds": 2,
    "experiments": [
        {
            "task": "recommend",
            "datasets": ["movielens100k"],
            "models": ["random", "popularity", {"name": "itemknn", "neighbours": 50}],
            "treatments": ["none"],
            "options": {"cutoffs": [10], "exposure_k": 10},
        },
        {
            "task": "categorize",
            "datasets": [{"name": "clothing", "label": "class_name"}],
            "imbalance_ratio": [10],
            "models": ["tfidf_lr"],
            "treatments": ["none", {"name": "class_weight", "scheme": "inverse"}],
        },
    ],
}


def without_measurements(obj):
    """``obj`` less every key, at any depth, that holds a duration or a memory size (``*_s``,
    ``*seconds``, ``*_mb``: facts of the machine, not of the cell)."""
    if isinstance(obj, dict):
        return {
            k: without_measurements(v)
            for k, v in obj.items()
            if not str(k).endswith(("_s", "seconds", "_mb"))
        }
    if isinstance(obj, list):
        return [without_measurements(v) for v in obj]
    return obj


def stored(path: Path) -> dict[str, tuple[str, str, pd.DataFrame, float]]:
    """key → (metrics JSON, info JSON without timings, per-unit table, in-cell seconds)."""
    with sqlite3.connect(path / "results.sqlite") as conn:
        rows = conn.execute("SELECT key, metrics, info, units, seconds FROM cells").fetchall()
    out = {}
    for key, metrics, info, units, seconds in rows:
        info = without_measurements(json.loads(info))
        out[key] = (
            metrics,
            json.dumps(info, sort_keys=True),
            pd.read_parquet(io.BytesIO(units)),
            seconds,
        )
    return out


def run_once(executor: str, workers: int, address: str | None) -> dict:
    from skewbench.runner.config import parse_config
    from skewbench.runner.run import run_config

    cfg = dict(GRID, workers=workers, executor=executor)
    if address:
        cfg["ray_address"] = address
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = run_config(parse_config(cfg), Path(tmp), progress=False)
        wall = time.perf_counter() - start
        if summary.failed:
            sys.exit(f"{executor}: {summary.failed} cells failed")
        cells = stored(Path(tmp))
    busy = sum(c[3] for c in cells.values())
    n = len(cells)
    return {
        "executor": executor,
        "cells": n,
        "wall_s": round(wall, 2),
        "wall_per_cell_s": round(wall / n, 3),
        "in_cell_s_mean": round(busy / n, 3),
        "overhead_per_cell_s": round((wall * workers - busy) / n, 3),
        "_cells": cells,
    }


def same(a: dict, b: dict) -> list[str]:
    """``key: part`` for each cell whose stored numbers differ between two runs (empty when
    all agree); ``part`` is metrics, info or units."""
    bad = [f"{k}: missing" for k in sorted(set(a) ^ set(b))]
    for key in sorted(set(a) & set(b)):
        (ma, ia, ua, _), (mb, ib, ub, _) = a[key], b[key]
        for part, equal in (("metrics", ma == mb), ("info", ia == ib), ("units", ua.equals(ub))):
            if not equal:
                bad.append(f"{key}: {part}")
    return bad


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--address", help="a running Ray head (default: start a local Ray here)")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import ray

    from skewbench.runner.executors import connect_ray

    start = time.perf_counter()
    connect_ray(args.address, num_cpus=args.workers)
    ray_start = time.perf_counter() - start
    print(f"ray {ray.__version__} ready in {ray_start:.1f} s", flush=True)
    runs: list[dict] = []
    for i in range(args.repeat):
        for executor in ("local", "ray") if i % 2 == 0 else ("ray", "local"):
            row = run_once(executor, args.workers, args.address)
            runs.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "_cells"}), flush=True)
    reference = runs[0]["_cells"]
    mismatched = {r["executor"]: same(reference, r["_cells"]) for r in runs[1:]}
    n_metrics = sum(len(json.loads(c[0])) for c in reference.values())
    summary = {}
    for executor in ("local", "ray"):
        rows = [r for r in runs if r["executor"] == executor]
        summary[executor] = {
            k: round(statistics.median(r[k] for r in rows), 3)
            for k in ("wall_s", "wall_per_cell_s", "in_cell_s_mean", "overhead_per_cell_s")
        }
    out = {
        "ray_version": ray.__version__,
        "workers": args.workers,
        "address": args.address or "local (ray.init)",
        "ray_start_s": round(ray_start, 2),
        "cells": runs[0]["cells"],
        "metrics_compared": n_metrics,
        "parity": all(not v for v in mismatched.values()),
        "mismatched_keys": mismatched,
        "median": summary,
        "runs": [{k: v for k, v in r.items() if k != "_cells"} for r in runs],
        "load_average": round(os.getloadavg()[0], 1),
    }
    print(json.dumps({k: v for k, v in out.items() if k != "runs"}, indent=2))
    target = Path(__file__).parent / "measured" / "ray.json"
    target.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    if not out["parity"]:
        sys.exit(f"stored numbers differ between executors: {mismatched}")


if __name__ == "__main__":
    main()
