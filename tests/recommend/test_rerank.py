"""Re-rankers: each one's defining property, and agreement with a plain-loop reference."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from skewbench import specs
from skewbench.errors import ConfigError
from skewbench.treatments.fair_table import adjusted_alpha, fail_probability, mtable
from skewbench.treatments.rerank import RerankContext, rerank_lists, rerank_params

_CONTEXT = ("protected", "target", "aspect_weights", "item_embeddings")


def rerank(method, candidates, scores, k, item_groups, **params):
    """Shorthand: one mapping split into the recommend treatment spec (defaults from there)
    and the re-ranker's context, then :func:`rerank_lists`."""
    context = {n: params.pop(n) for n in _CONTEXT if params.get(n) is not None}
    if "protected" in context:
        context["protected"] = tuple(np.atleast_1d(context["protected"]).tolist())
    typed = rerank_params(method, specs.resolve("treatment", "recommend", method, params))
    return rerank_lists(typed, RerankContext(candidates, scores, item_groups, **context), k)


N_ITEMS, N_GROUPS = 50, 3


def fixture(n_units: int = 30, K: int = 15, seed: int = 0):
    """Candidates in base order (scores descending), per-item group codes."""
    rng = np.random.default_rng(seed)
    cand = np.stack([rng.choice(N_ITEMS, K, replace=False) for _ in range(n_units)])
    scores = -np.sort(-rng.normal(size=(n_units, K)), axis=1)
    groups = rng.integers(0, N_GROUPS, N_ITEMS)
    return cand, scores, groups


def minmax(s):
    return (s - s.min()) / (s.max() - s.min())


def test_relevance_only_end_returns_the_base_order():
    cand, scores, groups = fixture()
    target = np.random.default_rng(1).dirichlet(np.ones(N_GROUPS), size=30)
    for method, params in [
        ("calibrated", {"lambda": 0.0, "target": target}),
        ("xquad", {"lambda": 0.0}),
        ("mmr", {"lambda": 1.0}),
        (
            "mmr",
            {"lambda": 1.0, "item_embeddings": np.random.default_rng(2).normal(size=(N_ITEMS, 4))},
        ),
        ("fair", {"p": 1e-6, "alpha": 0.1}),
    ]:
        out = rerank(method, cand, scores, 10, groups, **params)
        np.testing.assert_array_equal(out, cand[:, :10], err_msg=method)


def ref_calibrated(cand, scores, groups, target, lam, alpha, k):
    out = []
    for u in range(len(cand)):
        rel = minmax(scores[u])
        p = target[u] / target[u].sum()
        chosen: list[int] = []
        for _ in range(k):
            best, best_val = -1, -np.inf
            for c in range(len(cand[u])):
                if c in chosen:
                    continue
                lst = chosen + [c]
                q = np.bincount(groups[cand[u][lst]], minlength=len(p)) / len(lst)
                qt = (1 - alpha) * q + alpha * p
                m = p > 0
                kl = np.sum(p[m] * np.log(p[m] / qt[m]))
                val = (1 - lam) * rel[lst].sum() - lam * kl
                if val > best_val + 1e-12:
                    best, best_val = c, val
            chosen.append(best)
        out.append(cand[u][chosen])
    return np.array(out)


@pytest.mark.parametrize("lam", [0.3, 0.9, 1.0])
def test_calibrated_matches_brute_force_greedy(lam):
    cand, scores, groups = fixture(n_units=12)
    target = np.random.default_rng(3).dirichlet(np.ones(N_GROUPS) * 0.5, size=12)
    target[0] = [1.0, 0.0, 0.0]  # zero-probability groups must be handled
    out = rerank(
        "calibrated", cand, scores, 6, groups, **{"lambda": lam, "target": target, "alpha": 0.05}
    )
    np.testing.assert_array_equal(out, ref_calibrated(cand, scores, groups, target, lam, 0.05, 6))


def test_calibrated_moves_list_distribution_towards_target():
    # Base list: 10 items of group 0 then 10 of group 1; the user is 50/50.
    groups = np.array([0] * 10 + [1] * 10)
    cand = np.arange(20)[None, :]
    scores = -np.arange(20.0)[None, :]
    out = rerank(
        "calibrated", cand, scores, 10, groups, **{"lambda": 0.99, "target": np.array([[0.5, 0.5]])}
    )
    assert np.bincount(groups[out[0]], minlength=2).tolist() == [5, 5]


def ref_xquad(cand, scores, groups, w, lam, k, variant):
    out = []
    for u in range(len(cand)):
        rel = minmax(scores[u])
        chosen: list[int] = []
        for _ in range(k):
            vals = []
            for c in range(len(cand[u])):
                if c in chosen:
                    vals.append(-np.inf)
                    continue
                g = groups[cand[u][c]]
                n_g = sum(groups[cand[u][j]] == g for j in chosen)
                if variant == "binary":
                    cov = float(n_g == 0)
                else:
                    cov = 1 - n_g / len(chosen) if chosen else 1.0
                vals.append((1 - lam) * rel[c] + lam * w[u][g] * cov)
            chosen.append(int(np.argmax(vals)))
        out.append(cand[u][chosen])
    return np.array(out)


