"""Popularity propensities for BPR: inverse-propensity weights and popularity-aware negatives.

Propensity model (Yang et al. 2018, "Unbiased offline recommender evaluation for missing-not-at-
random implicit feedback"): the chance that a relevant item is observed grows with popularity,
    p_i = (n_i / max_j n_j)^η,   η ≥ 0 (η = 0: no correction),
with n_i the item's distinct training users. IPS weight w_i = min(1 / p_i, clip): clipping
(Ionides 2008) caps the variance the rarest items bring. The BPR loss over a batch is then
    IPS:   (1/|B|) Σ_b w_{i_b} ℓ_b          (unbiased up to clipping; scale grows with w)
    SNIPS: Σ_b w_{i_b} ℓ_b / Σ_b w_{i_b}   (self-normalised, Swaminathan & Joachims 2015:
                                            biased but bounded, insensitive to the scale of w)
Negatives: BPR draws the negative item j with probability q_j ∝ max(n_j, 1)^β; β = 0 is uniform,
β > 0 oversamples popular negatives (pushes popular items down, as in Rendle & Freudenthaler
2014 / word2vec's β = 0.75), β < 0 oversamples tail negatives.
"""

from __future__ import annotations

import numpy as np

from skewbench.errors import ConfigError


def propensities(popularity: np.ndarray, eta: float) -> np.ndarray:
    """p_i = (n_i / max n)^η in (0, 1]; items with n_i = 0 get the smallest positive propensity."""
    if not np.isfinite(eta) or eta < 0:
        raise ConfigError(f"treatment.params.eta: must be >= 0, got {eta!r}")
    n = np.asarray(popularity, dtype=np.float64)
    if n.ndim != 1 or n.size == 0 or (n < 0).any() or n.max() <= 0:
        raise ConfigError("treatment ips: popularity must be a non-empty, non-negative 1-d array")
    n = np.maximum(n, n[n > 0].min())
    return (n / n.max()) ** eta


def ips_weights(popularity: np.ndarray, eta: float = 0.5, clip: float = 100.0) -> np.ndarray:
    """Per-item weights w_i = min(1 / p_i, clip), p_i from ``propensities``; all >= 1."""
    if not np.isfinite(clip) or clip < 1:
        raise ConfigError(f"treatment.params.clip: must be >= 1 (a maximum weight), got {clip!r}")
    return np.minimum(1.0 / propensities(popularity, eta), clip)


def negative_sampling_probs(popularity: np.ndarray, beta: float = 0.0) -> np.ndarray:
    """q_j ∝ max(n_j, 1)^β, summing to 1 (β = 0: uniform)."""
    if not np.isfinite(beta):
        raise ConfigError(f"treatment.params.beta: must be finite, got {beta!r}")
    n = np.maximum(np.asarray(popularity, dtype=np.float64), 1.0)
    q = n**beta
    return q / q.sum()
