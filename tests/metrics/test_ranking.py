"""Accuracy metrics against pytrec_eval and ranx on 1,200 random fixtures, plus hand fixtures."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.errors import SchemaError
from skewbench.metrics.ranking import (
    METRICS,
    RankedLists,
    aggregate,
    metric_names,
    ranking_metrics,
)
from skewbench.metrics.topk import topk

CUTOFFS = [1, 2, 3, 5, 10, 20]  # 20 exceeds every list width below: tests padding to the cutoff
N_FIXTURES = 1200


def _fixture(rng: np.random.Generator):
    """One small random case: tied integer scores, graded truth (0..3), some empty rows."""
    n_units = int(rng.integers(1, 5))
    n_items = int(rng.integers(2, 40))
    width = int(rng.integers(1, min(n_items, 15) + 1))
    scores = rng.integers(0, 4, size=(n_units, n_items)).astype(float)  # many ties
    density = rng.uniform(0.0, 0.4)
    grades = rng.integers(1, 4, size=(n_units, n_items)) * (
        rng.random((n_units, n_items)) < density
    )
    if rng.random() < 0.3:
        grades[rng.integers(n_units)] = 0  # an empty-truth unit
    exclude = sp.csr_matrix(rng.random((n_units, n_items)) < 0.1) if rng.random() < 0.5 else None
    ranked = topk(scores, width, exclude)
    return ranked, sp.csr_matrix(grades.astype(float)), n_items


@pytest.fixture(scope="module")
def cases():
    rng = np.random.default_rng(20240501)
    return [_fixture(rng) for _ in range(N_FIXTURES)]


@pytest.fixture(scope="module")
def ours(cases):
    per = [ranking_metrics(r, t, METRICS, CUTOFFS) for r, t, _ in cases]
    return {name: np.concatenate([p[name] for p in per]) for name in per[0]}


def _as_dicts(cases, binary: bool = False):
    """TREC-style dicts; scores strictly decrease with rank so pytrec_eval's own tie-break (doc
    id) never applies and the order is exactly ours. Empty-truth units get a zero-grade doc so
    pytrec_eval evaluates (and zeroes) them rather than skipping them."""
    qrels, run, nrel = {}, {}, []
    for c, (ranked, truth, _) in enumerate(cases):
        dense = truth.toarray()
        for u in range(ranked.shape[0]):
            q = f"q{c:05d}_{u}"
            rel = {f"d{i}": int(g > 0) if binary else int(g) for i, g in enumerate(dense[u]) if g}
            nrel.append(len(rel))
            qrels[q] = rel or {"d0": 0}
            items = [i for i in ranked[u] if i >= 0]
            run[q] = {f"d{i}": float(len(items) - r) for r, i in enumerate(items)}
    return qrels, run, np.asarray(nrel, dtype=float)


@pytest.fixture(scope="module")
def trec(cases):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    cut = ",".join(map(str, CUTOFFS))
    measures = {f"P.{cut}", f"recall.{cut}", f"success.{cut}", f"map_cut.{cut}", f"ndcg_cut.{cut}"}
    measures |= {"recip_rank", "map"}
    qrels, run, nrel = _as_dicts(cases)
    res = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    qbin, _, _ = _as_dicts(cases, binary=True)
    res_bin = pytrec_eval.RelevanceEvaluator(qbin, {f"ndcg_cut.{cut}"}).evaluate(run)
    keys = sorted(qrels)  # q ids are zero-padded, so sorted == our unit order
    table = {m: np.array([res[q][m] for q in keys]) for m in res[keys[0]]}
    table |= {f"bin_{m}": np.array([res_bin[q][m] for q in keys]) for m in res_bin[keys[0]]}
    return table, nrel


def _close(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_fixture_mix(cases, trec):
    _, nrel = trec
    widths = np.concatenate([np.full(r.shape[0], r.shape[1]) for r, _, _ in cases])
    graded = any((t.data > 1).any() for _, t, _ in cases)
    assert len(cases) >= 1000 and graded
    assert (nrel == 0).sum() > 50 and ((nrel > 0) & (nrel < widths)).sum() > 200


def test_matches_pytrec_eval(ours, trec):
    table, nrel = trec
    has = nrel > 0
    capped = {k: np.minimum(nrel, k) for k in CUTOFFS}
    for k in CUTOFFS:
        for name, peer in [
            ("precision", f"P_{k}"),
            ("recall", f"recall_{k}"),
            ("hit_rate", f"success_{k}"),
            ("map", f"map_cut_{k}"),
            ("ndcg", f"ndcg_cut_{k}"),
            ("ndcg_binary", f"bin_ndcg_cut_{k}"),
        ]:
            # Every unit, judged units without a relevant item included: trec_eval scores
            # them 0 and so does our default (empty="zero").
            _close(ours[f"{name}@{k}"], table[peer])
            assert (table[peer][~has] == 0).all()
        # Deliberate conventions, as exact mappings of trec_eval's numbers:
        with np.errstate(invalid="ignore", divide="ignore"):
            _close(ours[f"recall_capped@{k}"][has], (table[f"recall_{k}"] * nrel / capped[k])[has])
            _close(ours[f"map_capped@{k}"][has], (table[f"map_cut_{k}"] * nrel / capped[k])[has])
    # The list is all trec_eval sees, so its uncut measures equal ours at the largest cutoff.
    kmax = max(CUTOFFS)
    _close(ours[f"mrr@{kmax}"], table["recip_rank"])
    _close(ours[f"map@{kmax}"], table["map"])
    # trec_eval's mean over all judged queries is our aggregate of the default per-unit values.
    for k in CUTOFFS:
        assert aggregate(ours)[f"ndcg@{k}"] == pytest.approx(
            table[f"ndcg_cut_{k}"].mean(), abs=1e-12
        )


def test_empty_nan_option(cases, ours, trec):
    """empty="nan": the previous behaviour (units without a relevant item are NaN, dropped by
    aggregate); every other unit is unchanged."""
    _, nrel = trec
    has = nrel > 0
    per = [ranking_metrics(r, t, METRICS, CUTOFFS, empty="nan") for r, t, _ in cases]
    nan = {name: np.concatenate([p[name] for p in per]) for name in per[0]}
    for name, values in nan.items():
        assert np.isnan(values[~has]).all()
        np.testing.assert_array_equal(values[has], ours[name][has])
        assert (ours[name][~has] == 0).all()


def test_matches_ranx(cases, ours, trec):
    ranx = pytest.importorskip("ranx")
    from numba.typed import List as TypedList

    _, nrel = trec
    # ranx's own input form: per unit [doc, score] arrays, run by score descending (strictly,
    # so no ties), qrels by grade descending (ranx's IDCG reads them in that order).
    qrels, run = TypedList(), TypedList()
    for ranked, truth, _ in cases:
        for u in range(ranked.shape[0]):
            a, b = truth.indptr[u], truth.indptr[u + 1]
            if a == b:
                continue  # ranx needs at least one relevant item
            order = np.argsort(-truth.data[a:b], kind="stable")
            qrels.append(np.column_stack((truth.indices[a:b][order], truth.data[a:b][order])))
            items = ranked[u][ranked[u] >= 0]
            if items.size == 0:
                items = np.array([-1])  # ranx rejects empty runs; -1 is never relevant
            run.append(np.column_stack((items, items.size - np.arange(items.size))).astype(float))
    names = [f"{m}@{k}" for k in CUTOFFS for m in ("f1", "mrr", "ndcg_burges", "map")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba type-safety chatter
        res = ranx.evaluate(qrels, run, names, return_mean=False)
    has = nrel > 0
    for k in CUTOFFS:
        for ours_name, peer in [
            ("f1", "f1"),
            ("mrr", "mrr"),
            ("ndcg_exp", "ndcg_burges"),
            ("map", "map"),  # ranx's map@k also divides by |R|
        ]:
            _close(ours[f"{ours_name}@{k}"][has], res[f"{peer}@{k}"])


def test_auc_matches_sklearn(cases):
    metrics = pytest.importorskip("sklearn.metrics")
    checked = 0
    for ranked, truth, n_items in cases[:150]:
        auc = ranking_metrics(ranked, truth, ["auc"], [])["auc"]
        dense = truth.toarray() > 0
        for u in range(ranked.shape[0]):
            if dense[u].sum() == 0:  # no relevant item: 0 by default (empty="zero")
                assert auc[u] == 0.0
                continue
            if dense[u].sum() == n_items:  # no non-relevant item: AUC undefined
                assert np.isnan(auc[u])
                continue
            # Listed items score by rank; unlisted items all tie below the list.
            score = np.full(n_items, -1e9)
            items = ranked[u][ranked[u] >= 0]
            score[items] = -np.arange(items.size)
            assert auc[u] == pytest.approx(metrics.roc_auc_score(dense[u], score), abs=1e-12)
            checked += 1
    assert checked > 100


def test_hand_fixture():
    # One unit, 6 items, truth grades {0: 3, 2: 1, 5: 2}, list [2, 1, 0, -1].
    truth = sp.csr_matrix(np.array([[3.0, 0, 1, 0, 0, 2]]))
    ranked = np.array([[2, 1, 0, -1]])
    r = ranking_metrics(ranked, truth, METRICS, [2, 4])
    d = [1 / math.log2(i + 1) for i in range(1, 5)]
    assert r["precision@2"][0] == 0.5 and r["precision@4"][0] == 0.5
    assert r["recall@4"][0] == pytest.approx(2 / 3)
    assert r["recall_capped@2"][0] == pytest.approx(1 / 2)
    assert r["mrr@2"][0] == 1.0 and r["hit_rate@2"][0] == 1.0
    assert r["map@4"][0] == pytest.approx((1 + 2 / 3) / 3)
    assert r["map_capped@2"][0] == pytest.approx(1 / 2)
    assert r["ndcg@2"][0] == pytest.approx(1 * d[0] / (3 * d[0] + 2 * d[1]))
    assert r["ndcg_exp@4"][0] == pytest.approx((1 * d[0] + 7 * d[2]) / (7 * d[0] + 3 * d[1] + d[2]))
    assert r["ndcg_binary@4"][0] == pytest.approx((d[0] + d[2]) / (d[0] + d[1] + d[2]))
    # AUC: 3 positives, 3 negatives; item 1 (neg) above item 0; items 3,4 (neg) and 5 (pos) unlisted.
    assert r["auc"][0] == pytest.approx((3 + 2 + 0.5 * 2) / 9)
    assert r["f1@4"][0] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_padding_inside_a_list_occupies_no_rank_as_in_trec_eval():
    """A -1 between items is a gap that closes (trec_eval ranks only the listed documents): the
    same scores as the list without it, and as pytrec_eval on the run that lists only items."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    truth = sp.csr_matrix(np.array([[0, 2.0, 0, 1, 0, 0], [1.0, 0, 0, 0, 0, 1]]))
    gapped = np.array([[0, -1, 1, -1, 3, 4], [-1, 5, 2, -1, -1, 0]])
    closed = np.array([[0, 1, 3, 4, -1, -1], [5, 2, 0, -1, -1, -1]])
    a = ranking_metrics(gapped, truth, METRICS, [2, 3])
    b = ranking_metrics(closed, truth, METRICS, [2, 3])
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    qrels = {"q0": {"d1": 2, "d3": 1}, "q1": {"d0": 1, "d5": 1}}
    run = {
        f"q{u}": {f"d{i}": float(10 - r) for r, i in enumerate(x for x in row if x >= 0)}
        for u, row in enumerate(gapped)
    }
    ref = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.2,3", "P.2"}).evaluate(run)
    np.testing.assert_allclose(a["ndcg@2"], [ref["q0"]["ndcg_cut_2"], ref["q1"]["ndcg_cut_2"]])
    np.testing.assert_allclose(a["ndcg@3"], [ref["q0"]["ndcg_cut_3"], ref["q1"]["ndcg_cut_3"]])
    np.testing.assert_allclose(a["precision@2"], [ref["q0"]["P_2"], ref["q1"]["P_2"]])
    # item 1 (grade 2) is at rank 2, not 3 (scored by position it would miss the cutoff: 0)
    assert a["ndcg@2"][0] == pytest.approx((2 / math.log2(3)) / (2 + 1 / math.log2(3)))