@pytest.mark.parametrize("variant", ["smooth", "binary"])
def test_xquad_matches_plain_loop_reference(variant):
    cand, scores, groups = fixture(n_units=12)
    w = np.random.default_rng(4).dirichlet(np.ones(N_GROUPS), size=12)
    out = rerank(
        "xquad", cand, scores, 8, groups, **{"lambda": 0.6, "aspect_weights": w, "variant": variant}
    )
    np.testing.assert_array_equal(out, ref_xquad(cand, scores, groups, w, 0.6, 8, variant))


def test_xquad_strong_lambda_raises_tail_share():
    cand, scores, _ = fixture(n_units=40, K=30)
    tail = (np.arange(N_ITEMS) % 4 == 0).astype(np.int64)  # 25 % of items are "tail" (code 1)
    base = tail[cand[:, :10]].mean()
    out = rerank("xquad", cand, scores, 10, tail, **{"lambda": 0.9})
    assert tail[out].mean() > base


def ref_mmr(cand, scores, E, lam, k):
    En = E / np.linalg.norm(E, axis=1, keepdims=True)
    out = []
    for u in range(len(cand)):
        rel = minmax(scores[u])
        chosen: list[int] = []
        for _ in range(k):
            vals = []
            for c in range(len(cand[u])):
                if c in chosen:
                    vals.append(-np.inf)
                    continue
                red = max((En[cand[u][c]] @ En[cand[u][j]] for j in chosen), default=0.0)
                vals.append(lam * rel[c] - (1 - lam) * red)
            chosen.append(int(np.argmax(vals)))
        out.append(cand[u][chosen])
    return np.array(out)


def test_mmr_matches_plain_loop_reference_and_category_similarity_diversifies():
    cand, scores, groups = fixture(n_units=10)
    E = np.random.default_rng(5).normal(size=(N_ITEMS, 6))
    out = rerank("mmr", cand, scores, 7, groups, **{"lambda": 0.5, "item_embeddings": E})
    np.testing.assert_allclose(out, ref_mmr(cand, scores, E, 0.5, 7))
    # Category similarity at λ = 0: the first N_GROUPS picks cover distinct groups when possible.
    out = rerank("mmr", cand, scores, N_GROUPS, groups, **{"lambda": 0.0})
    for u in range(len(cand)):
        if len(set(groups[cand[u]])) == N_GROUPS:
            assert len(set(groups[out[u]])) == N_GROUPS


def test_fair_mtable_and_adjusted_alpha():
    # m(t) is the Binomial(t, p) α-quantile.
    m = mtable(20, 0.5, 0.1)
    for t in range(1, 21):
        j = m[t - 1]
        assert scipy.stats.binom.cdf(j, t, 0.5) >= 0.1
        assert j == 0 or scipy.stats.binom.cdf(j - 1, t, 0.5) < 0.1
    # The DP failure probability agrees with simulation.
    rng = np.random.default_rng(0)
    sims = rng.random((200_000, 20)) < 0.5
    fail_sim = (sims.cumsum(1) < m[None, :]).any(1).mean()
    assert abs(fail_probability(m, 0.5) - fail_sim) < 4 * np.sqrt(fail_sim * (1 - fail_sim) / 2e5)
    # Multiple testing: the unadjusted table fails far more often than α; the adjusted one ≤ α.
    assert fail_probability(m, 0.5) > 0.1
    ac = adjusted_alpha(20, 0.5, 0.1)
    assert ac < 0.1
    assert fail_probability(mtable(20, 0.5, ac), 0.5) <= 0.1 + 1e-12


@pytest.mark.parametrize("p", [0.3, 0.5, 0.7])
def test_fair_prefix_constraint_holds(p):
    cand, scores, _ = fixture(n_units=50, K=30, seed=7)
    protected = (np.arange(N_ITEMS) % 3 == 0).astype(np.int64)
    k = 10
    out = rerank("fair", cand, scores, k, protected, p=p, alpha=0.1)
    m = mtable(k, p, adjusted_alpha(k, p, 0.1))
    prefix = protected[out].cumsum(1)
    n_available = protected[cand].sum(1)
    ok = n_available >= k  # enough protected candidates for any prefix
    assert (prefix[ok] >= m[None, :]).all()
    assert m[-1] > 0
    # Within each group, items keep their base order.
    for u in range(len(cand)):
        pos = {c: i for i, c in enumerate(cand[u])}
        for g in (0, 1):
            seq = [pos[c] for c in out[u] if protected[c] == g]
            assert seq == sorted(seq)


def test_padding_and_validation():
    cand = np.array([[3, 1, -1, -1]])
    scores = np.array([[2.0, 1.0, -np.inf, -np.inf]])
    groups = np.array([0, 1, 0, 1])
    out = rerank("xquad", cand, scores, 4, groups, **{"lambda": 0.5})
    assert out.tolist() == [[3, 1, -1, -1]] or out.tolist() == [[1, 3, -1, -1]]
    with pytest.raises(ConfigError):
        rerank_params("nope", None)
    with pytest.raises(ConfigError):  # calibration needs the users' target distributions
        rerank("calibrated", cand, scores, 2, groups, **{"lambda": 0.5})
    with pytest.raises(ValueError):  # the spec refuses λ outside [0, 1]
        rerank("mmr", cand, scores, 2, groups, **{"lambda": 2.0})
