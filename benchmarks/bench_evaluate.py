"""Benchmark: reading a 10⁶-line TREC run with skewbench's reader beside ranx's
``Run.from_file``, in one process, and scoring it.

Run: ``python benchmarks/bench_evaluate.py [--units 10000] [--depth 100] [--json out.json]``.

Writes a TREC run of ``units × depth`` lines (with score ties) and its qrels into a temporary
folder, then times, interleaved over ``--reps`` rounds (median; CPU time of this process and
wall time): ``skewbench.data.runfiles.read_run`` (parse, validate: numbers, duplicates,
ranks; order by trec_eval's convention) and ranx ``Run.from_file(kind="trec")`` (parse into
its dict of dicts). ranx is warmed up first. Then, once, ``score_ranked`` on the run: read,
index, every list metric of the recommend task (ranking at 5/10/20/50, exposure, diversity).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def write_files(folder: Path, n_units: int, depth: int, n_items: int = 50_000) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    run, qrels = folder / "run.trec", folder / "qrels.trec"
    units = np.repeat(np.arange(n_units), depth)
    items = (rng.integers(0, n_items, (n_units, 1)) + np.arange(depth) * 7) % n_items
    scores = np.round(rng.random((n_units, depth)) * 50, 1)  # many ties
    ranks = np.tile(np.arange(1, depth + 1), n_units)
    lines = [
        f"q{u} Q0 d{i} {r} {s} bench"
        for u, i, r, s in zip(units, items.ravel(), ranks, scores.ravel(), strict=True)
    ]
    run.write_text("\n".join(lines) + "\n")
    judged = [f"q{u} 0 d{i} 1" for u in range(n_units) for i in items[u, rng.integers(0, depth, 3)]]
    qrels.write_text("\n".join(dict.fromkeys(judged)) + "\n")
    return run, qrels


def timed(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=10_000)
    ap.add_argument("--depth", type=int, default=100)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    from ranx import Run

    from skewbench.data.runfiles import read_run
    from skewbench.evaluation.api import score_ranked

    with tempfile.TemporaryDirectory() as tmp:
        run, qrels = write_files(Path(tmp), args.units, args.depth)
        n_lines = args.units * args.depth
        small = Path(tmp) / "small.trec"
        small.write_text("".join(run.open().readlines()[:1000]))
        Run.from_file(str(small), kind="trec")  # warm-up (numba)
        read_run(small)
        ours, theirs = [], []
        for _ in range(args.reps):
            ours.append(timed(lambda: read_run(run)))
            theirs.append(timed(lambda: Run.from_file(str(run), kind="trec")))
        score_cpu, score_wall = timed(lambda: score_ranked("recommend", qrels, {"bench": run}))
    res = {
        "lines": n_lines,
        "skewbench_read_cpu_s": statistics.median(c for c, _ in ours),
        "skewbench_read_wall_s": statistics.median(w for _, w in ours),
        "ranx_from_file_cpu_s": statistics.median(c for c, _ in theirs),
        "ranx_from_file_wall_s": statistics.median(w for _, w in theirs),
        "score_ranked_cpu_s": score_cpu,
        "score_ranked_wall_s": score_wall,
    }
    res["cpu_ratio_skewbench_over_ranx"] = res["skewbench_read_cpu_s"] / res["ranx_from_file_cpu_s"]
    for k, v in res.items():
        print(f"{k:34s} {v:.3f}" if isinstance(v, float) else f"{k:34s} {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
