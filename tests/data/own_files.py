"""Tiny own-data files with the names and columns docs/own-data.md's examples read, under
``data/``: orders (popularity-skewed; the last ``N_UNSOLD`` catalog items are never bought),
a catalog (two-level category paths, three brands, four manufacturers, prices), three queries
with their judgments, and labelled reviews."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

N_UNSOLD = 6
BRANDS = ["Acme", "Bolt", "Own"]


def catalog(n_items: int) -> pd.DataFrame:
    """A catalog of ``n_items`` products: name, two-level category path, brand, maker, price."""
    i = np.arange(n_items)
    return pd.DataFrame(
        {
            "sku": [f"s{k}" for k in i],
            "name": [f"{['red', 'blue', 'green'][k % 3]} {['mug', 'cup'][k % 2]} {k}" for k in i],
            "cat": [["Kitchen > Mugs", "Kitchen > Cups"][k % 2] for k in i],
            "brand": [BRANDS[k % 3] for k in i],
            "manufacturer": [f"m{k % 4}" for k in i],
            "price": (1.0 + i).astype(float),
        }
    )


def write_files(root: Path) -> Path:
    """Write the files under ``root/data/``; returns ``root``."""
    rng = np.random.default_rng(0)
    data = root / "data"
    data.mkdir()
    n_users, n_items = 40, 24  # + N_UNSOLD catalog items nobody bought
    rows = []
    for u in range(n_users):
        # popularity-skewed choices: low item numbers are bought most
        items = rng.choice(n_items, 8, replace=False, p=np.r_[np.full(6, 3.0), np.ones(18)] / 36)
        rows += [(f"c{u}", f"s{k}", t) for t, k in enumerate(items)]
    pd.DataFrame(rows, columns=["customer", "sku", "order"]).to_csv(data / "orders.csv")
    cat = catalog(n_items + N_UNSOLD)
    cat.to_csv(data / "items.csv", index=False)
    queries = pd.DataFrame({"qid": ["q1", "q2", "q3"], "q": ["red mug", "blue cup", "green"]})
    queries.to_csv(data / "queries.csv", index=False)
    judged = [
        (q, s, 2)
        for q, words in zip(queries["qid"], queries["q"], strict=True)
        for s, name in zip(cat["sku"], cat["name"], strict=True)
        if all(w in name for w in words.split())
    ]
    pd.DataFrame(judged, columns=["qid", "sku", "grade"]).to_parquet(data / "judgments.parquet")
    words = {"shoes": "lace sole heel", "hats": "brim wool cap", "bags": "strap zip leather"}
    reviews = [
        (f"{' '.join(rng.choice(w.split(), 3))} nice {i}", label)
        for label, w in words.items()
        for i in range({"shoes": 60, "hats": 30, "bags": 20}[label])
    ]
    pd.DataFrame(reviews, columns=["review", "category"]).to_csv(data / "reviews.csv")
    return root
