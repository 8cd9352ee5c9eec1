"""Tuning machinery: candidates, choice, config block, cell records."""

from __future__ import annotations

import numpy as np
import pytest

from skewbench.errors import ConfigError
from skewbench.runner.config import parse_config
from skewbench.runner.grid import expand
from skewbench.tuning import Range, TuneSettings, candidates, choose, parse_space, search

DECLARED = {"l2": [10.0, 100.0, 1000.0], "shrink": Range(low=0, high=50, int=True)}


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_grid_is_the_product_in_written_order():
    space = {"a": [1, 2], "b": ["x", "y", "z"]}
    pts = candidates(space, "grid", 100, rng())
    assert pts == [{"a": a, "b": b} for a in (1, 2) for b in ("x", "y", "z")]


def test_grid_over_budget_is_a_seeded_subset_in_grid_order():
    space = {"a": list(range(10)), "b": [0, 1]}
    pts = candidates(space, "grid", 5, rng(3))
    assert len(pts) == 5
    full = candidates(space, "grid", 100, rng())
    idx = [full.index(p) for p in pts]
    assert idx == sorted(idx)
    assert pts == candidates(space, "grid", 5, rng(3))  # same stream → same subset
    assert pts != candidates(space, "grid", 5, rng(4))


def test_grid_refuses_ranges():
    with pytest.raises(ConfigError, match="method: random"):
        candidates({"x": Range(low=0, high=1)}, "grid", 5, rng())


def test_random_draws_within_ranges_and_lists():
    space = {
        "lr": Range(low=1e-4, high=1e-1, log=True),
        "k": Range(low=2, high=9, int=True),
        "f": [16, 32],
    }
    pts = candidates(space, "random", 50, rng(1))
    assert 40 <= len(pts) <= 50
    for p in pts:
        assert 1e-4 <= p["lr"] <= 1e-1
        assert isinstance(p["k"], int) and 2 <= p["k"] <= 9
        assert p["f"] in (16, 32)
    logs = np.log10([p["lr"] for p in pts])
    assert logs.min() < -3 and logs.max() > -2  # log-uniform spreads over decades


def test_random_dedupes_repeats():
    pts = candidates({"a": [1, 2]}, "random", 30, rng())
    assert sorted(p["a"] for p in pts) == [1, 2]


def test_choice_takes_first_of_ties_and_skips_nan():
    assert choose([0.1, 0.3, 0.3, 0.2]) == 1
    assert choose([float("nan"), 0.0, float("nan")]) == 1
    with pytest.raises(ValueError):
        choose([float("nan")])


def test_search_picks_best_on_validation_and_records_every_trial():
    space = {"l2": [1.0, 10.0, 100.0, 1000.0]}
    # a peaked validation curve at 100
    res = search(
        space,
        lambda p: -abs(np.log10(p["l2"]) - 2),
        settings=TuneSettings(),
        metric="ndcg@10",
        rng=rng(),
    )
    info = res.to_info()
    assert info["chosen"] == {"l2": 100.0}
    assert [t["params"]["l2"] for t in info["trials"]] == [1.0, 10.0, 100.0, 1000.0]
    assert info["trials"][2]["score"] == 0.0
    assert info["metric"] == "ndcg@10" and info["method"] == "grid" and info["refit"] is True


def test_parse_space():
    assert parse_space(True, DECLARED) == DECLARED
    assert parse_space(True, DECLARED, fixed={"l2": 5}) == {"shrink": DECLARED["shrink"]}
    sp_ = parse_space({"l2": [1, 2], "shrink": {"low": 1, "high": 9, "log": True}}, DECLARED)
    assert sp_["l2"] == [1, 2] and sp_["shrink"] == Range(low=1, high=9, log=True)
    with pytest.raises(ConfigError, match=r"tunable parameters: \['l2', 'shrink'\]"):
        parse_space({"alpha": [1]}, DECLARED)
    with pytest.raises(ConfigError, match="both fixed and tuned"):
        parse_space({"l2": [1]}, DECLARED, fixed={"l2": 3})
    with pytest.raises(ConfigError, match="low > 0"):
        parse_space({"l2": {"low": 0, "high": 1, "log": True}}, DECLARED)
    with pytest.raises(ConfigError, match="empty list"):
        parse_space({"l2": []}, DECLARED)


def _cfg(model, **exp):
    return {
        "name": "t",
        "seeds": 2,
        "experiments": [
            {"task": "recommend", "datasets": ["movielens100k"], "models": [model], **exp}
        ],
    }


def test_config_tune_block_reaches_cells():
    cfg = parse_config(
        _cfg(
            {"name": "ease", "dtype": "float32", "tune": {"l2": [50, 500]}},
            tune={"method": "random", "trials": 3},
        )
    )
    cells = expand(cfg, check=False)
    assert len(cells) == 2
    assert cells[0].model.params == {"dtype": "float32"}
    assert cells[0].tune == {
        "space": {"l2": [50, 500]},
        "method": "random",
        "trials": 3,
        "metric": None,
        "refit": True,
    }
    plain = expand(parse_config(_cfg({"name": "ease", "dtype": "float32"})), check=False)
    assert plain[0].tune is None and "tune" not in plain[0].to_dict()
    assert plain[0].key != cells[0].key


@pytest.mark.parametrize(
    ("cfg", "needle"),
    [
        (_cfg("ease", tune={"trials": 3}), "no model has a `tune:` key"),
        (_cfg({"name": "ease", "tune": {"l2": [1]}}, tune={"trialz": 3}), "trialz"),
        (_cfg({"name": "ease", "tune": {"l2": [1]}}, tune={"method": "bayes"}), "method"),
        (_cfg({"name": "ease", "l2": 5, "tune": {"l2": [1]}}), "both tuned and fixed"),
        (
            {
                **_cfg("ease"),
                "experiments": [
                    {
                        "task": "recommend",
                        "models": ["ease"],
                        "datasets": [{"name": "movielens100k", "tune": True}],
                    }
                ],
            },
            "only models can be tuned",
        ),
    ],
)
def test_bad_tune_configs_are_refused(cfg, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_config(cfg)


def test_a_task_without_tuning_support_refuses_tune(monkeypatch):
    cfg = parse_config(
        {
            "name": "t",
            "experiments": [
                {
                    "task": "categorize",
                    "datasets": [{"name": "clothing", "label": "class_name"}],
                    "models": [{"name": "tfidf_lr", "tune": True}],
                }
            ],
        }
    )
    from skewbench.tasks import get_task

    # every shipped task tunes; a task that declares it does not must refuse `tune:`
    monkeypatch.setattr(get_task("categorize"), "TUNABLE", False)
    with pytest.raises(ConfigError, match="does not tune models"):
        expand(cfg)
