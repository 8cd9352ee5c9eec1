"""Re-rankers: turn a base model's top-K candidates into a top-k list that trades relevance for
calibration, tail exposure, fairness or diversity.

A re-ranker takes a typed parameter object (:class:`Calibrated`, :class:`XQuAD`,
:class:`Fair`, :class:`MMR`: the user's trade-off knobs) and a typed :class:`RerankContext`
(what the task computed: ``candidates``, the (units × K) item indices in the base model's rank
order, −1 = padding; ``scores``, their base scores; ``item_groups``, one int code ≥ 0 per item
of the catalog; the protected codes, per-unit targets and item embeddings)::

    rerank_lists(params, context, k) -> (units × k) int64

The parameter objects hold no defaults: a task builds them with :func:`rerank_params` from
its validated treatment spec, which declares every default once.
Relevance inside a method is the score min-max normalised per unit over its valid candidates,
rel ∈ [0, 1], so trade-off parameters mean the same for every base model.
Each method is greedy: k steps, each vectorised over all units (never a loop over users); at a
step the candidate with the largest marginal gain is appended, ties going to the earlier
candidate, so with the trade-off parameter at its "relevance only" end the base order comes back
(when scores are sorted descending, as base rankings are). Rows run out of candidates → −1 pad.

Methods and their trade-off parameter:

- ``calibrated`` (Steck 2018, "Calibrated recommendations"), ``lambda`` ∈ [0, 1], ``alpha``
  (default 0.01); context ``target`` (units × groups) p(g|u), the user's group distribution (from
  history). List distribution q(g|L) = share of L's items in g (uniform item weights),
  smoothed q̃ = (1 − α) q + α p so the KL stays finite. Greedy maximisation of
  (1 − λ) Σ_{i∈L} rel_i − λ KL(p ‖ q̃(L)).
- ``xquad`` (Abdollahpouri, Burke & Mobasher 2019, personalised xQuAD for popularity bias),
  ``lambda`` ∈ [0, 1]; aspects are the item groups (e.g. 0 = short head, 1 = long tail);
  context ``aspect_weights`` (units × groups) P(d|u), default uniform (the paper: the user's
  history share of each aspect). Gain(c) = (1 − λ) rel_c + λ Σ_d P(d|u) 1[c ∈ d] cov_d(S) with
  ``variant="smooth"`` (default) cov_d(S) = 1 − |S ∩ d| / |S| (1 for empty S: keeps a ratio
  of each aspect in the list) or ``"binary"`` cov_d(S) = 1[S ∩ d = ∅] (only the first item of
  an aspect is boosted).
- ``fair`` (FA*IR, Zehlike et al. 2017), ``p`` ∈ (0, 1) the minimum protected share,
  ``alpha`` the significance (default 0.1); context ``protected`` the protected group
  code(s) (default 1). Every prefix t must hold at least m(t) protected items, where m(t) is the
  α_c-quantile of Binomial(t, p) (``binom.ppf``) and α_c ≤ α is the multiple-testing
  adjusted significance: the largest α_c whose mtable a fair ranking (each position protected
  with probability p) fails with probability ≤ α (``adjusted_alpha``). At each position: the
  best protected candidate if the prefix is short of m(t), else the best candidate overall.
  When a unit has too few protected candidates the constraint cannot hold and the list is
  filled by score.
- ``mmr`` (Carbonell & Goldstein 1998), ``lambda`` ∈ [0, 1]: Gain(c) = λ rel_c − (1 − λ)
  max_{j∈S} sim(c, j), with sim the cosine of context ``item_embeddings`` (items × dim) if given, else
  1[same group]. λ = 1 is the base order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from skewbench.errors import ConfigError
from skewbench.treatments.fair_table import adjusted_alpha, mtable
from skewbench.vectors import unit_rows

METHODS = ("calibrated", "xquad", "fair", "mmr")
CHUNK = 2048  # units per batch: bounds the (units × K × dim) temporaries of embedding MMR


@dataclass(frozen=True)
class Calibrated:
    """Steck's calibration: ``lam`` trade-off, ``alpha`` smoothing of the list distribution."""

    lam: float
    alpha: float


