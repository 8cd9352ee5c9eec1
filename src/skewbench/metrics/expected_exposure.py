r"""Exposure fairness of stochastic ranking policies: expected exposure and AWRF.

**Expected exposure** (Diaz, Mitra, Ekstrand, Biega, Carterette, CIKM 2020, "Evaluating
Stochastically-Ranked Search Engines"). A policy π is a distribution over rankings of a unit
(user or query). Browsing model: RBP with patience γ, so position i (0-based) is examined with
probability γ^i; positions at or beyond the list depth k get exposure 0 (top-k lists).
The policy's expected exposure of item d is ε_d = E_{σ∼π}[γ^{rank_σ(d)}] (estimated by the
mean over sampled rankings). The *target* ε*_d is the exposure of the ideal stochastic policy
that gives items of equal relevance equal exposure: items sorted by grade descending fill
positions in grade blocks; every item of a block gets the block's mean position exposure
ε*_d = (1/m_g) Σ_{i=s_g}^{s_g+m_g−1} γ^i [i < k], including the non-relevant block of the
n − Σ m_g remaining catalog items. Then, per unit,

    EE-D = ‖ε‖²              (disparity: lower = exposure spread more equally)
    EE-R = εᵀ ε*             (relevance: higher = exposure where relevance is)
    EE-L = ‖ε − ε*‖² = EE-D − 2·EE-R + ‖ε*‖²   (loss: lower is better)

All three are computed sparsely (only items that were shown or are relevant), never as dense
catalog vectors. Units with no relevant item have ε* = the uniform non-relevant block.

**Plackett–Luce policy.** ``plackett_luce_rankings`` samples rankings from PL(softmax(s/T))
over a unit's candidates with the Gumbel-top-k trick (Kool et al. 2019): adding i.i.d.
Gumbel(0, 1) noise to s/T and sorting gives an exact PL sample. T → 0 is the deterministic
ranking; larger T spreads exposure.

**AWRF** (attention-weighted rank fairness; Sapiezynski et al., WWW 2019 companion; TREC Fair
Ranking 2022): the position-weighted group distribution of a list,
a_g = Σ_i w_i [g(d_i) = g] / Σ_i w_i with geometric attention w_i = p(1 − p)^i, compared with a
target group distribution t by the Jensen–Shannon divergence (base 2, so in [0, 1]):
AWRF = 1 − JSD(a, t). Higher = fairer. ``group_attention`` gives FairRankTune's variant (summed
attention per group divided by the group's catalog size), kept for cross-checking.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from skewbench.errors import ConfigError


def rbp_weights(k: int, patience: float) -> np.ndarray:
    """γ^i for positions i = 0 … k−1 (RBP examination probabilities)."""
    if not 0.0 < patience <= 1.0:
        raise ConfigError(f"patience: must be in (0, 1], got {patience!r}")
    return patience ** np.arange(k, dtype=np.float64)


def plackett_luce_rankings(
    items: np.ndarray,
    scores: np.ndarray,
    k: int,
    temperature: float,
    n_samples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sampled top-``k`` rankings (units × n_samples × k) from PL(softmax(scores / T)).

    ``items``/``scores``: (units × n) candidate lists (padding −1 with any score is never
    drawn). ``temperature`` > 0. Ties in perturbed scores (probability 0) keep input order.
    """
    if temperature <= 0 or not np.isfinite(temperature):
        raise ConfigError(f"temperature: must be > 0, got {temperature!r}")
    if n_samples < 1:
        raise ConfigError(f"n_samples: must be >= 1, got {n_samples!r}")
    items = np.asarray(items)
    s = np.where(items >= 0, np.asarray(scores, dtype=np.float64) / temperature, -np.inf)
    # shift per row so the largest finite value is 0: Gumbel noise stays meaningful at any scale
    finite = np.isfinite(s)
    row_max = np.max(np.where(finite, s, -np.inf), axis=1, keepdims=True)
    s = np.where(finite, s - np.where(np.isfinite(row_max), row_max, 0.0), -np.inf)
    units, n = items.shape
    depth = min(k, n)
    out = np.full((units, n_samples, k), -1, dtype=np.int64)
    for b in range(n_samples):
        g = s + rng.gumbel(size=(units, n))
        order = np.argsort(-g, axis=1, kind="stable")[:, :depth]
        picked = np.take_along_axis(items, order, axis=1)
        valid = np.take_along_axis(finite, order, axis=1)
        out[:, b, :depth] = np.where(valid, picked, -1)
    return out


def expected_exposure(
    rankings: np.ndarray,
    truth: sp.csr_matrix,
    n_items: int,
    patience: float = 0.5,
) -> dict[str, np.ndarray]:
    """Per-unit EE-L, EE-D, EE-R (module docstring) of sampled rankings.

    ``rankings``: (units × samples × k) item indices (−1 = empty slot), or (units × k) for a
    deterministic policy. ``truth``: (units × n_items) CSR of grades (> 0 = relevant).
    Returns arrays of length units under keys ``ee_l``, ``ee_d``, ``ee_r``. One compiled pass
    per unit touches only the items it shows and the items relevant to it.
    """
    r = np.asarray(rankings)
    if r.ndim == 2:
        r = r[:, None, :]
    units, _, k = r.shape
    truth = sp.csr_matrix(truth)
    if truth.shape[0] != units:
        raise ConfigError(f"truth has {truth.shape[0]} rows for {units} units")
    w = rbp_weights(k, patience)
    out = np.empty((3, units))
    _ee_kernel()(
        np.ascontiguousarray(r, dtype=np.int64),
        truth.indptr.astype(np.int64),
        truth.indices.astype(np.int64),
        truth.data.astype(np.float64),
        int(n_items),
        w,
        out,
    )
    return {"ee_l": out[0], "ee_d": out[1], "ee_r": out[2]}


