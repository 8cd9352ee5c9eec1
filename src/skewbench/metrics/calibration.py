r"""Popularity lift and miscalibration of recommendation lists against the users' histories.

- **Group average popularity and popularity lift** (Abdollahpouri, Mansoury, Burke & Mobasher
  2020, "The connection between popularity bias, calibration, and fairness in recommendation"):
  for a user group g, GAP_p(g) = mean_{u∈g} (1/|H_u|) Σ_{i∈H_u} φ_i over the users' training
  histories H_u and GAP_r(g) the same over their recommended lists L_u; the lift is
  ΔGAP(g) = (GAP_r(g) − GAP_p(g)) / GAP_p(g) (> 0: lists more popular than the users' own
  taste). φ is any item popularity (the ratio does not depend on its scale).
- **Miscalibration** (Steck 2018, "Calibrated recommendations"): with p(·|u) the user's history
  distribution over item groups (each history item counts once) and q(·|u) the distribution of
  the list's slots over the same groups (every slot weight 1 — no position discount),
  C_KL(u) = Σ_g p(g|u) log(p(g|u) / q̃(g|u)), q̃ = (1 − α) q + α p, α = 0.01 (Steck's
  smoothing, so a group missing from the list gives a finite value). Natural log; 0 = perfectly
  calibrated. NaN for a user with an empty history or an empty list.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

STECK_ALPHA = 0.01


def mean_item_value(lists: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row of a (users × k) item-index array (-1 padding): mean of ``values`` over its
    items; NaN for an empty row."""
    lists = np.asarray(lists)
    ok = lists >= 0
    v = np.where(ok, np.asarray(values, dtype=np.float64)[np.maximum(lists, 0)], 0.0).sum(1)
    n = ok.sum(1)
    return np.where(n > 0, v / np.maximum(n, 1), np.nan)


def history_mean(history: sp.spmatrix, values: np.ndarray) -> np.ndarray:
    """Per row of a users × items history: mean of ``values`` over its distinct items (NaN if
    the history is empty)."""
    B = sp.csr_matrix(history, copy=True)
    B.data = (B.data > 0).astype(np.float64)
    n = np.asarray(B.sum(1)).ravel()
    s = B @ np.asarray(values, dtype=np.float64)
    return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def popularity_lift(profile_pop: np.ndarray, list_pop: np.ndarray) -> float:
    """ΔGAP = (mean list_pop − mean profile_pop) / mean profile_pop over the users given (users
    with NaN in either are dropped; NaN when none is left or GAP_p = 0)."""
    p = np.asarray(profile_pop, dtype=np.float64)
    r = np.asarray(list_pop, dtype=np.float64)
    keep = ~(np.isnan(p) | np.isnan(r))
    if not keep.any() or p[keep].mean() == 0:
        return float("nan")
    gp = p[keep].mean()
    return float((r[keep].mean() - gp) / gp)


def group_distribution_of_history(
    history: sp.spmatrix, codes: np.ndarray, n_groups: int
) -> np.ndarray:
    """(users × groups) p(g|u): share of each user's distinct history items in each group
    (rows of zeros for an empty history)."""
    B = sp.csr_matrix(history, copy=True)
    B.data = (B.data > 0).astype(np.float64)
    onehot = sp.csr_matrix(
        (np.ones(codes.size), (np.arange(codes.size), codes)), shape=(codes.size, n_groups)
    )
    counts = np.asarray((B @ onehot).todense(), dtype=np.float64)
    total = counts.sum(1, keepdims=True)
    return counts / np.where(total > 0, total, 1.0)


def group_distribution_of_lists(lists: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """(users × groups) q(g|u): share of each list's non-padding slots in each group."""
    lists = np.asarray(lists)
    ok = lists >= 0
    g = np.where(ok, np.asarray(codes)[np.maximum(lists, 0)], n_groups)  # padding → extra bin
    rows = np.repeat(np.arange(lists.shape[0]), lists.shape[1])
    counts = np.zeros((lists.shape[0], n_groups + 1))
    np.add.at(counts, (rows, g.reshape(-1)), 1.0)
    counts = counts[:, :n_groups]
    total = counts.sum(1, keepdims=True)
    return counts / np.where(total > 0, total, 1.0)


def miscalibration(p: np.ndarray, q: np.ndarray, alpha: float = STECK_ALPHA) -> np.ndarray:
    """Steck's C_KL per user (module docstring) from (users × groups) p and q; NaN for a user
    whose p or q is all zero."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    qt = (1.0 - alpha) * q + alpha * p
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / qt), 0.0)
    out = terms.sum(1)
    empty = (p.sum(1) == 0) | (q.sum(1) == 0)
    return np.where(empty, np.nan, out)
