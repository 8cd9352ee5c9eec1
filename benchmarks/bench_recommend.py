"""Throughput of the recommenders: BPR and ALS training (interactions/s per epoch) and full-ranking
scoring (users/s: score all items + top-k with training items excluded) for every model.

Usage: ``python benchmarks/bench_recommend.py [--dataset movielens100k|completejourney]
[--epochs 3] [--threads 1]``. Data: the recommend task's split of replicate 0 (no imbalance).
Numbers depend on the machine and its load; run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from skewbench.metrics.topk import topk
from skewbench.models import recommend as R
from skewbench.runner.cell import Cell, Component
from skewbench.tasks.recommend import load_split


def scoring_throughput(model: R.Recommender, X, users: np.ndarray, k: int = 50) -> float:
    t0 = time.perf_counter()
    for start in range(0, users.size, 512):
        u = users[start : start + 512]
        topk(model.score(u), k, exclude=X[u])
    return users.size / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", default="movielens100k")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="append this data set's rows to a JSON file")
    args = ap.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", str(args.threads))
    cell = Cell("recommend", Component(args.dataset), Component("ease"), Component("none"), None, 0)
    t0 = time.perf_counter()
    _, X, _, _ = load_split(cell)
    print(
        f"{args.dataset}: {X.shape[0]} users × {X.shape[1]} items, {X.nnz} train interactions "
        f"(load + split {time.perf_counter() - t0:.1f} s), threads={args.threads}"
    )
    users = np.arange(X.shape[0])
    models: list[tuple[str, R.Recommender]] = [
        ("random", R.RandomRanker()),
        ("popularity", R.Popularity()),
        ("itemknn", R.ItemKNN()),
        ("ease", R.EASE()),
        ("bpr", R.BPR(epochs=args.epochs)),
        ("als", R.ALS(iterations=args.epochs, num_threads=args.threads)),
    ]
    rows = []
    R.BPR(epochs=1, factors=4).fit(X[:50], seed=0)  # load the numba caches: not timed
    topk(np.random.default_rng(0).random((4, X.shape[1])), 5, exclude=X[:4])
    topk(R.Popularity().fit(X).score(users[:4]), 5, exclude=X[:4])
    with threadpool_limits(args.threads):
        for name, model in models:
            t0 = time.perf_counter()
            model.fit(X, seed=0)
            fit_s = time.perf_counter() - t0
            train = ""
            if name == "bpr":
                train = f"{X.nnz / np.median(model.epoch_seconds_):,.0f}"
            elif name == "als":
                train = f"{X.nnz * args.epochs / model.fit_seconds_:,.0f}"
            rows.append((name, fit_s, train, scoring_throughput(model, X, users)))
    print(f"\n{'model':<12}{'fit s':>10}{'train interactions/s/epoch':>30}{'scoring users/s':>18}")
    for name, fit_s, train, ups in rows:
        print(f"{name:<12}{fit_s:>10.2f}{train:>30}{ups:>18,.0f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {rss:,.0f} MB; load average {os.getloadavg()[0]:.1f}")
    if args.json:
        path = Path(args.json)
        stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        stored[args.dataset] = {
            "users": X.shape[0], "items": X.shape[1], "train": int(X.nnz), "epochs": args.epochs,
            "load": os.getloadavg()[0],
            "rows": [{"model": n, "fit_s": f, "train_per_s": t, "users_per_s": u}
                     for n, f, t, u in rows],
        }  # fmt: skip
        path.write_text(json.dumps(stored, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
