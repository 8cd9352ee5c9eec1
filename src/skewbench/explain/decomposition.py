r"""Amplification decomposition: where a group's exposure share comes from.

For one item group (e.g. ``popularity=tail``) and one system, the chain of shares

    catalog → train → relevant → pool → before → after

- ``catalog``: the group's share of catalog items;
- ``train``: its share of training interactions (distinct user–item pairs);
- ``relevant``: its share of relevant test pairs (the truth the lists are scored against);
- ``pool``: its share of the candidate-pool slots a list-side treatment chooses from (the base
  model's top-``candidates`` per user, every slot weight 1);
- ``before``: its share of position-weighted exposure in the base model's top lists (no
  treatment);
- ``after``: the same after the treatment.

Each step's ratio s_{next} / s_{prev} says by how much that stage multiplies the group's share:
train/catalog is the skew in the data, relevant/train the shift between training and test
demand, pool/relevant what the model's candidate generation adds, before/pool what its
ordering inside the pool adds, after/before what the treatment undoes (> 1: the treatment
raises the group's share). Steps a system lacks (no treatment → no pool, no after) are left
out, and the ratios are taken between consecutive *present* steps, so for every row the product
of its ratios equals last share / first share exactly (up to floating point).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STEPS: tuple[str, ...] = ("catalog", "train", "relevant", "pool", "before", "after")


def decompose(shares: pd.DataFrame) -> pd.DataFrame:
    """Add one ratio column per consecutive pair of steps (``"train/catalog"`` …) and
    ``"total"`` = last present share / first present share.

    ``shares`` has one row per (group, system) and share columns named as in :data:`STEPS`
    (missing columns or NaN entries = step absent for that row). A zero share followed by a
    positive one gives an infinite ratio; 0/0 gives NaN.
    """
    out = shares.copy()
    steps = [s for s in STEPS if s in out.columns]
    names = [f"{b}/{a}" for a, b in zip(steps[:-1], steps[1:], strict=True)]
    ratios = np.full((len(out), len(names)), np.nan)
    total = np.full(len(out), np.nan)
    values = out[steps].to_numpy(dtype=np.float64) if steps else np.zeros((len(out), 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        for r in range(len(out)):
            present = [j for j in range(len(steps)) if not np.isnan(values[r, j])]
            for a, b in zip(present[:-1], present[1:], strict=True):
                # Ratio stored under the name of its end step's pair with the previous step
                # *present*; name by the actual pair so that skipped steps stay visible.
                name = f"{steps[b]}/{steps[a]}"
                if name not in names:
                    names.append(name)
                    ratios = np.hstack([ratios, np.full((len(out), 1), np.nan)])
                ratios[r, names.index(name)] = values[r, b] / values[r, a]
            if len(present) >= 2:
                total[r] = values[r, present[-1]] / values[r, present[0]]
    for j, name in enumerate(names):
        out[name] = ratios[:, j]
    out["total"] = total
    keep = [c for c in out.columns if c not in names or not np.all(np.isnan(out[c]))]
    return out[keep]


def ratio_columns(frame: pd.DataFrame) -> list[str]:
    """The ratio columns :func:`decompose` added, in chain order."""
    return [c for c in frame.columns if "/" in c and c.split("/")[0] in STEPS]
