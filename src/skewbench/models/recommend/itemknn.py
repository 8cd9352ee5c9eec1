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

import functools
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
        kernel = _fit_kernel()
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
        _scatter_kernel()(X.indptr, X.indices, X.data, users, S.indptr, S.indices, S.data, out)
        return out

    def rank_top(
        self, users: np.ndarray, exclude: sp.csr_matrix, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        from skewbench.models.recommend.rank_kernels import itemknn_rank

        users = self._checked_users(users)
        return itemknn_rank(self.X_, self.similarity_, users, exclude, k)


@functools.cache
def _fit_kernel():
    import numba

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def worse(hs, hi, a, b):
        """Entry a ranks below entry b: lower similarity, or equal and a higher index."""
        return hs[a] < hs[b] or (hs[a] == hs[b] and hi[a] > hi[b])

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def fit(c_ptr, c_idx, c_val, x_ptr, x_idx, x_val, norms, shrink, start, k, top_j, top_v,
            counts):  # fmt: skip
        """For each target t = start + r: its co-occurrences x_t · x_j summed over t's users in
        ascending order into a dense row (float32, as scipy's sparse product sums them), then
        sim = co / (‖x_j‖ ‖x_t‖ + shrink + 1e-12) in the same dtype, and its k best
        neighbours j != t with sim > 0 in a heap whose root is the worst kept entry (value
        desc, index asc decide)."""
        n_items = norms.size
        acc = np.zeros(n_items, dtype=c_val.dtype)
        # int32 so that acc and seen (2 × 4 bytes × items) stay in a core's L2 cache
        seen = np.full(n_items, -1, dtype=np.int32)  # seen[j] == t: j co-occurs with t
        touched = np.empty(n_items, dtype=np.int32)
        hs = np.empty(k, dtype=top_v.dtype)
        hi = np.empty(k, dtype=np.int64)
        eps = norms.dtype.type(1e-12)
        for r in range(counts.size):
            t = start + r
            m = 0
            for p in range(c_ptr[t], c_ptr[t + 1]):
                u = c_idx[p]
                v = c_val[p]
                for q in range(x_ptr[u], x_ptr[u + 1]):
                    j = x_idx[q]
                    if seen[j] != t:
                        seen[j] = t
                        acc[j] = 0
                        touched[m] = j
                        m += 1
                    acc[j] += v * x_val[q]
            n = 0
            for z in range(m):
                j = touched[z]
                sim = acc[j] / (norms[j] * norms[t] + shrink + eps)
                if j == t or not sim > 0:
                    continue
                if n < k:
                    pos = n
                    hs[pos] = sim
                    hi[pos] = j
                    n += 1
                    while pos > 0:
                        parent = (pos - 1) >> 1
                        if not worse(hs, hi, pos, parent):
                            break
                        hs[pos], hs[parent] = hs[parent], hs[pos]
                        hi[pos], hi[parent] = hi[parent], hi[pos]
                        pos = parent
                elif sim > hs[0] or (sim == hs[0] and j < hi[0]):
                    hs[0] = sim
                    hi[0] = j
                    pos = 0
                    while True:
                        c = 2 * pos + 1
                        if c >= k:
                            break
                        if c + 1 < k and worse(hs, hi, c + 1, c):
                            c += 1
                        if not worse(hs, hi, c, pos):
                            break
                        hs[c], hs[pos] = hs[pos], hs[c]
                        hi[c], hi[pos] = hi[pos], hi[c]
                        pos = c
            top_j[r, :n] = hi[:n]
            top_v[r, :n] = hs[:n]
            counts[r] = n

    return fit


@functools.cache
def _scatter_kernel():
    import numba

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def scatter(x_ptr, x_idx, x_val, users, s_ptr, s_idx, s_val, out):
        """out[r] = Σ_j X[users[r], j] · S[j]: float32, j in X's stored order (as scipy)."""
        for r in range(users.size):
            u = users[r]
            for p in range(x_ptr[u], x_ptr[u + 1]):
                j = x_idx[p]
                x = x_val[p]
                for q in range(s_ptr[j], s_ptr[j + 1]):
                    out[r, s_idx[q]] += x * s_val[q]

    return scatter
