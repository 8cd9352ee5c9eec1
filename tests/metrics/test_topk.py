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
