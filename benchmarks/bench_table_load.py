"""Loading your own interactions file for the recommend task: CPU seconds, in one process.

Usage: ``python benchmarks/bench_table_load.py [--rows 1e7] [--file /tmp/inter.parquet]
[--json out.json]``. Writes (once) a ``table`` interactions file of synthetic Zipf data with
string ids ("u123", "i456"; 1 % repeated rows), then builds the recommend task's data side
from it three ways, each timed in CPU seconds:

- before: ids coded by ``np.searchsorted`` into the sorted string ids (a Python string
  comparison per step of each search), as the loader did, and no disk cache;
- first load: ids coded by one hash lookup per row (``code_ids``), the result written to the
  disk cache;
- again, in a fresh process (what the prepare child and each worker pay): read from the cache.

The coded frames of "before" and "first load" must be equal element for element (the script
stops otherwise), and so must the cached copy's. A run with 2 workers loads a data side 4 times
(the data check, the prepare child, each worker).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from skewbench.data.synthetic import zipf_chunks
from skewbench.tasks.recommend.data import code_ids


def write_file(path: str, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n_users, n_items = rows // 100, min(100_000, rows // 10)
    parts = list(zipf_chunks(rng, n_users, n_items, rows, a=1.0, activity_a=0.5))
    u = np.concatenate([p[0] for p in parts])
    i = np.concatenate([p[1] for p in parts])
    dup = rng.random(u.size) < 0.01  # some repeated (user, item) rows: merged by the loader
    u, i = np.concatenate([u, u[dup]]), np.concatenate([i, i[dup]])
    df = pd.DataFrame({
        "user_id": np.char.add("u", u.astype(str)),
        "item_id": np.char.add("i", i.astype(str)),
        "timestamp": rng.integers(0, 10**9, u.size),
        "weight": 1.0,
    })  # fmt: skip
    df.to_parquet(path, index=False)


def cpu(fn, *args):
    c = time.process_time()
    out = fn(*args)
    return out, time.process_time() - c


def load_cell(path: str, cached: bool = True):
    """What a cell of a ``table`` data set does first (the in-process cache bypassed)."""
    from skewbench import specs
    from skewbench.data.fingerprint import file_fingerprint
    from skewbench.data.sources.table import freeze
    from skewbench.tasks.recommend import data as D

    spec = specs.find("dataset", "recommend", "table").spec
    params = freeze({**specs.defaults(spec), "interactions": path, "user_k": 1, "item_k": 1})
    if not cached:
        return D._build("table", params)
    return D.load.__wrapped__("table", params, ((path, file_fingerprint(path)),))


def searchsorted_codes(sorted_ids: np.ndarray, values: pd.Series) -> np.ndarray:
    return np.searchsorted(sorted_ids, values.to_numpy())


def main() -> None:
    from skewbench.tasks.recommend import data as D

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=float, default=1e7)
    ap.add_argument("--file", default="/tmp/skewbench_table_1e7.parquet")
    ap.add_argument("--json")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:  # a fresh process: the load a worker does after the first one
        data, t = cpu(load_cell, a.file)
        print(json.dumps({"cpu_s": t, "pairs": len(data.interactions)}))
        return
    if not os.path.exists(a.file):
        print(f"writing {int(a.rows):,} rows to {a.file}", flush=True)
        write_file(a.file, int(a.rows))
    os.environ["SKEWBENCH_CACHE"] = tempfile.mkdtemp(prefix="bench_table_load_")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    D.code_ids = searchsorted_codes  # the former coding
    before, t_before = cpu(load_cell, a.file, False)
    D.code_ids = code_ids
    prof = cProfile.Profile()
    prof.enable()
    first, t_first = cpu(load_cell, a.file)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(10)
    if not before.interactions.equals(first.interactions):
        sys.exit("the two codings differ")
    child = subprocess.run(
        [sys.executable, __file__, "--child", "--file", a.file],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    again = json.loads(child.stdout.strip().splitlines()[-1])
    cached = load_cell(a.file)  # from the cache, in this process
    if not cached.interactions.equals(first.interactions):
        sys.exit("the cached data side differs")
    shutil.rmtree(os.environ["SKEWBENCH_CACHE"])
    out = {
        "rows": pd.read_parquet(a.file, columns=["weight"]).shape[0],
        "pairs": len(first.interactions),
        "users": int(first.users.size),
        "items": int(first.items.size),
        "before_cpu_s": t_before,
        "first_load_cpu_s": t_first,
        "again_fresh_process_cpu_s": again["cpu_s"],
        "run_with_2_workers_before_cpu_s": 4 * t_before,
        "run_with_2_workers_after_cpu_s": t_first + 3 * again["cpu_s"],
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(out, indent=1))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
