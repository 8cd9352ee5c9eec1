"""Benchmark: skewbench's ranking metrics against ranx, and the exposure + diversity set at scale.

Run: ``.venv/bin/python benchmarks/bench_metrics.py [--units N] [--quick] [--json out.json]``.

1. Accuracy: (units × k) ranked lists + CSR truth, 10 cutoffs, the 8 metrics both libraries
   define the same way. ranx is timed (after a warm-up: numba compiles on first use) on its
   already-built inputs (numba typed lists, the arrays its kernels take, and its Qrels/Run
   objects), then including their construction from the same arrays, and a numpy.sum read
   pass over the same input (the floor); median of ``--reps`` interleaved runs. Means are
   cross-checked.
2. Exposure + diversity: the full set for ``--exp-units`` × ``--exp-k`` lists (default
   1,000,000 × 20), wall time and peak memory (tracemalloc of the call; ru_maxrss of the
   process).
3. Catalogue size: the same accuracy inputs with item ids spread over 100× more items.
4. Popularity scoring + top-100 of 10,000 users × 5,000 items: shared-row vs general top-k.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
import tracemalloc
import warnings

import numpy as np
import scipy.sparse as sp

from skewbench.metrics.diversity import diversity_metrics
from skewbench.metrics.exposure import exposure_metrics, list_item_stats, position_weights
from skewbench.metrics.ranking import aggregate, ranking_metrics

CUTOFFS = [1, 3, 5, 10, 20, 30, 40, 50, 75, 100]
TYPICAL = ["ndcg", "recall", "mrr", "precision"]
# ours → ranx names, same definitions (checked in tests/metrics/test_ranking.py).
PAIRS = {
    "precision": "precision",
    "recall": "recall",
    "f1": "f1",
    "hit_rate": "hit_rate",
    "mrr": "mrr",
    "map": "map",
    "ndcg": "ndcg",
    "ndcg_exp": "ndcg_burges",
}


def make_lists(rng: np.random.Generator, n_units: int, k: int, n_items: int) -> np.ndarray:
    """Distinct items per row, popular items more often (Zipf-like start offsets)."""
    gaps = rng.integers(1, max(2, n_items // k), size=(n_units, k))
    offsets = np.cumsum(gaps, axis=1)  # strictly increasing, < n_items
    start = np.minimum(rng.zipf(1.3, size=(n_units, 1)) - 1, n_items - 1)
    items = (start + offsets) % n_items
    order = np.argsort(rng.random((n_units, k)), axis=1)
    return np.take_along_axis(items, order, axis=1).astype(np.int64)


def make_truth(rng: np.random.Generator, ranked: np.ndarray, n_items: int) -> sp.csr_matrix:
    """Graded truth (1..3): ~5% of listed items plus 1–10 random items per unit; some empty."""
    n_units, k = ranked.shape
    pick = (rng.random(ranked.shape) < 0.05) & (ranked >= 0)
    rows_a, cols_a = np.nonzero(pick)
    cols_a = ranked[rows_a, cols_a]
    n_extra = rng.integers(0, 11, size=n_units)
    rows_b = np.repeat(np.arange(n_units), n_extra)
    cols_b = rng.integers(0, n_items, size=rows_b.size)
    rows = np.concatenate([rows_a, rows_b])
    cols = np.concatenate([cols_a, cols_b])
    t = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_units, n_items))
    t.sum_duplicates()
    t.data = rng.integers(1, 4, size=t.nnz).astype(np.float64)
    return t


def ranx_typed_lists(ranked: np.ndarray, truth: sp.csr_matrix):
    """ranx's kernel inputs: per unit [doc, score] arrays, run by score desc, qrels by grade."""
    from numba.typed import List as TypedList

    k = ranked.shape[1]
    score = (k - np.arange(k)).astype(np.float64)
    run, qrels = TypedList(), TypedList()
    for u in range(ranked.shape[0]):
        items = ranked[u]
        items = items[items >= 0]
        run.append(np.column_stack((items.astype(np.float64), score[: items.size])))
        a, b = truth.indptr[u], truth.indptr[u + 1]
        order = np.argsort(-truth.data[a:b], kind="stable")
        qrels.append(np.column_stack((truth.indices[a:b][order].astype(np.float64),
                                      truth.data[a:b][order])))  # fmt: skip
    return qrels, run


