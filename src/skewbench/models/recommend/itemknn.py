"""Item-based k-nearest-neighbours (Sarwar et al. 2001; Deshpande & Karypis 2004).

sim(i, j) = x_i · x_j / (‖x_i‖ ‖x_j‖ + shrink), where x_i is item i's column of the
user × item matrix (weights as given; pass binary data for classic ItemKNN). shrink > 0 damps
similarities resting on few co-occurrences. For each target item i only its ``neighbours`` most
similar items j ≠ i are kept (ties at the cut: the lower item index), so the model is a sparse
items × items matrix S with S[j, i] = sim(j, i); score(u, i) = Σ_j x_uj S[j, i].

Only positive similarities are kept, so the fit works on the sparse co-occurrence of each
block of targets (sparse × sparse) and selects each target's neighbours among its stored
entries; scoring scatter-adds S's rows into a dense row per user (compiled). Both accumulate in
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
        Xt = X.T.tocsr()
        norms = np.sqrt(np.asarray(Xc.multiply(Xc).sum(axis=0)).ravel())
        k = min(self.neighbours, n - 1)
        rows, cols, vals = [], [], []
        for sl in chunks(n, self.block_size):
            co = (Xt @ Xc[:, sl]).tocoo()  # (n × block), only co-occurring pairs stored
            r = co.row.astype(np.int64)
            c = co.col.astype(np.int64) + sl.start
            sim = co.data / (norms[r] * norms[c] + self.shrink + 1e-12)
            keep = (sim > 0) & (r != c)  # zero similarity contributes nothing; no self-pairs
            r, c, sim = r[keep], c[keep], sim[keep]
            # Per target: value desc, then index asc, so ties at the cut keep the lower index.
            order = np.lexsort((r, -sim, c))
            r, c, sim = r[order], c[order], sim[order]
            first = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
            rank = np.arange(c.size) - np.repeat(first, np.diff(np.r_[first, c.size]))
            top = rank < k
            rows.append(r[top])
            cols.append(c[top])
            vals.append(sim[top].astype(np.float32))
        self.similarity_ = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
        )

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        X, S = self.X_, self.similarity_
        out = np.zeros((users.size, S.shape[1]), dtype=np.float32)
        _scatter_kernel()(X.indptr, X.indices, X.data, users, S.indptr, S.indices, S.data, out)
        return out


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
