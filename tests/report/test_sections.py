"""Report sections built from small hand-made tables: caps, wording from the data's info, the
α_k ∝ N_k/(N−N_k) section under either scheme name, per-condition exposure tables, fronts."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from skewbench.report import categorize_blocks as K
from skewbench.report import conditions as C
from skewbench.report import headline as H
from skewbench.report import significance_blocks as S
from skewbench.report import task_blocks as T
from skewbench.report.plots import pareto_front
from skewbench.report.render import Heading, Paragraph, Table
from skewbench.report.spec import REPORTS


def _cells(**cols):
    n = len(next(iter(cols.values())))
    base = {
        "task": ["recommend"] * n,
        "dataset": ["cj"] * n,
        "imbalance": [None] * n,
        "control": [""] * n,
        "setting": [""] * n,
        "model": ["ease"] * n,
        "treatment": ["none"] * n,
        "seed": list(range(n)),
        "info": [{}] * n,
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_caps_table_and_sentence():
    info = {
        "candidate_pool_size": 100,
        "protected_group": "long_tail",
        "share_units_no_protected_in_pool": 0.39,
    }
    data = _cells(treatment=["xquad(lambda=0.3)"] * 2, info=[info, {**info}])
    blocks = T.caps_blocks(data, REPORTS["recommend"], "recommend")
    text = " ".join(b.text for b in blocks if isinstance(b, Paragraph) and b.style != "note")
    assert "for 39 % of the evaluated users the 100 candidates hold no long_tail item" in text
    assert "no re-ranker can give those users any long_tail exposure" in text
    table = next(b.frame for b in blocks if isinstance(b, Table))
    assert table["share_units_no_protected_in_pool"].tolist() == ["0.390"]
    assert T.caps_blocks(_cells(treatment=["none"]), REPORTS["recommend"], "recommend") == []


def test_held_out_only_when_the_data_says_so():
    seen = _cells(info=[{"n_train_queries": 10}])
    assert "held out" not in S._held_out_phrase(seen).split("(")[0]
    assert "no query-level split" in S._held_out_phrase(seen)
    split = _cells(info=[{"query_split": "by_text"}, {"dataset": {"query_split": "by_text"}}])
    assert S._held_out_phrase(split).startswith("on test queries held out from training")
    mixed = _cells(info=[{"query_split": "by_text"}, {"query_split": "none"}])
    assert "held out" not in S._held_out_phrase(mixed).split("(")[0]


def test_majority_weighted_section_under_either_name():
    for scheme in ("source_formula", "majority_weighted"):
        merged = _cells(
            task=["categorize"] * 3,
            dataset=["clothing"] * 3,
            imbalance=[100.0] * 3,
            model=["tfidf_lr"] * 3,
            treatment=["none", "class_weight(scheme=inverse)", f"class_weight(scheme={scheme})"],
            recall_tail=[0.1, 0.4, 0.05],
            recall_tail_lo=[0.09, 0.35, 0.04],
            recall_tail_hi=[0.11, 0.45, 0.06],
        )
        blocks = K.majority_weighted_blocks(merged, REPORTS["categorize"])
        assert blocks[0].text == K.MAJORITY_WEIGHTED_TITLE + ", at ρ = 100"
        assert "majority class gets the larger weight" in blocks[0].text
        assert f"class_weight(scheme={scheme})" in blocks[-1].frame["treatment"].tolist()
        assert "source document" not in " ".join(b.text for b in blocks[:2])


def test_group_exposure_one_table_per_condition():
    # relevant_share must be constant within a condition; averaging levels would blur it
    data = _cells(
        imbalance=[None, None, 0.5, 0.5],
        treatment=["none", "fair(p=0.5)"] * 2,
        **{
            "exposure_share[popularity=head]": [0.9, 0.6, 0.95, 0.7],
            "relevant_share[popularity=head]": [0.40, 0.40, 0.33, 0.33],
        },
    )
    blocks = T.group_exposure_blocks(data, REPORTS["recommend"])
    inner = blocks[0].blocks
    tables = [b.frame for b in inner if isinstance(b, Table)]
    titles = [b.text for b in inner if isinstance(b, Heading) and b.level == 3]
    assert len(tables) == 2 and any("= 0.5" in t for t in titles)
    refs = sorted(t.loc[t["model"] == "(test relevance)", "popularity=head"].item() for t in tables)
    assert refs == ["0.330", "0.400"]


def test_better_direction_from_the_metric_registry():
    for key in ("exposure_gini", "exposure_gini_manufacturer", "arp", "ece", "bal_ece"):
        assert C.higher_is_better(key) is False, key
    # lower-is-better metrics that a name pattern misread as higher-is-better
    for key in ("ee_l", "ee_d", "head_tail_gap", "poprsp", "rsp[genre]", "exposure_vs_catalog[g]"):
        assert C.higher_is_better(key) is False, key
    for key in (
        "ndcg@10",
        "ndcg@10_tail",
        "non_head_share",
        "private_share",
        "ee_r",
        "recall_tail",
    ):
        assert C.higher_is_better(key) is True, key
    with pytest.raises(KeyError):
        C.higher_is_better("not_a_metric")


def test_pareto_front_with_ties():
    pts = pd.DataFrame({"acc": [0.3, 0.3, 0.2, 0.25, 0.1], "exp": [0.1, 0.1, 0.5, 0.2, 0.5]})
    mask = pareto_front(pts, "acc", "exp", exp_higher_better=True)
    # equal points both stay; (0.1, 0.5) is dominated by (0.2, 0.5)
    assert mask.tolist() == [True, True, True, True, False]
    low = pareto_front(pts, "acc", "exp", exp_higher_better=False)
    assert low.tolist() == [True, True, False, False, False]


def _change(treatment, acc, exp, p_acc, p_exp, on_front=True, null_acc="", null_exp=""):
    return H.Change(
        "m", treatment, acc, exp, p_acc, p_exp, 100, on_front, False, null_acc, null_exp
    )


def test_best_tradeoff_prefers_the_largest_gain_without_a_significant_cost():
    free = _change("a", (0.5, 0.49), (0.1, 0.2), 0.5, 0.001)  # cost not significant
    costly = _change("b", (0.5, 0.3), (0.1, 0.4), 0.001, 0.001)  # bigger gain, real cost
    off = _change("c", (0.5, 0.6), (0.1, 0.9), 0.001, 0.001, on_front=False)
    assert H.best_tradeoff([free, costly, off], exp_up=True) is free
    # every gain costs significant accuracy: the most gain per accuracy lost
    cheap = _change("d", (0.5, 0.45), (0.1, 0.2), 0.001, 0.001)  # 0.1 gain / 0.05 lost = 2
    assert H.best_tradeoff([costly, cheap], exp_up=True) is cheap  # 0.3 / 0.2 = 1.5 < 2
    # lower is better: a fall is the gain
    assert (
        H.best_tradeoff([_change("e", (0.5, 0.5), (0.3, 0.2), 1, 1)], exp_up=False).treatment == "e"
    )
    assert H.best_tradeoff([_change("e", (0.5, 0.5), (0.1, 0.05), 1, 1)], exp_up=True) is None
    # a significant cost that TOST shows within the smallest effect of interest counts as free
    tiny = replace(_change("f", (0.5, 0.497), (0.1, 0.35), 0.001, 0.001), acc_negligible=0.01)
    assert H.best_tradeoff([free, costly, tiny], exp_up=True) is tiny
    cost = H.sentences(tiny, "recommend", "cj", "ndcg@10", "non_head_share", True)[1]
    assert cost == (
        "It costs 0.00300 ndcg@10: 0.500 → 0.497 (−0.00300, −0.600 %), a change shown to lie within "
        "±0.01, the smallest effect of interest (equivalence test)."
    )


def test_headline_sentences_say_gain_cost_and_significance():
    best = _change(
        "xquad(lambda=0.9)", (0.120, 0.1112), (0.006, 0.17), 0.003, 0.12, null_exp="MDE ±0.2"
    )
    first, cost, test = H.sentences(best, "recommend", "cj", "ndcg@10", "non_head_share", True)
    # the exposure base 0.006 is below the floor: no percentage; the accuracy base is above it
    assert (
        first == "Best trade-off in cj: m with xquad(lambda=0.9) moves non_head_share "
        "0.00600 → 0.170 (+0.164)."
    )
    assert cost == "It costs 0.00880 ndcg@10: 0.120 → 0.111 (−0.00880, −7.33 %)."
    # the tests' own verdicts: p_holm and, for the null, its minimum detectable effect
    assert test.startswith("The non_head_share change is not significant (p_holm = 0.12; MDE ±0.2)")
    assert "ndcg@10 change is significant (p_holm = 0.0030)" in test
    assert "100 distinct users" in test and "Holm-corrected" in test


def test_legend_names_drop_parameters_only_while_distinct():
    from skewbench.report.plots import short_names

    assert short_names(["ease(l2=500)", "bpr(factors=64)"]) == {
        "ease(l2=500)": "ease",
        "bpr(factors=64)": "bpr",
    }
    two = short_names(["itemknn(neighbours=20)", "itemknn(neighbours=200,shrink=50)"], width=24)
    assert two == {
        "itemknn(neighbours=20)": "itemknn(neighbours=20)",
        "itemknn(neighbours=200,shrink=50)": "itemknn(neighbours=200,…",
    }


def test_most_skewed_condition_first():
    conds = [
        ({"dataset": "d", "imbalance": 10.0, "control": "", "setting": ""}, None),
        ({"dataset": "d", "imbalance": None, "control": "", "setting": ""}, None),
        ({"dataset": "d", "imbalance": 100.0, "control": "uniform", "setting": ""}, None),
        ({"dataset": "d", "imbalance": 100.0, "control": "", "setting": ""}, None),
    ]
    order = [(c["imbalance"], c["control"]) for c, _ in H.skew_order(conds)]
    assert order == [(100.0, ""), (10.0, ""), (None, ""), (100.0, "uniform")]


def test_sweep_shows_n_train_and_the_matched_control_beside_its_level():
    info = [{"n_train": 1000, "achieved_gini": 0.5}, {"n_train": 1000, "achieved_gini": 0.42}]
    data = _cells(
        imbalance=[0.5, 0.5, None],
        control=["", "uniform", ""],
        info=[info[0], info[1], {"n_train": 1500, "achieved_gini": 0.42}],
        **{"ndcg@10": [0.1, 0.12, 0.13]},
    )
    merged = data.drop(columns=["info", "seed"])
    blocks = T.sweep_blocks(data, REPORTS["recommend"], merged)
    tab = next(b.frame for b in blocks if isinstance(b, Table))
    assert tab["condition"].tolist() == ["as collected", "target level", "matched uniform control"]
    assert tab["n_train"].tolist() == ["1,500", "1,000", "1,000"]
    assert tab["ndcg@10 · ease"].tolist() == ["0.130", "0.100", "0.120"]
    assert not any(isinstance(b, Paragraph) and "No matched uniform" in b.text for b in blocks)


def test_tuning_choices_are_shown_per_cell():
    tuning = {
        "metric": "ndcg@10",
        "method": "grid",
        "chosen": {"l2": 500},
        "trials": [{"params": {"l2": 100}, "score": 0.1}, {"params": {"l2": 500}, "score": 0.12}],
        "refit": True,
    }
    data = _cells(info=[{"tuning": tuning}, {}])
    tab = next(b.frame for b in T.tuning_blocks(data, REPORTS["recommend"]) if isinstance(b, Table))
    assert tab[["chosen", "trials", "best validation score", "refit"]].values.tolist() == [
        ["l2=500", "2", "0.120", "yes"]
    ]