def test_empty_truth_and_aggregate():
    truth = sp.csr_matrix(np.array([[1.0, 0, 0], [0, 0, 0]]))
    ranked = np.array([[0, 1], [1, 2]])
    r = ranking_metrics(ranked, truth, ["ndcg", "recall"], [2], empty="nan")
    assert r["ndcg@2"][0] == 1.0 and np.isnan(r["ndcg@2"][1])
    z = ranking_metrics(ranked, truth, ["ndcg"], [2])
    assert z["ndcg@2"][1] == 0.0 and aggregate(z)["ndcg@2"] == 0.5
    assert aggregate(r)["ndcg@2"] == 1.0
    assert aggregate(r, empty="zero")["ndcg@2"] == 0.5
    assert metric_names(["ndcg", "auc"], [10, 5]) == ["ndcg@5", "ndcg@10", "auc"]


def test_large_catalogue_lookup_path():
    # n_items too large for the dense scratch block: the binary-search path must agree.
    rng = np.random.default_rng(3)
    n_units, n_items = 50, 5_000_000
    rows = np.repeat(np.arange(n_units), 4)
    cols = rng.integers(0, n_items, rows.size)
    grades = rng.integers(1, 4, rows.size).astype(float)
    truth = sp.csr_matrix((grades, (rows, cols)), shape=(n_units, n_items))
    ranked = rng.integers(0, n_items, (n_units, 8))
    ranked[:, [1, 5]] = cols.reshape(n_units, 4)[:, [0, 2]]  # two hits per list
    ranked[::3, 7] = -1
    r = ranking_metrics(ranked, truth, ["precision", "ndcg"], [8])
    dense_rows = [dict(zip(truth[u].indices, truth[u].data, strict=True)) for u in range(n_units)]
    expect = [sum(i in dense_rows[u] for i in ranked[u]) / 8 for u in range(n_units)]
    _close(r["precision@8"], np.array(expect))


