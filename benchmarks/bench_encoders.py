"""Encoding throughput and memory of the two text encoders, side by side, on real reviews.

For each encoder (MiniLM-L6, mpnet-base) and precision (fp32, bf16 autocast), in a fresh child
process (so its peak memory is its own): load time, texts/s over ``--n`` Clothing reviews
(distinct texts, no cache: :func:`skewbench.encoders.run_encoder`; one warm-up batch first),
and the child's peak resident memory (``ru_maxrss``) after loading and after encoding.
The ratio mpnet/MiniLM is printed per precision. The machine's load average is recorded with
each row, because on a shared machine it moves throughput more than anything else.
Run: ``.venv/bin/python benchmarks/bench_encoders.py [--n 512] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import time


def _one(name: str, precision: str, n: int, threads: int, q: mp.Queue) -> None:
    import torch

    from skewbench.encoders import load_encoder, run_encoder
    from skewbench.runner.cell import Component
    from skewbench.tasks.categorize import load_dataset

    torch.set_num_threads(threads)
    df, text, _ = load_dataset(Component("clothing", {"label": "class_name"}))
    texts = list(dict.fromkeys(df[text].astype(str)))[:n]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    model = load_encoder(name)
    load_s = time.perf_counter() - t
    after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run_encoder(model, texts[:64], 64, precision)  # warm-up
    t = time.perf_counter()
    vec = run_encoder(model, texts, 64, precision)
    secs = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    q.put(
        {
            "encoder": name,
            "precision": precision,
            "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
            "dim": int(vec.shape[1]),
            "n_texts": len(texts),
            "load_s": round(load_s, 1),
            "texts_per_s": round(len(texts) / secs, 1),
            "model_rss_MiB": round((after_load - base) / 1024),
            "peak_rss_MiB": round(peak / 1024),
            "loadavg_1min": round(os.getloadavg()[0], 1),
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precisions", default="fp32,bf16")
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    rows = []
    for precision in args.precisions.split(","):
        for name in ("minilm", "mpnet"):
            q = ctx.Queue()
            p = ctx.Process(target=_one, args=(name, precision, args.n, args.threads, q))
            p.start()
            rows.append(q.get())
            p.join()
            print(json.dumps(rows[-1]), flush=True)
    for precision in args.precisions.split(","):
        r = {x["encoder"]: x for x in rows if x["precision"] == precision}
        ratio = r["minilm"]["texts_per_s"] / r["mpnet"]["texts_per_s"]
        print(f"{precision}: MiniLM is {ratio:.1f}x faster than mpnet")


if __name__ == "__main__":
    main()
