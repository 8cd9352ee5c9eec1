"""Bayesian Personalised Ranking matrix factorisation (Rendle et al. 2009), SGD in numba.

x̂_ui = ⟨P_u, Q_i⟩ + b_i. For each observed (u, i) and a sampled negative j ∉ I_u, the loss is
ℓ = −w_i log σ(x̂_ui − x̂_uj) + reg · (‖P_u‖² + ‖Q_i‖² + ‖Q_j‖² + b_i² + b_j²) / 2, minimised by
plain stochastic gradient descent, one (u, i, j) triple at a time — the solver of Rendle et al.
and of implicit's BPR: with g = w_i σ(−x̂_uij),
    P_u += lr (g (Q_i − Q_j) − reg P_u),  Q_i += lr (g P_u − reg Q_i),
    Q_j += lr (−g P_u − reg Q_j),         b_i += lr (g − reg b_i),   b_j += lr (−g − reg b_j).
w_i = 1 for plain BPR; IPS weights from ``skewbench.treatments.propensity`` (``ips_eta``), and
for SNIPS (``ips_self_normalised``) w_i / mean over all training pairs of w, the epoch-level form
of Σ w ℓ / Σ w. Negatives are uniform or ∝ popularity^β (``neg_beta``), redrawn up to 20 times
while they hit one of the user's training items. One epoch visits every observed pair once, in a
random order: the users are shuffled and cut into blocks of 2,048 (at 64 factors; their
factor rows fit a core's L2 cache), and each block's pairs are visited in a random order
(Rendle et al.'s uniform sampling with the user rows kept hot; with ≤ 2,048 users it is one
shuffle of all pairs). ``batch_size`` pairs are processed per kernel call (between calls the epoch's loss
is accumulated; the result does not depend on it). Why not torch: a compiled loop of O(factors)
work per triple is much faster than a minibatch autograd step and needs no optimiser state.

Determinism: the visiting order comes from a NumPy Generator seeded by ``seed`` and the negatives
from a xorshift generator seeded from it, inside one single-threaded kernel, so two fits with the
same seed give bit-identical factors.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from skewbench.data.groups import item_popularity_matrix
from skewbench.errors import ConfigError
from skewbench.models.recommend.base import Recommender, check_positive
from skewbench.treatments.propensity import ips_weights, negative_sampling_probs


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
    ``neg_beta``: negatives ∝ popularity^β (0 = uniform). Defaults lr = 0.01 and reg = 0.01
    are implicit's BPR defaults (plain SGD needs a larger step than the former Adam solver)."""

    # Plain SGD (not Adam): steps around implicit's 0.01, L2 around its 0.01.
    tune_space: ClassVar[dict[str, list[Any]]] = {
        "factors": [32, 64, 128],
        "epochs": [10, 20, 40, 80],
        "lr": [0.005, 0.01, 0.05, 0.1],
        "reg": [0.001, 0.01, 0.1],
    }

    def __init__(
        self,
        factors: int = 64,
        epochs: int = 20,
        lr: float = 0.01,
        reg: float = 0.01,
        batch_size: int = 1 << 16,
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
        Xb.sort_indices()  # the kernel's positive check is a binary search in each row
        pop = item_popularity_matrix(X)
        n_users, n_items = X.shape
        self.item_weights_ = (
            None if self.ips_eta is None else ips_weights(pop, self.ips_eta, self.ips_clip)
        )
        if self.item_weights_ is None:
            w = np.ones(n_items)
        else:
            w = self.item_weights_.astype(np.float64)
            if self.ips_self_normalised:  # divide by the mean weight over the training pairs
                w = w / w[Xb.indices].mean()
        cdf = np.zeros(0)
        if self.neg_beta != 0:
            cdf = np.cumsum(negative_sampling_probs(pop, self.neg_beta))
            cdf /= cdf[-1]
        items = Xb.indices.astype(np.int64)
        indptr = Xb.indptr.astype(np.int64)
        degree = np.diff(indptr)
        f = self.factors
        P = (rng.standard_normal((n_users, f)) * 0.1).astype(np.float32)
        Q = (rng.standard_normal((n_items, f)) * 0.1).astype(np.float32)
        b = np.zeros(n_items, dtype=np.float32)
        from skewbench.models.recommend.bpr_kernels import sgd as kernel

        block = max(1, USER_BLOCK_BYTES // (4 * f))
        self.epoch_seconds_: list[float] = []
        self.losses_: list[float] = []
        for _ in range(self.epochs):
            t0 = time.perf_counter()
            perm = rng.permutation(n_users)
            state = np.array([rng.integers(1, 2**63)], dtype=np.uint64)
            total = 0.0
            for ub in range(0, n_users, block):
                bu = perm[ub : ub + block]
                lens = degree[bu]
                m = int(lens.sum())
                if m == 0:
                    continue
                # the block's pairs (row positions in Xb), in a random order
                pos = np.repeat(indptr[bu] - (np.cumsum(lens) - lens), lens) + np.arange(m)
                shuffle = rng.permutation(m)
                pair_users, pos = np.repeat(bu, lens)[shuffle], pos[shuffle]
                for start in range(0, m, self.batch_size):
                    sl = slice(start, start + self.batch_size)
                    total += kernel(
                        pair_users[sl], items[pos[sl]], indptr, items, P, Q, b, w, cdf,
                        state, self.lr, self.reg,
                    )  # fmt: skip
            self.losses_.append(total / items.size)
            self.epoch_seconds_.append(time.perf_counter() - t0)
        self.user_factors_, self.item_factors_, self.item_bias_ = P, Q, b

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        s = self.user_factors_[users] @ self.item_factors_.T  # float32
        s += self.item_bias_[None, :]  # in place: no second users × items temporary
        return s

    def rank_top(
        self, users: np.ndarray, exclude: sp.csr_matrix, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        from skewbench.models.recommend.rank_kernels import factor_rank

        users = self._checked_users(users)
        return factor_rank(
            self.user_factors_, self.item_factors_, self.item_bias_, users, exclude, k
        )


#: Bytes of user factors one block of the visiting order holds (2,048 users at 64 factors): the
#: block's user rows stay in a core's L2 cache while its pairs are visited.
USER_BLOCK_BYTES = 1 << 19
