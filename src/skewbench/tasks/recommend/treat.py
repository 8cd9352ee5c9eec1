"""The recommend task's list-side treatments: what groups each re-ranker targets, the typed
re-ranker context built from them, the stochastic Plackett–Luce policy, and what caps a
re-ranker (stored in the cell's ``info``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from skewbench import specs
from skewbench.errors import ConfigError
from skewbench.pipeline import Candidates
from skewbench.runner.cell import Cell
from skewbench.tasks.recommend.config import POLICIES, RERANKERS
from skewbench.tasks.recommend.data import Data
from skewbench.treatments.rerank import RerankContext, rerank_lists, rerank_params

PROTECTED = {"popularity": "long_tail", "brand": "Private", "manufacturer": "tail"}


def target_groups(
    family: str, data: Data, long_tail: np.ndarray, binary: bool
) -> tuple[np.ndarray, str]:
    """Item group codes a re-ranker targets, and the name of what it promotes.

    ``popularity``: 1 = long tail (mid + tail by training popularity), 0 = head. Other
    families come from the catalog: with ``binary`` (FA*IR) 1 = the protected value
    (brand Private, manufacturer tail), else one code per group value.
    """
    from skewbench.data.groups import group_codes

    if family == "popularity":
        return long_tail, "long_tail"
    if family not in data.labels:
        raise ConfigError(
            f"treatment.params.group: {family!r} is not an item grouping of "
            f"{data.name} (available: popularity, {', '.join(sorted(data.labels))})"
        )
    labels = np.asarray(data.labels[family]).astype(str)
    if binary:
        if family not in PROTECTED:
            raise ConfigError(
                f"treatment.params.group: FA*IR needs a protected group; {family!r} has none "
                f"(choose one of {sorted(PROTECTED)})"
            )
        return (labels == PROTECTED[family]).astype(np.int64), f"{family}={PROTECTED[family]}"
    return group_codes(labels)[0], f"{family} groups"


def aspect_weights(
    target: str, codes: np.ndarray, X: sp.csr_matrix, users: np.ndarray
) -> np.ndarray:
    """xQuAD's P(group | user): the user's history share (``history``), uniform over groups
    (``uniform``) or the groups' catalog shares (``catalog``)."""
    n_groups = int(codes.max()) + 1
    if target == "history":
        return history_share(X, codes, n_groups)[users]
    share = (
        np.full(n_groups, 1.0 / n_groups)
        if target == "uniform"
        else np.bincount(codes, minlength=n_groups) / codes.size
    )
    return np.broadcast_to(share, (users.size, n_groups)).copy()


