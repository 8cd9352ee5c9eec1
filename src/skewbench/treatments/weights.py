"""Class-weight schemes for imbalanced classification.

``counts`` are the training examples per class, N = Σ_k N_k, K = number of classes. Every scheme
needs N_k > 0 for all k. Each scheme states its own normalisation (they differ on purpose: each
follows its source):

- ``"inverse"``: w_k = N / (K · N_k) — exactly scikit-learn's
  ``compute_class_weight('balanced')``. Normalised so that Σ_k N_k w_k = N (the mean weight per
  training example is 1).
- ``"sqrt_inverse"``: w_k ∝ 1/√N_k, normalised like ``"inverse"`` (Σ_k N_k w_k = N).
- ``"effective_number"`` (Cui et al., CVPR 2019, "Class-Balanced Loss Based on Effective Number
  of Samples"): w_k ∝ (1 − β) / (1 − β^{N_k}), normalised to Σ_k w_k = K as in the paper.
  β = 0 gives uniform weights; β → 1 tends to inverse frequency (∝ 1/N_k). β ∈ [0, 1).
- ``"source_formula"``: the source document's α_k = N_k / (N − N_k), normalised to Σ_k α_k = 1.
  It grows with N_k, so it gives the MAJORITY class the LARGER weight — the opposite of its
  stated aim of helping rare classes. It is kept, under this name, to show that effect.

Models that take per-example weights may rescale a weight vector by a constant (e.g. to mean
example weight 1); relative weights — what a scheme means — are never changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skewbench.errors import ConfigError

SCHEMES = ("inverse", "sqrt_inverse", "effective_number", "source_formula")


def _check_counts(counts: Sequence[float] | np.ndarray) -> np.ndarray:
    c = np.asarray(counts, dtype=float)
    if c.ndim != 1 or c.size == 0:
        raise ValueError("class counts must be a non-empty 1-d array")
    if not np.isfinite(c).all() or (c <= 0).any():
        bad = int(np.flatnonzero(~(np.isfinite(c) & (c > 0)))[0])
        raise ValueError(f"class counts must be positive; class {bad} has {c[bad]!r}")
    return c


def class_weights(
    counts: Sequence[float] | np.ndarray, scheme: str, beta: float = 0.999
) -> np.ndarray:
    """Per-class weights (float64, aligned with ``counts``) under ``scheme`` (module doc)."""
    c = _check_counts(counts)
    n, k = c.sum(), c.size
    if scheme == "inverse":
        return n / (k * c)
    if scheme == "sqrt_inverse":
        w = 1.0 / np.sqrt(c)
        return w * n / np.dot(c, w)
    if scheme == "effective_number":
        if not 0.0 <= beta < 1.0:
            raise ConfigError(f"treatment.params.beta: must be in [0, 1), got {beta!r}")
        # 1 − β^n computed as −expm1(n·log β): exact when β is close to 1, where 1 − β^n
        # would cancel catastrophically.
        w = np.ones_like(c) if beta == 0.0 else (1.0 - beta) / -np.expm1(c * np.log(beta))
        return w * k / w.sum()
    if scheme == "source_formula":
        if k < 2:
            raise ValueError("source_formula needs at least two classes (N − N_k > 0)")
        a = c / (n - c)
        return a / a.sum()
    raise ConfigError(
        f"treatment.params.scheme: unknown class-weight scheme {scheme!r}; "
        f"choose one of {list(SCHEMES)}"
    )
