"""Warm re-run and validate cost: a finished popularity config run again (nothing to do).

Runs `skewbench run` once to finish a tiny MovieLens-100k popularity grid and write its report,
then times `skewbench run --no-report` (every cell already stored), a plain `skewbench run`
(the report is up to date, so it is left as it is) and `skewbench validate --no-data`
``--repeat`` times each in fresh processes; prints wall and CPU (user + sys of the child)
medians and writes benchmarks/measured/warm.json.

    python benchmarks/bench_warm_rerun.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """name: warm
seed: 1
seeds: 2
workers: 1
experiments:
  - task: recommend
    datasets: [movielens100k]
    models: [popularity, random]
    options: {cutoffs: [10], max_users: 50}
"""


def _timed(cmd: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    exe = [sys.executable, "-m", "skewbench.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "warm.yaml"
        cfg.write_text(CONFIG + f"output: {tmp}/out\n", encoding="utf-8")
        subprocess.run([*exe, "run", str(cfg), "--quiet"], check=True, capture_output=True)
        out = {}
        for name, cmd in (
            ("warm_rerun", [*exe, "run", str(cfg), "--quiet", "--no-report"]),
            ("warm_rerun_report_up_to_date", [*exe, "run", str(cfg), "--quiet"]),
            ("validate", [*exe, "validate", str(cfg), "--no-data"]),
        ):
            runs = [_timed(cmd) for _ in range(args.repeat)]
            out[name] = {
                "wall_s_median": round(statistics.median(r[0] for r in runs), 3),
                "cpu_s_median": round(statistics.median(r[1] for r in runs), 3),
                "repeats": args.repeat,
            }
    out["load_average"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))
    target = Path(__file__).parent / "measured" / "warm.json"
    target.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
