"""`skewbench evaluate`'s accuracy metrics against pytrec_eval (trec_eval's own code, ties
included) and ranx, per unit, on generated TREC files with ties, short lists, units a run
leaves out and units without a relevant item."""

from __future__ import annotations

import numpy as np
import pytest

from skewbench.evaluation.api import score_ranked
from tests.evaluation.conftest import write_trec


def _ours(files, name):
    scored = score_ranked("recommend", files["qrels"], {name: files[name]})
    units = scored[0].result.units.set_index("unit")
    return units, scored[0].result.metrics


def _read(path):
    out: dict[str, dict[str, float]] = {}
    for line in path.read_text().split("\n"):
        if line:
            f = line.split()
            out.setdefault(f[0], {})[f[2]] = float(f[4] if len(f) == 6 else f[3])
    return out


@pytest.mark.parametrize("name", ["a", "b"])
def test_matches_pytrec_eval_with_ties(trec_files, name):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    qrels = {
        u: {d: int(g) for d, g in docs.items()} for u, docs in _read(trec_files["qrels"]).items()
    }
    run = _read(trec_files[name])
    measures = {"ndcg_cut.10", "recall.10", "recall.20", "recip_rank", "P.5"}
    theirs = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    units, metrics = _ours(trec_files, name)
    assert len(run) < len(qrels)  # some judged units are missing from the run …
    pairs = {"ndcg@10": "ndcg_cut_10", "recall@10": "recall_10", "recall@20": "recall_20",
             "mrr@50": "recip_rank", "precision@5": "P_5"}  # fmt: skip
    for ours_name, trec_name in pairs.items():
        # … and score 0 (trec_eval -c): the mean is over every judged unit
        expected = np.array([theirs.get(u, {}).get(trec_name, 0.0) for u in units.index])
        np.testing.assert_allclose(units[ours_name].to_numpy(), expected, rtol=0, atol=1e-12)
        assert metrics[ours_name] == pytest.approx(expected.mean(), abs=1e-12)


@pytest.mark.slow  # ranx compiles its numba kernels on first use (~10-40 s)
def test_matches_ranx_without_ties(tmp_path):
    """ranx breaks score ties its own way, so the files here have none."""
    ranx = pytest.importorskip("ranx")
    files = write_trec(tmp_path, seed=3, ties=False)
    qrels = ranx.Qrels.from_file(str(files["qrels"]), kind="trec")
    for name in ("a", "b"):
        run = ranx.Run.from_file(str(files[name]), kind="trec")
        units, metrics = _ours(files, name)
        for metric in ("ndcg@10", "recall@20", "mrr@10"):
            # make_comparable: judged units missing from the run score 0 there too
            per = ranx.evaluate(qrels, run, metric, return_mean=False, make_comparable=True)
            assert len(per) == len(units)
            assert metrics[metric] == pytest.approx(float(np.mean(per)), abs=1e-12)


def test_tie_order_is_trec_evals(tmp_path):
    """Equal scores: item ids in descending string order, the run's own ranks ignored."""
    from skewbench.data.runfiles import read_run

    path = tmp_path / "r.trec"
    path.write_text("q1 Q0 d1 1 2.0 x\nq1 Q0 d3 2 2.0 x\nq1 Q0 d2 3 2.0 x\nq1 Q0 d9 4 5 x\n")
    run = read_run(path)
    assert run["item"].tolist() == ["d9", "d3", "d2", "d1"]
    assert run["rank"].tolist() == [1, 2, 3, 4]
