"""Recommend study design on MovieLens-100k: validation carved from training, tuning on it,
imbalance sweeps at a fixed training size with matched uniform controls, re-ranker caps."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.data.groups import item_popularity_matrix, popularity_groups
from skewbench.errors import ConfigError
from skewbench.metrics.topk import topk
from skewbench.models.recommend import EASE
from skewbench.runner.cell import Cell, Component
from skewbench.runner.config import parse_config
from skewbench.runner.grid import expand
from skewbench.tasks import recommend

LEVELS = [None, 0.75, 0.8]  # MovieLens-100k's training Gini is about 0.667
TUNE = {"space": {"l2": [50, 200, 1000]}, "method": "grid", "trials": 20, "metric": None,
        "refit": True}  # fmt: skip


def cell(model="popularity", treatment="none", tparams=None, *, imbalance=None, control=None,
         levels=None, tune=None, dataset=None, seed=0):  # fmt: skip
    opts = {"cutoffs": [10, 20]}
    if levels is not None:
        opts["imbalance_levels"] = levels
    return Cell(
        "recommend",
        dataset or Component("movielens100k"),
        Component(model, {}),
        Component(treatment, tparams or {}),
        imbalance,
        seed,
        master_seed=0,
        options=opts,
        tune=tune,
        control=control,
    )


def pairs(M: sp.csr_matrix) -> set[tuple[int, int]]:
    M = M.tocoo()
    return set(zip(M.row.tolist(), M.col.tolist(), strict=True))


@pytest.mark.parametrize("split", ["ratio", "temporal"])
def test_validation_is_carved_from_training_and_never_overlaps_test(split):
    ds = Component("movielens100k", {"split": split})
    c = cell("ease", tune=TUNE, dataset=ds)
    data, X, T, _ = recommend.load_split(c)
    F, V, info = recommend.validation_split(c)
    assert F.nnz > 0 and V.nnz > 0
    assert not pairs(V) & pairs(T) and not pairs(F) & pairs(T)
    assert pairs(F) | pairs(V) <= pairs(X)  # both inside the training split
    assert not pairs(F) & pairs(V)
    if split == "temporal":  # validation = the last part of the training period
        assert info["protocol"] == "temporal"
        inter = data.interactions
        ts = dict(zip(zip(inter["user_id"], inter["item_id"], strict=True), inter["timestamp"],
                      strict=True))  # fmt: skip
        assert max(ts[p] for p in pairs(F)) < info["cut"] <= min(ts[p] for p in pairs(V))
        assert max(ts[p] for p in pairs(V)) < min(ts[p] for p in pairs(T))
    else:
        assert info["protocol"] == "per-user random"
        # about val_frac of each user's training items
        assert V.nnz / X.nnz == pytest.approx(0.2, abs=0.02)


def test_tuning_picks_on_validation_stores_the_record_and_refits_on_training():
    r = recommend.run(cell("ease", tune=TUNE))
    t = r.info["tuning"]
    assert [tr["params"]["l2"] for tr in t["trials"]] == [50, 200, 1000]
    scores = [tr["score"] for tr in t["trials"]]
    assert t["chosen"] == t["trials"][int(np.argmax(scores))]["params"]
    assert t["metric"] == "ndcg@10" and t["refit"] is True and t["method"] == "grid"
    assert r.info["model_params"] == {"l2": t["chosen"]["l2"]}
    # refit on the whole training split: the cell equals an untuned cell with the chosen λ
    _, X, _, _ = recommend.load_split(cell())
    assert r.info["n_train"] == X.nnz
    fixed = Cell(**{**cell("ease").__dict__, "model": Component("ease", t["chosen"])})
    assert recommend.run(fixed).metrics["ndcg@10"] == pytest.approx(r.metrics["ndcg@10"], abs=1e-12)
    # the validation score is an independent evaluation: recompute the chosen trial's by hand
    F, V, _ = recommend.validation_split(cell("ease", tune=TUNE))
    users = np.flatnonzero(np.diff(V.indptr) > 0)
    S = EASE(l2=t["chosen"]["l2"]).fit(F).score(users)
    top = topk(S, 10, exclude=F[users])
    gains = np.take_along_axis(V[users].toarray(), np.maximum(top, 0), 1) * (top >= 0)
    dcg = (gains / np.log2(np.arange(2, 12))).sum(1)
    n_rel = np.minimum(np.diff(V[users].indptr), 10)
    idcg = np.array([(1 / np.log2(np.arange(2, n + 2))).sum() for n in n_rel])
    assert max(scores) == pytest.approx(float(np.mean(dcg / idcg)), abs=1e-9)


def test_rerankers_reuse_the_tuned_base_model_and_report_their_caps():
    base = recommend.run(cell("ease", tune=TUNE))
    r = recommend.run(cell("ease", "xquad", {"lambda": 0.5}, tune=TUNE))
    assert r.info["tuning"]["chosen"] == base.info["tuning"]["chosen"]
    assert r.info["model_params"] == base.info["model_params"]
    assert r.info["candidate_pool_size"] == 100 and r.info["protected_group"] == "long_tail"
    # independent recomputation: EASE with the chosen λ, top-100 unseen items per test user
    _, X, T, _ = recommend.load_split(cell())
    users = np.flatnonzero(np.diff(T.indptr) > 0)
    S = EASE(**base.info["model_params"]).fit(X).score(users)
    pool = topk(S, 100, exclude=X[users])
    tail = popularity_groups(item_popularity_matrix(X)) != "head"
    expected = float(np.mean(~tail[pool].any(1)))
    assert r.info["share_units_no_protected_in_pool"] == pytest.approx(expected, abs=1e-12)
    # popularity's pool: the 100 most popular unseen items hold no tail item for most users
    p = recommend.run(cell("popularity", "fair", {"p": 0.5}))
    assert 0.5 < p.info["share_units_no_protected_in_pool"] <= 1.0
    for name, params in [("calibrated", {"lambda": 0.5}), ("mmr", {"lambda": 0.5})]:
        info = recommend.run(cell("popularity", name, params)).info
        assert 0.0 <= info["share_units_no_protected_in_pool"] <= 1.0
        assert info["protected_group"] and info["candidate_pool_size"] == 100


def test_sweep_levels_train_on_one_size_and_controls_match_it_with_lower_gini():
    results = {}
    for imb in LEVELS:
        for control in [None, "uniform"] if imb is not None else [None]:
            c = cell(imbalance=imb, control=control, levels=LEVELS)
            results[(imb, control)] = recommend.run(c).info
    n = {k: v["n_train"] for k, v in results.items()}
    assert len(set(n.values())) == 1, n
    sizes = results[(0.8, None)]["dataset"]["sweep"]["sizes_at_target"]
    assert n[(0.8, None)] == min(sizes.values()) < sizes["None"]  # the most skewed level sets it
    for level in (0.75, 0.8):
        skewed, control = results[(level, None)], results[(level, "uniform")]
        assert skewed["achieved_gini"] == pytest.approx(level, abs=2e-3)
        assert control["achieved_gini"] < skewed["achieved_gini"] - 0.05
        assert control["control"] == "uniform" and skewed["control"] == ""
        assert skewed["target_gini"] == control["target_gini"] == level
    # the natural level of the sweep is a uniform subsample of the same size
    assert results[(None, None)]["achieved_gini"] == results[(0.8, "uniform")]["achieved_gini"]
    # every model of a replicate sees the same subsample (data-side streams)
    a = recommend.load_split(cell("ease", imbalance=0.75, levels=LEVELS))[1]
    b = recommend.load_split(cell("itemknn", "xquad", {"lambda": 0.3}, imbalance=0.75,
                                  levels=LEVELS))[1]  # fmt: skip
    assert (a != b).nnz == 0
    # ... and another replicate a different one
    c2 = recommend.load_split(cell(imbalance=0.75, levels=LEVELS, seed=1))[1]
    assert (a != c2).nnz > 0


def _sweep_config(levels, **exp):
    return {
        "name": "t",
        "seeds": 2,
        "experiments": [
            {
                "task": "recommend",
                "datasets": ["movielens100k"],
                "target_gini": levels,
                "models": ["popularity"],
                "treatments": ["none", {"name": "fair", "p": 0.5}],
                **exp,
            }
        ],
    }


def test_grid_adds_matched_controls_and_the_sweep_levels():
    cells = expand(parse_config(_sweep_config([None, 0.75])))
    assert [(c.imbalance, c.control) for c in cells if c.seed == 0 and c.treatment.name == "none"] == [
        (None, None), (0.75, None), (0.75, "uniform")]  # fmt: skip
    assert len(cells) == 3 * 2 * 2
    assert all(c.options["imbalance_levels"] == [None, 0.75] for c in cells)
    off = expand(parse_config(_sweep_config([0.75], uniform_control=False)))
    assert {c.control for c in off} == {None}
    plain = expand(parse_config(_sweep_config([None])))
    assert all("imbalance_levels" not in c.options and c.control is None for c in plain)
    with pytest.raises(ConfigError, match="needs an imbalance sweep"):
        parse_config(_sweep_config([None], uniform_control=True))


@pytest.mark.parametrize(
    ("levels", "needle"),
    [
        ([0.6, 0.75], r"Gini is 0\.6\d{3} \(the smallest reachable\)"),
        ([0.99999], r"reaches at most 0\.99"),
        ([0.68, 0.9], r"n_train = \d+ \(set by level 0.9\).*reachable range is \[0\.68"),
    ],
)
def test_unreachable_levels_are_refused_at_validation_with_the_bound(levels, needle):
    with pytest.raises(ConfigError, match=needle):
        expand(parse_config(_sweep_config(levels)))


def test_tune_is_refused_for_untunable_models_and_bad_spaces():
    with pytest.raises(ConfigError, match="no tunable parameters"):
        recommend.check(cell("popularity", tune={**TUNE, "space": True}))
    with pytest.raises(ConfigError, match=r"shrink.*(allowed|tunable)"):
        recommend.check(cell("ease", tune={**TUNE, "space": {"shrink": [1]}}))
    with pytest.raises(ConfigError, match="l2"):
        recommend.check(cell("ease", tune={**TUNE, "space": {"l2": [100, -1]}}))
    with pytest.raises(ConfigError, match="tune.metric"):
        recommend.check(cell("ease", tune={**TUNE, "metric": "auc"}))
    recommend.check(cell("als", tune={**TUNE, "space": True, "trials": 3}))
