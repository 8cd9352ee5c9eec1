"""ItemKNN's compiled kernels: the fit's neighbour selection and the dense scoring scatter-add.

Module-level functions calling the shared heap of ``metrics.topk_kernels``, so that numba
caches them on disk (a kernel defined inside a function and calling another compiled function
is compiled again in every process).
"""

from __future__ import annotations

import numba
import numpy as np

from skewbench.metrics.topk_kernels import push, sift_down


@numba.njit(cache=True, nogil=True, boundscheck=False)
def neighbours(c_ptr, c_idx, c_val, x_ptr, x_idx, x_val, norms, shrink, start, k, top_j,
               top_v, counts):  # fmt: skip
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
                n = push(hs, hi, n, sim, j)
            elif sim > hs[0] or (sim == hs[0] and j < hi[0]):
                hs[0] = sim
                hi[0] = j
                sift_down(hs, hi, k)
        top_j[r, :n] = hi[:n]
        top_v[r, :n] = hs[:n]
        counts[r] = n


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