def history_share(X: sp.csr_matrix, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """(users × groups) share of each user's training items in each group (binary history)."""
    B = X.copy()
    B.data[:] = 1.0
    onehot = sp.csr_matrix(
        (np.ones(codes.size), (np.arange(codes.size), codes)), shape=(codes.size, n_groups)
    )
    counts = np.asarray((B @ onehot).todense(), dtype=np.float64)
    total = counts.sum(1, keepdims=True)
    return counts / np.where(total > 0, total, 1.0)


def treat_lists(
    cell: Cell,
    data: Data,
    X: sp.csr_matrix,
    eval_users: np.ndarray,
    cand: Candidates,
    pop_label: np.ndarray,
    long_tail: np.ndarray,
    embeddings: np.ndarray | None,
    k: int,
) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """(top-``k`` lists, the policy's (users × samples × k) sampled lists or None, caps).

    A re-ranker gets its typed parameters and a typed context: the item groups it targets,
    the per-user target (calibration: history shares; xQuAD: aspect weights) and, for MMR over
    embeddings, the item embeddings."""
    from skewbench.data.groups import group_codes

    treat, ranked = cell.treatment, cand.items
    if treat.name in POLICIES:
        return _plackett_luce(cell, cand, k)
    if treat.name not in RERANKERS:
        return ranked, None, {}
    spec: Any = specs.resolve("treatment", "recommend", treat.name, treat.params)
    target = aspect = emb = None
    if treat.name == "calibrated":
        default = next(
            (f for f in ("department", "genre", "category") if f in data.labels), "popularity"
        )
        fam = spec.groups or default
        if fam == "popularity":
            labels = pop_label
        elif fam in data.labels:
            labels = data.labels[fam]
        else:
            raise ConfigError(f"treatment.params.groups: {fam!r} not in {sorted(data.labels)}")
        groups, names = group_codes(labels)
        target = history_share(X, groups, len(names))[eval_users]
        info = caps(treat.name, dict(treat.params), ranked, long_tail, groups, target)
    elif treat.name in ("xquad", "fair"):
        groups, promoted = target_groups(spec.group, data, long_tail, treat.name == "fair")
        if treat.name == "xquad":
            aspect = aspect_weights(spec.target, groups, X, eval_users)
        info = caps(treat.name, {}, ranked, long_tail, groups, None)
        info["protected_group"] = promoted
    else:  # mmr
        groups = group_codes(data.category)[0]
        info = caps(treat.name, {}, ranked, long_tail, groups, None)
        if spec.similarity == "embedding":
            emb = embeddings
    context = RerankContext(
        ranked,
        cand.kept_scores(),
        groups,
        target=target,
        aspect_weights=aspect,
        item_embeddings=emb,
    )
    return rerank_lists(rerank_params(treat.name, spec), context, k), None, info


def _plackett_luce(
    cell: Cell, cand: Candidates, k: int
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Sampled Plackett–Luce rankings of the candidates; the first sample is the stored list."""
    from skewbench.metrics.expected_exposure import plackett_luce_rankings
    from skewbench.treatments.rerank import normalised_relevance

    # scores min-max normalised per user (as the re-rankers do), so a temperature means
    # the same for every base model
    rel = normalised_relevance(cand.kept_scores(), cand.items >= 0)
    samples = plackett_luce_rankings(
        cand.items,
        rel,
        k,
        float(cell.treatment.params.get("temperature", 1.0)),
        int(cell.treatment.params.get("samples", 20)),
        cell.rng("policy"),
    )
    return samples[:, 0, :], samples, {}


def caps(
    name: str,
    params: dict[str, Any],
    ranked: np.ndarray,
    long_tail: np.ndarray,
    labels: np.ndarray | None,
    target: np.ndarray | None,
) -> dict[str, Any]:
    """What caps a re-ranker (stored in the cell's ``info``): pool size, protected group, users with none of it.

    xQuAD / FA*IR promote the long tail (non-head items): the share counts users whose pool has
    no long-tail item. Calibration matches each user's history over ``groups``: it counts users
    whose pool lacks a group of their own history. MMR diversifies over categories: it counts
    users whose pool holds a single category. Every re-ranker also gets the long-tail share.
    """
    valid = ranked >= 0
    idx = np.maximum(ranked, 0)
    no_tail = ~(valid & (long_tail[idx] == 1)).any(1)
    out: dict[str, Any] = {
        "candidate_pool_size": int(ranked.shape[1]),
        "candidate_pool_size_min": int(valid.sum(1).min()) if ranked.shape[0] else 0,
        "share_units_no_long_tail_in_pool": float(no_tail.mean()) if no_tail.size else 0.0,
    }
    if name in ("xquad", "fair"):
        lab = labels if labels is not None else long_tail
        g = np.where(valid, lab[idx], -1)
        if lab.max(initial=0) <= 1:  # binary: 1 = the promoted group
            lacking = ~(g == 1).any(1)
        else:  # several groups: a pool of one group leaves nothing to diversify
            lacking = ((g == g[:, :1]) | (g < 0)).all(1)
        out["protected_group"] = "long_tail"
        out["share_units_no_protected_in_pool"] = float(lacking.mean()) if lacking.size else 0.0
    elif name == "calibrated":
        assert labels is not None and target is not None
        n_groups = target.shape[1]
        present = np.zeros((ranked.shape[0], n_groups), dtype=bool)
        rows = np.repeat(np.arange(ranked.shape[0]), ranked.shape[1])
        present[rows[valid.ravel()], labels[idx].ravel()[valid.ravel()]] = True
        lacking = ((target > 0) & ~present).any(1)
        out["protected_group"] = f"history_groups={params.get('groups', 'default')}"
        out["share_units_no_protected_in_pool"] = float(lacking.mean()) if lacking.size else 0.0
    else:  # mmr
        assert labels is not None
        lab = np.where(valid, labels[idx], -1)
        first = lab[:, :1]
        single = ((lab == first) | (lab < 0)).all(1)
        out["protected_group"] = "category_diversity"
        out["share_units_no_protected_in_pool"] = float(single.mean()) if single.size else 0.0
    return out
