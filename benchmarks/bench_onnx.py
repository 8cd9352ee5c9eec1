"""Encoder backends side by side in one process: sentence-transformers (torch, fp32, and bf16
where the CPU computes it natively: the default path there) against ONNX Runtime fp32 and int8 (``skewbench.encoders.onnx_runtime``) on Clothing reviews.

Usage: ``python benchmarks/bench_onnx.py [--texts 2000] [--encoder minilm] [--threads 1]
[--json out.json]``.

For each backend: texts per CPU-second (process CPU time, all threads, after a warm-up batch;
export and quantization are timed separately, once), the stage's peak resident memory
(VmHWM, reset before the stage), and the cosine of each embedding to the torch fp32 one (min,
mean). Downstream check: a logistic regression on each backend's embeddings predicts the
review's clothing class (the categorize label) on a fixed 70/30 split; its balanced accuracy
is printed beside the torch one, the tolerance that decides whether a backend may be a default.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_scale import _hwm_gb, _hwm_reset  # the stage peak-memory probe


def reviews(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    from skewbench.data.sources.clothing import load_reviews

    df = load_reviews()
    pick = np.random.default_rng(seed).choice(len(df), size=min(n, len(df)), replace=False)
    return df["text"].iloc[pick].tolist(), df["class_name"].to_numpy()[pick]


def balanced_accuracy(vectors: np.ndarray, labels: np.ndarray, seed: int) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    order = np.random.default_rng(seed).permutation(len(labels))
    cut = int(0.7 * len(labels))
    tr, te = order[:cut], order[cut:]
    clf = LogisticRegression(max_iter=2000).fit(vectors[tr], labels[tr])
    return float(balanced_accuracy_score(labels[te], clf.predict(vectors[te])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--texts", type=int, default=2000)
    ap.add_argument("--encoder", default="minilm")
    ap.add_argument("--threads", type=int, default=1, help="torch and ONNX Runtime threads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json")
    a = ap.parse_args()
    os.environ.setdefault("SKEWBENCH_CACHE", tempfile.mkdtemp(prefix="bench-onnx-"))
    import torch

    from skewbench.encoders.models import (
        encoder_path,
        load_encoder,
        resolve_precision,
        run_encoder,
    )
    from skewbench.encoders.onnx_runtime import export_onnx

    torch.set_num_threads(a.threads)
    texts, labels = reviews(a.texts, a.seed)
    folder = encoder_path(a.encoder)
    onnx_dir = os.path.join(os.environ["SKEWBENCH_CACHE"], "models", "onnx")
    prep = {}
    for backend, int8 in (("onnx", False), ("onnx_int8", True)):
        c = time.process_time()
        export_onnx(folder, Path(onnx_dir), int8=int8)
        prep[backend] = time.process_time() - c
    print(f"{len(texts):,} Clothing reviews, {a.encoder}, {a.threads} thread(s), "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"one-off CPU: export {prep['onnx']:.1f} s, int8 quantization {prep['onnx_int8']:.1f} s")
    rows, ref = {}, None
    # torch_bf16 is what ``dtype: auto`` runs on a CPU with native bf16 (the default path there).
    runs = [
        ("torch", "torch", "fp32"),
        ("onnx", "onnx", "fp32"),
        ("onnx_int8", "onnx_int8", "fp32"),
    ]
    if resolve_precision("auto") == "bf16":
        runs.insert(1, ("torch_bf16", "torch", "bf16"))
    for name, backend, precision in runs:
        model = load_encoder(a.encoder, None, backend)
        run_encoder(model, texts[:64], precision=precision)  # warm-up: allocations, threads
        _hwm_reset()
        c = time.process_time()
        vec = run_encoder(model, texts, precision=precision)
        cpu = time.process_time() - c
        if ref is None:
            ref = vec
        cos = (vec * ref).sum(axis=1)
        rows[name] = {
            "texts_per_cpu_s": len(texts) / cpu, "cpu_s": cpu, "peak_gb": _hwm_gb(),
            "cos_min": float(cos.min()), "cos_mean": float(cos.mean()),
            "balanced_accuracy": balanced_accuracy(vec, labels, a.seed),
        }  # fmt: skip
        r = rows[name]
        print(f"  {name:<10} {r['texts_per_cpu_s']:7.1f} texts/CPU-s "
              f"({r['texts_per_cpu_s'] / rows['torch']['texts_per_cpu_s']:.2f}x torch)  "
              f"peak RSS {r['peak_gb']:.2f} GB  cos to torch min {r['cos_min']:.4f} "
              f"mean {r['cos_mean']:.4f}  LR balanced accuracy {r['balanced_accuracy']:.4f}")  # fmt: skip
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"texts": len(texts), "encoder": a.encoder, "threads": a.threads,
                       "prep_cpu_s": prep, "backends": rows,
                       "load_average": os.getloadavg()}, f, indent=1)  # fmt: skip


if __name__ == "__main__":
    main()
