"""Item-based k-nearest-neighbours (Sarwar et al. 2001; Deshpande & Karypis 2004).

sim(i, j) = x_i · x_j / (‖x_i‖ ‖x_j‖ + shrink), where x_i is item i's column of the
user × item matrix (weights as given; pass binary data for classic ItemKNN). shrink > 0 damps
similarities resting on few co-occurrences. For each target item i only its ``neighbours`` most
similar items j ≠ i are kept (ties at the cut: the lower item index), so the model is a sparse
items × items matrix S with S[j, i] = sim(j, i); score(u, i) = Σ_j x_uj S[j, i].

Only positive similarities are kept, so the fit visits only co-occurring pairs: per target, one
compiled pass sums its co-occurrences into a dense row (over its users, ascending), turns them
into similarities and keeps the best k in a heap; scoring scatter-adds S's rows into a dense row
per user (compiled). Both accumulate in float32 in the same order as scipy's sparse products, so
S and the scores equal the sparse-product formulation bit for bit
(``benchmarks/bench_kernels.py`` compares them side by side).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from skewbench.models.recommend.base import Recommender, check_positive, chunks


class ItemKNN(Recommender):
    tune_space: ClassVar[dict[str, list[Any]]] = {
        "neighbours": [20, 50, 100, 200, 400],
        "shrink": [0.0, 10.0, 50.0, 100.0],
    }

    def __init__(self, neighbours: int = 100, shrink: float = 10.0, block_size: int = 1024):
        check_positive("neighbours", neighbours)
        check_positive("shrink", shrink, allow_zero=True)
        self.neighbours, self.shrink, self.block_size = int(neighbours), float(shrink), block_size

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        n = X.shape[1]
        Xc = X.tocsc()  # sorted indices: each target's users ascending
        norms = np.sqrt(np.asarray(Xc.multiply(Xc).sum(axis=0)).ravel()).astype(X.dtype)
        k = min(self.neighbours, n - 1)
        rows, cols, vals = [], [], []
        from skewbench.models.recommend.itemknn_kernels import neighbours as kernel

        for sl in chunks(n, self.block_size):
            top_j = np.empty((sl.stop - sl.start, k), dtype=np.int64)
            top_v = np.empty((sl.stop - sl.start, k), dtype=X.dtype)
            counts = np.empty(sl.stop - sl.start, dtype=np.int64)
            kernel(Xc.indptr, Xc.indices, Xc.data, X.indptr, X.indices, X.data, norms,
                   X.dtype.type(self.shrink), sl.start, k, top_j, top_v, counts)  # fmt: skip
            kept = np.arange(k)[None, :] < counts[:, None]
            rows.append(top_j[kept])
            cols.append(np.broadcast_to(np.arange(sl.start, sl.stop)[:, None], kept.shape)[kept])
            vals.append(top_v[kept].astype(np.float32))
        self.similarity_ = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
        )

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        X, S = self.X_, self.similarity_
        out = np.zeros((users.size, S.shape[1]), dtype=np.float32)
        from skewbench.models.recommend.itemknn_kernels import scatter

        scatter(X.indptr, X.indices, X.data, users, S.indptr, S.indices, S.data, out)
        return out

    def rank_top(
        self, users: np.ndarray, exclude: sp.csr_matrix, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        from skewbench.models.recommend.rank_kernels import itemknn_rank

        users = self._checked_users(users)
        return itemknn_rank(self.X_, self.similarity_, users, exclude, k)
