"""The shared pipeline pieces: the candidate cache, stage timings, list evaluation, and the
typed re-ranker context against the mapping form."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.metrics.ranking import ranking_metrics
from skewbench.pipeline import (
    STAGES,
    CandidateCache,
    Candidates,
    Timings,
    candidate_key,
    group_mean,
    per_unit_ranking,
    run_stages,
    unit_means,
)
from skewbench.treatments.rerank import (
    Calibrated,
    Fair,
    XQuAD,
    rerank_params,
)
from tests.pipeline.pinned import CELLS


def _cand(tag: int) -> Candidates:
    return Candidates(np.full((1, 2), tag), None)


def test_cache_is_lru_and_store_false_keeps_nothing():
    cache, made = CandidateCache(size=2), []

    def make(tag):
        made.append(tag)
        return _cand(tag)

    cache.get("a", lambda: make(1))
    cache.get("b", lambda: make(2))
    assert cache.get("a", lambda: make(9)).items[0, 0] == 1  # hit; "a" is now the newest
    cache.get("c", lambda: make(3))  # evicts "b", the least recently used
    assert cache.get("a", lambda: make(9)).items[0, 0] == 1
    assert cache.get("b", lambda: make(4)).items[0, 0] == 4
    assert made == [1, 2, 3, 4] and len(cache) == 2
    cache.get("d", lambda: make(5), store=False)
    assert cache.get("d", lambda: make(6)).items[0, 0] == 6
    assert candidate_key("cell", 100, 7) == "cell:100:7"


def test_timings_have_exactly_the_interface_stages():
    t = Timings()
    with t.stage("fit"):
        pass
    t.add("score", 0.0004)
    t.add("score", 0.0004)
    info = t.to_info()
    assert tuple(info) == STAGES and info["score"] == 0.001
    with pytest.raises(KeyError):
        t.add("search", 1.0)


def test_sampled_lists_average_the_per_sample_metrics():
    truth = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 0]], dtype=float))
    a = np.array([[0, 1], [2, 3], [1, -1]])
    b = np.array([[3, 2], [0, 1], [0, 1]])
    both = per_unit_ranking(np.stack([a, b], axis=1), truth, ["ndcg", "recall"], [2])
    ra, rb = (ranking_metrics(x, truth, ["ndcg", "recall"], [2]) for x in (a, b))
    for name in ("ndcg@2", "recall@2"):
        np.testing.assert_allclose(both[name], (ra[name] + rb[name]) / 2)
    zero = per_unit_ranking(a, truth, ["ndcg"], [2])["ndcg@2"]
    assert zero[1] == 0.0  # a unit with nothing relevant counts 0 (trec_eval)
    assert np.isnan(per_unit_ranking(a, truth, ["ndcg"], [2], empty="nan")["ndcg@2"][1])
    means = unit_means({"x": np.array([1.0, np.nan, 3.0]), "y": np.array([np.nan])})
    assert means["x"] == 2.0 and np.isnan(means["y"])
    assert group_mean(np.array([1.0, 5.0, np.nan]), np.array([True, False, True])) == 1.0


def test_rerank_parameters_come_from_the_treatment_spec():
    """The re-rankers' parameter objects declare no default: each task builds them from its
    validated treatment spec, where every default is declared once."""
    import dataclasses

    from skewbench import specs

    for cls in (Calibrated, XQuAD, Fair):
        assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(cls)), cls
    spec = specs.resolve("treatment", "recommend", "xquad", {"lambda": 0.3, "group": "brand"})
    assert rerank_params("xquad", spec) == XQuAD(0.3, "smooth")
    spec = specs.resolve("treatment", "search", "fair", {})  # p: the task's catalog share
    assert rerank_params("fair", spec, p=0.25) == Fair(0.25, 0.1)
    spec = specs.resolve("treatment", "search", "calibrated", {})
    assert rerank_params("calibrated", spec) == Calibrated(0.5, 0.01)


@pytest.mark.parametrize("name", ["rec/ease", "search/bm25"])
def test_both_tasks_report_the_same_timing_keys(name):
    from skewbench.runner.tasks import get_task

    cell = CELLS[name][0]
    info = get_task(cell.task).run(cell).info
    assert tuple(info["timings_s"]) == STAGES
    assert not {"data_s", "fit_s", "search_s", "tune_s"} & set(info)


def test_stages_run_in_order_and_add_the_candidate_seconds():
    order, t = [], Timings()

    def candidates():
        order.append("candidates")
        return Candidates(np.arange(6).reshape(2, 3), None, {"fit": 2.0, "score": 0.5})

    cand, treated, evaluated = run_stages(
        t,
        candidates,
        lambda c: order.append("treat") or c.items[:, :2],
        lambda lists: order.append("evaluate") or int(lists.sum()),
    )
    assert order == ["candidates", "treat", "evaluate"]
    assert treated.tolist() == [[0, 1], [3, 4]] and evaluated == 8
    info = t.to_info()
    assert info["fit"] == 2.0 and info["score"] == 0.5 and info["tune"] == 0.0
