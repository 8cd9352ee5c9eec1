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
- ``"majority_weighted"``: α_k = N_k / (N − N_k), normalised to Σ_k α_k = 1. It grows with N_k, so it gives the MAJORITY class the
  LARGER weight — the opposite of inverse-frequency weighting. It is kept, named for
  what it does, to show that effect. (Its former name ``source_formula`` is refused with a
  message naming this one, so an old config cannot silently mean something else.)

Models that take per-example weights may rescale a weight vector by a constant (e.g. to mean
example weight 1); relative weights — what a scheme means — are never changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skewbench.errors import ConfigError

SCHEMES = ("inverse", "sqrt_inverse", "effective_number", "majority_weighted")
RENAMED = {"source_formula": "majority_weighted"}


def check_scheme(scheme: object, field: str = "treatment.params.scheme") -> str:
    """``scheme`` if it names a scheme; ConfigError naming the field (and a renamed scheme's
    new name) otherwise."""
    if isinstance(scheme, str) and scheme in RENAMED:
        raise ConfigError(
            f"{field}: scheme {scheme!r} was renamed {RENAMED[scheme]!r} (α_k ∝ N_k/(N−N_k), "
            f"which gives the majority class the larger weight); write {RENAMED[scheme]!r}"
        )
    if scheme not in SCHEMES:
        raise ConfigError(f"{field}: {scheme!r} is not one of {list(SCHEMES)}")
    return str(scheme)


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
    if scheme == "majority_weighted":
        if k < 2:
            raise ValueError("majority_weighted needs at least two classes (N − N_k > 0)")
        a = c / (n - c)
        return a / a.sum()
    check_scheme(scheme)
    raise AssertionError("unreachable")  # check_scheme raised


def recall_adaptive_update(
    weights: np.ndarray,
    smoothed_recall: np.ndarray,
    *,
    step: float = 1.0,
    lower: float = 0.1,
    upper: float = 10.0,
) -> np.ndarray:
    """One validation-driven re-weighting step (the ``adaptive_recall`` treatment).

    Rule, applied after every epoch (or evaluation) with r̂_k the class's smoothed validation
    recall and r̄ its mean over classes::

        w_k ← w_k · exp(step · (r̄ − r̂_k))        (multiplicative, like group DRO's update)
        w   ← w / mean_k(w)                         (class-mean 1: only relative weights move)
        w_k ← clip(w_k, lower, upper)               (bounds: no class is ignored or dominates)

    Classes recalled worse than average gain weight, better ones lose it; equal recall leaves
    the weights unchanged. Start from w = 1. Smoothing of the recall is the caller's
    (:func:`ema`), because validation recall of a small class is noisy.
    """
    w = np.asarray(weights, dtype=np.float64)
    r = np.asarray(smoothed_recall, dtype=np.float64)
    w = w * np.exp(step * (r.mean() - r))
    return np.clip(w / w.mean(), lower, upper)


def ema(previous: np.ndarray | None, value: np.ndarray, smoothing: float) -> np.ndarray:
    """Exponential moving average: (1 − μ)·previous + μ·value (μ = ``smoothing``; the first
    value is taken as is)."""
    v = np.asarray(value, dtype=np.float64)
    return v if previous is None else (1.0 - smoothing) * previous + smoothing * v
