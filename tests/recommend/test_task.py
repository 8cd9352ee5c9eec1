"""The recommend task end to end on MovieLens-100k, its config checks, and the pinned protocol."""

from __future__ import annotations

import numpy as np
import pytest

from skewbench.errors import ConfigError, IncompatibleError
from skewbench.runner.cell import Cell, Component
from skewbench.tasks import recommend

OPTIONS = {"cutoffs": [10, 20]}


def ml_cell(
    model: str, treatment: str = "none", tparams=None, mparams=None, imbalance=None, seed=0
):
    return Cell(
        "recommend",
        Component("movielens100k"),
        Component(model, mparams or {}),
        Component(treatment, tparams or {}),
        imbalance,
        seed,
        master_seed=0,
        options=OPTIONS,
    )


# MovieLens-100k protocol (README): ratings >= 4 are the interactions; per-user random 80/20
# split (cell master_seed 0, replicate 0); full ranking over all 1,447 items with training items
# excluded; default model parameters (ItemKNN 100 neighbours, shrink 10; EASE λ = 500; BPR 64
# factors, 20 epochs, SGD lr 0.01, reg 0.01 — implicit's defaults). Pop, ItemKNN and EASE are
# deterministic closed forms: pinned to 1e-9. BPR is bit-reproducible on one machine and numba
# build, but SGD amplifies float rounding that differs across CPUs and libm versions (exp,
# log1p), so it gets an absolute tolerance of 0.01. Invariant guarded: the MovieLens-100k
# protocol (split, exclusion, full ranking, default parameters) gives the numbers it gave when
# they were written down; only a deliberate protocol change may move them, saying why.
PINNED = {
    "popularity": (0.15203352729122685, 0.18440251322898893, 1e-9),
    "itemknn": (0.2859158587890441, 0.34682284873293495, 1e-9),
    "ease": (0.316047886047264, 0.3656660017689575, 1e-9),
    "bpr": (0.16196901061374988, 0.18592958025130207, 0.01),
}


@pytest.mark.parametrize("model", list(PINNED))
def test_movielens100k_protocol_numbers_are_pinned(model):
    ndcg, recall, tol = PINNED[model]
    result = recommend.run(ml_cell(model))
    assert result.metrics["ndcg@10"] == pytest.approx(ndcg, abs=tol)
    assert result.metrics["recall@20"] == pytest.approx(recall, abs=tol)


def test_end_to_end_cell_orders_models_and_reports_everything():
    results = {m: recommend.run(ml_cell(m)) for m in ("random", "popularity", "ease")}
    ndcg = {m: r.metrics["ndcg@10"] for m, r in results.items()}
    assert ndcg["popularity"] > ndcg["random"]
    assert ndcg["ease"] > ndcg["popularity"]
    r = results["ease"]
    for key in ("ndcg@10", "recall@20", "mrr@10", "exposure_gini", "aplt", "arp", "coverage",
                "novelty", "non_head_share", "exposure_share[popularity=tail]",
                "relevant_share[popularity=tail]", "exposure_share[genre=Drama]"):  # fmt: skip
        assert key in r.metrics, key
    assert set(results["random"].metrics) == set(r.metrics)  # same metric set for every cell
    info = r.info["dataset"]
    assert info["kcore"]["users"] == 942 and info["kcore"]["items"] == 1447
    assert info["train_rows"] + info["test_rows"] == 55375
    assert len(r.units) == r.info["n_eval_users"] == 942
    np.testing.assert_allclose(r.units["ndcg@10"].mean(), r.metrics["ndcg@10"])
    # Same cell twice: identical numbers.
    again = recommend.run(ml_cell("ease"))
    np.testing.assert_equal(again.metrics, r.metrics)  # NaN-aware


def test_rerankers_raise_tail_share_and_imbalance_reaches_target():
    base = recommend.run(ml_cell("popularity")).metrics
    for name, params in [("xquad", {"lambda": 0.9}), ("fair", {"p": 0.6}),
                         ("calibrated", {"lambda": 0.9, "groups": "popularity"})]:  # fmt: skip
        m = recommend.run(ml_cell("popularity", name, params)).metrics
        assert m["non_head_share"] > base["non_head_share"], name
    r = recommend.run(ml_cell("popularity", imbalance=0.8))
    assert r.info["achieved_gini"] == pytest.approx(0.8, abs=2e-3)
    assert r.info["dataset"]["test_rows"] == 11079  # test untouched


def test_check_refuses_bad_cells():
    recommend.check(ml_cell("bpr", "ips", {"eta": 0.5}))
    with pytest.raises(IncompatibleError):
        recommend.check(ml_cell("ease", "ips", {"eta": 0.5}))
    with pytest.raises(IncompatibleError):
        recommend.check(ml_cell("als", "pop_negatives", {"beta": 0.5}))
    with pytest.raises(ConfigError):
        recommend.check(ml_cell("nope"))
    with pytest.raises(ConfigError):
        recommend.check(ml_cell("ease", mparams={"lamda": 3}))
    with pytest.raises(ConfigError):
        recommend.check(ml_cell("ease", "xquad", {}))
    with pytest.raises(ConfigError):
        recommend.check(ml_cell("ease", "xquad", {"lambda": 3}))
    with pytest.raises(ConfigError):
        recommend.check(ml_cell("ease", "fair", {"p": 0.5, "alpha": 2}))
    with pytest.raises(ConfigError):
        recommend.check(ml_cell("ease", imbalance=1.5))
