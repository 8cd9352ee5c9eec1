"""The command line: the shipped configs validate, and bad input is one clear line, exit 2."""

from pathlib import Path

import pytest

from skewbench.cli import main

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("config", CONFIGS, ids=[c.name for c in CONFIGS])
def test_shipped_configs_validate(config, capsys):
    assert main(["validate", str(config)]) == 0
    assert "valid;" in capsys.readouterr().out


def test_bad_config_is_one_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nexperiments:\n  - task: categorize\n    datasets: [clothing]\n"
        "    models: [tfidf_lr]\n    treatments: [{name: focal, gamma: 2}]\n"
    )
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skewbench: error: experiments.0 (categorize)")
    assert "focal" in err and "Traceback" not in err


def test_datasets_and_profile(tmp_path, capsys):
    assert main(["datasets"]) == 0
    assert "| clothing |" in capsys.readouterr().out
    assert main(["profile", "clothing", "--label", "class_name", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "imbalance ratio (max/min): 6,146.0" in out
    assert (tmp_path / "profile_clothing_class_name.png").stat().st_size > 1000


def test_unknown_label_column(capsys):
    assert main(["profile", "clothing", "--label", "colour"]) == 2
    assert "colour" in capsys.readouterr().err
