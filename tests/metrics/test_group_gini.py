"""Exposure inequality between item groups (``exposure_gini[g]``, ``catalog_gini[g]``,
``relevant_gini[g]``) against a re-derivation from its definition: per-group sums written as
plain loops, and the Gini as the mean absolute difference, Σ_a Σ_b |x_a − x_b| / (2 m² x̄)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.metrics.exposure import exposure_metrics


def mad_gini(values: list[float]) -> float:
    m = len(values)
    mean = sum(values) / m
    return sum(abs(a - b) for a in values for b in values) / (2 * m * m * mean)


def by_group(per_item: list[float], labels: list[str]) -> list[float]:
    """Sum per label, in order of first appearance; every label of the catalogue appears."""
    sums: dict[str, float] = {}
    for v, g in zip(per_item, labels, strict=True):
        sums[g] = sums.get(g, 0.0) + v
    return list(sums.values())


def test_group_gini_matches_its_definition_with_ties_short_lists_and_an_unshown_group():
    n_items = 9
    # group "z" (items 7, 8) is never shown; brand A and B receive tied exposure sums
    labels = ["A", "A", "B", "B", "C", "C", "C", "z", "z"]
    ranked = np.array([[0, 2, 4], [1, 3, -1], [4, 5, 6], [-1, -1, -1], [6, -1, -1]])
    truth = sp.csr_matrix(
        ([1, 1, 2, 1, 1, 3], ([0, 0, 1, 2, 2, 4], [0, 7, 3, 5, 8, 6])), shape=(5, n_items)
    )
    out = exposure_metrics(ranked, n_items, groups={"brand": np.array(labels)}, truth=truth)

    exposure = [0.0] * n_items
    for row in ranked:
        for r, item in enumerate(row, start=1):
            if item >= 0:
                exposure[item] += 1 / math.log2(r + 1)
    relevant = [0.0] * n_items
    for i in truth.nonzero()[1]:
        relevant[i] += 1.0  # ρ_i counts units, not grades
    assert out["exposure_gini[brand]"] == pytest.approx(mad_gini(by_group(exposure, labels)))
    assert out["catalog_gini[brand]"] == pytest.approx(mad_gini(by_group([1.0] * n_items, labels)))
    assert out["relevant_gini[brand]"] == pytest.approx(mad_gini(by_group(relevant, labels)))
    # the shares the Gini summarises, beside it
    assert out["exposure_share[brand=z]"] == 0.0
    assert sum(out[f"exposure_share[brand={g}]"] for g in "ABCz") == pytest.approx(1.0)


def test_equal_group_exposure_is_zero_and_no_truth_gives_nan_relevant_gini():
    ranked = np.array([[0, 1], [1, 0]])
    out = exposure_metrics(ranked, 2, groups={"g": np.array(["a", "b"])})
    assert out["exposure_gini[g]"] == pytest.approx(0.0)
    assert out["catalog_gini[g]"] == pytest.approx(0.0)
    assert math.isnan(out["relevant_gini[g]"])
