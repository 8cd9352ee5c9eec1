"""Imbalance measures and controlled imbalance, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skewbench.data import imbalance as im
from skewbench.data import subsample as sub


def test_gini_hand_computed_both_normalisers():
    # x = 1,2,3,4: sum over ordered pairs |xi - xj| = 2 * (1+2+3+1+2+1) = 20, mean 2.5
    assert im.gini([4, 1, 3, 2]) == pytest.approx(20 / (2 * 4**2 * 2.5))  # 0.25
    assert im.gini([4, 1, 3, 2], "n-1") == pytest.approx(20 / (2 * 4 * 3 * 2.5))  # 1/3
    # all mass on one of four: G_n = (n-1)/n, G_(n-1) = 1
    assert im.gini([0, 0, 0, 7]) == pytest.approx(0.75)
    assert im.gini([0, 0, 0, 7], "n-1") == pytest.approx(1.0)
    assert im.gini([5, 5, 5]) == 0.0 and im.gini([3]) == 0.0


def test_gini_matches_pairwise_definition():
    x = np.random.default_rng(1).integers(0, 100, 37).astype(float)
    pairwise = np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * x.mean())
    assert im.gini(x) == pytest.approx(pairwise)
    # Lorenz area between diagonal and curve is G_n / 2
    lx, ly = im.lorenz_curve(x)
    assert 0.5 - np.trapezoid(ly, lx) == pytest.approx(im.gini(x) / 2)


def test_head_mid_tail_share_rule_by_hand():
    counts = [5, 40, 30, 10, 10, 3, 2]  # total 100
    # sorted: 40 (cum 40) 30 (70) 10 10 5 3 2; head reaches 50 % with {40, 30}
    # bottom suffix <= 20 %: 2, 3, 5, 10 = 20 -> tail (ties keep input order: index 3 before 4)
    groups = im.head_mid_tail(counts)
    assert groups.tolist() == ["tail", "head", "head", "mid", "tail", "tail", "tail"]


def test_head_mid_tail_rank_rule():
    counts = [1, 9, 5, 7, 3, 2, 8, 6, 4, 10]
    g = im.head_mid_tail(counts, rule="rank", head=0.2, tail=0.3)
    assert sorted(np.asarray(counts)[g == "head"]) == [9, 10]
    assert sorted(np.asarray(counts)[g == "tail"]) == [1, 2, 3]


def test_profile_from_labels_and_counts_agree():
    labels = ["a"] * 6 + ["b"] * 3 + ["c"]
    p1 = im.profile(labels)
    p2 = im.profile(pd.Series({"c": 1, "a": 6, "b": 3}))
    assert p1.classes.tolist() == p2.classes.tolist() == ["a", "b", "c"]
    assert p1.counts.tolist() == [6, 3, 1] and p1.imbalance_ratio == 6.0
    assert p1.gini == pytest.approx(im.gini([6, 3, 1]))
    text = p1.to_text()
    assert "normaliser n" in text and "| a | 6 |" in text and "head =" in text


def test_exponential_targets_hand_checked():
    t = sub.exponential_profile_targets([1000, 500, 100], 100)
    assert t.tolist() == [1000, 100, 10]  # ratios 1 : 10 : 100
    # the rank, not the position, decides; n_max limited by the scarcest class
    t = sub.exponential_profile_targets([50, 1000, 400], 100)
    # ranks: 1000 -> 0, 400 -> 1, 50 -> 2; n_max = min(1000, 400*10, 50*100) = 1000
    assert t.tolist() == [10, 1000, 100]
    t = sub.exponential_profile_targets([1000, 20, 400], 100)
    # n_max = min(1000, 400*10, 20*100) = 1000 -> 1000, 100, 10
    assert t.tolist() == [1000, 10, 100]
    t = sub.exponential_profile_targets([1000, 5, 400], 100)
    # n_max = min(1000, 4000, 500) = 500 -> 500, 50, 5
    assert t.tolist() == [500, 5, 50]


def test_rho_one_is_balanced():
    assert sub.exponential_profile_targets([30, 500, 1000], 1).tolist() == [30, 30, 30]
    with pytest.raises(ValueError):
        sub.exponential_profile_targets([3, 4], 0.5)


def test_subsample_to_ratio_counts_and_positions():
    rng = np.random.default_rng(0)
    labels = np.array(["x"] * 500 + ["y"] * 300 + ["z"] * 60)
    rng.shuffle(labels)
    kept = sub.subsample_to_ratio(labels, 10, np.random.default_rng(5))
    assert np.all(np.diff(kept) > 0) and kept.min() >= 0 and kept.max() < labels.size
    counts = pd.Series(labels[kept]).value_counts()
    # n_max = min(500, 300*sqrt(10), 60*10) = 500 -> 500, floor(158.1), 50
    assert counts.to_dict() == {"x": 500, "y": 158, "z": 50}
    again = sub.subsample_to_ratio(labels, 10, np.random.default_rng(5))
    assert np.array_equal(kept, again)


def test_subsample_touches_only_passed_positions():
    # the caller passes train labels only; kept positions index into that array alone
    all_labels = np.array(list("aaaaabbbcc" * 10))
    train_idx = np.arange(0, 100, 2)
    kept = sub.subsample_to_ratio(all_labels[train_idx], 4, np.random.default_rng(1))
    chosen = train_idx[kept]
    assert set(chosen) <= set(train_idx)


def test_subsample_to_gini_reaches_target():
    rng = np.random.default_rng(3)
    p = (np.arange(400) + 1.0) ** -0.7
    items = rng.choice(400, size=20000, p=p / p.sum())
    before = im.gini(np.bincount(items)[np.unique(items)])
    kept, achieved = sub.subsample_to_gini(items, before + 0.1, np.random.default_rng(4))
    counts = pd.Series(items).value_counts().reindex(np.unique(items))
    after = pd.Series(items[kept]).value_counts().reindex(counts.index, fill_value=0)
    assert achieved == pytest.approx(im.gini(after.to_numpy()))
    assert abs(achieved - (before + 0.1)) <= 1e-3
    # the most popular item keeps every interaction
    top = counts.idxmax()
    assert after[top] == counts[top]
    with pytest.raises(ValueError, match="below"):
        sub.subsample_to_gini(items, before - 0.1, np.random.default_rng(4))


def test_plot_lorenz_writes_png(tmp_path):
    path = im.plot_lorenz([50, 20, 5, 1], tmp_path / "sub" / "l.png", title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_subsample_to_gini_at_size_keeps_exactly_size_and_reaches_the_target():
    from skewbench.data.subsample import subsample_to_gini_at_size

    rng = np.random.default_rng(0)
    weights = 1.0 / (np.arange(300) + 10.0)
    items = rng.choice(300, 20_000, p=weights / weights.sum())  # skewed item ids, Gini ≈ 0.45
    counts = np.bincount(items)
    natural = im.gini(counts[counts > 0])
    for target in (None, natural + 0.05, natural + 0.15):
        kept, g = subsample_to_gini_at_size(items, target, 8_000, np.random.default_rng(1))
        assert kept.size == 8_000 and np.all(np.diff(kept) > 0)
        sub = np.bincount(items[kept], minlength=counts.size)[counts > 0]
        assert g == pytest.approx(im.gini(sub), abs=1e-12)  # Gini over the input's items
        if target is not None:
            assert g == pytest.approx(target, abs=1e-3)
    # β = 0 (target None) is a uniform subsample: every item keeps about 40 % of its counts
    kept, _ = subsample_to_gini_at_size(items, None, 8_000, np.random.default_rng(1))
    big = counts > 500
    share = np.bincount(items[kept], minlength=counts.size)[big] / counts[big]
    assert np.allclose(share, 0.4, atol=0.06)
    with pytest.raises(ValueError, match=r"reachable range is \[0\.\d+, 0\.\d+\]"):
        subsample_to_gini_at_size(items, natural - 0.1, 8_000, np.random.default_rng(1))


def test_controlled_imbalance_is_still_importable_from_its_former_module():
    from skewbench.data.subsample import max_reachable_gini, subsample_to_gini

    assert subsample_to_gini is sub.subsample_to_gini
    assert max_reachable_gini is sub.max_reachable_gini
    with pytest.raises(AttributeError):
        im.no_such_function  # noqa: B018
