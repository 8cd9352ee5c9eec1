"""Why ALS's fit grows faster than its data: implicit's two half-steps timed apart.

Usage: ``python benchmarks/bench_als_growth.py [--sizes 1e6 3e6 1e7 3e7] [--items 100000]
[--json out.json]``. Data as bench_scale.py (n/100 users, min(items, n/10) items, Zipf). One
ALS iteration of ``implicit`` (conjugate gradient, 64 factors, one thread) is two solver calls:
the user step (each user's row solved against the item factors) and the item step (each item's
column against the user factors). Each is timed alone (CPU seconds, mean of 3 iterations after a
warm-up one) and divided by the non-zeros it reads. Work per non-zero is the same at every size
(3 CG steps × a 64-float dot and axpy), so a growing cost per non-zero is memory: the step that
gathers rows of the *other* side's factors at random slows when those factors outgrow the CPU's
caches. The user step gathers item factors (100k × 64 floats = 26 MB, fixed); the item step
gathers user factors, which grow with the users (10k users: 2.6 MB; 1M users: 256 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from skewbench.data.synthetic import zipf_matrix


def measure(n: int, item_cap: int, reps: int = 3) -> dict:
    from implicit.cpu.als import AlternatingLeastSquares

    n_users, n_items = n // 100, min(item_cap, n // 10)
    X, _ = zipf_matrix(np.random.default_rng(0), n_users, n_items, n, a=1.0, activity_a=0.5,
                       test_frac=0.2)  # fmt: skip
    model = AlternatingLeastSquares(factors=64, regularization=0.01, alpha=10.0, iterations=1,
                                    num_threads=1, random_state=0)  # fmt: skip
    model.fit(X.astype(np.float32), show_progress=False)  # factors initialised, one warm-up
    Cui = (10.0 * X).astype(np.float32).tocsr()  # as implicit's fit: alpha · X, and its transpose
    Ciu = Cui.T.tocsr()
    user_s = item_s = 0.0
    for _ in range(reps):
        c = time.process_time()
        model.solver(Cui, model.user_factors, model.item_factors, 0.01, num_threads=1)
        user_s += time.process_time() - c
        c = time.process_time()
        model.solver(Ciu, model.item_factors, model.user_factors, 0.01, num_threads=1)
        item_s += time.process_time() - c
    user_s, item_s = user_s / reps, item_s / reps
    row = {
        "interactions": n, "users": n_users, "items": n_items, "nnz": int(X.nnz),
        "user_step_s": user_s, "item_step_s": item_s,
        "user_step_ns_per_nnz": user_s / X.nnz * 1e9, "item_step_ns_per_nnz": item_s / X.nnz * 1e9,
        "user_factors_mb": n_users * 64 * 4 / 1e6, "item_factors_mb": n_items * 64 * 4 / 1e6,
        "load_average": os.getloadavg()[0],
    }  # fmt: skip
    print(
        f"{n:>12,} interactions ({n_users:,} × {n_items:,}): user step {user_s:6.2f} CPU-s "
        f"({row['user_step_ns_per_nnz']:.0f} ns/nnz), item step {item_s:6.2f} CPU-s "
        f"({row['item_step_ns_per_nnz']:.0f} ns/nnz); user factors "
        f"{row['user_factors_mb']:.0f} MB (load {row['load_average']:.1f})",
        flush=True,
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e6, 3e6, 1e7, 3e7])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--json")
    a = ap.parse_args()
    with threadpool_limits(1):
        rows = [measure(int(n), a.items) for n in a.sizes]
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
