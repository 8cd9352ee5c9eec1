"""Peak memory and throughput of encoding through the cache, chunk by chunk, before and after
the chunk-wise memory return (:mod:`skewbench.encoders.memory`), side by side in one run.

For each encoder and chunk size, two fresh child processes on the same ``--n`` Clothing
reviews (interleaved, alternating which goes first):

- ``plain``: the loop ``encode`` ran before the fix — per chunk ``run_encoder`` then one shard
  written — with glibc's default (dynamic) allocator settings;
- ``returned``: :func:`skewbench.encoders.encode` (fixed mmap threshold inside, trimmed after
  every chunk).

Reported per child: resident memory after imports + data + model and one one-text forward
pass (``model_mb``; safetensors weights enter memory only when first used), the peak
(``VmHWM``) and the peak above the model (``over_model_mb``), the resident memory after the
last chunk, and texts/s. The two children's embeddings are compared (``max_abs_diff``; the
fix changes no computation, so 0). Writes benchmarks/measured/encoding_memory.json.
Needs its own cache folder (``$SKEWBENCH_CACHE`` is used only for the assembled mpnet).

``--ab N``: only the throughput cost of the fix, in one process (:func:`cpu_ab`).

    python benchmarks/bench_encoding_memory.py [--n 2048] [--mpnet-n 512] [--chunks 512 2048] [--mpnet-chunks 512]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(model_name: str, variant: str, n: int, chunk: int, out: str) -> None:
    import numpy as np

    import skewbench.encoders.cache as cache
    from skewbench.encoders import load_encoder, resolve_precision, run_encoder, text_key
    from skewbench.runner.cell import Component
    from skewbench.tasks.categorize import load_dataset

    df, text, _ = load_dataset(Component("clothing", {"label": "class_name"}))
    texts = list(dict.fromkeys(df[text].astype(str)))[:n]
    model = load_encoder(model_name, None)
    prec = resolve_precision("auto")
    run_encoder(model, ["warm-up"], 1, prec)  # weights are mapped lazily: page them in first
    model_mb = _status_mb("VmRSS")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        if variant == "plain":
            store = cache.get_store(model_name, tmp, prec, None)
            keys = [text_key(t) for t in texts]
            for i in range(0, n, chunk):
                store.put(keys[i : i + chunk], run_encoder(model, texts[i : i + chunk], 64, prec))
            vecs = store.get(keys)
        else:
            cache.CHUNK = chunk
            vecs = cache.encode(texts, model_name, cache_dir=tmp, encoder=model)
        seconds = time.perf_counter() - start
    np.save(out, vecs)
    peak = _status_mb("VmHWM")
    row = {
        "model": model_name,
        "precision": prec,
        "variant": variant,
        "chunk": chunk,
        "n": len(texts),
        "model_mb": round(model_mb),
        "peak_mb": round(peak),
        "over_model_mb": round(peak - model_mb),
        "end_mb": round(_status_mb("VmRSS")),
        "texts_per_s": round(len(texts) / seconds, 2),
        "load_average": round(os.getloadavg()[0], 1),
    }
    print("ROW " + json.dumps(row), flush=True)


def cpu_ab(n: int, reps: int) -> None:
    """One process, MiniLM, the same ``n`` texts encoded ``reps`` times per variant, alternating:
    texts/s, process CPU ms per text (user + sys, all threads; steadier than wall time on a
    loaded machine) and minor page faults. After the first ``returned`` pass ``plain`` runs
    with the 32 MiB threshold left behind, not glibc's start value (close to its steady state)."""
    import resource
    import statistics

    from skewbench.encoders import load_encoder, resolve_precision, run_encoder
    from skewbench.encoders.memory import returning_memory, trim
    from skewbench.runner.cell import Component
    from skewbench.tasks.categorize import load_dataset

    df, text, _ = load_dataset(Component("clothing", {"label": "class_name"}))
    texts = list(dict.fromkeys(df[text].astype(str)))[:n]
    model, prec = load_encoder("minilm", None), resolve_precision("auto")
    run_encoder(model, texts[:64], 64, prec)
    out: dict[str, dict[str, list[float]]] = {}
    for rep in range(reps):
        for variant in ("plain", "returned") if rep % 2 == 0 else ("returned", "plain"):
            row = out.setdefault(variant, {"texts_per_s": [], "cpu_ms_per_text": [], "faults": []})
            wall, cpu = time.perf_counter(), time.process_time()
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            with returning_memory() if variant == "returned" else contextlib.nullcontext():
                run_encoder(model, texts, 64, prec)
                if variant == "returned":
                    trim()
            row["texts_per_s"].append(n / (time.perf_counter() - wall))
            row["cpu_ms_per_text"].append(1000 * (time.process_time() - cpu) / n)
            row["faults"].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)
    for variant, row in out.items():
        print(variant, {k: round(statistics.median(v), 2) for k, v in row.items()}, row)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2048, help="MiniLM texts")
    ap.add_argument("--mpnet-n", type=int, default=512, help="mpnet texts (0 skips mpnet)")
    ap.add_argument("--chunks", type=int, nargs="+", default=[512, 2048], help="MiniLM")
    ap.add_argument("--mpnet-chunks", type=int, nargs="+", default=[512])
    ap.add_argument("--ab", type=int, metavar="N", help="only the CPU A/B on N texts")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ab:
        cpu_ab(args.ab, 3)
        return
    if args.child:
        name, variant, n, chunk, out = args.child
        child(name, variant, int(n), int(chunk), out)
        return
    runs = [("minilm", args.n, c) for c in args.chunks]
    runs += [("mpnet", args.mpnet_n, c) for c in args.mpnet_chunks] if args.mpnet_n else []
    rows, diffs = [], []
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        for i, (model, n, chunk) in enumerate(runs):
            order = ["plain", "returned"] if i % 2 == 0 else ["returned", "plain"]
            outs = {}
            for variant in order:
                outs[variant] = f"{tmp}/{model}-{chunk}-{variant}.npy"
                cmd = [sys.executable, __file__, "--child", model, variant, str(n), str(chunk)]
                proc = subprocess.run([*cmd, outs[variant]], capture_output=True, text=True)
                if proc.returncode != 0:
                    sys.exit(proc.stderr[-3000:])
                row = json.loads(proc.stdout.split("ROW ", 1)[1])
                rows.append(row)
                print(json.dumps(row), flush=True)
            a, b = (np.load(outs[v]) for v in ("plain", "returned"))
            diff = float(np.abs(a - b).max())
            diffs.append({"model": model, "chunk": chunk, "max_abs_diff": diff})
            print(f"{model} chunk {chunk}: max |plain - returned| = {diff:g}", flush=True)
    out = {"rows": rows, "value_check": diffs}
    target = Path(__file__).parent / "measured" / "encoding_memory.json"
    target.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