@dataclass(frozen=True)
class XQuAD:
    """xQuAD: ``lam`` trade-off, ``variant`` "smooth" | "binary" aspect coverage."""

    lam: float
    variant: str


@dataclass(frozen=True)
class Fair:
    """FA*IR: ``p`` minimum protected share, ``alpha`` significance."""

    p: float
    alpha: float


@dataclass(frozen=True)
class MMR:
    """Maximal marginal relevance: ``lam`` = 1 is the base order."""

    lam: float


RerankParams = Calibrated | XQuAD | Fair | MMR
_NAMES: dict[type, str] = {Calibrated: "calibrated", XQuAD: "xquad", Fair: "fair", MMR: "mmr"}


@dataclass(frozen=True)
class RerankContext:
    """What a re-ranker reads besides its parameters (module docstring).

    ``target``: (units × groups) p(g|u) of calibration; ``aspect_weights``: (units × groups)
    P(d|u) of xQuAD (None = uniform); ``protected``: FA*IR's protected group codes;
    ``item_embeddings``: (items × dim) for MMR's cosine similarity (None = same group).
    """

    candidates: np.ndarray
    scores: np.ndarray
    item_groups: np.ndarray
    protected: tuple[int, ...] = (1,)
    target: np.ndarray | None = None
    aspect_weights: np.ndarray | None = None
    item_embeddings: np.ndarray | None = None


def rerank_params(method: str, spec: Any, p: float | None = None) -> RerankParams:
    """The typed parameters of ``method`` from its validated treatment spec (``lambda_``,
    ``alpha``, ``variant``, ``p`` as the spec names them); ``p``: FA*IR's share where the
    task, not the spec, chooses it."""
    if method == "calibrated":
        return Calibrated(float(spec.lambda_), float(spec.alpha))
    if method == "xquad":
        return XQuAD(float(spec.lambda_), str(spec.variant))
    if method == "fair":
        share = spec.p if p is None else p
        if share is None:
            raise ConfigError("treatment.params.p: required")
        return Fair(float(share), float(spec.alpha))
    if method == "mmr":
        return MMR(float(spec.lambda_))
    raise ConfigError(f"treatment {method!r}: unknown re-ranker; choose one of {METHODS}")


def rerank_lists(params: RerankParams, context: RerankContext, k: int) -> np.ndarray:
    """Re-rank each unit's candidates into a top-``k`` list (see the module docstring)."""
    method = _NAMES[type(params)]
    candidates = np.asarray(context.candidates, dtype=np.int64)
    scores = np.asarray(context.scores, dtype=np.float64)
    item_groups = np.asarray(context.item_groups)
    if candidates.ndim != 2 or scores.shape != candidates.shape:
        raise ConfigError(
            f"treatment {method}: candidates {candidates.shape} and scores {scores.shape} must be "
            "the same (units × K) shape"
        )
    if int(k) < 1:
        raise ConfigError(f"treatment {method}: k must be >= 1, got {k!r}")
    if item_groups.ndim != 1 or not np.issubdtype(item_groups.dtype, np.integer):
        raise ConfigError(f"treatment {method}: item_groups must be a 1-d array of int codes")
    if candidates.size and candidates.max() >= item_groups.size:
        raise ConfigError(f"treatment {method}: candidate item index beyond item_groups")
    step, per_unit = _METHODS[method](params, context, item_groups, candidates.shape[0])
    out = np.full((candidates.shape[0], int(k)), -1, dtype=np.int64)
    for start in range(0, candidates.shape[0], CHUNK):
        sl = slice(start, start + CHUNK)
        sliced = {name: v[sl] for name, v in per_unit.items()}
        out[sl] = _greedy(candidates[sl], scores[sl], int(k), item_groups, step, sliced)
    return out


