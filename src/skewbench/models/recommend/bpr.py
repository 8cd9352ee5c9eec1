"""Bayesian Personalised Ranking matrix factorisation (Rendle et al. 2009) in torch.

x̂_ui = ⟨P_u, Q_i⟩ + b_i. For each observed (u, i) and a sampled negative j ∉ I_u, the loss is
ℓ = −log σ(x̂_ui − x̂_uj) + reg · (‖P_u‖² + ‖Q_i‖² + ‖Q_j‖² + b_i² + b_j²), averaged over a batch
(or weighted: see ``skewbench.treatments.propensity`` for IPS / SNIPS and popularity-aware
negatives). Optimiser: Adam. One epoch visits every observed pair once, in a random order.

Determinism: negatives and the visiting order come from a NumPy Generator seeded by ``seed``; the
parameters from ``torch.manual_seed(seed)``; training runs with
``torch.use_deterministic_algorithms(True)`` and one intra-op thread (both restored afterwards),
so two fits with the same seed give bit-identical factors on CPU.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from skewbench.data.groups import item_popularity_matrix
from skewbench.errors import ConfigError
from skewbench.lazy import lazy_module
from skewbench.models.recommend.base import Recommender, check_positive
from skewbench.treatments.propensity import ips_weights, negative_sampling_probs

torch = lazy_module("torch")  # imported when a BPR model fits, not when a config is checked


def sample_negatives(
    users: np.ndarray,
    positives: sp.csr_matrix,
    probs: np.ndarray | None,
    rng: np.random.Generator,
    max_rounds: int = 20,
) -> np.ndarray:
    """One negative item per user in ``users``: uniform (``probs=None``) or ∝ ``probs``,
    redrawn (up to ``max_rounds`` times) where it hits one of the user's training items."""
    n_items = positives.shape[1]
    keys = np.sort(
        np.repeat(np.arange(positives.shape[0], dtype=np.int64), np.diff(positives.indptr))
        * n_items
        + positives.indices
    )

    def draw(size: int) -> np.ndarray:
        if probs is None:
            return rng.integers(0, n_items, size=size)
        return rng.choice(n_items, size=size, p=probs)

    neg = draw(users.size)
    for _ in range(max_rounds):
        k = users * n_items + neg
        pos = np.searchsorted(keys, k)
        hit = (pos < keys.size) & (keys[np.minimum(pos, keys.size - 1)] == k)
        if not hit.any():
            break
        neg[hit] = draw(int(hit.sum()))
    return neg


class BPR(Recommender):
    """BPR-MF. ``ips_eta``: None = plain BPR, else IPS-weight each positive (u, i) by
    w_i = min(1/p_i, ips_clip) with p_i ∝ popularity^η (``ips_self_normalised`` for SNIPS).
    ``neg_beta``: negatives ∝ popularity^β (0 = uniform)."""

    tune_space: ClassVar[dict[str, list[Any]]] = {
        "factors": [32, 64, 128],
        "epochs": [5, 10, 20, 40],
        "lr": [0.001, 0.005, 0.01, 0.05],
        "reg": [1e-5, 1e-4, 1e-3],
    }

    def __init__(
        self,
        factors: int = 64,
        epochs: int = 20,
        lr: float = 0.01,
        reg: float = 1e-4,
        batch_size: int = 4096,
        ips_eta: float | None = None,
        ips_clip: float = 100.0,
        ips_self_normalised: bool = False,
        neg_beta: float = 0.0,
    ):
        for name, v in [
            ("factors", factors),
            ("epochs", epochs),
            ("lr", lr),
            ("batch_size", batch_size),
        ]:
            check_positive(name, v)
        check_positive("reg", reg, allow_zero=True)
        if ips_eta is not None and ips_eta < 0:
            raise ConfigError(f"treatment.params.eta: must be >= 0, got {ips_eta!r}")
        self.factors, self.epochs, self.lr, self.reg = (
            int(factors),
            int(epochs),
            float(lr),
            float(reg),
        )
        self.batch_size = int(batch_size)
        self.ips_eta, self.ips_clip = ips_eta, float(ips_clip)
        self.ips_self_normalised, self.neg_beta = bool(ips_self_normalised), float(neg_beta)

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        rng = np.random.default_rng(seed)
        Xb = X.copy()
        Xb.data[:] = 1.0
        pop = item_popularity_matrix(X)
        self.item_weights_ = (
            None if self.ips_eta is None else ips_weights(pop, self.ips_eta, self.ips_clip)
        )
        probs = None if self.neg_beta == 0 else negative_sampling_probs(pop, self.neg_beta)
        users = np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(X.indptr))
        items = X.indices.astype(np.int64)
        weights = None if self.item_weights_ is None else torch.from_numpy(self.item_weights_)

        prev_det, prev_threads = (
            torch.are_deterministic_algorithms_enabled(),
            torch.get_num_threads(),
        )
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(1)
        try:
            torch.manual_seed(seed)
            P = torch.nn.Parameter(torch.randn(X.shape[0], self.factors) * 0.1)
            Q = torch.nn.Parameter(torch.randn(X.shape[1], self.factors) * 0.1)
            b = torch.nn.Parameter(torch.zeros(X.shape[1]))
            opt = torch.optim.Adam([P, Q, b], lr=self.lr)
            self.epoch_seconds_: list[float] = []
            self.losses_: list[float] = []
            for _ in range(self.epochs):
                t0 = time.perf_counter()
                order = rng.permutation(users.size)
                neg_all = sample_negatives(users[order], Xb, probs, rng)
                total = 0.0
                for start in range(0, order.size, self.batch_size):
                    sel = order[start : start + self.batch_size]
                    u = torch.from_numpy(users[sel])
                    i = torch.from_numpy(items[sel])
                    j = torch.from_numpy(neg_all[start : start + self.batch_size])
                    pu, qi, qj, bi, bj = P[u], Q[i], Q[j], b[i], b[j]
                    x = (pu * (qi - qj)).sum(1) + bi - bj
                    ell = -torch.nn.functional.logsigmoid(x)
                    if weights is None:
                        loss = ell.mean()
                    else:
                        w = weights[i].to(ell.dtype)
                        loss = (w * ell).sum() / (w.sum() if self.ips_self_normalised else len(sel))
                    penalty = (pu.square().sum(1) + qi.square().sum(1) + qj.square().sum(1)).mean()
                    penalty = penalty + (bi.square() + bj.square()).mean()
                    opt.zero_grad(set_to_none=True)
                    (loss + self.reg * penalty).backward()
                    opt.step()
                    total += float(loss.detach()) * len(sel)
                self.losses_.append(total / users.size)
                self.epoch_seconds_.append(time.perf_counter() - t0)
        finally:
            torch.use_deterministic_algorithms(prev_det)
            torch.set_num_threads(prev_threads)
        self.user_factors_ = P.detach().numpy().copy()
        self.item_factors_ = Q.detach().numpy().copy()
        self.item_bias_ = b.detach().numpy().copy()

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        s = self.user_factors_[users] @ self.item_factors_.T + self.item_bias_[None, :]
        return s.astype(np.float32)
