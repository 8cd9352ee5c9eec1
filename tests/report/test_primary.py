"""The report's layout follows the cutoffs a run computed and its ``primary:`` option."""

from __future__ import annotations

import pytest

from skewbench.report.spec import REPORTS, for_metrics
from skewbench.runner.cell import Cell, Component
from skewbench.specs.validate import cell_errors

REC = REPORTS["recommend"]


def test_declared_layout_is_kept_when_its_cutoffs_were_computed():
    present = ["ndcg@5", "ndcg@10", "recall@20", "mrr@10", "non_head_share"]
    assert for_metrics(REC, present) is REC


def test_a_single_cutoff_moves_every_cutoff_metric_to_it():
    spec = for_metrics(REPORTS["search"], ["ndcg@5", "recall@5", "mrr@5", "ndcg@5_tail"])
    assert spec.primary == spec.unit_metric == "ndcg@5"
    assert spec.columns[:4] == ["ndcg@5", "recall@5", "mrr@5", "ndcg@10_head"]
    assert "ndcg@5_tail" in spec.columns  # computed at @5, so moved; _head was not
    assert spec.tradeoff[0] == ("ndcg@5", "exposure_gini_manufacturer")


def test_the_primary_option_leads_and_the_first_cutoff_is_the_default():
    present = ["ndcg@5", "ndcg@20", "recall@5", "recall@20", "mrr@5", "mrr@20"]
    assert for_metrics(REC, present).primary == "ndcg@5"
    spec = for_metrics(REC, present, primary="recall@20")
    assert spec.primary == spec.unit_metric == spec.columns[0] == "recall@20"
    assert spec.tradeoff[0] == ("recall@20", "exposure_gini")
    assert spec.columns.count("recall@20") == 1


@pytest.mark.parametrize(
    ("task", "options", "message"),
    [
        ("recommend", {"cutoffs": [5], "primary": "ndcg@10"}, "cutoff 10 is not one of"),
        ("recommend", {"cutoffs": [5], "primary": "auc@5"}, "metric 'auc' unknown"),
        ("search", {"k": 5, "primary": "precision@5"}, "metric 'precision' unknown"),
        ("search", {"k": 5, "primary": "ndcg"}, "primary"),
    ],
)
def test_a_primary_the_run_cannot_compute_is_refused(task, options, message):
    ds = Component("movielens100k") if task == "recommend" else Component("completejourney")
    cell = Cell(task, ds, Component("bm25" if task == "search" else "popularity"),
                Component("none"), None, 0, options=options)  # fmt: skip
    errors, _ = cell_errors(cell)
    assert any(message in e for e in errors), errors
    ok = {**options, "primary": "ndcg@5" if task == "recommend" else "recall@5"}
    assert not cell_errors(Cell(task, ds, cell.model, cell.treatment, None, 0, options=ok))[0]
