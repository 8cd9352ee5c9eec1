"""Generated TREC inputs for the evaluate tests: ties, short lists, units a run leaves out,
units without a relevant item."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_trec(
    folder: Path, n_units: int = 40, n_items: int = 60, seed: int = 0, ties: bool = True
) -> dict[str, Path]:
    """qrels.trec, a.trec, b.trec and items.csv under ``folder``; returns their paths."""
    rng = np.random.default_rng(seed)
    items = [f"d{j:02d}" for j in range(n_items)]
    qrels, runs = [], {"a": [], "b": []}
    for u in range(n_units):
        judged = rng.choice(n_items, 8, replace=False)
        grades = rng.integers(0, 3, 8) if u % 7 else np.zeros(8, int)  # some: nothing relevant
        qrels += [f"q{u} 0 {items[j]} {g}" for j, g in zip(judged, grades, strict=True)]
        for name in runs:
            if (u + len(name)) % 9 == 0:
                continue  # a unit the run leaves out: it scores 0
            length = int(rng.integers(1, 30))  # short lists too
            listed = rng.choice(n_items, length, replace=False)
            scores = (
                rng.integers(0, 5, length).astype(float)  # many ties
                if ties
                else rng.permutation(length).astype(float) + rng.random()
            )
            runs[name] += [
                f"q{u} Q0 {items[j]} {r + 1} {s:.1f} {name}"
                for r, (j, s) in enumerate(zip(listed, scores, strict=True))
            ]
    out = {"qrels": folder / "qrels.trec"}
    out["qrels"].write_text("\n".join(qrels) + "\n")
    for name, lines in runs.items():
        out[name] = folder / f"{name}.trec"
        out[name].write_text("\n".join(lines) + "\n")
    brands = rng.choice(["Acme", "Private"], n_items)
    cats = rng.choice(["Food > Dairy", "Home > Kitchen", "Toys"], n_items)
    rows = ["item,brand,category_path,price"] + [
        f"{i},{b},{c},{p:.2f}"
        for i, b, c, p in zip(items, brands, cats, rng.gamma(2, 3, n_items), strict=True)
    ]
    out["items"] = folder / "items.csv"
    out["items"].write_text("\n".join(rows) + "\n")
    return out


@pytest.fixture
def trec_files(tmp_path: Path) -> dict[str, Path]:
    return write_trec(tmp_path)
