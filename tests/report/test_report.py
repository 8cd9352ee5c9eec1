"""The report from a real (small) run: leaderboards with seed CIs, paired tests, one HTML file."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats

from skewbench.report.aggregate import compare_models, significance, summarise
from skewbench.report.build import build_report
from skewbench.runner.config import parse_config
from skewbench.runner.run import run_config
from skewbench.runner.store import ResultStore

CONFIG = {
    "name": "report",
    "seed": 5,
    "seeds": 2,
    "experiments": [
        {
            "task": "recommend",
            "datasets": ["movielens100k"],
            "models": ["popularity", {"name": "itemknn", "neighbours": 50}],
            "treatments": ["none", {"name": "fair", "p": 0.5}],
            "options": {"cutoffs": [10, 20], "exposure_k": 10},
        }
    ],
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run_config(parse_config(CONFIG), out, progress=False)
    return out


def test_summary_is_the_t_interval_over_seeds(run_dir):
    with ResultStore(run_dir / "results.sqlite") as store:
        table = store.table()
    summary = summarise(table, ["ndcg@10"])
    row = summary[(summary["model"] == "popularity") & (summary["treatment"] == "fair(p=0.5)")]
    values = table[(table["model"] == "popularity") & (table["treatment"] == "fair(p=0.5)")][
        "ndcg@10"
    ].to_numpy()
    assert row["n_seeds"].item() == 2
    half = stats.t.ppf(0.975, 1) * values.std(ddof=1) / np.sqrt(2)
    assert row["ndcg@10"].item() == pytest.approx(values.mean())
    assert row["ndcg@10_hi"].item() - row["ndcg@10"].item() == pytest.approx(half)


def test_paired_tests_pair_the_same_users(run_dir):
    with ResultStore(run_dir / "results.sqlite") as store:
        table = store.table()
        sig = significance(store, table, "ndcg@10")
        a = store.units(
            table[
                (table["model"] == "popularity")
                & (table["seed"] == 0)
                & (table["treatment"] == "none")
            ]["key"].item()
        )
        cmp = compare_models(store, table, "ndcg@10", "popularity", ["itemknn(neighbours=50)"])
    assert set(sig["treatment"]) == {"fair(p=0.5)"}
    assert len(sig) == 2  # one comparison per model
    # units pooled over 2 seeds: every evaluated user twice
    assert (sig["n_units"] == 2 * a["ndcg@10"].notna().sum()).all()
    assert ((sig["p_holm"] >= sig["p"]) & (sig["p_holm"] <= 1)).all()
    assert cmp["delta"].item() > 0 and cmp["p_holm"].item() < 0.01  # ItemKNN beats popularity


def test_markdown_and_self_contained_html(run_dir):
    md, page = build_report(run_dir)
    text = md.read_text()
    assert "### Leaderboard — movielens100k, imbalance natural" in text
    assert "Significance against 'none' (ndcg@10)" in text
    assert "Δ tail_share" in text
    html = page.read_text()
    assert "data:image/png;base64," in html
    # self-contained: no image or stylesheet loaded from anywhere else
    assert not re.search(r"<img[^>]+src=['\"](?!data:)", html)
    assert "<link" not in html


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results store"):
        build_report(tmp_path)


def test_resolution_lets_holm_reach_alpha():
    from skewbench.report.aggregate import resamples_for

    for m in (1, 10, 54, 300, 2000):
        n = resamples_for(m)
        assert n >= 10_000
        assert m / (n + 1) <= 0.01 / 2  # smallest attainable p_holm
