"""Scale benchmark: the recommend path on streamed synthetic Zipf data at 10⁵, 10⁶, 10⁷
interactions, with wall time and peak memory per stage, and a docs/speed.md plot.

Usage: ``python benchmarks/bench_scale.py [--sizes 1e5 1e6 1e7] [--items 10000]
[--models popularity itemknn als bpr] [--json out.json] [--plot docs/scale.png]``.
The 10⁸ run of docs/speed.md: ``--sizes 1e8 --items 100000`` (1M users × 100k items), one model
per process if need be (``--models als``): every stage is added to ``--json`` as soon as it
ends, so a long run loses nothing finished, and runs of the same size merge.

Data (:func:`skewbench.data.synthetic.zipf_matrix`): n/100 users, min(10,000, n/10) items, item
popularity Zipf a = 1, user activity ∝ (u + 1)^−0.5, each interaction held out for test with
probability 0.2 (seeded). Stages, each timed (wall) with the process's peak resident memory
(VmHWM, reset before the stage through /proc/self/clear_refs, so it is the stage's own peak
including the data it holds): generate; per model (popularity, ItemKNN, ALS via implicit, BPR)
fit, then score + top-100 with training items excluded for every user with a test item, then
metrics (NDCG/Recall/MAP/Precision at 10, 20, 50, 100 and the exposure + diversity set on the
top-20 with one shared list_item_stats pass). Single-threaded (BLAS, implicit, numba) so the
numbers do not depend on the load of the other core; the machine is shared, so the load
average is printed with every size.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from skewbench.data.synthetic import zipf_matrix
from skewbench.metrics.diversity import diversity_metrics
from skewbench.metrics.exposure import exposure_metrics, list_item_stats, position_weights
from skewbench.metrics.ranking import ranking_metrics
from skewbench.models import recommend as R
from skewbench.models.recommend.base import rank_users


def _hwm_reset() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _hwm_gb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e9
    return float("nan")


_SAVE: dict = {}  # {"path": …, "meta": …}: where each finished stage is written at once


def _save(log: list) -> None:
    if not _SAVE:
        return
    path = _SAVE["path"]
    old: dict = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            old = json.load(f)
    mine = {(r["size"], r["model"], r["stage"]) for r in log}
    kept = [r for r in old.get("stages", []) if (r["size"], r["model"], r["stage"]) not in mine]
    out = {**old, **_SAVE["meta"], "stages": kept + log}
    out["sizes"] = {**old.get("sizes", {}), **_SAVE["sizes"]}
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    os.replace(path + ".tmp", path)


def stage(log: list, size: int, model: str, name: str, fn, *args, **kw):
    quiet = size < 10_000  # the warm-up run
    gc.collect()
    _hwm_reset()
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kw)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    row = {"size": size, "model": model, "stage": name, "wall_s": wall, "cpu_s": cpu,
           "peak_gb": _hwm_gb(), "load_average": os.getloadavg()[0]}  # fmt: skip
    log.append(row)
    if not quiet:
        _save(log)
    if not quiet:
        print(
            f"   {model:<11}{name:<10}{wall:9.2f} s wall {cpu:9.2f} s CPU  "
            f"peak RSS {row['peak_gb']:6.2f} GB",
            flush=True,
        )
    return out


def rank_all(model: R.Recommender, X, users: np.ndarray, k: int) -> np.ndarray:
    return rank_users(model, X, users, k)[0]


def metrics(ranked: np.ndarray, T, X, users: np.ndarray) -> dict[str, float]:
    per = ranking_metrics(
        ranked, T[users], ["ndcg", "recall", "map", "precision"], [10, 20, 50, 100]
    )
    out = {k: float(v.mean()) for k, v in per.items()}
    top = ranked[:, :20]
    n_items = X.shape[1]
    pop = np.bincount(X.indices, minlength=n_items).astype(np.float64)
    order = np.argsort(-pop, kind="stable")
    tail = np.ones(n_items, bool)
    tail[order[np.cumsum(pop[order]) <= 0.2 * pop.sum()]] = False
    stats = list_item_stats(top, n_items, position_weights(20, "log"), T[users])
    out |= exposure_metrics(top, n_items, pop, truth=T[users], tail=tail, stats=stats)
    out |= diversity_metrics(top, n_items, pop, stats=stats, n_users=X.shape[0])
    return out


MODELS = ("popularity", "itemknn", "als", "bpr")


def run_size(
    n: int,
    seed: int,
    epochs: int,
    iterations: int,
    log: list,
    item_cap: int = 10_000,
    only: tuple[str, ...] = MODELS,
    rank_users_cap: int = 0,
) -> dict:
    n_users, n_items = n // 100, min(item_cap, n // 10)
    if n >= 10_000:
        print(f"\n== {n:,} interactions: {n_users:,} users × {n_items:,} items "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)", flush=True)  # fmt: skip
    X, T = stage(log, n, "data", "generate", zipf_matrix, np.random.default_rng(seed), n_users,
                 n_items, n, a=1.0, activity_a=0.5, test_frac=0.2)  # fmt: skip
    users = np.flatnonzero(np.diff(T.indptr) > 0)
    n_eval = users.size
    if rank_users_cap and users.size > rank_users_cap:  # a seeded sample; cost ∝ users ranked
        pick = np.random.default_rng([seed, n]).choice(users.size, rank_users_cap, replace=False)
        users = users[np.sort(pick)]
        print(f"   ranking a random {users.size:,} of the {n_eval:,} users with a test item "
              "(per-user work: the cost for all is the measured one × their ratio)")  # fmt: skip
    quality = {}
    models = {
        "popularity": R.Popularity(),
        "itemknn": R.ItemKNN(neighbours=100),
        "als": R.ALS(factors=64, iterations=iterations, num_threads=1),
        "bpr": R.BPR(factors=64, epochs=epochs),
    }
    for name in only:  # in the order asked for
        model = models[name]
        stage(log, n, name, "fit", model.fit, X, seed=seed)
        ranked = stage(log, n, name, "rank", rank_all, model, X, users, 100)
        m = stage(log, n, name, "metrics", metrics, ranked, T, X, users)
        quality[name] = {k: m[k] for k in ("ndcg@10", "recall@20", "exposure_gini", "coverage")}
        del model, ranked
        models[name] = None
    return {"users": n_users, "items": n_items, "train": int(X.nnz), "test": int(T.nnz),
            "eval_users": int(n_eval), "ranked_users": int(users.size),
            "quality": quality}  # fmt: skip


def plot(log: list, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    sizes = sorted({r["size"] for r in log})
    for model in ("data", "popularity", "itemknn", "als", "bpr"):
        rows = [r for r in log if r["model"] == model]
        wall = [sum(r["wall_s"] for r in rows if r["size"] == s) for s in sizes]
        peak = [max(r["peak_gb"] for r in rows if r["size"] == s) for s in sizes]
        label = "generate data" if model == "data" else f"{model} (fit + rank + metrics)"
        ax1.plot(sizes, wall, marker="o", label=label)
        ax2.plot(sizes, peak, marker="o", label=label)
    for ax, title in ((ax1, "wall time (s), one thread"), (ax2, "peak resident memory (GB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("interactions")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=8)
    fig.suptitle("skewbench recommend path on synthetic Zipf data (bench_scale.py)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6, 1e7])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=20, help="BPR epochs (model default 20)")
    ap.add_argument("--iterations", type=int, default=15, help="ALS iterations (default 15)")
    ap.add_argument("--items", type=int, default=10_000, help="item cap: items = min(cap, n/10)")
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--rank-users", type=int, default=0,
                    help="rank (and score) a seeded sample of at most this many users; 0 = all")  # fmt: skip
    ap.add_argument("--json")
    ap.add_argument("--plot")
    a = ap.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    log: list = []
    info: dict = {}
    if a.json:
        _SAVE.update(path=a.json, sizes=info, meta={"epochs": a.epochs,
                     "iterations": a.iterations, "item_cap": a.items})  # fmt: skip
    with threadpool_limits(1):
        run_size(2_000, a.seed, 1, 1, [])  # compile / load the numba caches: not timed
        t0 = time.perf_counter()
        for n in a.sizes:
            t = time.perf_counter()
            c = time.process_time()
            key = f"{int(n)} {'+'.join(a.models)}"  # processes running other models merge
            info[key] = run_size(
                int(n), a.seed, a.epochs, a.iterations, log, a.items, tuple(a.models),
                a.rank_users,
            )  # fmt: skip
            info[key]["total_s"] = time.perf_counter() - t
            info[key]["total_cpu_s"] = time.process_time() - c
            info[key]["peak_gb"] = max(r["peak_gb"] for r in log if r["size"] == int(n))
            print(
                f"   total {info[key]['total_s']:.1f} s wall, "
                f"{info[key]['total_cpu_s']:.1f} s CPU, peak {info[key]['peak_gb']:.2f} GB"
            )
            _save(log)
    print(f"\nall sizes: {time.perf_counter() - t0:.1f} s")
    if a.plot:
        plot(log, a.plot)


if __name__ == "__main__":
    main()
