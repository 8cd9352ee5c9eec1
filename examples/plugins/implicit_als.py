"""Recommend plug-in: a wrapper of the ``implicit`` library's ALS (Hu, Koren & Volinsky 2008).

Declares ``sample_weights``: with the ``ips`` treatment each interaction's confidence is
multiplied by its inverse-propensity weight.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp


class ImplicitALS:
    """Confidence-weighted matrix factorisation, scored as user · item factors."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"sample_weights"})

    def __init__(self, factors: int = 32, regularization: float = 0.05, iterations: int = 10):
        self.factors, self.regularization, self.iterations = factors, regularization, iterations

    def fit(
        self, X: sp.csr_matrix, *, seed: int, sample_weight: sp.csr_matrix | None = None
    ) -> ImplicitALS:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        C = X if sample_weight is None else X.multiply(sample_weight).tocsr()
        with threadpool_limits(1, "blas"):  # implicit parallelises itself
            als = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                iterations=self.iterations,
                num_threads=1,  # one thread: the float sums, hence the fit, are reproducible
                random_state=seed,
            )
            als.fit(C.astype(np.float32), show_progress=False)
        self.users_ = np.asarray(als.user_factors)
        self.items_ = np.asarray(als.item_factors)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.users_[users] @ self.items_.T
