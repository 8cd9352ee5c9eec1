"""The report's statistics cost: sign-flip p-values, old kernel vs new, side by side in one process.

Old: float signs 1 − 2·integers(0, 2) and a float64 matmul per batch (the kernel before the
byte tables). New: :func:`skewbench.metrics.stats._sign_flip_p` (random bytes, a per-byte table
of partial sums). Both on the same vectors and n_perm, CPU time (``time.process_time``), with
the two p-values and their Monte-Carlo standard error. Vectors: per-unit shares of the size of
the default categorize run (5,201 test reviews; 0/±1 correctness shares: many ties), of
MovieLens users (943; continuous NDCG changes) and of search queries (537).

With ``--report RESULTS`` it also times a whole ``skewbench report RESULTS`` with this checkout's
code and with another checkout's (``--old-src``: e.g. ``git archive fb96463 src | tar -x -C
/tmp/old``), each in a child process from an empty ``report/`` folder (CPU = user + sys of the
child; peak = its maximum resident set). Recorded: the default results (configs/quick.yaml, all three tasks,
88 cells) against fb96463 (main before single SVG figures, no refit in the report and the
compiled bootstrap means; docs/speed.md keeps the 9806f36 → 78f64bb record); the earlier
record (81 TF-IDF cells, old = 913b749) is kept under ``earlier``.

    python benchmarks/bench_report_stats.py [--repeat 3] [--report results/quick --old-src DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from skewbench.metrics.stats import _sign_flip_p

N_PERM = 12_400  # the default report's resolution (Holm over 62 comparisons at 0.01)


def old_sign_flip_p(d: np.ndarray, gen: np.random.Generator, n_perm: int) -> float:
    """The kernel before this change (Monte-Carlo branch), verbatim."""
    n = d.size
    observed = abs(d.mean())
    threshold = observed - 1e-12 * observed
    count = 0
    batch = max(1, (1 << 22) // n)
    for s in range(0, n_perm, batch):
        e = min(n_perm, s + batch)
        signs = 1.0 - 2.0 * gen.integers(0, 2, size=(e - s, n))
        count += int(np.count_nonzero(np.abs(signs @ d) / n >= threshold))
    return (1 + count) / (1 + n_perm)


def _vectors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 5201
    flips = (rng.random(n) < 0.06).astype(float) - (rng.random(n) < 0.05)
    return {
        "categorize 5,201 shares (ties)": flips / n,
        "recommend 943 users": rng.normal(0.004, 0.2, 943) / 943,
        "search 537 queries": rng.normal(0.01, 0.25, 537) / 537,
    }


def _cpu(f, *args) -> tuple[float, float]:
    t0 = time.process_time()
    out = f(*args)
    return time.process_time() - t0, out


def kernels(repeat: int) -> dict:
    res = {}
    for name, d in _vectors().items():
        old_t, new_t, old_p, new_p = [], [], 0.0, 0.0
        for r in range(repeat):
            t, old_p = _cpu(old_sign_flip_p, d, np.random.default_rng(r), N_PERM)
            old_t.append(t)
            t, new_p = _cpu(_sign_flip_p, d, np.random.default_rng(r), N_PERM)
            new_t.append(t)
        se = float(np.sqrt(max(old_p * (1 - old_p), 1e-12) / N_PERM))
        res[name] = {
            "old_cpu_s": round(float(np.median(old_t)), 4),
            "new_cpu_s": round(float(np.median(new_t)), 4),
            "speedup": round(float(np.median(old_t) / np.median(new_t)), 2),
            "p_old": round(old_p, 5),
            "p_new": round(new_p, 5),
            "mc_se": round(se, 5),
        }
    return res


def _report_cpu(src: str, results: str) -> dict[str, float]:
    shutil.rmtree(Path(results) / "report", ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": src, "SKEWBENCH_QUIET": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [sys.executable, "-m", "skewbench.cli", "report", results]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of the children is the largest child so far (KiB on Linux)
    return {"cpu_s": round(cpu, 2), "wall_s": round(wall, 1), "peak_mb": after.ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--report", help="a results folder to time `skewbench report` on")
    ap.add_argument("--old-src", help="the src folder of the checkout to compare against")
    args = ap.parse_args()
    out: dict = {"n_perm": N_PERM, "kernels": kernels(args.repeat)}
    if args.report:
        new_src = str(Path(__file__).resolve().parents[1] / "src")
        load = [os.getloadavg()[0]]
        # New first: ru_maxrss of the children is a running maximum, so the old code's peak
        # (the larger) is only its own when it runs second.
        runs = {"new": _report_cpu(new_src, args.report)}
        load.append(os.getloadavg()[0])
        if args.old_src:
            runs["old"] = _report_cpu(args.old_src, args.report)
            load.append(os.getloadavg()[0])
            out["old_src"] = args.old_src
        out["report"] = runs
        out["report_cpu_s"] = {k: v["cpu_s"] for k, v in runs.items()}
        out["report_results"] = args.report
        out["report_load_average"] = [round(min(load), 1), round(max(load), 1)]
    out["load_average"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))
    target = Path(__file__).parent / "measured" / "report_stats.json"
    if target.is_file():
        earlier = json.loads(target.read_text(encoding="utf-8"))
        out["earlier"] = earlier.get("earlier") or {
            k: earlier[k] for k in ("report_cpu_s", "old_src", "report_results") if k in earlier
        }
    target.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
