"""Ranking without a dense score block, and BPR's blocked visiting order, each beside the path
it replaced, in one process on the same data.

Usage: ``python benchmarks/bench_rank_top.py [--size 1e7] [--items 100000] [--users 20000]
[--dataset zipf|movielens100k|completejourney] [--json benchmarks/measured/rank_top.json]``.

Data: bench_scale.py's synthetic Zipf matrix (n/100 users × ``--items`` items), or a bundled
data set's training split (replicate 0). Ranking: a seeded random ``--users`` of the users with a
test item (every user of a bundled set), top-100 with training items excluded, by ``rank_users``
(``rank_top``: item tiles skipped by their bound, ``models/recommend/rank_kernels.py``) and by
the dense path (``score`` of a block of users × every item, then ``topk``); CPU µs per user,
the share of user × tile products the bounds left to compute, and whether lists and scores are
identical. The models are fitted briefly (ALS 3 iterations, BPR 2 epochs; ItemKNN in full).
BPR (Zipf data): two epochs with each visiting order (the same kernel; former order = one
shuffle of all pairs), ns per update. One thread throughout.
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
from skewbench.models.recommend import rank_kernels
from skewbench.models.recommend.base import as_interactions, rank_users
from skewbench.models.recommend.bpr_kernels import sgd


class ScoreOnly:
    """A model seen without its ``rank_top``: ``rank_users`` then takes its dense path (score
    a block of users, then ``topk``), the one every model took before."""

    def __init__(self, model):
        self.score = model.score


def dense_rank(model, X, users, k=100):
    return rank_users(ScoreOnly(model), X, users, k, with_scores=True)


def tiles_share(model, X, users, k=100) -> float:
    """The share of user × tile products ``rank_top``'s bounds left to compute."""
    st: dict[str, int] = {}
    if isinstance(model, R.ItemKNN):
        rank_kernels.itemknn_rank(model.X_, model.similarity_, users, X, k, st)
    else:
        bias = getattr(model, "item_bias_", None)
        rank_kernels.factor_rank(model.user_factors_, model.item_factors_, bias, users, X, k, st)
    return st["computed"] / max(st["possible"], 1)


def load(a) -> tuple:
    if a.dataset == "zipf":
        n = int(a.size)
        X, T = zipf_matrix(np.random.default_rng(0), n // 100, a.items, n, a=1.0,
                           activity_a=0.5, test_frac=0.2)  # fmt: skip
        users = np.flatnonzero(np.diff(T.indptr) > 0)
        users = np.sort(np.random.default_rng(1).choice(users, min(a.users, users.size), False))
        return as_interactions(X), users
    from skewbench.runner.cell import Cell, Component
    from skewbench.tasks.recommend import load_split

    cell = Cell("recommend", Component(a.dataset), Component("ease"), Component("none"), None, 0)
    X = load_split(cell)[1]
    return as_interactions(X), np.arange(X.shape[0])


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
    kernel = sgd
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
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--dataset", default="zipf")
    ap.add_argument("--json")
    a = ap.parse_args()
    X, users = load(a)
    load_avg = [os.getloadavg()[0]]
    out: dict = {"dataset": a.dataset, "size": int(X.nnz), "users": int(X.shape[0]),
                 "items": int(X.shape[1]), "ranked_users": int(users.size), "rank": {}}  # fmt: skip
    print(f"{a.dataset}: {X.nnz:,} training interactions, {X.shape[0]:,} users × "
          f"{X.shape[1]:,} items; ranking {users.size:,} users (load average "
          f"{load_avg[0]:.1f} on {os.cpu_count()} cores)")  # fmt: skip
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
                   "tiles_computed_share": tiles_share(model, X, users),
                   "identical_lists": bool(np.array_equal(old, new)),
                   "identical_scores": bool(np.array_equal(old_s, new_s))}  # fmt: skip
            out["rank"][name] = row
            load_avg.append(os.getloadavg()[0])
            print(f"  {name:<8} dense score + topk {row['dense_score_topk_us']:7.1f} µs/user, "
                  f"rank_top {row['rank_top_us']:7.1f} µs/user ({row['speed_up']:.2f}×; "
                  f"{row['tiles_computed_share']:.1%} of the tiles computed), "
                  f"identical lists {row['identical_lists']}, scores {row['identical_scores']}")  # fmt: skip
        if a.dataset != "zipf":  # the visiting-order comparison below is on Zipf data
            if a.json:
                _write(a.json, out, load_avg)
            return
        R.BPR(factors=64, epochs=1).fit(X[:100], seed=0)  # compile: not timed
        _, t_block = cpu(lambda: R.BPR(factors=64, epochs=2).fit(X, seed=0))
        _, t_full = cpu(bpr_full_shuffle_epochs, X, 2)
        per = 1e9 / (2 * X.nnz)
        out["bpr_fit"] = {"epochs": 2, "user_blocks_ns_per_update": t_block * per,
                          "full_shuffle_ns_per_update": t_full * per,
                          "speed_up": t_full / t_block}  # fmt: skip
        load_avg.append(os.getloadavg()[0])
        print(f"  BPR 2 epochs: user blocks {t_block * per:.0f} ns/update, one shuffle of all "
              f"pairs {t_full * per:.0f} ns/update ({t_full / t_block:.2f}×)")  # fmt: skip
    if a.json:
        _write(a.json, out, load_avg)


def _write(path: str, out: dict, load_avg: list[float]) -> None:
    out["load_average"] = [min(load_avg), max(load_avg)]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
