r"""Causal popularity debiasing of matrix factorisation: PDA and MACR.

Both train a matrix-factorisation scorer f(u, i) = ⟨P_u, Q_i⟩ whose training objective models
popularity explicitly, so that popularity's effect can be removed (or re-set) at inference.

**PDA** — popularity-bias deconfounding and adjusting (Zhang, Feng, He, Wei, Song, Ling &
Zhang, SIGIR 2021). Training explains an interaction by a matching term times a popularity
term: ŷ_ui = ELU'(f(u, i)) · m_i^γ with ELU'(x) = eˣ for x ≤ 0, x + 1 otherwise (positive and
monotone) and m_i the item's share of training interactions (the paper's stage-local
popularity, here one stage: the training period). Loss: BPR on ŷ,
−log σ(ŷ_ui − ŷ_uj) for an observed i and a sampled j, plus L2 ``reg``. Inference: PD ranks by
ELU'(f(u, i)) alone (popularity's causal effect removed); PDA ranks by
ELU'(f(u, i)) · m_i^γ̃, re-injecting a chosen amount γ̃ (``infer_gamma``) of popularity —
γ̃ = 0 is PD; sweeping γ̃ traces the accuracy–exposure curve.

**MACR** — model-agnostic counterfactual reasoning (Wei, Feng, Chen, Wu, Yi & He, KDD 2021).
Three branches: the matching score ŷ_k = f(u, i), an item branch ŷ_i = ⟨w_I, Q_i⟩ + b_I (how
much an item is interacted with whatever the user), and a user branch ŷ_u = ⟨w_U, P_u⟩ + b_U
(how much a user interacts). Training probability P_ui = σ(ŷ_k)·σ(ŷ_i)·σ(ŷ_u), loss
BCE(P) + α·BCE(σ(ŷ_i)) + β·BCE(σ(ŷ_u)) on observed pairs (label 1) and sampled negatives
(label 0). Inference removes the direct effect of item popularity by the counterfactual
subtraction (σ(ŷ_k) − c)·σ(ŷ_i)·σ(ŷ_u) (``c`` = the reference matching score); c = 0 is the
factual model, larger c demotes popular items with weak matches.

Training loop (both): every epoch visits each observed pair once in a seeded random order, one
uniform negative per pair (re-drawn when it is a training item), Adam; determinism as in
:mod:`skewbench.models.recommend.bpr` (seeded NumPy Generator, ``torch.manual_seed``,
deterministic algorithms, one intra-op thread).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from skewbench.errors import ConfigError
from skewbench.models.determinism import deterministic_torch
from skewbench.models.recommend.base import Recommender, binarize, check_positive
from skewbench.models.recommend.bpr import sample_negatives


def elu_prime(x: torch.Tensor) -> torch.Tensor:
    """ELU'(x) = exp(x) for x <= 0, x + 1 for x > 0 (positive, monotone, continuous)."""
    return torch.where(x > 0, x + 1.0, torch.exp(torch.clamp(x, max=0.0)))