def test_repeated_item_refused():
    truth = sp.csr_matrix(np.eye(4))
    ok = np.array([[0, 1, -1, -1], [1, -1, 3, -1], [3, 2, 1, 0], [-1, -1, -1, -1]])
    assert ranking_metrics(ok, truth, ["recall"], [4])["recall@4"].tolist() == [1, 1, 1, 0]
    bad = ok.copy()
    bad[2] = [3, 2, 3, 0]  # recall@3 would read 2.0 for a single relevant item
    with pytest.raises(SchemaError, match=r"row 2: item 3 appears more than once"):
        ranking_metrics(bad, truth, ["recall"], [4])
    # The repeat is found beyond the largest cutoff too, and by AUC-only calls.
    bad = ok.copy()
    bad[1] = [1, -1, 3, 1]
    with pytest.raises(SchemaError, match=r"row 1: item 1 appears"):
        ranking_metrics(bad, truth, ["ndcg"], [1])
    with pytest.raises(SchemaError, match=r"row 1"):
        ranking_metrics(bad, truth, ["auc"], [])


def test_bad_input():
    truth = sp.csr_matrix(np.eye(3))
    with pytest.raises(SchemaError, match="item index 3"):
        ranking_metrics(np.array([[0, 3], [0, 1], [1, 2]]), truth, ["ndcg"], [2])
    with pytest.raises(SchemaError, match="unknown metrics"):
        ranking_metrics(np.zeros((3, 2), dtype=np.int64), truth, ["nope"], [2])
    with pytest.raises(SchemaError, match="rows"):
        ranking_metrics(np.zeros((2, 2), dtype=np.int64), truth, ["ndcg"], [2])
    with pytest.raises(SchemaError, match="cutoffs"):
        ranking_metrics(np.zeros((3, 2), dtype=np.int64), truth, ["ndcg"], [0])