@functools.cache
def _ee_kernel():
    import numba

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def block_mean(cum, start, size, k):
        """Mean of w over positions [start, start+size) (w is 0 beyond k; 0 for size 0)."""
        if size <= 0:
            return 0.0
        return (cum[min(start + size, k)] - cum[min(start, k)]) / size

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def kernel(r, t_ptr, t_idx, t_val, n_items, w, out):
        units, n_samples, k = r.shape
        cum = np.zeros(k + 1)
        for i in range(k):
            cum[i + 1] = cum[i] + w[i]
        eps = np.zeros(n_items)
        seen = np.full(n_items, -1, dtype=np.int64)  # seen[d] == u: d shown to unit u
        target = np.full(n_items, -1.0)  # ε* of a relevant item of the current unit
        shown = np.empty(n_samples * k, dtype=np.int64)
        for u in range(units):
            n_shown = 0
            for s in range(n_samples):
                for i in range(k):
                    d = r[u, s, i]
                    if d < 0:
                        continue
                    if seen[d] != u:
                        seen[d] = u
                        shown[n_shown] = d
                        n_shown += 1
                    eps[d] += w[i] / n_samples
            lo, hi = t_ptr[u], t_ptr[u + 1]
            grades = np.empty(hi - lo)
            items = np.empty(hi - lo, dtype=np.int64)
            n_rel = 0
            for p in range(lo, hi):
                if t_val[p] > 0:
                    grades[n_rel] = t_val[p]
                    items[n_rel] = t_idx[p]
                    n_rel += 1
            order = np.argsort(-grades[:n_rel], kind="mergesort")  # grade blocks, best first
            target_norm2 = 0.0
            start = 0
            while start < n_rel:
                g = grades[order[start]]
                stop = start
                while stop < n_rel and grades[order[stop]] == g:
                    stop += 1
                level = block_mean(cum, start, stop - start, k)
                target_norm2 += (stop - start) * level * level
                for j in range(start, stop):
                    target[items[order[j]]] = level
                start = stop
            n_non = n_items - n_rel
            non = block_mean(cum, n_rel, n_non, k)
            target_norm2 += n_non * non * non
            dd = 0.0
            rr = 0.0
            for j in range(n_shown):
                d = shown[j]
                e = eps[d]
                dd += e * e
                rr += e * (target[d] if target[d] >= 0.0 else non)
                eps[d] = 0.0
            for j in range(n_rel):
                target[items[j]] = -1.0
            out[0, u] = dd - 2.0 * rr + target_norm2
            out[1, u] = dd
            out[2, u] = rr

    return kernel


def attention_weights(k: int, p: float) -> np.ndarray:
    """Geometric attention p(1 − p)^i for positions i = 0 … k−1 (Sapiezynski et al.)."""
    if not 0.0 < p < 1.0:
        raise ConfigError(f"p: attention on the first position must be in (0, 1), got {p!r}")
    return p * (1.0 - p) ** np.arange(k, dtype=np.float64)


def _jsd(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Jensen–Shannon divergence, base 2, row-wise (0·log 0 = 0)."""
    m = 0.5 * (a + t)

    def kl(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(
                x > 0, x * np.log2(np.where(x > 0, x, 1.0) / np.where(y > 0, y, 1.0)), 0.0
            )
        return term.sum(axis=-1)

    return 0.5 * kl(a, m) + 0.5 * kl(t, m)


def awrf(
    ranked: np.ndarray,
    item_groups: np.ndarray,
    target: np.ndarray,
    p: float = 0.5,
) -> np.ndarray:
    """Per-list AWRF = 1 − JSD(attention-weighted group distribution, ``target``).

    ``ranked``: (units × k) item indices (−1 padding gets no attention); ``item_groups``: int
    group code per item (0 … G−1); ``target``: length-G distribution (e.g. uniform, or the
    groups' catalog shares). Lists with no item give NaN.
    """
    ranked = np.asarray(ranked)
    groups = np.asarray(item_groups, dtype=np.int64)
    t = np.asarray(target, dtype=np.float64)
    if t.ndim != 1 or (t < 0).any() or not np.isclose(t.sum(), 1.0):
        raise ConfigError("target: a distribution over groups (non-negative, summing to 1)")
    if groups.size and (groups.min() < 0 or groups.max() >= t.size):
        raise ConfigError(f"item_groups: codes must lie in [0, {t.size})")
    w = attention_weights(ranked.shape[1], p)
    valid = ranked >= 0
    g = np.where(valid, groups[np.maximum(ranked, 0)], 0)
    att = np.zeros((ranked.shape[0], t.size))
    rows = np.broadcast_to(np.arange(ranked.shape[0])[:, None], ranked.shape)
    np.add.at(att, (rows[valid], g[valid]), np.broadcast_to(w, ranked.shape)[valid])
    total = att.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = att / total
    out = 1.0 - _jsd(a, np.broadcast_to(t, a.shape))
    return np.where(total[:, 0] > 0, out, np.nan)


def group_attention(ranked: np.ndarray, item_groups: np.ndarray, p: float) -> np.ndarray:
    """FairRankTune's AWRF group values: Σ attention per group (100·p(1−p)^i, summed over all
    lists) ÷ the group's number of catalog items. Groups are codes 0 … G−1."""
    ranked = np.asarray(ranked)
    groups = np.asarray(item_groups, dtype=np.int64)
    n_groups = int(groups.max()) + 1
    w = 100.0 * attention_weights(ranked.shape[1], p)
    valid = ranked >= 0
    g = groups[ranked[valid]]
    att = np.bincount(g, weights=np.broadcast_to(w, ranked.shape)[valid], minlength=n_groups)
    return att / np.bincount(groups, minlength=n_groups)
