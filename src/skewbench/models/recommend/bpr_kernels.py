"""BPR's compiled SGD pass and its read-ahead negative draws.

Module-level functions (the prefetch hint a module-level intrinsic too), so that numba caches
them on disk: defined inside a function, they were compiled again in every process.
"""

from __future__ import annotations

import numba
import numpy as np

from skewbench.prefetch import prefetch

# Steps ahead at which a triple's rows are prefetched: its factor rows and row bounds at
# _AHEAD, the middle of its positives (the negative check's first probe) at _AHEAD // 2, when
# the row bounds have arrived.
_AHEAD = 8
_RING = 64  # slots of read-ahead negative draws (a power of two > _AHEAD + 21)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def draw(x, ring_x, ring_j, slot, cdf, Q_flat, f):
    """One xorshift64* step: the item it draws (uniform, or by the cdf) and the new state
    go to ring slot ``slot``; the item's factor row is prefetched."""
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    r = ((x * np.uint64(0x2545F4914F6CDD1D)) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    n_items = Q_flat.size // f
    if cdf.size:
        j = min(np.searchsorted(cdf, r, side="right"), n_items - 1)
    else:
        j = min(int(r * n_items), n_items - 1)
    ring_x[slot] = x
    ring_j[slot] = j
    for c in range(0, f, 16):
        prefetch(Q_flat, j * f + c)
    return x


# float32 arithmetic with reassociation allowed (as implicit's C++ loop) lets the factor
# loops vectorise; results are deterministic on a given machine and build.
@numba.njit(cache=True, nogil=True, boundscheck=False, fastmath={"reassoc", "contract", "nsz"})
def sgd(users, items, indptr, indices, P, Q, b, w, cdf, state, lr, reg):
    """One pass of BPR SGD over the (users[s], items[s]) pairs; returns Σ w ℓ."""
    f = P.shape[1]
    x = state[0]
    total = 0.0
    lr32 = np.float32(lr)
    reg32 = np.float32(reg)
    n = users.size
    P_flat, Q_flat = P.reshape(-1), Q.reshape(-1)  # views: prefetch takes one index
    ring_x = np.empty(_RING, dtype=np.uint64)  # negative draws read ahead: stream state
    ring_j = np.empty(_RING, dtype=np.int64)  # and the item it gives
    head = tail = 0
    taken = x
    for s in range(n):
        # The factor rows live in memory far larger than the caches (10⁶ users × 64
        # floats = 256 MB) and each step jumps to random ones: ask for the rows of the
        # triples a few steps ahead now, so those loads overlap this step's work.
        if s + _AHEAD < n:
            ua, ia = users[s + _AHEAD], items[s + _AHEAD]
            for c in range(0, f, 16):
                prefetch(P_flat, ua * f + c)
                prefetch(Q_flat, ia * f + c)
            prefetch(indptr, ua)
        if s + _AHEAD // 2 < n:
            uh = users[s + _AHEAD // 2]
            prefetch(indices, (indptr[uh] + indptr[uh + 1]) >> 1)
        u = users[s]
        i = items[s]
        a, e = indptr[u], indptr[u + 1]
        # Keep `_AHEAD` negative draws ready (their item rows prefetched); they are taken in
        # stream order, so the stream and every result are those of drawing on demand.
        while tail - head < _AHEAD:
            x = draw(x, ring_x, ring_j, tail & (_RING - 1), cdf, Q_flat, f)
            tail += 1
        j = 0
        for _ in range(21):  # first draw + up to 20 redraws while j is a positive of u
            if head == tail:
                x = draw(x, ring_x, ring_j, tail & (_RING - 1), cdf, Q_flat, f)
                tail += 1
            j = ring_j[head & (_RING - 1)]
            taken = ring_x[head & (_RING - 1)]
            head += 1
            lo, hi = a, e  # binary search for j in u's sorted positives
            while lo < hi:
                mid = (lo + hi) >> 1
                if indices[mid] < j:
                    lo = mid + 1
                else:
                    hi = mid
            if lo == e or indices[lo] != j:
                break
        # P[u, k], not a row view: each view costs two atomic reference-count updates.
        z32 = np.float32(0.0)
        for k in range(f):
            z32 += P[u, k] * (Q[i, k] - Q[j, k])
        z = float(z32) + float(b[i] - b[j])
        wi = w[i]
        # −log σ(z), computed stably; g = w σ(−z).
        if z > 0:
            ez = np.exp(-z)
            total += wi * np.log1p(ez)
            g = wi * ez / (1.0 + ez)
        else:
            ez = np.exp(z)
            total += wi * (np.log1p(ez) - z)
            g = wi / (1.0 + ez)
        g32 = np.float32(g)
        for k in range(f):
            pk = P[u, k]
            dk = Q[i, k] - Q[j, k]
            P[u, k] += lr32 * (g32 * dk - reg32 * pk)
            Q[i, k] += lr32 * (g32 * pk - reg32 * Q[i, k])
            Q[j, k] += lr32 * (-g32 * pk - reg32 * Q[j, k])
        b[i] += lr32 * (g32 - reg32 * b[i])
        b[j] += lr32 * (-g32 - reg32 * b[j])
    state[0] = taken  # the state after the last draw used, not after those read ahead
    return total
