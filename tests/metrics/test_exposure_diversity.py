"""Hand-computed fixtures for every exposure and diversity metric."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.errors import ConfigError, SchemaError
from skewbench.metrics.diversity import diversity_metrics
from skewbench.metrics.exposure import exposure_metrics, gini, list_item_stats, position_weights

# Three lists over a 5-item catalogue (rank 1 first, -1 = padding).
RANKED = np.array([[0, 1, 2], [0, 3, -1], [1, 0, 4]])
POP = np.array([10.0, 6.0, 2.0, 1.0, 1.0])
TAIL = np.array([False, False, True, True, True])
BRAND = np.array(["A", "A", "B", "B", "C"])
# Relevant: u0 {1: 1, 3: 2}, u1 {0: 1}, u2 {2: 1, 4: 3} → hits u0:1, u1:0, u2:4.
TRUTH = sp.csr_matrix(
    (np.array([1.0, 2, 1, 1, 3]), (np.array([0, 0, 1, 2, 2]), np.array([1, 3, 0, 2, 4]))),
    shape=(3, 5),
)
W_LOG = 1 / math.log2(3)


def test_gini_five_groups_both_normalisers():
    # sorted x = 1,2,3,4,10; Σ(2i − n − 1)x_(i) = −4·1 − 2·2 + 0·3 + 2·4 + 4·10 = 40; Σx = 20.
    x = np.array([4.0, 10.0, 1.0, 3.0, 2.0])
    assert gini(x, "n") == pytest.approx(40 / (5 * 20))  # 0.4
    assert gini(x, "n-1") == pytest.approx(40 / (4 * 20))  # 0.5
    assert gini(np.array([0, 0, 0, 0, 7.0]), "n-1") == pytest.approx(1.0)
    assert gini(np.ones(5)) == 0.0 and np.isnan(gini(np.zeros(3)))
    with pytest.raises(ConfigError):
        gini(x, "n+1")


def test_position_weights():
    np.testing.assert_allclose(position_weights(3, "log"), [1, W_LOG, 0.5])
    np.testing.assert_allclose(position_weights(3, "geometric", 0.5), [1, 0.5, 0.25])
    np.testing.assert_allclose(position_weights(3, "uniform"), [1, 1, 1])


def test_exposure_gini_by_position_weight():
    # Uniform exposure = counts (3, 2, 1, 1, 1): Σ(2i−6)x = −4 −2 + 0 + 4 + 12 = 10, Σx = 8.
    uni = exposure_metrics(RANKED, 5, position_weight="uniform")
    assert uni["exposure_gini"] == pytest.approx(10 / 40)
    uni1 = exposure_metrics(RANKED, 5, position_weight="uniform", gini_normalizer="n-1")
    assert uni1["exposure_gini"] == pytest.approx(10 / 32)
    # Geometric p = 0.5: E = (2.5, 1.5, .25, .5, .25); Σ(2i−6)x_(i) = −1 − .5 + 0 + 3 + 10.
    geo = exposure_metrics(RANKED, 5, position_weight="geometric", geometric_p=0.5)
    assert geo["exposure_gini"] == pytest.approx(11.5 / 25)
    # Log: E = (2 + w, 1 + w, .5, w, .5) with w = 1/log2 3.
    e = np.array([2 + W_LOG, 1 + W_LOG, 0.5, W_LOG, 0.5])
    log = exposure_metrics(RANKED, 5)
    assert log["exposure_gini"] == pytest.approx(gini(e))
    es = np.sort(e)
    assert log["exposure_gini"] == pytest.approx((np.array([-4, -2, 0, 2, 4]) @ es) / (5 * e.sum()))


def test_popularity_bias_metrics():
    m = exposure_metrics(RANKED, 5, POP, truth=TRUTH, position_weight="uniform", tail=TAIL)
    assert m["arp"] == pytest.approx((18 / 3 + 11 / 2 + 17 / 3) / 3)  # = 103/18
    assert m["aplt"] == pytest.approx((1 / 3 + 1 / 2 + 1 / 3) / 3)  # = 7/18
    assert m["aclt"] == pytest.approx(1.0)
    # RSP: P(head) = 5 recs / (3 units × 2 items), P(tail) = 3 / 9 → |5/6 − 1/3| / (5/6 + 1/3).
    assert m["poprsp"] == pytest.approx(3 / 7)
    # REO: head hits 2 of 2 relevant, tail 1 of 3 → (1 − 1/3) / (1 + 1/3).
    assert m["popreo"] == pytest.approx(1 / 2)
    # Item level: exposure shares (3,2,1,1,1)/8 vs relevance shares 1/5 each.
    assert m["exposure_vs_relevance"] == pytest.approx(0.5 * (7 + 2 + 3 * 3) / 40)
    # Excluding (u0, item 3) and (u1, item 1) shrinks the candidate pairs: head 5/5, tail 3/8.
    excl = sp.csr_matrix((np.ones(2), ([0, 1], [3, 1])), shape=(3, 5))
    m2 = exposure_metrics(RANKED, 5, POP, tail=TAIL, exclude=excl)
    assert m2["poprsp"] == pytest.approx((1 - 3 / 8) / (1 + 3 / 8))
    # No tail split or truth: present but NaN.
    m3 = exposure_metrics(RANKED, 5)
    for key in ("arp", "aplt", "aclt", "poprsp", "popreo", "exposure_vs_relevance"):
        assert np.isnan(m3[key])


def test_group_exposure_shares():
    m = exposure_metrics(RANKED, 5, groups={"brand": BRAND}, truth=TRUTH, position_weight="uniform")
    assert [m[f"exposure_share[brand={b}]"] for b in "ABC"] == pytest.approx([5 / 8, 2 / 8, 1 / 8])
    assert [m[f"catalog_share[brand={b}]"] for b in "ABC"] == pytest.approx([0.4, 0.4, 0.2])
    assert [m[f"relevant_share[brand={b}]"] for b in "ABC"] == pytest.approx([0.4, 0.4, 0.2])
    assert m["exposure_vs_catalog[brand]"] == pytest.approx(0.5 * (9 + 6 + 3) / 40)
    assert m["exposure_vs_relevance[brand]"] == pytest.approx(0.5 * (9 + 6 + 3) / 40)
    # RSP over 3 groups: P = (5/6, 2/6, 1/3), mean 1/2, population std √(1/18).
    assert m["rsp[brand]"] == pytest.approx(math.sqrt(1 / 18) / 0.5)
    # REO: P = (2/2, 0/2, 1/1), mean 2/3, std √2/3.
    assert m["reo[brand]"] == pytest.approx((math.sqrt(2) / 3) / (2 / 3))
    # Log weights: E = (2 + w, 1 + w, .5, w, .5), so A gets 3 + 2w of 4 + 3w.
    lg = exposure_metrics(RANKED, 5, groups={"brand": BRAND})
    total = 4 + 3 * W_LOG
    assert lg["exposure_share[brand=A]"] == pytest.approx((3 + 2 * W_LOG) / total)


@pytest.mark.parametrize("weight", ["log", "uniform", "geometric"])
def test_unit_exposure_shares_average_to_the_group_share(weight):
    from skewbench.metrics.exposure import unit_exposure_shares

    rng = np.random.default_rng(7)
    ranked = np.stack([rng.permutation(30)[:6] for _ in range(40)])
    ranked[3, 2:] = -1  # a short list
    ranked[5] = -1  # an empty list
    ranked[6, :] = ranked[6, 0]  # repeats are refused by exposure_metrics: keep them distinct
    ranked[6] = np.arange(6)
    label = np.where(np.arange(30) % 4 == 0, "p", "q")
    shares = unit_exposure_shares(ranked, label == "p", weight)
    ex = exposure_metrics(ranked, 30, groups={"g": label}, position_weight=weight)
    assert shares.mean() == pytest.approx(ex["exposure_share[g=p]"], abs=1e-12)
    assert shares[5] == 0
    # by hand for one unit: U · Σ_r w(r) 1[member] / ΣE
    w = position_weights(6, weight)
    total = sum(w[r] for u in range(40) for r in range(6) if ranked[u, r] >= 0)
    own = sum(w[r] for r in range(6) if ranked[0, r] >= 0 and label[ranked[0, r]] == "p")
    assert shares[0] == pytest.approx(40 * own / total, abs=1e-12)
    assert np.isnan(unit_exposure_shares(np.full((3, 4), -1), label == "p")).all()


def test_exposure_bad_input():
    with pytest.raises(SchemaError, match="item index 5"):
        exposure_metrics(np.array([[5]]), 5)
    with pytest.raises(SchemaError, match="item_popularity"):
        exposure_metrics(RANKED, 5, POP[:3])
    with pytest.raises(ConfigError, match="position_weight"):
        exposure_metrics(RANKED, 5, position_weight="harmonic")


# Diversity on the same lists, over a 6-item catalogue (item 5 never recommended).
POP6 = np.array([10.0, 6, 2, 1, 1, 0])
CAT6 = np.array(["x", "x", "y", "y", "z", "z"])
EMB6 = np.array([[1.0, 0], [0, 2], [1, 1], [-1, 0], [3, 0], [0, 0]])


def test_diversity_hand_fixture():
    m = diversity_metrics(RANKED, 6, POP6, CAT6, EMB6, groups={"b": np.array(list("AABBCD"))})
    assert m["coverage"] == pytest.approx(5 / 6)
    p = np.array([3, 2, 1, 1, 1]) / 8
    assert m["entropy"] == pytest.approx(-(p * np.log2(p)).sum())
    assert m["entropy"] == pytest.approx(3 / 8 * math.log2(8 / 3) + 2 / 8 * 2 + 3 / 8 * 3)
    # Category pairs: {x,x,y} → 2/3 differ, {x,y} → 1, {x,x,z} → 2/3.
    assert m["ild_category"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    # Cosine distances: u0 (1, 1 − 1/√2, 1 − 1/√2), u1 (2), u2 (1, 1, 0).
    u0 = (3 - math.sqrt(2)) / 3
    assert m["ild_embedding"] == pytest.approx((u0 + 2 + 2 / 3) / 3)
    # Novelty, share of interactions (Σφ = 20): −log2(φ/20) = 1, log2(20/6), log2 10, log2 20, …
    i0, i1, i2, i34 = 1, math.log2(20 / 6), math.log2(10), math.log2(20)
    expect = ((i0 + i1 + i2) / 3 + (i0 + i34) / 2 + (i1 + i0 + i34) / 3) / 3
    assert m["novelty"] == pytest.approx(expect)
    # Labels A, B, C shown of A, B, C, D.
    assert m["group_coverage[b]"] == pytest.approx(3 / 4)


def test_diversity_options_and_edge_cases():
    # Share of users (n_users = 16): −log2(max(φ, 1)/16).
    m = diversity_metrics(RANKED, 6, POP6, n_users=16)
    info = np.log2(16 / np.maximum(POP6, 1))
    expect = np.mean([info[[0, 1, 2]].mean(), info[[0, 3]].mean(), info[[1, 0, 4]].mean()])
    assert m["novelty"] == pytest.approx(expect)
    # Universe = items {0, 1, 5} (e.g. training items): 0 and 1 covered.
    u = diversity_metrics(
        RANKED, 6, universe=np.array([0, 1, 5]), groups={"b": np.array(list("AABBCD"))}
    )
    assert u["coverage"] == pytest.approx(2 / 3)
    assert u["group_coverage[b]"] == pytest.approx(1 / 2)  # A of {A, D}
    mask = np.array([True, True, False, False, False, True])
    assert diversity_metrics(RANKED, 6, universe=mask)["coverage"] == pytest.approx(2 / 3)
    # A zero embedding is at distance 1 from everything; single-item and empty lists are skipped.
    r = np.array([[5, 0], [4, -1], [-1, -1]])
    e = diversity_metrics(r, 6, item_category=CAT6, item_embeddings=EMB6)
    assert e["ild_embedding"] == pytest.approx(1.0)
    assert e["ild_category"] == pytest.approx(1.0)
    assert np.isnan(diversity_metrics(np.full((2, 3), -1), 6, POP6)["entropy"])


def test_diversity_ild_matches_pairwise_loop():
    rng = np.random.default_rng(0)
    n_items, emb = 30, rng.normal(size=(30, 8))
    cats = rng.integers(0, 4, 30)
    ranked = np.stack([rng.permutation(n_items)[:6] for _ in range(50)])
    ranked[::4, 4:] = -1
    m = diversity_metrics(ranked, n_items, item_category=cats, item_embeddings=emb)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    cat_vals, emb_vals = [], []
    for row in ranked:
        items = row[row >= 0]
        pairs = [(a, b) for j, a in enumerate(items) for b in items[j + 1 :]]
        cat_vals.append(np.mean([cats[a] != cats[b] for a, b in pairs]))
        emb_vals.append(np.mean([1 - unit[a] @ unit[b] for a, b in pairs]))
    assert m["ild_category"] == pytest.approx(np.mean(cat_vals), abs=1e-12)
    assert m["ild_embedding"] == pytest.approx(np.mean(emb_vals), abs=1e-6)  # float32 sums


@pytest.mark.parametrize("pad", [False, True])
def test_list_item_stats_match_naive_loop(pad):
    # Both paths of the per-rank bincount pass (all lists full / some padding) against a loop.
    rng = np.random.default_rng(1 + pad)
    n_items = 40
    ranked = np.stack([rng.permutation(n_items)[:7] for _ in range(300)])
    if pad:
        ranked[rng.random(300) < 0.3, 4:] = -1
        ranked[5] = -1
    pop = rng.integers(0, 50, n_items).astype(float)
    tail = pop < 20
    w = position_weights(7, "geometric", 0.7)
    m = exposure_metrics(
        ranked, n_items, pop, position_weight="geometric", geometric_p=0.7, tail=tail
    )
    e = np.zeros(n_items)
    arp, aplt, aclt = [], [], []
    for row in ranked:
        for r, i in enumerate(row):
            if i >= 0:
                e[i] += w[r]
        items = row[row >= 0]
        if items.size:
            arp.append(pop[items].mean())
            aplt.append(tail[items].mean())
            aclt.append(tail[items].sum())
    assert m["exposure_gini"] == pytest.approx(gini(e), abs=1e-12)
    assert (m["arp"], m["aplt"], m["aclt"]) == pytest.approx(
        (np.mean(arp), np.mean(aplt), np.mean(aclt)), abs=1e-12
    )


def test_shared_stats_and_repeats():
    """One list_item_stats pass feeds both metric sets with identical results; its hit counts
    match a loop; a list repeating an item is refused by every entry point, naming the row."""
    rng = np.random.default_rng(7)
    n_items, k = 50, 8
    ranked = np.stack([rng.permutation(n_items)[:k] for _ in range(200)])
    ranked[rng.random(200) < 0.2, 5:] = -1
    truth = sp.csr_matrix((rng.random((200, n_items)) < 0.1) * rng.integers(0, 3, (200, n_items)))
    pop = rng.integers(0, 30, n_items).astype(float)
    tail, cats, emb = pop < 10, rng.integers(0, 5, n_items), rng.normal(size=(n_items, 4))
    groups = {"g": rng.integers(0, 3, n_items)}
    stats = list_item_stats(ranked, n_items, position_weights(k, "log"), truth)
    hits = np.zeros(n_items)
    dense = truth.toarray()
    for u, row in enumerate(ranked):
        for i in row[row >= 0]:
            hits[i] += dense[u, i] > 0
    np.testing.assert_array_equal(stats.hits, hits)
    kw = dict(groups=groups, truth=truth, tail=tail)
    assert exposure_metrics(ranked, n_items, pop, **kw, stats=stats) == exposure_metrics(
        ranked, n_items, pop, **kw
    )
    dkw = dict(item_category=cats, item_embeddings=emb, groups=groups)
    assert diversity_metrics(ranked, n_items, pop, **dkw, stats=stats) == diversity_metrics(
        ranked, n_items, pop, **dkw
    )
    with pytest.raises(SchemaError, match="without truth"):
        exposure_metrics(ranked, n_items, truth=truth, stats=list_item_stats(ranked, n_items))
    bad = ranked.copy()
    bad[3, 1] = bad[3, 0]
    for call in (
        lambda: exposure_metrics(bad, n_items),
        lambda: diversity_metrics(bad, n_items),
        lambda: list_item_stats(bad, n_items),
    ):
        with pytest.raises(SchemaError, match=r"row 3: item \d+ appears more than once"):
            call()
