"""The amplification chain: hand-computed shares, and ratios that multiply back to the observed
exposure shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from skewbench.data.groups import price_bands
from skewbench.explain.decomposition import decompose, ratio_columns
from skewbench.metrics.exposure import exposure_metrics
from skewbench.pipeline.facts import group_shares, price_edges

# 5 items: groups A = {0, 1}, B = {2, 3, 4}.
LABELS = {"g": np.array(["A", "A", "B", "B", "B"], dtype=object)}
TRAIN = sp.csr_matrix(np.array([[1, 1, 0, 0, 1], [1, 0, 0, 0, 0], [0, 3, 1, 0, 0]], float))
POOL = np.array([[0, 2, 3, -1], [1, 4, 2, 3]])
BEFORE = POOL[:, :2]
AFTER = np.array([[2, 3], [4, 2]])


def test_group_shares_by_hand():
    s = group_shares(LABELS, TRAIN, POOL, BEFORE)["g"]
    assert s["A"]["catalog"] == pytest.approx(2 / 5)
    assert s["A"]["train"] == pytest.approx(4 / 6)  # pairs, weight 3 counts once
    assert s["A"]["pool"] == pytest.approx(2 / 7)  # 7 non-padding slots
    w = 1 / np.log2(np.arange(2, 4))  # ranks 1, 2
    assert s["A"]["before"] == pytest.approx(2 * w[0] / (2 * w.sum()))
    assert s["B"]["before"] == pytest.approx(1 - s["A"]["before"])


def test_ratios_multiply_back_to_the_observed_exposure_share():
    truth = sp.csr_matrix(np.array([[0, 1, 1, 0, 0], [1, 0, 0, 0, 1]], float))
    after = exposure_metrics(AFTER, 5, groups=LABELS, truth=truth)
    before = exposure_metrics(BEFORE, 5, groups=LABELS, truth=truth)
    shares = group_shares(LABELS, TRAIN, POOL, BEFORE)["g"]
    rows = []
    for v in ("A", "B"):
        assert shares[v]["before"] == pytest.approx(before[f"exposure_share[g={v}]"])
        rows.append(
            {
                "group": v,
                **shares[v],
                "relevant": after[f"relevant_share[g={v}]"],
                "after": after[f"exposure_share[g={v}]"],
            }
        )
    dec = decompose(pd.DataFrame(rows))
    ratios = ratio_columns(dec)
    assert ratios == [
        "train/catalog",
        "relevant/train",
        "pool/relevant",
        "before/pool",
        "after/before",
    ]
    for _, r in dec.iterrows():
        obs = after[f"exposure_share[g={r['group']}]"]
        if obs > 0:
            assert r["catalog"] * np.prod([r[c] for c in ratios]) == pytest.approx(obs)
            assert r["total"] == pytest.approx(obs / r["catalog"])


def test_missing_steps_are_skipped_and_named_by_the_pair_taken():
    df = pd.DataFrame(
        {"catalog": [0.5], "train": [0.25], "relevant": [0.5], "pool": [np.nan], "before": [0.1]}
    )
    out = decompose(df)
    assert out["before/relevant"].iloc[0] == pytest.approx(0.2)
    assert "pool/relevant" not in out and "before/pool" not in out
    assert out["total"].iloc[0] == pytest.approx(0.2)
    assert out["train/catalog"].iloc[0] * out["relevant/train"].iloc[0] * 0.2 == pytest.approx(0.2)


def test_price_edges_are_the_cut_points_of_the_price_bands():
    prices = np.array([1.0, 2.0, 2.0, 3.0, 10.0, np.nan, 4.0, 0.5])
    edges = price_edges(prices)
    bands = price_bands(prices)
    known = ~np.isnan(prices)
    expected = np.array([f"q{1 + int(np.sum(np.asarray(edges) <= p))}" for p in prices[known]])
    assert (bands[known] == expected).all() and bands[~known][0] == "unknown"
