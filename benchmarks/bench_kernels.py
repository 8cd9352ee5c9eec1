"""ItemKNN and expected exposure against their direct formulations, side by side in one process.

Usage: ``python benchmarks/bench_kernels.py [--users 10000] [--items 10000] [--n 1e6]
[--json out.json]``.

1. ItemKNN fit: skewbench's (one compiled pass per target: co-occurrences summed into a
   dense row over the target's users, similarity and k-heap in the same loop) against the
   dense formulation (each block's co-occurrence as a dense n_items × block matrix, top-k by a
   full selection over every item). Scoring: the compiled
   scatter-add against scipy's sparse product ``X[users] @ S`` densified. Both pairs must give
   identical matrices and scores (checked), so the ratio is pure cost.
2. Expected exposure (EE-L/D/R) of Plackett–Luce samples: the compiled pass per unit against
   the per-unit numpy loop it replaced (the reference here). Agreement: max |difference|.
CPU seconds (process time), median of ``--reps``; single-threaded (BLAS, numba).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from skewbench.data.synthetic import zipf_matrix
from skewbench.metrics.expected_exposure import (
    expected_exposure,
    plackett_luce_rankings,
    rbp_weights,
)
from skewbench.metrics.topk import topk
from skewbench.models.recommend import ItemKNN


def dense_itemknn(X: sp.csr_matrix, neighbours: int, shrink: float, block: int) -> sp.csr_matrix:
    """The dense-block formulation (the peer): S[j, i] = top-k of sim(·, i), ties → lower j."""
    n = X.shape[1]
    Xc, Xt = X.tocsc(), X.T.tocsr()
    norms = np.sqrt(np.asarray(Xc.multiply(Xc).sum(axis=0)).ravel())
    k = min(neighbours, n - 1)
    rows, cols, vals = [], [], []
    for start in range(0, n, block):
        sl = slice(start, min(start + block, n))
        target = np.arange(sl.start, sl.stop)
        co = Xt @ Xc[:, sl].toarray()
        sim = co / (norms[:, None] * norms[None, sl] + shrink + 1e-12)
        sim[target, target - sl.start] = -np.inf
        order = topk(sim.T, k).T
        v = np.take_along_axis(sim, order, axis=0)
        keep = v > 0
        rows.append(order[keep])
        cols.append(np.broadcast_to(target, order.shape)[keep])
        vals.append(v[keep].astype(np.float32))
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )


def loop_expected_exposure(r: np.ndarray, truth: sp.csr_matrix, n_items: int, patience: float):
    """EE-L/D/R with a numpy loop over units (the peer; module doc of expected_exposure)."""
    units, n_samples, k = r.shape
    w = rbp_weights(k, patience)
    cum = np.concatenate([[0.0], np.cumsum(w)])

    def block(start: np.ndarray, size: np.ndarray) -> np.ndarray:
        lo, hi = np.minimum(start, k), np.minimum(start + size, k)
        return np.where(size > 0, (cum[hi] - cum[lo]) / np.maximum(size, 1), 0.0)

    out = np.empty((3, units))
    for u in range(units):
        ru = r[u]
        valid = ru >= 0
        ids, inv = np.unique(ru[valid], return_inverse=True)
        eps = np.bincount(inv, weights=np.broadcast_to(w, ru.shape)[valid] / n_samples)
        row = truth[u]
        rel = row.data > 0
        items, grades = row.indices[rel], row.data[rel]
        levels, sizes = np.unique(-grades, return_counts=True)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        level_exp = block(starts, sizes)
        n_rel = int(sizes.sum())
        non = float(block(np.array([n_rel]), np.array([n_items - n_rel]))[0])
        tgt = np.full(ids.size, non)
        lookup = dict(zip(items.tolist(), level_exp[np.searchsorted(levels, -grades)], strict=True))
        for j, d in enumerate(ids.tolist()):
            tgt[j] = lookup.get(d, non)
        norm2 = float(np.sum(sizes * level_exp**2) + (n_items - n_rel) * non**2)
        d2, rr = float(eps @ eps), float(eps @ tgt)
        out[:, u] = (d2 - 2 * rr + norm2, d2, rr)
    return out


def cpu(fn, reps: int):
    times, out = [], None
    for _ in range(reps):
        c = time.process_time()
        out = fn()
        times.append(time.process_time() - c)
    return out, float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--n", type=float, default=1e6)
    ap.add_argument("--neighbours", type=int, default=100)
    ap.add_argument("--ee-units", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    res: dict = {"load_average_start": os.getloadavg()[0]}
    with threadpool_limits(1):
        X, _ = zipf_matrix(np.random.default_rng(0), a.users, a.items, int(a.n), activity_a=0.5)
        ours = ItemKNN(neighbours=a.neighbours)
        ItemKNN(neighbours=5).fit(X[:200], seed=0)  # compile / load the numba caches
        _, t_ours = cpu(lambda: ours.fit(X, seed=0), a.reps)
        S, t_dense = cpu(lambda: dense_itemknn(X, a.neighbours, ours.shrink, 1024), a.reps)
        same = (ours.similarity_ != S).nnz == 0
        users = np.arange(min(5000, X.shape[0]))
        s_ours, t_score = cpu(lambda: ours.score(users), a.reps)
        s_ref, t_scipy = cpu(lambda: np.asarray((X[users] @ S).todense(), dtype=np.float32), a.reps)
        print(f"ItemKNN on {X.nnz:,} interactions, {a.users:,} users × {a.items:,} items, "
              f"{a.neighbours} neighbours (load average {os.getloadavg()[0]:.1f})")  # fmt: skip
        print(f"  fit:   {t_ours:7.2f} CPU-s vs dense blocks {t_dense:7.2f} "
              f"({t_dense / t_ours:.1f}x); identical matrix: {same}")  # fmt: skip
        print(f"  score {users.size:,} users: {t_score:6.2f} CPU-s vs scipy {t_scipy:6.2f} "
              f"({t_scipy / t_score:.1f}x); identical: {np.array_equal(s_ours, s_ref)}")  # fmt: skip
        res["itemknn"] = {"nnz": int(X.nnz), "users": a.users, "items": a.items,
                          "fit_cpu_s": t_ours, "dense_fit_cpu_s": t_dense, "identical": same,
                          "score_cpu_s": t_score, "scipy_score_cpu_s": t_scipy,
                          "scores_identical": bool(np.array_equal(s_ours, s_ref))}  # fmt: skip

        rng = np.random.default_rng(1)
        units, n_items, k, cand = a.ee_units, 5000, 20, 100
        items = np.stack([rng.choice(n_items, cand, replace=False) for _ in range(units)])
        r = plackett_luce_rankings(items, rng.random((units, cand)), k, 1.0, 8, rng)
        truth = sp.random(units, n_items, density=0.002, format="csr", random_state=2)
        truth.data = rng.integers(1, 4, truth.nnz).astype(float)
        expected_exposure(r[:10], truth[:10], n_items)
        got, t_k = cpu(lambda: expected_exposure(r, truth, n_items, 0.5), a.reps)
        want, t_loop = cpu(lambda: loop_expected_exposure(r, truth, n_items, 0.5), 1)
        diff = max(float(np.max(np.abs(got[key] - want[i])))
                   for i, key in enumerate(("ee_l", "ee_d", "ee_r")))  # fmt: skip
        print(f"expected exposure, {units:,} units × 8 PL samples × top-{k}: {t_k:.3f} CPU-s vs "
              f"numpy loop {t_loop:.2f} ({t_loop / t_k:.0f}x); max |diff| {diff:.1e}")  # fmt: skip
        res["expected_exposure"] = {"units": units, "cpu_s": t_k, "loop_cpu_s": t_loop,
                                    "max_abs_diff": diff}  # fmt: skip
    res["load_average_end"] = os.getloadavg()[0]
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
