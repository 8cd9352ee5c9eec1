"""Benchmark: skewbench's BPR (numba SGD) against implicit's BayesianPersonalizedRanking.

Usage: ``python benchmarks/bench_bpr.py [--datasets movielens100k completejourney] [--epochs 20]
[--factors 64] [--reps 3] [--json out.json]``.

Data: the recommend task's split of replicate 0 (no imbalance; MovieLens-100k ratings >= 4 with a
per-user random 80/20 split, Complete Journey with a temporal split). Both libraries train the
same number of epochs with the same number of factors and the same SGD hyper-parameters
(implicit's defaults lr 0.01, reg 0.01, which are skewbench's defaults too), single-threaded
(implicit also with all threads); per-epoch time = fit time / epochs (median over ``--reps`` interleaved fits with different seeds). Quality: NDCG@10 and
Recall@20 of full ranking with training items excluded, scored by skewbench's metrics, mean
over the same fits. Nothing is tuned on the test split: both run at their defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from skewbench.metrics.ranking import ranking_metrics
from skewbench.metrics.topk import topk
from skewbench.models.recommend import BPR
from skewbench.runner.cell import Cell, Component
from skewbench.tasks.recommend import load_split


def evaluate(user_f: np.ndarray, item_f: np.ndarray, X, T) -> tuple[float, float]:
    users = np.flatnonzero(np.diff(T.indptr) > 0)
    parts = []
    for s in range(0, users.size, 1024):
        u = users[s : s + 1024]
        parts.append(topk(user_f[u] @ item_f.T, 20, exclude=X[u]))
    m = ranking_metrics(np.concatenate(parts), T[users], ["ndcg", "recall"], [10, 20])
    return float(m["ndcg@10"].mean()), float(m["recall@20"].mean())


def fit_ours(X, epochs: int, factors: int, seed: int):
    model = BPR(factors=factors, epochs=epochs).fit(X, seed=seed)
    uf = np.hstack([model.user_factors_, np.ones((X.shape[0], 1), np.float32)])
    itf = np.hstack([model.item_factors_, model.item_bias_[:, None]])
    return uf, itf


def fit_implicit(X, epochs: int, factors: int, seed: int, threads: int):
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    model = BayesianPersonalizedRanking(
        factors=factors, iterations=epochs, num_threads=threads, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X.tocsr().astype(np.float32), show_progress=False)
    return np.asarray(model.user_factors), np.asarray(model.item_factors)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--datasets", nargs="+", default=["movielens100k", "completejourney"])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    results = {}
    for name in args.datasets:
        cell = Cell("recommend", Component(name), Component("bpr"), Component("none"), None, 0)
        _, X, T, _ = load_split(cell)
        fit_ours(X[:50], 1, 4, 0)  # compile / cache load
        print(f"\n== {name}: {X.shape[0]:,} users × {X.shape[1]:,} items, {X.nnz:,} training "
              f"pairs; {args.epochs} epochs, {args.factors} factors")  # fmt: skip
        runs = {"skewbench (1 thread)": [], "implicit (1 thread)": [], "implicit (all threads)": []}
        loads = []
        with threadpool_limits(1):
            for rep in range(args.reps):
                loads.append(os.getloadavg()[0])
                for label in runs:
                    t0 = time.perf_counter()
                    if label.startswith("skewbench"):
                        uf, itf = fit_ours(X, args.epochs, args.factors, rep)
                    else:
                        threads = 1 if "1 thread" in label else 0
                        uf, itf = fit_implicit(X, args.epochs, args.factors, rep, threads)
                    sec = (time.perf_counter() - t0) / args.epochs
                    runs[label].append((sec, *evaluate(uf, itf, X, T)))
        base = float(np.median([r[0] for r in runs["implicit (1 thread)"]]))
        print(f"   median of {args.reps} interleaved fits; load {min(loads):.1f}–{max(loads):.1f} "
              f"on {os.cpu_count()} cores (shared machine: compare ratios)")  # fmt: skip
        print(f"   {'':<24}{'s / epoch':>10}{'vs implicit 1t':>16}{'NDCG@10':>10}{'Recall@20':>11}")
        res = {}
        for label, rows in runs.items():
            sec = float(np.median([r[0] for r in rows]))
            ndcg, rec = float(np.mean([r[1] for r in rows])), float(np.mean([r[2] for r in rows]))
            print(f"   {label:<24}{sec:>10.4f}{sec / base:>15.2f}x{ndcg:>10.4f}{rec:>11.4f}")
            res[label] = {"s_per_epoch": sec, "ndcg@10": ndcg, "recall@20": rec}
        results[name] = {"nnz": int(X.nnz), "load": [min(loads), max(loads)], **res}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
