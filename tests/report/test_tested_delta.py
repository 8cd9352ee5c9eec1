"""Every comparison a report tests, in all three tasks, tests exactly the Δ it prints.

One small real run per task whose seeds hold different units (categorize: a grouped split that
rotates test reviews between seeds; recommend: a user sample per seed; search: a query split per
seed), with a one-factor model pair in each task so the contrast tables are tested too. The
report is built while every family of paired tests is recorded. In each family the tested
statistic Σ c_i (``delta``) equals the cells' own difference of means (``cell_delta``) to
1e-12, and ``skewbench plan`` sizes exactly the comparisons the report tested, in the same
Holm families. (The same check on the default run, ``configs/quick.yaml``, is reported in
docs/results.md.)
"""

from __future__ import annotations

import pandas as pd
import pytest

from skewbench.report import aggregate
from skewbench.report.aggregate import with_conditions
from skewbench.report.build import build_report
from skewbench.report.plan import comparison_families
from skewbench.runner.config import parse_config
from skewbench.runner.run import run_config
from skewbench.runner.store import ResultStore

pytestmark = pytest.mark.slow  # three real runs and a full report: about a minute of CPU

TREAT = {"fair": {"name": "fair", "p": 0.5}}
CONFIG = {
    "name": "tested_delta",
    "seed": 11,
    "seeds": 2,
    "experiments": [
        {
            "task": "categorize",
            "datasets": [{"name": "clothing", "label": "class_name"}],
            "imbalance_ratio": [100],
            "models": ["tfidf_lr", {"name": "tfidf_lr", "C": 0.1}],
            "treatments": ["none", {"name": "class_weight", "scheme": "inverse"}],
        },
        {
            "task": "recommend",
            "datasets": ["movielens100k"],
            "models": [
                {"name": "itemknn", "neighbours": 20},
                {"name": "itemknn", "neighbours": 50},
            ],
            "treatments": ["none", TREAT["fair"]],
            "options": {"cutoffs": [10], "exposure_k": 10, "max_users": 150},
        },
        {
            "task": "search",
            "datasets": [{"name": "completejourney", "queries": "type", "min_item_count": 300}],
            "models": ["bm25", {"name": "bm25", "k1": 0.9}],
            "treatments": ["none", {**TREAT["fair"], "group": "brand"}],
            "options": {"k": 10, "cutoffs": [10], "candidates": 30},
        },
    ],
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """(every family of paired tests the report computed, the store's conditioned table, the
    families :func:`comparison_families` lists for the same store)."""
    out = tmp_path_factory.mktemp("run")
    run_config(parse_config(CONFIG), out, progress=False)
    seen: list[pd.DataFrame] = []
    holm_table = aggregate._holm_table

    def recording(*args, **kwargs):
        res = holm_table(*args, **kwargs)
        seen.append(res)
        return res

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(aggregate, "_holm_table", recording)
        build_report(out, exports=False)
    with ResultStore(out / "results.sqlite") as store:
        configs = store.configs()
        table = with_conditions(store.table(), configs)
        listed = comparison_families(store, table, configs)
    return [f for f in seen if not f.empty], table, listed


def test_every_tested_delta_is_the_printed_delta_in_all_three_tasks(recorded):
    families, table, _ = recorded
    tests = pd.concat(families, ignore_index=True)
    assert set(tests["task"]) == {"categorize", "recommend", "search"}
    # the seeds hold different units in every task, so the unit shares matter
    assert (tests["replicates"] == 2).all() and not tests["deterministic"].any()
    assert tests["cell_delta"].notna().all()
    gap = (tests["delta"] - tests["cell_delta"]).abs()
    assert gap.max() <= 1e-12, tests.loc[gap.idxmax()].to_dict()
    # each task: treatments against none, and the one-factor model contrast (its rows name
    # no single model)
    vs = tests["vs"] if "vs" in tests else pd.Series(None, index=tests.index, dtype=object)
    treat = vs.isna() & tests["model"].notna()
    for task in ("categorize", "recommend", "search"):
        assert (treat & (tests["task"] == task)).sum() >= 2
        assert (~treat & (tests["task"] == task)).sum() >= 2
    # a treatment row's Δ is the plain difference of the two systems' mean over the seeds
    for _, r in tests[treat].iterrows():
        same = (table["task"] == r["task"]) & (table["dataset"] == r["dataset"])
        same &= table["model"] == r["model"]
        a = table[same & (table["treatment"] == r["treatment"])][r["metric"]].mean()
        b = table[same & (table["treatment"] == "none")][r["metric"]].mean()
        assert abs(a - b - r["delta"]) <= 1e-12


def _signature(families: list[pd.DataFrame]) -> list[tuple]:
    """(task, dataset, treatment, metric, model of a treatment row, family size) per row; the
    report's factor rows name no model, comparison_families names the variant and the base."""
    rows = []
    for f in families:
        for _, r in f.iterrows():
            contrast = isinstance(r.get("vs"), str) or not isinstance(r.get("model"), str)
            model = "" if contrast else r["model"]
            rows.append((r["task"], r["dataset"], r["treatment"], r["metric"], model, len(f)))
    return sorted(rows)


def test_plan_lists_exactly_the_comparisons_the_report_tested(recorded):
    families, _, listed = recorded
    assert _signature(listed) == _signature(families)
    assert len(_signature(families)) >= 20
