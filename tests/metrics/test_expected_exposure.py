"""Expected exposure (EE-L/D/R), Plackett–Luce sampling and AWRF against independent peers:
a dense brute-force implementation, exact enumeration of PL probabilities, scipy's
Jensen–Shannon distance and FairRankTune's AWRF group values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import jensenshannon

from skewbench.errors import ConfigError
from skewbench.metrics.expected_exposure import (
    awrf,
    expected_exposure,
    group_attention,
    plackett_luce_rankings,
    rbp_weights,
)


def _dense_ee(rankings, grades, n_items, patience):
    """Brute force: dense ε and ε* over the whole catalog (module docstring definitions)."""
    units, samples, k = rankings.shape
    w = patience ** np.arange(k)
    out = []
    for u in range(units):
        eps = np.zeros(n_items)
        for s in range(samples):
            for i, d in enumerate(rankings[u, s]):
                if d >= 0:
                    eps[d] += w[i] / samples
        g = grades[u]
        order = sorted(range(n_items), key=lambda d: -g[d])  # grade blocks, descending
        pos_w = np.array([w[i] if i < k else 0.0 for i in range(n_items)])
        target = np.zeros(n_items)
        for grade in sorted(set(g), reverse=True):
            members = [d for d in order if g[d] == grade]
            positions = [order.index(d) for d in members]
            target[members] = pos_w[positions].mean()
        out.append(((eps - target) ** 2).sum())
        out[-1] = (out[-1], eps @ eps, eps @ target)
    return np.array(out)


def test_hand_fixture():
    # n = 4, k = 4, γ = 0.5; items 0 and 1 relevant (grade 1). Target: 0.75 for the relevant
    # block (mean of 1, 0.5), 0.1875 for the rest (mean of 0.25, 0.125).
    truth = sp.csr_matrix(np.array([[1.0, 1.0, 0.0, 0.0]]))
    det = np.array([[0, 1, 2, 3]])
    ee = expected_exposure(det, truth, 4, patience=0.5)
    assert ee["ee_l"][0] == pytest.approx(0.0625 + 0.0625 + 0.25**2 / 16 + 0.25**2 / 16)
    assert ee["ee_d"][0] == pytest.approx(1 + 0.25 + 0.0625 + 0.015625)
    assert ee["ee_r"][0] == pytest.approx(0.75 * 1.5 + 0.1875 * 0.375)
    # the ideal stochastic policy: every order within the blocks equally often → EE-L = 0
    ideal = np.array([[[0, 1, 2, 3], [1, 0, 2, 3], [0, 1, 3, 2], [1, 0, 3, 2]]])
    assert expected_exposure(ideal, truth, 4, 0.5)["ee_l"][0] == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("seed", range(6))
def test_matches_dense_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_items, units, samples, k = 12, 5, 4, 5
    grades = rng.integers(0, 3, size=(units, n_items)) * (rng.random((units, n_items)) < 0.4)
    grades[0] = 0  # a unit with no relevant item
    rankings = np.stack(
        [np.stack([rng.permutation(n_items)[:k] for _ in range(samples)]) for _ in range(units)]
    )
    rankings[1, :, 3:] = -1  # short lists
    got = expected_exposure(rankings, sp.csr_matrix(grades.astype(float)), n_items, 0.8)
    want = _dense_ee(rankings, grades, n_items, 0.8)
    np.testing.assert_allclose(got["ee_l"], want[:, 0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got["ee_d"], want[:, 1], rtol=1e-12)
    np.testing.assert_allclose(got["ee_r"], want[:, 2], rtol=1e-12, atol=1e-15)


def test_plackett_luce_matches_exact_probabilities():
    scores = np.array([[2.0, 1.0, 0.0]])
    items = np.array([[10, 11, 12]])
    rng = np.random.default_rng(0)
    n = 60_000
    samples = plackett_luce_rankings(items, scores, 3, 1.0, n, rng)[0]
    w = np.exp(scores[0])
    for perm in itertools.permutations(range(3)):
        p, left = 1.0, w.sum()
        for i in perm:
            p *= w[i] / left
            left -= w[i]
        freq = np.mean(np.all(samples == items[0][list(perm)], axis=1))
        assert freq == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n))


def test_plackett_luce_padding_and_limits():
    items = np.array([[3, -1, 5]])
    out = plackett_luce_rankings(items, np.zeros((1, 3)), 3, 0.5, 50, np.random.default_rng(1))
    assert set(out[0, :, :2].ravel()) == {3, 5} and (out[0, :, 2] == -1).all()
    # a tiny temperature reproduces the deterministic order
    det = plackett_luce_rankings(
        np.array([[7, 8, 9]]), np.array([[3.0, 2.0, 1.0]]), 2, 1e-6, 5, np.random.default_rng(2)
    )
    assert (det[0] == [7, 8]).all()
    with pytest.raises(ConfigError, match="temperature"):
        plackett_luce_rankings(items, np.zeros((1, 3)), 2, 0.0, 1, np.random.default_rng(0))


def test_awrf_matches_scipy_jsd():
    rng = np.random.default_rng(3)
    groups = rng.integers(0, 3, size=30)
    ranked = np.stack([rng.permutation(30)[:8] for _ in range(10)])
    ranked[2, 5:] = -1
    target = np.array([0.5, 0.3, 0.2])
    got = awrf(ranked, groups, target, p=0.3)
    w = 0.3 * 0.7 ** np.arange(8)
    for u in range(10):
        a = np.zeros(3)
        for i, d in enumerate(ranked[u]):
            if d >= 0:
                a[groups[d]] += w[i]
        want = 1.0 - jensenshannon(a / a.sum(), target, base=2) ** 2
        assert got[u] == pytest.approx(want, rel=1e-12)
    assert np.isnan(awrf(np.full((1, 3), -1), groups, target)[0])


def test_group_attention_matches_fairranktune():
    pytest.importorskip("FairRankTune")
    import pandas as pd
    from FairRankTune.Metrics.AWRF import AWRF

    rng = np.random.default_rng(4)
    groups = rng.integers(0, 2, size=20)
    ranked = np.stack([rng.permutation(20)[:6] for _ in range(4)])
    ranking_df = pd.DataFrame({f"r{j}": ranked[j] for j in range(4)})
    _, values = AWRF(ranking_df, dict(enumerate(groups)), 0.4, "MinMaxRatio")
    ours = group_attention(ranked, groups, 0.4)
    np.testing.assert_allclose(ours, [values[g] for g in sorted(values)], rtol=1e-12)


def test_rbp_weights_range():
    assert rbp_weights(3, 1.0).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ConfigError, match="patience"):
        rbp_weights(3, 0.0)
