"""The recommend / search pipeline gives the numbers it gave before its refactor.

``pinned_cells.json`` holds every metric, the re-ranker caps and a digest of the per-unit table
of each cell in :mod:`tests.pipeline.pinned`, written by the code before the pipeline was
shared. Deterministic cells are compared to 1e-9, SGD-trained BPR to 0.01 (see ``pinned.CELLS``);
with ``SKEWBENCH_PIN_EXACT=1`` every value and the unit digests must match to the bit (on the
machine that wrote the file). The few cheap cells run by default; the rest are ``slow``.

Invariant guarded: a change not meant to change results (a refactor, a speed-up, a new option
whose default is off) leaves every metric, cap and per-unit table of these cells as it was. A
change meant to change them rewrites the file (``python -m tests.pipeline.pinned``) and says
which numbers moved and why in its commit.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from skewbench.metrics.exposure import gini
from tests.pipeline.pinned import CELLS, PATH, run_cell

PINNED = json.loads(PATH.read_text())
EXACT = os.environ.get("SKEWBENCH_PIN_EXACT") == "1"
FAST = ("rec/ease", "rec/ease_xquad", "rec/ease_fair", "search/bm25", "search/bm25_fair")


def _close(a, b, tol: float) -> bool:
    if a == "nan" or b == "nan":
        return a == b
    if isinstance(a, float | int) and isinstance(b, float | int):
        return a == b if EXACT else math.isclose(a, b, rel_tol=0, abs_tol=tol)
    return a == b


@pytest.mark.parametrize(
    "name",
    [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in CELLS],
)
def test_cell_numbers_unchanged(name):
    tol = CELLS[name][1]
    want, got = PINNED[name], run_cell(name)
    assert set(got["metrics"]) == set(want["metrics"])
    bad = {
        m: (got["metrics"][m], v)
        for m, v in want["metrics"].items()
        if not _close(got["metrics"][m], v, tol)
    }
    assert not bad, bad
    for key, v in want["info"].items():
        got_v = json.loads(json.dumps(got["info"][key], default=str))
        assert _close(got_v, v, tol), (key, got_v, v)
    if EXACT:
        assert got["units"] == want["units"]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_group_gini_is_the_gini_of_the_pinned_shares(name):
    """A pin must agree with itself: ``exposure_gini[g]`` is the Gini (normaliser n) of the
    groups' exposure, so of the ``exposure_share[g=…]`` values pinned beside it. (The
    search/dense_xquad pin once held Ginis of another list set than its shares.)"""
    metrics = PINNED[name]["metrics"]
    for key, value in metrics.items():
        if not key.startswith("exposure_gini[") or value == "nan":
            continue
        g = key[len("exposure_gini[") : -1]
        shares = [v for k, v in metrics.items() if k.startswith(f"exposure_share[{g}=")]
        assert shares, key
        assert gini(np.asarray(shares)) == pytest.approx(value, abs=1e-12), key
