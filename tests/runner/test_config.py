"""Config validation: a bad config fails before any work, naming the field and the value."""

from __future__ import annotations

import pytest

from skewbench.errors import ConfigError
from skewbench.runner.cell import Component
from skewbench.runner.config import load_config, parse_config
from skewbench.runner.grid import expand


def _config(**over):
    base = {
        "name": "t",
        "seed": 7,
        "seeds": 2,
        "experiments": [
            {
                "task": "categorize",
                "datasets": [{"name": "clothing", "label": "class_name"}],
                "imbalance_ratio": [1, 10],
                "models": ["tfidf_lr"],
                "treatments": ["none", {"name": "class_weight", "scheme": "inverse"}],
            }
        ],
    }
    base.update(over)
    return base


def test_components_parse_names_params_and_sweeps():
    cfg = parse_config(
        _config(
            experiments=[
                {
                    "task": "recommend",
                    "datasets": ["movielens100k"],
                    "models": ["ease"],
                    "treatments": [
                        "none",
                        {"name": "xquad", "k": 10, "sweep": {"lambda": [0.1, 0.9]}},
                    ],
                }
            ]
        )
    )
    exp = cfg.experiments[0]
    assert [c.label for s in exp.treatments for c in s.expand()] == [
        "none",
        "xquad(k=10,lambda=0.1)",
        "xquad(k=10,lambda=0.9)",
    ]
    assert cfg.seeds == [0, 1]
    assert exp.imbalance == [None]


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda c: c.update(bogus=1), "bogus: unknown key; allowed: ["),
        (lambda c: c["experiments"][0].update(modles=[]), "did you mean 'models'?"),
        (lambda c: c.update(seeds=[1, 1]), "seeds: seeds must be distinct"),
        (lambda c: c.update(workers=0), "workers: Input should be greater than or equal to 1"),
        (lambda c: c["experiments"][0].update(task="cluster"), "experiments.0.task"),
        (lambda c: c["experiments"][0].update(imbalance_ratio=[0.5]), "imbalance_ratio: a ratio"),
        (lambda c: c["experiments"][0].update(imbalance=[3]), "write imbalance_ratio: [...]"),
        (lambda c: c["experiments"][0].update(target_gini=[0.5]), "target_gini: only for task"),
        (lambda c: c["experiments"][0].update(models=[]), "experiments.0.models"),
        (lambda c: c["experiments"][0].update(typo=[]), "experiments.0.typo"),
        (lambda c: c.update(sesoi={"ndgc@10": 0.01}), "sesoi: unknown metric(s) ['ndgc@10']"),
        (lambda c: c.update(sesoi={"ndcg@10": -0.01}), "sesoi values must be finite and >= 0"),
        (
            lambda c: c["experiments"][0].update(
                treatments=[{"name": "focal", "sweep": {"gamma": []}}]
            ),
            "sweep of 'gamma' is empty",
        ),
    ],
)
def test_bad_config_names_the_field(mutate, needle):
    data = _config()
    mutate(data)
    with pytest.raises(ConfigError) as err:
        parse_config(data, "my.yaml")
    assert "my.yaml" in str(err.value)
    assert needle in str(err.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- just a list\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(bad)


def test_grid_expansion_keys_and_derived_seeds_are_stable():
    cfg = parse_config(_config())
    cells = expand(cfg, check=False)
    assert len(cells) == 2 * 2 * 1 * 2  # imbalance × seeds × models × treatments
    assert len({c.key for c in cells}) == len(cells)
    # Adding a treatment and a seed changes no existing cell's key or random stream.
    bigger = _config(seeds=3)
    bigger["experiments"][0]["treatments"].append("oversample")
    more = {c.key: c for c in expand(parse_config(bigger), check=False)}
    for c in cells:
        assert c.key in more
        assert c.rng("fit").integers(1 << 30) == more[c.key].rng("fit").integers(1 << 30)


def test_data_side_streams_are_shared_by_models_and_treatments():
    cfg = parse_config(_config())
    cells = [c for c in expand(cfg, check=False) if c.seed == 0 and c.imbalance == 10]
    a, b = cells  # same replicate, two treatments
    assert a.treatment != b.treatment
    assert a.seed_int("split", data_side=True) == b.seed_int("split", data_side=True)
    assert a.seed_int("imbalance", data_side=True) == b.seed_int("imbalance", data_side=True)
    assert a.seed_int("fit") != b.seed_int("fit")
    # The split does not depend on the imbalance level; the subsample does.
    other = next(c for c in expand(cfg, check=False) if c.seed == 0 and c.imbalance == 1)
    assert other.seed_int("split", data_side=True) == a.seed_int("split", data_side=True)
    assert other.seed_int("imbalance", data_side=True) != a.seed_int("imbalance", data_side=True)


def test_component_label_is_canonical():
    assert (
        Component("cw", {"scheme": "inverse", "beta": 0.99}).label == "cw(beta=0.99,scheme=inverse)"
    )
