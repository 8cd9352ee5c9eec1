"""Training losses for imbalanced classification (torch), and post-hoc logit adjustment.

All losses take raw logits (n, K) and integer targets (n,) and return the mean over examples;
with per-class weights w the mean is weighted: Σ_i w_{y_i} ℓ_i / Σ_i w_{y_i} (PyTorch's
``cross_entropy(weight=...)`` convention), so rescaling w by a constant changes nothing.

- weighted cross-entropy: ℓ_i = −log softmax(z_i)_{y_i}.
- focal loss (Lin et al., ICCV 2017): ℓ_i = −(1 − p_{i,y_i})^γ log p_{i,y_i}, optional per-class
  α used as the weight above. γ = 0 (and α = None) is exactly cross-entropy.
- logit-adjusted loss (Menon et al., ICLR 2021, eq. 10): cross-entropy of z_i + τ·log π, with π
  the training class prior; prediction uses the raw logits z.
- post-hoc logit adjustment (Menon et al. 2021, eq. 6): predict from z − τ·log π; τ = 0 is the
  identity.
"""

from __future__ import annotations

import numpy as np

from skewbench.lazy import lazy_module

# imported on first use: the numpy helpers below serve the TF-IDF model, which needs no torch
torch = lazy_module("torch")
F = lazy_module("torch.nn.functional")


def weighted_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy, class-weighted mean (module doc)."""
    return F.cross_entropy(logits, targets, weight=weight)


def focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    gamma: float = 2.0,
    alpha: torch.Tensor | None = None,
) -> torch.Tensor:
    """Focal loss −α_y (1 − p_y)^γ log p_y, α-weighted mean (module doc)."""
    if gamma < 0:
        raise ValueError(f"focal gamma must be >= 0, got {gamma}")
    logp = F.log_softmax(logits, dim=1)
    # Same reduction path as F.cross_entropy (nll_loss of log-softmax), so at γ = 0 — where the
    # factor is exactly 1 (0**0 = 1 in torch.pow) — the result equals cross-entropy bit for bit.
    return F.nll_loss(torch.pow(1.0 - logp.exp(), gamma) * logp, targets, weight=alpha)


def logit_adjusted_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    log_prior: torch.Tensor,
    tau: float = 1.0,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy of logits + τ·log π (training-time logit adjustment)."""
    return F.cross_entropy(logits + tau * log_prior.to(logits.dtype), targets, weight=weight)


def posthoc_logit_adjust(scores: np.ndarray, log_prior: np.ndarray, tau: float) -> np.ndarray:
    """Adjusted logits z − τ·log π for prediction (τ = 0 returns the scores unchanged).

    ``scores`` may be logits or log-probabilities: both differ by a per-row constant, which
    softmax and argmax ignore.
    """
    return np.asarray(scores, dtype=np.float64) - tau * np.asarray(log_prior, dtype=np.float64)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (max-shifted)."""
    z = np.asarray(scores, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def log_prior(counts: np.ndarray) -> np.ndarray:
    """log π_k = log(N_k / N) of the training class counts (all must be > 0)."""
    c = np.asarray(counts, dtype=np.float64)
    if (c <= 0).any():
        raise ValueError("log prior needs every class count > 0")
    return np.log(c / c.sum())
