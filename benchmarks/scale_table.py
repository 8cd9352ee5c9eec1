"""The growth-curve table of docs/speed.md from bench_scale.py's stored stages.

Usage: ``python benchmarks/scale_table.py [benchmarks/measured/scale_e8.json]``. Prints one
markdown row per size: CPU seconds per model for fit and rank (+ metrics), the generation, the
total and the peak resident memory. Where a size ranked a sample of the users
(``--rank-users``), the rank and metrics CPU seconds are scaled to every user with a test item
(× eval_users / ranked_users: per-user work) and marked ``*``. Where a run trained fewer BPR
epochs or ALS iterations than the defaults (``--epochs``, ``--iterations``: to time a size the
machine cannot finish), that fit's CPU seconds are scaled to the defaults (× 20 / epochs,
× 15 / iterations: the same work each epoch or iteration) and marked ``†``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MODELS = ("popularity", "itemknn", "als", "bpr")
FULL = {"bpr": ("epochs", 20), "als": ("iterations", 15)}  # the models' defaults


def rows(doc: dict) -> list[str]:
    sizes: dict[int, dict] = {}
    for key, info in doc["sizes"].items():
        sizes.setdefault(int(key.split()[0]), {}).update(info)
    out = [
        "| interactions | users × items | generate | popularity | ItemKNN fit / rank | "
        "ALS fit / rank | BPR fit / rank | all stages | peak |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n in sorted(sizes):
        info = sizes[n]
        scale = info["eval_users"] / info.get("ranked_users", info["eval_users"])
        mark = "*" if scale > 1 else ""
        st = {(r["model"], r["stage"]): r for r in doc["stages"] if r["size"] == n}
        cells, total, done = [], st[("data", "generate")]["cpu_s"], True
        for m in MODELS:
            fit = st.get((m, "fit"))
            if fit is None or (m, "metrics") not in st:  # a stage still running or not run
                cells.append("not measured" if fit is None else f"{fit['cpu_s']:.1f} / –")
                total += 0 if fit is None else fit["cpu_s"]
                done = False
                continue
            rank = st[(m, "rank")]["cpu_s"] * scale
            metrics = st[(m, "metrics")]["cpu_s"] * scale
            key, full = FULL.get(m, ("", 1))
            fit_scale = full / doc.get(key, full) if key else 1.0
            fit_s, fit_mark = fit["cpu_s"] * fit_scale, "†" if fit_scale != 1 else ""
            total += fit_s + rank + metrics
            if m == "popularity":
                cells.append(f"{fit_s + rank + metrics:.1f}{mark}")
            else:
                cells.append(f"{fit_s:.1f}{fit_mark} / {rank:.1f}{mark}")
        peak = max(r["peak_gb"] for r in st.values())
        out.append(
            f"| {n:,} | {info['users']:,} × {info['items']:,} | "
            f"{st[('data', 'generate')]['cpu_s']:.1f} | " + " | ".join(cells) + f" | "
            f"**{'' if done else '> '}{total:,.0f} CPU-s** ({total / 60:.1f} min) | {peak:.2f} GB |"
        )
    return out


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/measured/scale_e8.json")
    print("\n".join(rows(json.loads(path.read_text(encoding="utf-8")))))


if __name__ == "__main__":
    main()
