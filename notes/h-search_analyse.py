"""Re-derive the search README numbers from a results store (counting each query once).

Usage: python notes/h-search_analyse.py results/search_quick [metric]

Per (model, treatment): every query's value is averaged over the replicates in which it is a
test query (folds are drawn per replicate), then the mean over distinct queries is reported.
Contrasts (a vs b, untreated): paired over the distinct queries both were asked, sign-flip
randomization test (10,000 flips) and a 1,000-resample unit bootstrap CI of the mean difference.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd

from skewbench.metrics.stats import bootstrap_ci, paired_test
from skewbench.runner.store import ResultStore


def per_query(store: ResultStore, table: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = []
    for _, cell in table.iterrows():
        u = store.units(cell["key"])[["query_id", metric]]
        u = u.assign(model=cell["model"], treatment=cell["treatment"], seed=cell["seed"])
        rows.append(u)
    long = pd.concat(rows, ignore_index=True)
    return long.groupby(["model", "treatment", "query_id"], as_index=False)[metric].mean()


def main(folder: str, metric: str = "ndcg@10") -> None:
    store = ResultStore(f"{folder}/results.sqlite")
    table = store.table()
    pq = per_query(store, table, metric)
    print(f"{len(table)} cells; seeds {sorted(table['seed'].unique())}")
    summary = pq.groupby(["model", "treatment"])[metric].agg(["mean", "count"])
    info = table.assign(info=table["info"].map(lambda s: json.loads(s) if isinstance(s, str) else s))
    extra = {}
    for _, r in info.iterrows():
        i = r["info"]
        extra.setdefault((r["model"], r["treatment"]), []).append(
            {
                "tuned": (i.get("tuning") or {}).get("chosen"),
                "no_prot": i.get("share_units_no_protected_in_pool"),
                "pool": i.get("candidate_pool_size_mean"),
                "n_train_q": i.get("n_train_queries"),
            }
        )
    for (m, t), row in summary.iterrows():
        e = extra[(m, t)]
        print(
            f"{m:40s} {t:40s} {metric}={row['mean']:.4f} n_queries={int(row['count'])} "
            f"tuned={[x['tuned'] for x in e]} no_protected_share={[x['no_prot'] for x in e]} "
            f"pool_mean={[x['pool'] for x in e]} n_train_queries={[x['n_train_q'] for x in e]}"
        )
    cols = [c for c in table.columns if c not in ("key", "task", "dataset", "imbalance", "info")]
    print(table[cols].groupby(["model", "treatment"]).mean(numeric_only=True).round(4).to_string())
    models = sorted(pq["model"].unique())
    base = [m for m in models if m == "dense"]
    for b in base:
        for a in models:
            if a == b:
                continue
            x = pq[(pq["model"] == a) & (pq["treatment"] == "none")].set_index("query_id")[metric]
            y = pq[(pq["model"] == b) & (pq["treatment"] == "none")].set_index("query_id")[metric]
            both = x.index.intersection(y.index)
            d = (x[both] - y[both]).to_numpy()
            res = paired_test(x[both].to_numpy(), y[both].to_numpy(), "randomization", rng=0)
            lo, hi = bootstrap_ci(d, 1000, rng=0)
            print(
                f"{a} − {b} (none): {x[both].mean():.4f} vs {y[both].mean():.4f}, "
                f"Δ = {d.mean():+.4f} [{lo:+.4f}, {hi:+.4f}], p = {res.pvalue:.4g}, "
                f"n = {len(both)} distinct queries"
            )


if __name__ == "__main__":
    main(*sys.argv[1:])
