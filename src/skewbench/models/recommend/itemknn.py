"""Item-based k-nearest-neighbours (Sarwar et al. 2001; Deshpande & Karypis 2004).

sim(i, j) = x_i · x_j / (‖x_i‖ ‖x_j‖ + shrink), where x_i is item i's column of the
user × item matrix (weights as given; pass binary data for classic ItemKNN). shrink > 0 damps
similarities resting on few co-occurrences. For each target item i only its ``neighbours`` most
similar items j ≠ i are kept (ties at the cut: the lower item index), so the model is a sparse
items × items matrix S with S[j, i] = sim(j, i); score(u, i) = Σ_j x_uj S[j, i].

Only positive similarities are kept, so the fit works on the sparse co-occurrence of each
block of targets (sparse × sparse) and selects each target's neighbours among its stored
entries with a compiled k-heap; scoring scatter-adds S's rows into a dense row per user (compiled). Both accumulate in
float32 in the same order as scipy's sparse products, so S and the scores equal the dense
formulation bit for bit (``benchmarks/bench_itemknn.py`` compares them side by side).
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
        Xc = X.tocsc()
        norms = np.sqrt(np.asarray(Xc.multiply(Xc).sum(axis=0)).ravel())
        k = min(self.neighbours, n - 1)
        rows, cols, vals = [], [], []
        for sl in chunks(n, self.block_size):
            # co[t, j] = x_t · x_j for the block's targets t, only co-occurring pairs stored;
            # each sum runs over users in ascending order, as the dense product's does.
            co = (Xc[:, sl].T.tocsr() @ X).tocsr()
            t = np.repeat(np.arange(sl.start, sl.stop), np.diff(co.indptr))
            sim = co.data / (norms[co.indices] * norms[t] + self.shrink + 1e-12)
            top_j = np.empty((sl.stop - sl.start, k), dtype=np.int64)
            top_v = np.empty((sl.stop - sl.start, k), dtype=sim.dtype)
            counts = np.empty(sl.stop - sl.start, dtype=np.int64)
            _select_kernel()(co.indptr, co.indices, sim, sl.start, k, top_j, top_v, counts)
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


@functools.cache
def _select_kernel():
    import numba

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def worse(hs, hi, a, b):
        """Entry a ranks below entry b: lower similarity, or equal and a higher index."""
        return hs[a] < hs[b] or (hs[a] == hs[b] and hi[a] > hi[b])

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def select(indptr, indices, sim, start, k, top_j, top_v, counts):
        """Per target row t: its k best neighbours j != start + t with sim > 0, in a heap whose
        root is the worst kept entry (value desc, index asc decide)."""
        hs = np.empty(k, dtype=sim.dtype)
        hi = np.empty(k, dtype=np.int64)
        for t in range(indptr.size - 1):
            n = 0
            for p in range(indptr[t], indptr[t + 1]):
                j = indices[p]
                v = sim[p]
                if j == start + t or not v > 0:
                    continue
                if n < k:
                    pos = n
                    hs[pos] = v
                    hi[pos] = j
                    n += 1
                    while pos > 0:
                        parent = (pos - 1) >> 1
                        if not worse(hs, hi, pos, parent):
                            break
                        hs[pos], hs[parent] = hs[parent], hs[pos]
                        hi[pos], hi[parent] = hi[parent], hi[pos]
                        pos = parent
                elif v > hs[0] or (v == hs[0] and j < hi[0]):
                    hs[0] = v
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
            top_j[t, :n] = hi[:n]
            top_v[t, :n] = hs[:n]
            counts[t] = n

    return select


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
