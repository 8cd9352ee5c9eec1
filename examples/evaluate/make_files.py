"""Write the small example inputs of ``skewbench evaluate`` into this folder (seeded).

Run: ``python examples/evaluate/make_files.py``. Two recommenders, A (leans on popular items,
and most relevant items are popular) and B (spread wider), ranking 300 items for 200 users; judgments,
items with brand / category path / price, training interactions and user attributes; and two
categorize prediction files (one with per-class probabilities).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
N_UNITS, N_ITEMS, DEPTH = 200, 300, 20


def main(out: Path = HERE) -> None:
    rng = np.random.default_rng(7)
    items = [f"i{j:03d}" for j in range(N_ITEMS)]
    pop = rng.zipf(1.6, N_ITEMS).astype(float)
    brands = rng.choice(["Acme", "Globex", "Private"], N_ITEMS, p=[0.5, 0.3, 0.2])
    top = rng.choice(["Grocery", "Household", "Beauty", "Garden"], N_ITEMS, p=[0.4, 0.3, 0.2, 0.1])
    pd.DataFrame(
        {
            "item": items,
            "title": [f"item {j}" for j in range(N_ITEMS)],
            "brand": brands,
            "category_path": [f"{t} > {t[:3]}-{j % 3}" for j, t in enumerate(top)],
            "price": rng.gamma(2.0, 3.0, N_ITEMS).round(2),
        }
    ).to_csv(out / "items.csv", index=False)
    p_pop = pop / pop.sum()
    train = [(f"u{u:03d}", items[j]) for u in range(N_UNITS)
             for j in rng.choice(N_ITEMS, 15, replace=False, p=p_pop)]  # fmt: skip
    train += [(f"u{j % N_UNITS:03d}", items[j]) for j in range(N_ITEMS)]  # every item seen once
    frame = pd.DataFrame(train, columns=["unit", "item"])
    frame["order"] = range(len(frame))  # a time order, for the re-ranking example's split
    frame.to_csv(out / "train.csv", index=False)
    pd.DataFrame(
        {
            "unit": [f"u{u:03d}" for u in range(N_UNITS)],
            "age": rng.choice(["18-34", "35-54", "55+"], N_UNITS),
            "region": rng.choice(["north", "south"], N_UNITS),
        }
    ).to_csv(out / "users.csv", index=False)
    qrels, runs = [], {"A": [], "B": []}
    for u in range(N_UNITS):
        uid = f"u{u:03d}"
        relevant = rng.choice(N_ITEMS, 5, replace=False, p=p_pop)
        for j in relevant:
            qrels.append(f"{uid} 0 {items[j]} {int(rng.integers(1, 3))}")
        for name, skew, hit in (("A", 1.0, 0.25), ("B", 0.5, 0.35)):
            w = p_pop**skew
            listed = list(rng.choice(N_ITEMS, DEPTH, replace=False, p=w / w.sum()))
            for j in relevant:
                if rng.random() < hit and j not in listed:
                    listed[int(rng.integers(0, DEPTH))] = j
            for r, j in enumerate(listed):
                runs[name].append(f"{uid} Q0 {items[j]} {r + 1} {DEPTH - r:.1f} {name}")
    (out / "qrels.trec").write_text("\n".join(qrels) + "\n")
    for name, lines in runs.items():
        (out / f"{name.lower()}.trec").write_text("\n".join(lines) + "\n")
    categorize(rng, out)


def categorize(rng: np.random.Generator, out: Path) -> None:
    """Labels for 300 products over 4 imbalanced classes; a label-only and a probability run."""
    classes = np.array(["dairy", "bakery", "spices", "tea"])
    y = rng.choice(4, 300, p=[0.6, 0.25, 0.1, 0.05])
    ids = [f"p{j:03d}" for j in range(300)]
    pd.DataFrame({"id": ids, "label": classes[y]}).to_csv(out / "labels.csv", index=False)
    guess = np.where(rng.random(300) < 0.7, y, rng.choice(4, 300, p=[0.7, 0.2, 0.05, 0.05]))
    pd.DataFrame({"id": ids, "label": classes[guess]}).to_csv(out / "pred_rules.csv", index=False)
    logits = rng.normal(0, 1, (300, 4))
    logits[np.arange(300), y] += 2.0
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    frame = pd.DataFrame({"id": ids})
    for j, c in enumerate(classes):
        frame[f"proba_{c}"] = proba[:, j].round(6)
    frame.to_csv(out / "pred_model.csv", index=False)


if __name__ == "__main__":
    main()