def _per_unit(value: Any, name: str, n_units: int, n_groups: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != n_units or arr.shape[1] < n_groups:
        raise ConfigError(
            f"treatment.params.{name}: need (units × groups) = ({n_units} × >= {n_groups}), "
            f"got {arr.shape}"
        )
    if (arr < 0).any() or not np.all(np.isfinite(arr)):
        raise ConfigError(f"treatment.params.{name}: must be finite and >= 0")
    return arr


def normalised_relevance(scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per-row min-max of the valid scores to [0, 1] (a constant row → 1; invalid → 0)."""
    lo = np.where(valid, scores, np.inf).min(axis=1, keepdims=True)
    hi = np.where(valid, scores, -np.inf).max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        span = hi - lo  # −inf for a row without valid candidates
        rel = np.where(span > 0, (scores - lo) / np.where(span > 0, span, 1.0), 1.0)
    return np.where(valid, rel, 0.0)


# A step function computes the (units × K) marginal gain of every candidate, given the state.
Step = Callable[[dict[str, Any]], np.ndarray]


def _greedy(
    candidates: np.ndarray,
    scores: np.ndarray,
    k: int,
    item_groups: np.ndarray,
    step: Step,
    per_unit: dict[str, np.ndarray],
) -> np.ndarray:
    n, K = candidates.shape
    rows = np.arange(n)
    avail = (candidates >= 0) & np.isfinite(scores)
    rel = normalised_relevance(scores, avail)
    cand_groups = np.where(candidates >= 0, item_groups[np.maximum(candidates, 0)], -1)
    state: dict[str, Any] = {
        "t": 0,
        "rel": rel,
        "avail": avail,
        "candidates": candidates,
        "cand_groups": cand_groups,
        "selected": np.full((n, k), -1, dtype=np.int64),  # positions in the candidate row
        **per_unit,
    }
    out = np.full((n, k), -1, dtype=np.int64)
    for t in range(min(k, K)):
        state["t"] = t
        gain = step(state)
        gain = np.where(avail, gain, -np.inf)
        pick = np.argmax(gain, axis=1)  # first maximum: ties go to the earlier candidate
        ok = avail[rows, pick]
        out[ok, t] = candidates[rows[ok], pick[ok]]
        state["selected"][ok, t] = pick[ok]
        avail[rows[ok], pick[ok]] = False
    return out


def _counts(state: dict[str, Any], n_groups: int) -> np.ndarray:
    """(units × groups) number of already selected items per group."""
    t = state["t"]
    sel = state["selected"][:, :t]
    n = sel.shape[0]
    counts = np.zeros((n, n_groups))
    if t:
        g = np.take_along_axis(state["cand_groups"], np.maximum(sel, 0), axis=1)
        g = np.where(sel >= 0, g, -1)
        r = np.repeat(np.arange(n), t)
        keep = g.ravel() >= 0
        np.add.at(counts, (r[keep], g.ravel()[keep]), 1.0)
    return counts


# --- calibrated ---------------------------------------------------------------------------------
def _calibrated(params: Calibrated, ctx: RerankContext, item_groups: np.ndarray, n_units: int):
    lam, alpha = params.lam, params.alpha
    n_groups = int(item_groups.max()) + 1 if item_groups.size else 0
    if ctx.target is None:
        raise ConfigError("treatment calibrated: params.target (units × groups p(g|u)) required")
    target = _per_unit(ctx.target, "target", n_units, n_groups)
    total = target.sum(1, keepdims=True)
    target = target / np.where(total > 0, total, 1.0)  # rows of p(g|u) sum to 1 (or are all 0)
    G = target.shape[1]

    def step(state: dict[str, Any]) -> np.ndarray:
        t, p, cg = state["t"], state["target"], state["cand_groups"]
        n = _counts(state, G)
        # q̃ after adding one item: the list has t + 1 items; only the candidate's group gains.
        q0 = (1 - alpha) * n / (t + 1) + alpha * p
        with np.errstate(divide="ignore"):
            logq0 = np.where(p > 0, np.log(np.where(p > 0, q0, 1.0)), 0.0)
        base = (p * logq0).sum(1, keepdims=True)  # Σ_g p_g log q̃_g without the candidate
        g = np.maximum(cg, 0)
        pg = np.take_along_axis(p, g, axis=1)
        ng = np.take_along_axis(n, g, axis=1)
        q1 = (1 - alpha) * (ng + 1) / (t + 1) + alpha * pg
        corr = np.where(
            pg > 0, pg * (np.log(np.where(pg > 0, q1, 1.0)) - np.take_along_axis(logq0, g, 1)), 0.0
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy_term = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(1)
        kl = entropy_term[:, None] - (base + corr)
        return (1 - lam) * state["rel"] - lam * kl

    return step, {"target": target}


# --- xQuAD ------------------------------------------------------------------------------------
def _xquad(params: XQuAD, ctx: RerankContext, item_groups: np.ndarray, n_units: int):
    lam, variant = params.lam, params.variant
    n_groups = int(item_groups.max()) + 1 if item_groups.size else 0
    if ctx.aspect_weights is None:
        weights = np.full((n_units, max(n_groups, 1)), 1.0 / max(n_groups, 1))
    else:
        weights = _per_unit(ctx.aspect_weights, "aspect_weights", n_units, n_groups)
        total = weights.sum(1, keepdims=True)
        weights = weights / np.where(total > 0, total, 1.0)
    G = weights.shape[1]

    def step(state: dict[str, Any]) -> np.ndarray:
        t, w, cg = state["t"], state["aspect_weights"], state["cand_groups"]
        n = _counts(state, G)
        cov = (n == 0).astype(float) if variant == "binary" else 1.0 - n / max(t, 1)
        g = np.maximum(cg, 0)
        bonus = np.take_along_axis(w * cov, g, axis=1) * (cg >= 0)
        return (1 - lam) * state["rel"] + lam * bonus

    return step, {"aspect_weights": weights}


# --- FA*IR ------------------------------------------------------------------------------------
def _fair(params: Fair, ctx: RerankContext, item_groups: np.ndarray, n_units: int):
    p, alpha = params.p, params.alpha
    protected = np.asarray(ctx.protected)

    def step(state: dict[str, Any]) -> np.ndarray:
        t, avail = state["t"], state["avail"]
        k = state["selected"].shape[1]
        m = mtable(k, p, adjusted_alpha(k, p, alpha))
        prot = np.isin(state["cand_groups"], protected) & (state["candidates"] >= 0)
        sel = state["selected"][:, :t]
        n_prot = (np.take_along_axis(prot, np.maximum(sel, 0), axis=1) & (sel >= 0)).sum(1)
        need = (n_prot < m[t]) & (prot & avail).any(1)
        allowed = prot | ~need[:, None]
        return np.where(allowed, state["rel"], -np.inf)

    return step, {}


# --- MMR --------------------------------------------------------------------------------------
def _mmr(params: MMR, ctx: RerankContext, item_groups: np.ndarray, n_units: int):
    lam = params.lam
    E = ctx.item_embeddings
    if E is not None:
        E = np.asarray(E, dtype=np.float32)
        if E.ndim != 2 or E.shape[0] != item_groups.size:
            raise ConfigError("treatment.params.item_embeddings: need (items × dim)")
        E = unit_rows(E)

    def step(state: dict[str, Any]) -> np.ndarray:
        t, cand = state["t"], state["candidates"]
        if t == 0:
            state["maxsim"] = np.full(cand.shape, -np.inf)  # max over an empty S
            return lam * state["rel"]
        rows = np.arange(cand.shape[0])
        last = state["selected"][:, t - 1]
        if E is None:
            cg = state["cand_groups"]
            sim = (cg == cg[rows, np.maximum(last, 0)][:, None]).astype(float)
        else:
            li = cand[rows, np.maximum(last, 0)]
            sim = np.einsum("ukd,ud->uk", E[np.maximum(cand, 0)], E[li])
        ok = (last >= 0)[:, None]
        state["maxsim"] = np.where(ok, np.maximum(state["maxsim"], sim), state["maxsim"])
        # Cosines can be negative: the redundancy is the max over S, not clipped at 0.
        return lam * state["rel"] - (1 - lam) * state["maxsim"]

    return step, {}


_METHODS: dict[str, Callable[..., tuple[Step, dict[str, np.ndarray]]]] = {
    "calibrated": _calibrated,
    "xquad": _xquad,
    "fair": _fair,
    "mmr": _mmr,
}
