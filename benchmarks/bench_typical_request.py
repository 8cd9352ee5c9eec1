"""The typical ranking-metrics request against the memory-read floor, in CPU time; ranx on the
same request as the peer; optionally beside another checkout's kernel in the same process
(``--old-src``).

Request: NDCG, Recall, MRR and P at cutoffs 10 and 20 (8 values per unit; NDCG@10, Recall@20,
MRR and P@10 are among them) on bench_metrics.py's inputs (99,945 units × top-100 over 50,000
items, graded truth). Floor: one ``numpy.sum`` pass over the same arrays (the lists, the truth's
indices and grades), as bench_metrics.py and the README measure it. Timed, each a median of
``--reps`` interleaved runs of CPU time (``time.process_time``, all threads):

- ``array``: ``ranking_metrics`` on the plain array — every slot of every list checked (item
  range, repeats) in the same pass;
- ``checked``: the same request on ``RankedLists`` checked once beforehand (read only up to the
  largest cutoff, no check);
- ``check``: ``RankedLists.check`` alone, the once-per-run cost the ``checked`` line leaves out;
- ``ranx``: ``ranx.evaluate`` on its already-built typed lists (numba, its threads summed);
- ``old``: ``ranking_metrics`` of ``--old-src`` on the plain array.

The per-unit values of every skewbench contestant are compared for equality, ranx's means for
the largest absolute difference.

    python benchmarks/bench_typical_request.py [--old-src DIR] [--reps 11] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np

from bench_metrics import make_lists, make_truth, ranx_typed_lists

TYPICAL = ["ndcg", "recall", "mrr", "precision"]
CUTOFFS = [10, 20]
N_ITEMS = 50_000


def _ranking(src: str) -> ModuleType:
    """``skewbench.metrics.ranking`` imported from ``src`` (the modules are dropped again
    afterwards, so the next import sees this checkout)."""
    for name in [m for m in sys.modules if m.startswith("skewbench")]:
        del sys.modules[name]
    sys.path.insert(0, src)
    try:
        return importlib.import_module("skewbench.metrics.ranking")
    finally:
        sys.path.remove(src)
        for name in [m for m in sys.modules if m.startswith("skewbench")]:
            del sys.modules[name]


def _cpu(fn) -> float:
    c = time.process_time()
    fn()
    return time.process_time() - c


def main() -> None:
    import ranx

    ap = argparse.ArgumentParser()
    ap.add_argument("--old-src", help="src folder of the checkout to compare against")
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--json")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    ranked = make_lists(rng, 100_000, 100, N_ITEMS)
    truth = make_truth(rng, ranked, N_ITEMS)
    has = np.diff(truth.indptr) > 0
    ranked, truth = ranked[has], truth[has]  # ranx cannot take units without relevant items
    new = _ranking(str(Path(__file__).resolve().parents[1] / "src"))
    checked = new.RankedLists.check(ranked, N_ITEMS)
    runs = {
        "array": lambda: new.ranking_metrics(ranked, truth, TYPICAL, CUTOFFS),
        "checked": lambda: new.ranking_metrics(checked, truth, TYPICAL, CUTOFFS),
    }
    if a.old_src:
        old = _ranking(a.old_src).ranking_metrics
        runs["old"] = lambda: old(ranked, truth, TYPICAL, CUTOFFS)
    values = {k: f() for k, f in runs.items()}  # also compiles / loads the numba caches
    same = all(np.array_equal(values["array"][m], v[m]) for v in values.values() for m in v)
    tq, tr = ranx_typed_lists(ranked, truth)
    names = [f"{m}@{k}" for m in TYPICAL for k in CUTOFFS]

    def peer() -> dict[str, float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ranx.evaluate(tq, tr, names)

    means = peer()  # compile
    worst = max(abs(float(np.mean(values["array"][m])) - means[m]) for m in names)

    def floor() -> int:
        return int(np.sum(ranked)) + int(np.sum(truth.indices)) + int(np.sum(truth.data))

    timed = {
        **runs,
        "check": lambda: new.RankedLists.check(ranked, N_ITEMS),
        "ranx": peer,
        "floor": floor,
    }
    cpu: dict[str, list[float]] = {k: [] for k in timed}
    loads = []
    for _ in range(a.reps):
        loads.append(os.getloadavg()[0])
        for k, f in timed.items():
            cpu[k].append(_cpu(f))
    med = {k: float(np.median(v)) for k, v in cpu.items()}
    ratio = {k: med[k] / med["floor"] for k in med if k != "floor"}
    out = {
        "units": int(ranked.shape[0]), "k": int(ranked.shape[1]), "items": N_ITEMS,
        "metrics": TYPICAL, "cutoffs": CUTOFFS, "reps": a.reps,
        "load": [round(min(loads), 1), round(max(loads), 1)], "identical": bool(same),
        "ranx_max_abs_mean_diff": worst,
        **{f"{k}_cpu_s": v for k, v in med.items()},
        **{f"{k}_vs_floor": v for k, v in ratio.items()},
    }  # fmt: skip
    for k in ratio:
        print(f"{k:>7}: {med[k] * 1e3:6.1f} ms CPU = {ratio[k]:.1f}x the floor")
    print(f"  floor: {med['floor'] * 1e3:.1f} ms CPU; identical values: {same}; ranx means within "
          f"{worst:.1e}; load average {min(loads):.1f}-{max(loads):.1f}")  # fmt: skip
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