class CausalMF(Recommender):
    """Matrix factorisation trained with the PDA or MACR objective (module docstring)."""

    tune_space: ClassVar[dict[str, list[float]]] = {
        "epochs": [10, 30],
        "lr": [0.005, 0.02],
        "reg": [1e-5, 1e-4],
    }

    def __init__(
        self,
        method: str = "pda",
        factors: int = 64,
        epochs: int = 20,
        lr: float = 0.01,
        reg: float = 1e-5,
        batch_size: int = 4096,
        gamma: float = 0.1,
        infer_gamma: float = 0.0,
        alpha: float = 1e-3,
        beta: float = 1e-3,
        c: float = 0.0,
    ):
        if method not in ("pda", "macr"):
            raise ConfigError(f"treatment: causal method must be 'pda' or 'macr', got {method!r}")
        for name, value in (
            ("factors", factors),
            ("epochs", epochs),
            ("lr", lr),
            ("batch_size", batch_size),
        ):
            check_positive(name, value)
        for name, value in (
            ("reg", reg),
            ("gamma", gamma),
            ("infer_gamma", infer_gamma),
            ("alpha", alpha),
            ("beta", beta),
        ):
            check_positive(name, value, allow_zero=True)
        if not 0.0 <= c <= 1.0:
            raise ConfigError(f"treatment.params.c: the reference score lies in [0, 1], got {c!r}")
        self.method, self.factors, self.epochs = method, int(factors), int(epochs)
        self.lr, self.reg, self.batch_size = float(lr), float(reg), int(batch_size)
        self.gamma, self.infer_gamma = float(gamma), float(infer_gamma)
        self.alpha, self.beta, self.c = float(alpha), float(beta), float(c)

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        B = binarize(X)
        n_users, n_items = B.shape
        counts = np.asarray(B.sum(axis=0)).ravel()
        self.m_ = (counts / counts.sum()).astype(np.float32)  # m_i: share of interactions
        users = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(B.indptr))
        items = B.indices.astype(np.int64)
        rng = np.random.default_rng(seed)
        with deterministic_torch(seed, threads=1):
            P = nn.Parameter(torch.randn(n_users, self.factors) * 0.1)
            Q = nn.Parameter(torch.randn(n_items, self.factors) * 0.1)
            params = [P, Q]
            if self.method == "macr":
                self.w_item_ = nn.Linear(self.factors, 1)
                self.w_user_ = nn.Linear(self.factors, 1)
                params += list(self.w_item_.parameters()) + list(self.w_user_.parameters())
            opt = torch.optim.Adam(params, lr=self.lr)
            log_m = torch.as_tensor(np.log(np.maximum(self.m_, 1e-12)))
            self.history_ = []
            for _ in range(self.epochs):
                order = rng.permutation(users.size)
                neg_all = sample_negatives(users[order], B, None, rng)
                total = 0.0
                for s in range(0, order.size, self.batch_size):
                    idx = order[s : s + self.batch_size]
                    u = torch.as_tensor(users[idx])
                    i = torch.as_tensor(items[idx])
                    j = torch.as_tensor(neg_all[s : s + self.batch_size])
                    pu, qi, qj = P[u], Q[i], Q[j]
                    fi, fj = (pu * qi).sum(1), (pu * qj).sum(1)
                    if self.method == "pda":
                        yi = elu_prime(fi) * torch.exp(self.gamma * log_m[i])
                        yj = elu_prime(fj) * torch.exp(self.gamma * log_m[j])
                        loss = -nn.functional.logsigmoid(yi - yj).mean()
                    else:
                        loss = self._macr_loss(pu, qi, qj, fi, fj)
                    loss = (
                        loss
                        + self.reg
                        * (pu.square().sum() + qi.square().sum() + qj.square().sum())
                        / idx.size
                    )
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * idx.size
                self.history_.append(total / max(users.size, 1))
            self.P_ = P.detach().numpy().copy()
            self.Q_ = Q.detach().numpy().copy()
            if self.method == "macr":
                with torch.no_grad():
                    self.item_gate_ = torch.sigmoid(self.w_item_(Q)).numpy().ravel()
                    self.user_gate_ = torch.sigmoid(self.w_user_(P)).numpy().ravel()

    def _macr_loss(self, pu, qi, qj, fi, fj) -> torch.Tensor:
        bce = nn.functional.binary_cross_entropy
        gi = torch.sigmoid(self.w_item_(qi)).squeeze(1)
        gj = torch.sigmoid(self.w_item_(qj)).squeeze(1)
        gu = torch.sigmoid(self.w_user_(pu)).squeeze(1)
        ones, zeros = torch.ones_like(fi), torch.zeros_like(fj)
        eps = 1e-7
        p_pos = (torch.sigmoid(fi) * gi * gu).clamp(eps, 1 - eps)
        p_neg = (torch.sigmoid(fj) * gj * gu).clamp(eps, 1 - eps)
        main = bce(p_pos, ones) + bce(p_neg, zeros)
        item = bce(gi.clamp(eps, 1 - eps), ones) + bce(gj.clamp(eps, 1 - eps), zeros)
        user = bce(gu.clamp(eps, 1 - eps), ones)
        return main + self.alpha * item + self.beta * user

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        f = self.P_[users] @ self.Q_.T
        if self.method == "pda":
            f_t = torch.as_tensor(f)
            s = elu_prime(f_t).numpy()
            if self.infer_gamma > 0:
                s = s * self.m_[None] ** self.infer_gamma
            return s.astype(np.float32)
        match = 1.0 / (1.0 + np.exp(-f))
        s = (match - self.c) * self.item_gate_[None] * self.user_gate_[users][:, None]
        return s.astype(np.float32)
