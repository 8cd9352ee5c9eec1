"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) through the ``implicit`` library (CPU).

Confidence c_ui = 1 + alpha · x_ui; minimises Σ c_ui (p_ui − ⟨U_u, V_i⟩)² + reg (‖U‖² + ‖V‖²)
with p_ui = 1[x_ui > 0], solved by conjugate-gradient ALS (``implicit.cpu.als``). ``implicit``
parallelises over users/items; with several threads the float sums can be ordered differently
from run to run, so ``num_threads=1`` (the default here) plus ``random_state`` makes fits
reproducible.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from skewbench.models.recommend.base import Recommender, check_positive


class ALS(Recommender):
    tune_space: ClassVar[dict[str, list[Any]]] = {
        "factors": [32, 64, 128],
        "reg": [0.001, 0.01, 0.1, 1.0],
        "alpha": [1.0, 5.0, 10.0, 20.0, 40.0],
        "iterations": [10, 15, 30],
    }

    def __init__(
        self,
        factors: int = 64,
        reg: float = 0.01,
        alpha: float = 10.0,
        iterations: int = 15,
        num_threads: int = 1,
    ):
        for name, v in [("factors", factors), ("alpha", alpha), ("iterations", iterations)]:
            check_positive(name, v)
        check_positive("reg", reg, allow_zero=True)
        self.factors, self.reg, self.alpha = int(factors), float(reg), float(alpha)
        self.iterations, self.num_threads = int(iterations), int(num_threads)

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        from implicit.cpu.als import AlternatingLeastSquares  # the CPU class: never the GPU one
        from threadpoolctl import threadpool_limits

        t0 = time.perf_counter()
        # implicit parallelises itself; a multi-threaded BLAS underneath only oversubscribes.
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.reg,
                alpha=self.alpha,
                iterations=self.iterations,
                num_threads=self.num_threads,
                random_state=seed,
            )
            model.fit(X.astype(np.float32), show_progress=False)
        self.fit_seconds_ = time.perf_counter() - t0
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T

    def rank_top(
        self, users: np.ndarray, exclude: sp.csr_matrix, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        from skewbench.models.recommend.rank_kernels import factor_rank

        users = self._checked_users(users)
        return factor_rank(self.user_factors_, self.item_factors_, None, users, exclude, k)