def test_duplicate_truth_entries_are_summed_as_scipy_does():
    # Item 3 is stored twice (1 + 1 = grade 2): unsummed, the kernel would see grade 1 and an
    # ideal list of three relevant entries.
    dup = sp.csr_matrix((np.array([1.0, 1.0, 2.0]), np.array([3, 3, 1]), np.array([0, 3])),
                        shape=(1, 5))  # fmt: skip
    assert not dup.has_canonical_format
    canon = dup.copy()
    canon.sum_duplicates()
    ranked = np.array([[3, 0, 1]])
    got = ranking_metrics(ranked, dup, ["ndcg", "recall"], [2, 3])
    want = ranking_metrics(ranked, canon, ["ndcg", "recall"], [2, 3])
    assert got.keys() == want.keys()
    for key in got:
        np.testing.assert_array_equal(got[key], want[key])
    assert got["recall@3"][0] == 1.0  # two relevant items, both listed


def test_lists_checked_once_give_the_same_values(cases, ours):
    """RankedLists (checked where built, read only up to the largest cutoff) against the
    every-call check on the 1,200 fixtures (ties, short lists, padding, empty truth): equal bits."""
    per = [ranking_metrics(RankedLists.check(r, n), t, METRICS, CUTOFFS) for r, t, n in cases]
    for name, want in ours.items():
        got = np.concatenate([p[name] for p in per])
        np.testing.assert_array_equal(got, want, err_msg=name)
    # A gap inside a list is closed when the lists are checked, as the every-call path ranks it.
    truth = sp.csr_matrix(np.array([[0, 2.0, 0, 1, 0, 0], [1.0, 0, 0, 0, 0, 1]]))
    gapped = np.array([[0, -1, 1, -1, 3, 4], [-1, 5, 2, -1, -1, 0]])
    a = ranking_metrics(RankedLists.check(gapped, 6), truth, METRICS, [2, 3])
    b = ranking_metrics(gapped, truth, METRICS, [2, 3])
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_lists_checked_once_refuse_what_the_every_call_check_refuses():
    ok = np.array([[0, 1, -1, -1], [1, -1, 3, -1], [3, 2, 1, 0], [-1, -1, -1, -1]])
    with pytest.raises(SchemaError, match=r"run.trec, row 2: item 3 appears more than once"):
        RankedLists.check(np.array([[0, 1, -1, -1], [1, -1, 3, -1], [3, 2, 3, 0]]), 4, "run.trec")
    with pytest.raises(SchemaError, match=r"row 1: item index 4 outside \[-1, 4\)"):
        RankedLists.check(np.array([[0, 1], [1, 4]]), 4)
    lists = RankedLists.check(ok, 4)
    assert not lists.items.flags.writeable  # the check cannot be undone through it
    with pytest.raises(SchemaError, match="lists checked against 4 items, truth has 5"):
        ranking_metrics(lists, sp.csr_matrix(np.eye(4, 5)), ["recall"], [2])