def ranx_objects(ranked: np.ndarray, truth: sp.csr_matrix):
    import ranx

    k = ranked.shape[1]
    qd, rd = {}, {}
    for u in range(ranked.shape[0]):
        a, b = truth.indptr[u], truth.indptr[u + 1]
        q = f"q{u}"
        qd[q] = {f"d{i}": int(g) for i, g in zip(truth.indices[a:b], truth.data[a:b], strict=True)}
        rd[q] = {f"d{i}": float(k - r) for r, i in enumerate(ranked[u]) if i >= 0}
    return ranx.Qrels.from_dict(qd), ranx.Run.from_dict(rd)


def timed(fn, *args, **kwargs):
    """(result, wall seconds); CPU seconds of this process are kept in CPU_TIMES."""
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    CPU_TIMES[getattr(fn, "__name__", "fn")] = time.process_time() - c
    return out, time.perf_counter() - t


CPU_TIMES: dict[str, float] = {}


def bench_accuracy(n_units: int, k: int, n_items: int, seed: int, objects: bool, reps: int):
    import ranx

    rng = np.random.default_rng(seed)
    ranked = make_lists(rng, n_units, k, n_items)
    truth = make_truth(rng, ranked, n_items)
    has = np.diff(truth.indptr) > 0
    ranked, truth = ranked[has], truth[has]  # ranx cannot take units without relevant items
    n_units = ranked.shape[0]
    names = [f"{PAIRS[m]}@{c}" for m in PAIRS for c in CUTOFFS]
    print(
        f"\n== accuracy: {n_units:,} units × top-{k}, {n_items:,} items, nnz(truth)={truth.nnz:,}"
    )
    print(f"   {len(PAIRS)} metrics × {len(CUTOFFS)} cutoffs = {len(names)} values per unit")

    (tq, tr), t_build = timed(ranx_typed_lists, ranked, truth)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm = min(200, n_units)
        ranx.evaluate(_head(tq, warm), _head(tr, warm), names)  # numba compile / cache load
    ranking_metrics(ranked[:200], truth[:200], list(PAIRS), CUTOFFS)  # compile / cache load

    def floor() -> int:
        """One read pass over the same input (the memory-bandwidth floor)."""
        return int(np.sum(ranked)) + int(np.sum(truth.indices)) + int(np.sum(truth.data))

    def typical() -> dict[str, np.ndarray]:
        """The usual request: NDCG@10, Recall@20, MRR@10, P@10 (cutoffs {10, 20})."""
        return ranking_metrics(ranked, truth, TYPICAL, [10, 20])

    all_metrics = ["precision", "recall", "recall_capped", "f1", "hit_rate", "mrr", "map",
                   "map_capped", "ndcg", "ndcg_exp", "ndcg_binary", "auc"]  # fmt: skip
    loads, times = [], {"ours": [], "ranx": [], "floor": [], "ours_all": [], "typical": []}
    cpu: dict[str, list[float]] = {"ours": [], "ranx": [], "floor": [], "typical": []}
    for _ in range(reps):  # interleaved, so a load spike hits every contestant alike
        loads.append(os.getloadavg()[0])
        ours_units, t = timed(ranking_metrics, ranked, truth, list(PAIRS), CUTOFFS)
        times["ours"].append(t)
        cpu["ours"].append(CPU_TIMES["ranking_metrics"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ranx_means, t = timed(ranx.evaluate, tq, tr, names)
        times["ranx"].append(t)
        cpu["ranx"].append(CPU_TIMES["evaluate"])
        times["floor"].append(timed(floor)[1])
        cpu["floor"].append(CPU_TIMES["floor"])
        times["ours_all"].append(timed(ranking_metrics, ranked, truth, all_metrics, CUTOFFS)[1])
        times["typical"].append(timed(typical)[1])
        cpu["typical"].append(CPU_TIMES["typical"])
    med = {key: float(np.median(v)) for key, v in times.items()}
    med_cpu = {key: float(np.median(v)) for key, v in cpu.items()}
    ours = aggregate(ours_units)
    worst = max(
        abs(ours[f"{m}@{c}"] - ranx_means[f"{PAIRS[m]}@{c}"]) for m in PAIRS for c in CUTOFFS
    )
    threads = os.environ.get("NUMBA_NUM_THREADS") or os.cpu_count()
    input_mb = (ranked.nbytes + truth.indices.nbytes + truth.data.nbytes) / 1e6
    print(f"   median of {reps} interleaved runs; 1-min load average {min(loads):.1f}–"
          f"{max(loads):.1f} on {os.cpu_count()} cores (machine shared: ratios are the result)")  # fmt: skip
    print(f"   skewbench ranking_metrics (1 thread, numba):        {med['ours']:8.3f} s")
    print(f"   ranx.evaluate on built typed lists ({threads} threads):    {med['ranx']:8.3f} s")
    print(f"   numpy.sum over the same {input_mb:.0f} MB (read floor):    {med['floor']:8.4f} s")
    print(f"   ranx typed-list construction from the arrays:       {t_build:8.3f} s")
    print(f"   speed-up vs ranx (inputs built):        {med['ranx'] / med['ours']:6.1f}x")
    print(
        f"   speed-up vs ranx (incl. construction):  {(med['ranx'] + t_build) / med['ours']:6.1f}x"
    )
    print(f"   cost vs the read floor:                 {med['ours'] / med['floor']:6.1f}x")
    print(f"   CPU seconds (less sensitive to the shared machine): skewbench "
          f"{med_cpu['ours']:.3f}, ranx {med_cpu['ranx']:.3f} (2 threads summed), floor "
          f"{med_cpu['floor']:.4f} → {med_cpu['ours'] / med_cpu['floor']:.1f}x the floor")  # fmt: skip
    print(f"   max |mean difference| over {len(names)} metrics: {worst:.2e}")
    print(f"   typical request ({', '.join(TYPICAL)} at 10 and 20): {med['typical']:.3f} s, "
          f"{med['typical'] / med['floor']:.1f}x the floor wall, "
          f"{med_cpu['typical'] / med_cpu['floor']:.1f}x CPU")  # fmt: skip
    print(f"   all 12 skewbench metrics (incl. capped, binary, auc) × 10 cutoffs: "
          f"{med['ours_all']:.3f} s ({med['ours_all'] / med['floor']:.1f}x floor)")  # fmt: skip
    RESULTS["accuracy"] = {
        "units": n_units, "k": k, "items": n_items, "reps": reps, "load": [min(loads), max(loads)],
        **{f"{key}_s": v for key, v in med.items()}, "ranx_build_s": t_build,
        "vs_ranx": med["ranx"] / med["ours"], "vs_floor": med["ours"] / med["floor"],
        "max_abs_diff": worst, **{f"{key}_cpu_s": v for key, v in med_cpu.items()},
        "vs_floor_cpu": med_cpu["ours"] / med_cpu["floor"],
        "typical_vs_floor_cpu": med_cpu["typical"] / med_cpu["floor"],
    }  # fmt: skip
    if objects:
        (qo, ro), t_obj = timed(ranx_objects, ranked, truth)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, t_eval_obj = timed(ranx.evaluate, qo, ro, names, save_results_in_run=False)
        print(f"   ranx.evaluate(Qrels, Run) objects built:  {t_eval_obj:8.3f} s "
              f"({t_eval_obj / med['ours']:.1f}x)")  # fmt: skip
        print(f"   ranx Qrels/Run construction from dicts:   {t_obj:8.3f} s "
              f"(incl.: {(t_obj + t_eval_obj) / med['ours']:.1f}x)")  # fmt: skip


RESULTS: dict[str, dict] = {}


def _head(typed_list, n: int):
    from numba.typed import List as TypedList

    out = TypedList()
    for i in range(n):
        out.append(typed_list[i])
    return out


def bench_exposure_diversity(n_units: int, k: int, n_items: int, dim: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ranked = make_lists(rng, n_units, k, n_items)
    ranked[rng.random(n_units) < 0.01, k // 2 :] = -1  # some short lists
    truth = make_truth(rng, ranked[:, :k], n_items)
    pop = np.bincount(ranked[ranked >= 0], minlength=n_items).astype(np.float64) + rng.poisson(
        3.0, n_items
    )
    order = np.argsort(-pop)
    share = np.cumsum(pop[order]) / pop.sum()
    tail = np.zeros(n_items, dtype=bool)
    tail[order[share > 0.2]] = True  # head = most popular items holding 20% of interactions
    groups = {
        "brand": rng.choice(np.array(["National", "Private"]), n_items),
        "price_band": rng.integers(0, 5, n_items),
    }
    category = rng.integers(0, 200, n_items)
    emb = rng.normal(size=(n_items, dim)).astype(np.float32)
    print(f"\n== exposure + diversity (load average {os.getloadavg()[0]:.1f}): {n_units:,} units × top-{k}, {n_items:,} items, "
          f"embedding dim {dim}, nnz(truth)={truth.nnz:,}")  # fmt: skip

    def run() -> dict[str, float]:
        """The full set as the recommend task computes it: one shared list_item_stats pass."""
        stats = list_item_stats(ranked, n_items, position_weights(k, "log"), truth)
        out = exposure_metrics(ranked, n_items, pop, groups, truth, "log", tail=tail, stats=stats)
        out |= diversity_metrics(ranked, n_items, pop, category, emb, groups=groups, stats=stats)
        return out

    run_small = exposure_metrics(ranked[:1000], n_items, pop, groups, truth[:1000], tail=tail)
    assert run_small  # warm-up
    res, t = timed(run)
    _, t_exp = timed(exposure_metrics, ranked, n_items, pop, groups, truth, "log", tail=tail)
    _, t_div = timed(diversity_metrics, ranked, n_items, pop, category, emb, groups=groups)
    tracemalloc.start()
    tracemalloc.reset_peak()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    inputs = ranked.nbytes + emb.nbytes + truth.data.nbytes * 2 + truth.indptr.nbytes
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB → GiB
    print(
        f"   {len(res)} values; full set {t:.3f} s wall, {CPU_TIMES['run']:.3f} s CPU "
        f"(exposure {t_exp:.3f} s / {CPU_TIMES['exposure_metrics']:.3f} s CPU, "
        f"diversity {t_div:.3f} s / {CPU_TIMES['diversity_metrics']:.3f} s CPU)"
    )
    print(f"   peak extra memory during the call (tracemalloc): {peak / 1024**3:.3f} GiB; "
          f"inputs {inputs / 1024**3:.3f} GiB; process ru_maxrss {maxrss:.2f} GiB")  # fmt: skip
    RESULTS["exposure_diversity"] = {
        "units": n_units, "k": k, "items": n_items, "dim": dim, "full_s": t, "exposure_s": t_exp,
        "diversity_s": t_div, "ns_per_slot": t / (n_units * k) * 1e9, "peak_gib": peak / 1024**3,
        "load": os.getloadavg()[0],
    }  # fmt: skip
    for key in ("exposure_gini", "arp", "aplt", "aclt", "poprsp", "popreo", "coverage",
                "entropy", "ild_category", "ild_embedding", "novelty"):  # fmt: skip
        print(f"   {key:>14} = {res[key]:.6g}")


def bench_catalogue(n_units: int, k: int, n_items: int, seed: int, reps: int) -> None:
    """The same lists and truth with item ids spread over a 100× larger catalogue: the grade
    lookup must not slow down (the former kernel fell back to a binary search above ~32k)."""
    rng = np.random.default_rng(seed)
    ranked = make_lists(rng, n_units, k, n_items)
    truth = make_truth(rng, ranked, n_items)
    big = 100 * n_items
    ranked_big = np.where(ranked >= 0, ranked * 100 + 37, -1)
    truth_big = sp.csr_matrix((truth.data, truth.indices * 100 + 37, truth.indptr),
                              shape=(truth.shape[0], big))  # fmt: skip
    ranking_metrics(ranked[:100], truth[:100], list(PAIRS), CUTOFFS)
    small_t, big_t = [], []
    for _ in range(reps):
        a, t = timed(ranking_metrics, ranked, truth, list(PAIRS), CUTOFFS)
        small_t.append(t)
        b, t = timed(ranking_metrics, ranked_big, truth_big, list(PAIRS), CUTOFFS)
        big_t.append(t)
    assert all(np.array_equal(a[key], b[key]) for key in a)
    ts, tb = float(np.median(small_t)), float(np.median(big_t))
    print(f"\n== catalogue size: {n_units:,} units × top-{k}, same lists over {n_items:,} and "
          f"{big:,} items (load {os.getloadavg()[0]:.1f})")  # fmt: skip
    print(f"   {ts:.3f} s vs {tb:.3f} s ({tb / ts:.2f}x); identical values")
    RESULTS["catalogue"] = {"units": n_units, "k": k, "items": n_items, "big_items": big,
                            "small_s": ts, "big_s": tb}  # fmt: skip


def bench_popularity_topk(n_users: int, n_items: int, k: int, seed: int, reps: int) -> None:
    """Popularity scoring + top-k with training items excluded: the shared-row path (one
    selection, then per-user exclusion) against the general path on a dense copy."""
    from skewbench.metrics.topk import topk
    from skewbench.models.recommend import Popularity

    X = sp.random(n_users, n_items, density=0.01, format="csr", random_state=seed, dtype=np.float32)
    X.data[:] = 1.0
    model = Popularity().fit(X)
    users = np.arange(n_users)
    topk(model.score(users[:8]), k, X[:8])  # compile / cache load

    def shared():
        return topk(model.score(users), k, exclude=X)

    def general():
        return topk(np.array(model.score(users)), k, exclude=X)

    t_shared, t_general = [], []
    for _ in range(reps):
        a, t = timed(shared)
        t_shared.append(t)
        b, t = timed(general)
        t_general.append(t)
    assert (a == b).all()
    ts, tg = float(np.median(t_shared)), float(np.median(t_general))
    print(f"\n== popularity scoring + top-{k} (training items excluded), {n_users:,} users × "
          f"{n_items:,} items, median of {reps}, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(
        f"   shared-row path: {ts:.3f} s   general path: {tg:.3f} s   ({tg / ts:.0f}x); "
        "identical lists"
    )
    RESULTS["popularity_topk"] = {"users": n_users, "items": n_items, "k": k, "shared_s": ts,
                                  "general_s": tg}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--units", type=int, default=100_000)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--items", type=int, default=50_000)
    p.add_argument("--exp-units", type=int, default=1_000_000)
    p.add_argument("--exp-k", type=int, default=20)
    p.add_argument("--exp-items", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=64, help="embedding dimension for ild_embedding")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ranx-objects", action="store_true",
                   help="also time ranx Qrels/Run built from Python dicts (slow)")  # fmt: skip
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    p.add_argument("--reps", type=int, default=5, help="interleaved repetitions (median)")
    p.add_argument("--json", help="also write the measured numbers to this JSON file")
    p.add_argument("--only", choices=["accuracy", "exposure", "topk", "catalogue"],
                   help="run one part (with --json: merged into an existing file)")  # fmt: skip
    a = p.parse_args()
    if a.quick:
        a.units, a.exp_units, a.items, a.exp_items = 5_000, 50_000, 5_000, 10_000
    if a.only in (None, "accuracy"):
        bench_accuracy(a.units, a.k, a.items, a.seed, a.ranx_objects, a.reps)
    if a.only in (None, "exposure"):
        bench_exposure_diversity(a.exp_units, a.exp_k, a.exp_items, a.dim, a.seed)
    if a.only in (None, "catalogue"):
        bench_catalogue(a.units, a.k, a.items, a.seed, a.reps)
    if a.only in (None, "topk"):
        bench_popularity_topk(10_000, 5_000, 100, a.seed, a.reps)
    if a.json:
        stored = {}
        if a.only and os.path.exists(a.json):
            with open(a.json, encoding="utf-8") as f:
                stored = json.load(f)
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(stored | RESULTS, f, indent=1)


if __name__ == "__main__":
    main()
