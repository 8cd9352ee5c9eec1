"""EASE^R (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data").

Closed form: G = XᵀX + λI, P = G⁻¹, B = I − P · diag(1/diag(P)) i.e. B_ij = −P_ij / P_jj for
i ≠ j and B_jj = 0; score(u) = x_u B. λ is the L2 weight (Steck uses a few hundred for
ML-20M-sized data).

Memory: dense items × items. Fitting inverts G in float64 in place (8·n² bytes) and needs two
more float64 n² temporaries while mirroring the triangle, then keeps B in float32 (4·n²): peak
≈ 24·n² bytes, i.e. 1.2 GB at 7,000 items, 2.4 GB at 10,000, 9.6 GB at 20,000; time is O(n³).
``dtype="float32"`` halves memory (≈ 12·n²) and roughly halves the time; with λ in the hundreds
G is well conditioned, so scores agree with float64 to about 1e-4 relative. A fit whose peak
exceeds the memory budget (``memory_budget_gb``; default SKEWBENCH_MEMORY_BUDGET_GB or half the
RAM) is refused before any work, naming the budget and the alternatives.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from skewbench.errors import ConfigError
from skewbench.models.recommend.base import Recommender, check_positive


class EASE(Recommender):
    # λ around a few hundred suits MovieLens/Complete Journey-sized data (Steck 2019); the grid
    # spans two orders of magnitude around it.
    tune_space: ClassVar[dict[str, list[Any]]] = {"l2": [50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0]}

    def __init__(
        self, l2: float = 500.0, dtype: str = "float64", memory_budget_gb: float | None = None
    ):
        check_positive("l2", l2)
        if dtype not in ("float64", "float32"):
            raise ConfigError(f"model.params.dtype: 'float64' or 'float32', got {dtype!r}")
        if memory_budget_gb is not None:
            check_positive("memory_budget_gb", memory_budget_gb)
        self.l2, self.dtype, self.memory_budget_gb = float(l2), dtype, memory_budget_gb

    def fit_memory_bytes(self, n_users: int, n_items: int) -> int:
        """Peak ≈ 24·n² bytes in float64, 12·n² in float32 (module docstring)."""
        return (24 if self.dtype == "float64" else 12) * n_items * n_items

    def memory_alternatives(self) -> str:
        alt = super().memory_alternatives()
        return alt if self.dtype == "float32" else f"{alt} Or dtype: float32 (half the memory)."

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        n = X.shape[1]
        # Small inversions gain nothing from BLAS threads and suffer badly on a busy machine.
        with threadpool_limits(1 if n < 3000 else None, "blas"):
            self.B_ = self._solve(X, n)

    def _solve(self, X: sp.csr_matrix, n: int) -> np.ndarray:
        G = (X.T @ X).toarray().astype(self.dtype)
        G[np.diag_indices(n)] += self.l2
        potrf, potri = scipy.linalg.lapack.get_lapack_funcs(("potrf", "potri"), (G,))
        # Cholesky inverse in place: G is symmetric positive definite for λ > 0.
        c, info = potrf(G, lower=1, overwrite_a=1, clean=0)
        if info != 0:
            raise np.linalg.LinAlgError(f"EASE: Cholesky failed (info={info})")
        P, info = potri(c, lower=1, overwrite_c=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"EASE: inverse failed (info={info})")
        del c, G
        P = np.tril(P)  # dpotri fills the lower triangle only; mirror it
        P += np.tril(P, -1).T
        d = np.diag(P).copy()
        P /= -d[None, :]  # in place: B_ij = -P_ij / P_jj
        np.fill_diagonal(P, 0.0)
        return P.astype(np.float32)

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.X_[users] @ self.B_, dtype=np.float32)
