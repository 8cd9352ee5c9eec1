"""Regenerate docs/speed.md's speed block from the stored benchmark results.

Usage: ``python benchmarks/speed_page.py [--results benchmarks/measured] [--page docs/speed.md]``
(without ``--page`` it prints the block). Inputs: ``metrics.json`` (bench_metrics.py --json),
``bpr.json`` (bench_bpr.py --json), ``scale.json`` (bench_scale.py --json) and, if present,
``recommend.json`` (bench_recommend.py --json, one entry per data set); the block between
``<!-- speed:start -->`` and ``<!-- speed:end -->`` is replaced, nothing else.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

MARKERS = ("<!-- speed:start -->", "<!-- speed:end -->")


def _load(d: Path, name: str) -> dict:
    return json.loads((d / name).read_text(encoding="utf-8"))


def block(d: Path) -> str:
    m, b, s = _load(d, "metrics.json"), _load(d, "bpr.json"), _load(d, "scale.json")
    a, e, p = m["accuracy"], m["exposure_diversity"], m["popularity_topk"]
    out = [
        f"**Metrics engine vs ranx** (`benchmarks/bench_metrics.py`, median of {a['reps']} "
        f"interleaved runs, 1-minute load average {a['load'][0]:.1f}–{a['load'][1]:.1f} during "
        f"the run): {a['units']:,} units × top-{a['k']}, {a['items']:,} items, 8 metrics both "
        f"libraries define alike × 10 cutoffs (80 values per unit); means agree to "
        f"{a['max_abs_diff']:.1e}.",
        "",
        "| | wall | ratio |",
        "|---|---|---|",
        f"| skewbench `ranking_metrics` (1 thread, numba, one fused pass) | {a['ours_s']:.3f} s | |",
        f"| ranx `evaluate` on already-built inputs (numba, 2 threads, warmed up) | "
        f"{a['ranx_s']:.3f} s | **{a['vs_ranx']:.1f}× slower** than skewbench |",
        f"| ranx including building its inputs from the same arrays | "
        f"{a['ranx_s'] + a['ranx_build_s']:.3f} s | "
        f"{(a['ranx_s'] + a['ranx_build_s']) / a['ours_s']:.1f}× slower |",
        f"| `numpy.sum` over the same input (one read pass: the floor) | {a['floor_s'] * 1e3:.1f} ms "
        f"| skewbench = **{a['vs_floor']:.1f}× the floor** |",
        f"| skewbench, all 12 metrics × 10 cutoffs | {a['ours_all_s']:.3f} s | "
        f"{a['ours_all_s'] / a['floor_s']:.1f}× the floor |",
        "",
        f"In CPU seconds, which a busy machine distorts less: skewbench {a['ours_cpu_s']:.3f} s, "
        f"ranx {a['ranx_cpu_s']:.3f} s (both threads), the read floor {a['floor_cpu_s'] * 1e3:.1f} "
        f"ms — skewbench at **{a['vs_floor_cpu']:.1f}× the floor**.",
        "",
    ]
    if "catalogue" in m:
        c = m["catalogue"]
        out += [
            f"Catalogue size: the same lists and truth with item ids spread over "
            f"{c['big_items']:,} instead of {c['items']:,} items take {c['big_s']:.2f} s instead "
            f"of {c['small_s']:.2f} s ({c['big_s'] / c['small_s']:.1f}×, identical values; the "
            "per-item marker array then leaves the L2 cache — one load per list slot either way, "
            "no search).",
            "",
        ]
    out += [
        f"Full exposure + diversity set (exposure Gini, ARP, APLT, ACLT, PopRSP, PopREO, group "
        f"shares, coverage, entropy, ILD by category and by {e['dim']}-d embeddings, novelty …) "
        f"for **{e['units']:,} units × top-{e['k']}** over {e['items']:,} items, one shared "
        f"`list_item_stats` pass: **{e['full_s']:.2f} s** wall "
        f"({e['ns_per_slot']:.0f} ns per list slot; exposure {e['exposure_s']:.2f} s, diversity "
        f"{e['diversity_s']:.2f} s when called alone); peak extra memory in the call "
        f"{e['peak_gib']:.2f} GiB (load average {e['load']:.1f}).",
        "",
        f"**Popularity scoring + top-{p['k']}** with training items excluded, "
        f"{p['users']:,} users × {p['items']:,} items: **{p['shared_s']:.3f} s** on the shared-row "
        f"path (one ordering, then per-user exclusion) against {p['general_s']:.2f} s for the "
        f"general per-row top-k on a dense copy ({p['general_s'] / p['shared_s']:.0f}×; identical "
        "lists).",
        "",
        "**BPR vs implicit** (`benchmarks/bench_bpr.py`; same factors, epochs, lr 0.01 and reg "
        "0.01 — implicit's defaults, skewbench's too; per-epoch time = fit time / epochs, median "
        "of interleaved fits with different seeds; NDCG@10 / Recall@20 of full ranking with "
        "training items excluded, mean over the fits; nothing tuned on test):",
        "",
        "| data | fitter | s / epoch | vs implicit (1 thread) | NDCG@10 | Recall@20 |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in b.items():
        base = r["implicit (1 thread)"]["s_per_epoch"]
        first = True
        for label in ("skewbench (1 thread)", "implicit (1 thread)", "implicit (all threads)"):
            x = r[label]
            data = f"{name} ({r['nnz']:,} train pairs)" if first else ""
            first = False
            out.append(
                f"| {data} | {label} | {x['s_per_epoch']:.3f} | {x['s_per_epoch'] / base:.2f}× | "
                f"{x['ndcg@10']:.4f} | {x['recall@20']:.4f} |"
            )
    out += [
        "",
        f"**Scale** (`benchmarks/bench_scale.py`; streamed synthetic Zipf data, one thread for "
        f"everything; BPR {s['epochs']} epochs, ALS {s['iterations']} iterations; rank = score "
        "+ top-100 with training items excluded for every user with a test item; metrics = "
        "ranking at 4 cutoffs + exposure + diversity; peak = the process's peak resident "
        "memory during the stage):",
        "",
        "| interactions | users × items | stage | popularity | ItemKNN | ALS | BPR |",
        "|---|---|---|---|---|---|---|",
    ]
    stages = s["stages"]
    for size, info in s["sizes"].items():
        n = int(str(size).split()[0])  # "<n>" or "<n> <models>" (bench_scale --models)
        gen = next(r for r in stages if r["size"] == n and r["model"] == "data")
        out.append(
            f"| {n:,} | {info['users']:,} × {info['items']:,} | generate | "
            f"{gen['wall_s']:.1f} s, {gen['peak_gb']:.2f} GB | | | |"
        )
        for st in ("fit", "rank", "metrics"):
            cells = []
            for model in ("popularity", "itemknn", "als", "bpr"):
                r = next(r for r in stages if r["size"] == n and r["model"] == model
                         and r["stage"] == st)  # fmt: skip
                cells.append(f"{r['wall_s']:.1f} s, {r['peak_gb']:.2f} GB")
            out.append(f"| | | {st} | " + " | ".join(cells) + " |")
        out.append(
            f"| | | **all stages** | **{info['total_s']:.0f} s end to end, peak "
            f"{info['peak_gb']:.2f} GB** | | | |"
        )
    if s.get("note"):
        out += ["", s["note"]]
    out += ["", "![cost against size](scale.png)", ""]
    if (d / "recommend.json").exists():
        r = _load(d, "recommend.json")
        out += [
            "**Recommenders on the real data** (`benchmarks/bench_recommend.py`, 1 thread; "
            "scoring = full ranking over all items + top-50 with training items excluded):",
            "",
            "| data | model | fit | training throughput | scoring |",
            "|---|---|---|---|---|",
        ]
        for name, info in r.items():
            first = True
            for row in info["rows"]:
                data = (
                    f"{name} ({info['users']:,} × {info['items']:,}, {info['train']:,} train; "
                    f"load {info['load']:.1f})"
                    if first
                    else ""
                )
                first = False
                unit = "epoch" if row["model"] == "bpr" else "iteration"
                train = (
                    f"{float(row['train_per_s'].replace(',', '')):,.0f} interactions/s/{unit}"
                    if row["train_per_s"]
                    else ""
                )
                out.append(
                    f"| {data} | {row['model']} | {row['fit_s']:.2f} s | {train} | "
                    f"{row['users_per_s']:,.0f} users/s |"
                )
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", default="benchmarks/measured")
    ap.add_argument("--page")
    a = ap.parse_args()
    text = block(Path(a.results))
    if not a.page:
        print(text)
        return
    path = Path(a.page)
    page = path.read_text(encoding="utf-8")
    start, end = MARKERS
    if start not in page or end not in page:
        raise SystemExit(f"{path} has no {start} … {end} markers")
    head, rest = page.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{text}{end}{tail}", encoding="utf-8")
    print(f"speed block written into {path}")


if __name__ == "__main__":
    main()
