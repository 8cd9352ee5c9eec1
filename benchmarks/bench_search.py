"""Search throughput over the full Complete Journey catalog (all products with a taxonomy).

Reports: catalog encoding items/s (distinct texts; cold = nothing cached in a fresh cache
folder, warm = the cached re-run), BM25 index time and queries/s, dense exact-search queries/s
(query encoding included; query texts are cached after the first pass, so the second pass shows
pure search). Run: ``.venv/bin/python benchmarks/bench_search.py [--queries 500] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import torch

from skewbench.data.queries import build_search_data, load_completejourney_raw
from skewbench.encoders import encode
from skewbench.models.search.base import QueryBatch, search
from skewbench.models.search.bm25 import BM25Retriever
from skewbench.models.search.dense import DenseRetriever


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--k", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out: dict[str, float] = {}
    products, purchases = load_completejourney_raw()
    data = build_search_data(products, purchases, queries="type", min_item_count=0)
    texts = list(data.catalog["text"])
    uniq = list(dict.fromkeys(texts))
    queries = QueryBatch(list(data.queries["text"])[: args.queries])
    out.update(n_items=len(texts), n_unique_texts=len(uniq), n_queries=len(queries))

    t = time.perf_counter()
    bm25 = BM25Retriever().fit(texts)
    out["bm25_index_s"] = time.perf_counter() - t
    t = time.perf_counter()
    search(bm25, queries, args.k)
    out["bm25_queries_per_s"] = len(queries) / (time.perf_counter() - t)

    with tempfile.TemporaryDirectory() as cache:
        enc = lambda ts: encode(ts, "minilm", cache_dir=cache)  # noqa: E731
        for run in ("cold", "warm"):
            t = time.perf_counter()
            enc(uniq)
            dt = time.perf_counter() - t
            out[f"encode_{run}_s"] = dt
            out[f"encode_{run}_items_per_s"] = len(uniq) / dt
        dense = DenseRetriever(encoder=enc).fit(texts)
        for run in ("cold", "warm"):
            t = time.perf_counter()
            c = search(dense, queries, args.k)
            out[f"dense_exact_{run}_queries_per_s"] = len(queries) / (time.perf_counter() - t)
        out["dense_ties_within"] = float(c.ties_within)
        hnsw = DenseRetriever(index="hnsw", encoder=enc)
        t = time.perf_counter()
        hnsw.fit(texts)
        out["hnsw_build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        a = search(hnsw, queries, args.k)
        out["hnsw_queries_per_s"] = len(queries) / (time.perf_counter() - t)
        out["hnsw_recall_vs_exact"] = float(
            np.mean([len(set(x) & set(y)) / args.k for x, y in zip(a.items, c.items, strict=True)])
        )
    print(
        json.dumps(
            {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}, indent=1
        )
    )


if __name__ == "__main__":
    main()
