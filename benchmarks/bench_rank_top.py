"""Ranking without a dense score block, and BPR's blocked visiting order, each beside the path
it replaced, in one process on the same data.

Usage: ``python benchmarks/bench_rank_top.py [--size 1e7] [--items 100000] [--users 3000]
[--json benchmarks/measured/rank_top.json]``.

Data: bench_scale.py's synthetic Zipf matrix (n/100 users × ``--items`` items). Ranking: a seeded
random ``--users`` of the users with a test item, top-100 with training items excluded, by
``rank_users`` (ItemKNN: the touched-items heap; ALS/BPR: user-block × item-tile GEMM merged into
the heaps) and by the former path (dense ``score`` of 40 users × every item, then ``topk``);
CPU µs per user and whether lists and scores are identical. The models are fitted briefly (ALS 3
iterations, BPR 2 epochs; ItemKNN in full): ranking cost depends on the catalogue and the
histories, not on how converged the factors are. BPR: two epochs with each visiting order (the
same kernel; former order = one shuffle of all pairs), ns per update. One thread throughout.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from skewbench.data.synthetic import zipf_matrix
from skewbench.models import recommend as R
from skewbench.models.recommend.base import as_interactions, rank_users
from skewbench.models.recommend.bpr import _sgd_kernel


class ScoreOnly:
    """A model seen without its ``rank_top``: ``rank_users`` then takes its dense path (score
    a block of users, then ``topk``), the one every model took before."""

    def __init__(self, model):
        self.score = model.score


def dense_rank(model, X, users, k=100):
    return rank_users(ScoreOnly(model), X, users, k, with_scores=True)


def cpu(fn, *a):
    c = time.process_time()
    out = fn(*a)
    return out, time.process_time() - c


def bpr_full_shuffle_epochs(X, epochs, seed=0, f=64, lr=0.01, reg=0.01):
    """The former visiting order: each epoch one permutation of all training pairs."""
    Xb = X.copy()
    Xb.data[:] = 1.0
    Xb.sort_indices()
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(Xb.indptr))
    items, indptr = Xb.indices.astype(np.int64), Xb.indptr.astype(np.int64)
    P = (rng.standard_normal((X.shape[0], f)) * 0.1).astype(np.float32)
    Q = (rng.standard_normal((X.shape[1], f)) * 0.1).astype(np.float32)
    b, w, cdf = np.zeros(X.shape[1], np.float32), np.ones(X.shape[1]), np.zeros(0)
    kernel = _sgd_kernel()
    for _ in range(epochs):
        order = rng.permutation(users.size)
        state = np.array([rng.integers(1, 2**63)], dtype=np.uint64)
        for s in range(0, order.size, 1 << 16):
            sel = order[s : s + (1 << 16)]
            kernel(users[sel], items[sel], indptr, items, P, Q, b, w, cdf, state, lr, reg)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=float, default=1e7)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--users", type=int, default=3000)
    ap.add_argument("--json")
    a = ap.parse_args()
    n = int(a.size)
    X, T = zipf_matrix(np.random.default_rng(0), n // 100, a.items, n, a=1.0, activity_a=0.5,
                       test_frac=0.2)  # fmt: skip
    X = as_interactions(X)
    users = np.flatnonzero(np.diff(T.indptr) > 0)
    users = np.sort(np.random.default_rng(1).choice(users, min(a.users, users.size), False))
    load = [os.getloadavg()[0]]
    out: dict = {"size": n, "users": int(X.shape[0]), "items": int(X.shape[1]),
                 "ranked_users": int(users.size), "rank": {}}  # fmt: skip
    print(f"{n:,} interactions, {X.shape[0]:,} users × {X.shape[1]:,} items; ranking "
          f"{users.size:,} users (load average {load[0]:.1f} on {os.cpu_count()} cores)")  # fmt: skip
    with threadpool_limits(1):
        warm = np.arange(50)
        for name, model in [
            ("itemknn", R.ItemKNN(neighbours=100)),
            ("als", R.ALS(factors=64, iterations=3)),
            ("bpr", R.BPR(factors=64, epochs=2)),
        ]:
            model.fit(X, seed=0)
            rank_users(model, X, warm, 100), dense_rank(model, X, warm)  # compile: not timed
            (old, old_s), t_old = cpu(dense_rank, model, X, users)
            (new, new_s), t_new = cpu(rank_users, model, X, users, 100, True)
            row = {"dense_score_topk_us": t_old / users.size * 1e6,
                   "rank_top_us": t_new / users.size * 1e6, "speed_up": t_old / t_new,
                   "identical_lists": bool(np.array_equal(old, new)),
                   "identical_scores": bool(np.array_equal(old_s, new_s))}  # fmt: skip
            out["rank"][name] = row
            load.append(os.getloadavg()[0])
            print(f"  {name:<8} dense score + topk {row['dense_score_topk_us']:7.1f} µs/user, "
                  f"rank_top {row['rank_top_us']:7.1f} µs/user ({row['speed_up']:.2f}×), "
                  f"identical lists {row['identical_lists']}, scores {row['identical_scores']}")  # fmt: skip
        R.BPR(factors=64, epochs=1).fit(X[:100], seed=0)  # compile: not timed
        _, t_block = cpu(lambda: R.BPR(factors=64, epochs=2).fit(X, seed=0))
        _, t_full = cpu(bpr_full_shuffle_epochs, X, 2)
        per = 1e9 / (2 * X.nnz)
        out["bpr_fit"] = {"epochs": 2, "user_blocks_ns_per_update": t_block * per,
                          "full_shuffle_ns_per_update": t_full * per,
                          "speed_up": t_full / t_block}  # fmt: skip
        load.append(os.getloadavg()[0])
        print(f"  BPR 2 epochs: user blocks {t_block * per:.0f} ns/update, one shuffle of all "
              f"pairs {t_full * per:.0f} ns/update ({t_full / t_block:.2f}×)")  # fmt: skip
    out["load_average"] = [min(load), max(load)]
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
