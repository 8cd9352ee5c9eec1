"""The typical ranking-metrics request against the memory-read floor, in CPU time; optionally
beside another checkout's kernel in the same process (``--old-src``).

Request: NDCG, Recall, MRR and P at cutoffs 10 and 20 (8 values per unit; NDCG@10, Recall@20,
MRR and P@10 are among them) on bench_metrics.py's inputs (99,945 units × top-100 over 50,000
items, graded truth). Floor: one ``numpy.sum`` pass over the same arrays (the lists, the truth's
indices and grades), as bench_metrics.py and the README measure it. Median CPU time
(``time.process_time``) of ``--reps`` interleaved runs; the old and new per-unit values are
compared for equality.

    python benchmarks/bench_typical_request.py [--old-src DIR] [--reps 9] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench_metrics import make_lists, make_truth

TYPICAL = ["ndcg", "recall", "mrr", "precision"]
CUTOFFS = [10, 20]


def _ranking_metrics(src: str):
    """``ranking_metrics`` imported from ``src`` (the modules are dropped again afterwards, so
    the next import sees this checkout)."""
    for name in [m for m in sys.modules if m.startswith("skewbench")]:
        del sys.modules[name]
    sys.path.insert(0, src)
    try:
        return importlib.import_module("skewbench.metrics.ranking").ranking_metrics
    finally:
        sys.path.remove(src)
        for name in [m for m in sys.modules if m.startswith("skewbench")]:
            del sys.modules[name]


def _cpu(fn) -> float:
    c = time.process_time()
    fn()
    return time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old-src", help="src folder of the checkout to compare against")
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--json")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    ranked = make_lists(rng, 100_000, 100, 50_000)
    truth = make_truth(rng, ranked, 50_000)
    has = np.diff(truth.indptr) > 0
    ranked, truth = ranked[has], truth[has]
    contestants = {"new": _ranking_metrics(str(Path(__file__).resolve().parents[1] / "src"))}
    if a.old_src:
        contestants["old"] = _ranking_metrics(a.old_src)
    values = {k: f(ranked, truth, TYPICAL, CUTOFFS) for k, f in contestants.items()}  # compile
    same = all(
        np.array_equal(values["new"][m], v[m]) for v in values.values() for m in values["new"]
    )

    def floor() -> int:
        return int(np.sum(ranked)) + int(np.sum(truth.indices)) + int(np.sum(truth.data))

    cpu: dict[str, list[float]] = {k: [] for k in [*contestants, "floor"]}
    loads = []
    for _ in range(a.reps):
        loads.append(os.getloadavg()[0])
        for k, f in contestants.items():
            cpu[k].append(_cpu(lambda f=f: f(ranked, truth, TYPICAL, CUTOFFS)))
        cpu["floor"].append(_cpu(floor))
    med = {k: float(np.median(v)) for k, v in cpu.items()}
    out = {
        "units": int(ranked.shape[0]), "k": int(ranked.shape[1]), "items": 50_000,
        "metrics": TYPICAL, "cutoffs": CUTOFFS, "reps": a.reps,
        "load": [round(min(loads), 1), round(max(loads), 1)], "identical": bool(same),
        **{f"{k}_cpu_s": v for k, v in med.items()},
        **{f"{k}_vs_floor": med[k] / med["floor"] for k in contestants},
    }  # fmt: skip
    for k in contestants:
        print(f"{k:>4}: {med[k] * 1e3:6.1f} ms CPU = {med[k] / med['floor']:.1f}x the floor")
    print(f"floor: {med['floor'] * 1e3:.1f} ms CPU; identical values: {same}; "
          f"load average {min(loads):.1f}-{max(loads):.1f}")  # fmt: skip
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
