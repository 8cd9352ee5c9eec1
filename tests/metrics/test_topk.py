"""topk: tie-break (score desc, then item index asc), exclusion, padding, chunking."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.errors import SchemaError
from skewbench.metrics import topk as topk_module
from skewbench.metrics.topk import topk


def _reference(scores: np.ndarray, k: int, exclude: np.ndarray | None) -> np.ndarray:
    out = np.full((scores.shape[0], k), -1, dtype=np.int64)
    for u, row in enumerate(scores):
        items = [
            i
            for i in range(row.size)
            if not np.isnan(row[i]) and row[i] != -np.inf and (exclude is None or not exclude[u, i])
        ]
        items.sort(key=lambda i: (-row[i], i))
        out[u, : min(k, len(items))] = items[:k]
    return out


def test_hand_example_ties_and_exclusion():
    scores = np.array([[0.5, 0.9, 0.5, 0.9, 0.1], [1.0, 1.0, 1.0, 1.0, 1.0]])
    assert topk(scores, 3).tolist() == [[1, 3, 0], [0, 1, 2]]
    excl = sp.csr_matrix(np.array([[0, 1, 0, 0, 0], [1, 0, 1, 0, 1]]))
    assert topk(scores, 3, excl).tolist() == [[3, 0, 2], [1, 3, -1]]
    # NaN and -inf are not candidates; k larger than the catalogue pads.
    s = np.array([[np.nan, 2.0, -np.inf, 2.0]])
    assert topk(s, 6).tolist() == [[1, 3, -1, -1, -1, -1]]


def test_random_against_reference(monkeypatch):
    monkeypatch.setattr(topk_module, "_CHUNK_ELEMENTS", 64)  # force many row chunks
    rng = np.random.default_rng(42)
    for _ in range(200):
        n_units, n_items = int(rng.integers(1, 8)), int(rng.integers(1, 30))
        k = int(rng.integers(1, 35))
        scores = rng.integers(-2, 3, size=(n_units, n_items)).astype(float)
        scores[rng.random(scores.shape) < 0.05] = -np.inf
        excl = rng.random(scores.shape) < 0.2
        got = topk(scores, k, sp.csr_matrix(excl))
        np.testing.assert_array_equal(got, _reference(scores, k, excl))
        assert got.dtype == np.int64 and got.shape == (n_units, k)


def test_float32_input_and_bad_input():
    scores = np.array([[0.1, 0.3, 0.2]], dtype=np.float32)
    assert topk(scores, 2).tolist() == [[1, 2]]
    with pytest.raises(SchemaError, match="k must"):
        topk(scores, 0)
    with pytest.raises(SchemaError, match="exclude"):
        topk(scores, 1, sp.csr_matrix((2, 3)))


@pytest.mark.parametrize("with_exclude", [False, True])
def test_shared_row_path_equals_general_path(with_exclude):
    """A broadcast (user-independent) score row takes the shared path: same lists as the general
    path on a dense copy, with heavy ties, -inf/NaN non-candidates, exclusions and padding."""
    rng = np.random.default_rng(11)
    n_users, n_items = 300, 60
    row = rng.integers(0, 6, n_items).astype(np.float32)  # many ties
    row[[3, 17]] = -np.inf
    row[29] = np.nan
    shared = np.broadcast_to(row, (n_users, n_items))
    assert shared.strides[0] == 0
    exclude = None
    if with_exclude:
        dense = rng.random((n_users, n_items)) < rng.uniform(0, 0.9, (n_users, 1))
        dense[0] = True  # a user with every item excluded: all padding
        exclude = sp.csr_matrix(dense)
    for k in (1, 7, 60, 80):
        fast = topk(shared, k, exclude)
        general = topk(np.ascontiguousarray(shared), k, exclude)
        np.testing.assert_array_equal(fast, general)
        ref = _reference(
            np.ascontiguousarray(shared[:40]),
            k,
            None if exclude is None else exclude[:40].toarray(),
        )
        np.testing.assert_array_equal(fast[:40], ref)
    if with_exclude:
        assert (topk(shared, 5, exclude)[0] == -1).all()


def test_popularity_scores_are_shared():
    from skewbench.models.recommend import Popularity

    rng = np.random.default_rng(2)
    X = sp.csr_matrix((rng.random((50, 30)) < 0.2).astype(np.float32))
    model = Popularity().fit(X)
    S = model.score(np.arange(50))
    assert S.shape == (50, 30) and S.strides[0] == 0 and not S.flags.writeable
    np.testing.assert_array_equal(S[7], np.asarray((X > 0).sum(0)).ravel())
    np.testing.assert_array_equal(topk(S, 10, X), topk(np.array(S), 10, X))