@pytest.mark.parametrize("scale", [1.0, 0.5, 7.0])  # integer grades ≤ 16, fractional, up to 21
def test_ideal_order_for_any_grades(scale):
    """IDCG reads the grades in descending order whichever way they are sorted (small integer
    grades by counting, others by comparison): NDCG against a direct formula, exactly."""
    rng = np.random.default_rng(7)
    n_units, n_items, width = 60, 50, 12
    grades = rng.integers(0, 4, size=(n_units, n_items)) * (rng.random((n_units, n_items)) < 0.4)
    grades = grades * scale
    truth = sp.csr_matrix(grades)
    ranked = np.argsort(rng.random((n_units, n_items)), axis=1)[:, :width]
    got = ranking_metrics(ranked, truth, ["ndcg", "ndcg_exp"], [5, 10])
    disc = 1.0 / np.log2(np.arange(1, 11) + 1.0)
    for u in range(n_units):
        ideal = sorted(grades[u][grades[u] > 0], reverse=True)
        for k in (5, 10):
            for name, gain in (("ndcg", lambda g: g), ("ndcg_exp", lambda g: 2.0**g - 1.0)):
                dcg = idcg = 0.0
                for r in range(k):
                    dcg += gain(grades[u, ranked[u, r]]) * disc[r]
                for q in range(min(k, len(ideal))):
                    idcg += gain(ideal[q]) * disc[q]
                want = dcg / idcg if ideal else 0.0
                assert got[f"{name}@{k}"][u] == pytest.approx(want, rel=1e-14), (name, k, u)
