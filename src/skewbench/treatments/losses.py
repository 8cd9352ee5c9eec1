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
- balanced softmax (Ren et al., NeurIPS 2020, "Balanced Meta-Softmax for Long-Tailed Visual
  Recognition", eq. 4): ℓ_i = −log [π_{y} e^{z_{y}} / Σ_j π_j e^{z_j}] = cross-entropy of z + log π,
  i.e. exactly the logit-adjusted loss with τ = 1; prediction uses the raw logits z.
- LDAM (Cao et al., NeurIPS 2019, "Learning Imbalanced Datasets with Label-Distribution-Aware
  Margin Loss", eq. 13): ℓ_i = cross-entropy of s·(z_i − Δ_{y_i} e_{y_i}), margins
  Δ_k = C / N_k^{1/4} with C chosen so that max_k Δ_k = ``max_margin``; s is a logit scale (the
  paper uses s = 30 on cosine logits). Δ = 0 gives cross-entropy of s·z.
- τ-normalisation (Kang et al., ICLR 2020, "Decoupling Representation and Classifier for
  Long-Tailed Recognition", §4): classifier weight vectors w_k ← w_k / ‖w_k‖^τ after training;
  τ = 0 is the identity (the bias is kept as is, so τ = 0 changes nothing).
- class-balanced sampling (Kang et al. 2020, cRT's sampler, their eq. 1 with q = 0): each draw
  picks a class uniformly, then an example of it uniformly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from skewbench.lazy import lazy_module

if TYPE_CHECKING:
    import torch
    import torch.nn.functional as F
else:
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


def balanced_softmax_loss(
    logits: torch.Tensor, targets: torch.Tensor, log_prior: torch.Tensor
) -> torch.Tensor:
    """Balanced softmax (Ren et al. 2020): cross-entropy of z + log π (module doc)."""
    return F.cross_entropy(logits + log_prior.to(logits.dtype), targets)


def ldam_margins(counts: np.ndarray, max_margin: float = 0.5) -> np.ndarray:
    """Δ_k = C / N_k^{1/4}, C such that max_k Δ_k = ``max_margin`` (Cao et al. 2019, eq. 12)."""
    c = np.asarray(counts, dtype=np.float64)
    if (c <= 0).any():
        raise ValueError("LDAM margins need every class count > 0")
    m = 1.0 / np.sqrt(np.sqrt(c))
    return m * (float(max_margin) / m.max())


def ldam_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    margins: torch.Tensor,
    scale: float = 1.0,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """LDAM: cross-entropy of s·(z − Δ_y e_y), class-weighted mean (module doc)."""
    m = margins.to(logits.dtype)[targets]
    shifted = logits - F.one_hot(targets, logits.shape[1]).to(logits.dtype) * m[:, None]
    return F.cross_entropy(scale * shifted, targets, weight=weight)


def tau_normalize(weight: np.ndarray, tau: float, class_axis: int) -> np.ndarray:
    """w_k / ‖w_k‖^τ for every class k (Kang et al. 2020); ``class_axis`` indexes classes."""
    w = np.asarray(weight, dtype=np.float64)
    norms = np.linalg.norm(w, axis=1 - class_axis, keepdims=True)
    return w / np.power(np.maximum(norms, 1e-12), float(tau))


def class_balanced_sample(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` positions into ``y``: class uniform over the classes present, then an example of
    it uniformly (with replacement)."""
    y = np.asarray(y)
    classes = np.unique(y)
    members = [np.flatnonzero(y == c) for c in classes]
    pick = rng.integers(0, classes.size, size=n)
    out = np.empty(n, dtype=np.int64)
    for j, rows in enumerate(members):
        sel = pick == j
        out[sel] = rows[rng.integers(0, rows.size, size=int(sel.sum()))]
    return out
