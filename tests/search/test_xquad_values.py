"""xQuAD with one aspect per manufacturer spreads exposure over manufacturers (lower Gini),
where a binary head/tail aspect can pile it onto a few tail manufacturers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from skewbench.metrics.exposure import gini
from skewbench.tasks.search import xquad_over_values
from skewbench.treatments.rerank import XQuAD


def test_values_aspects_lower_manufacturer_gini():
    rng = np.random.default_rng(0)
    n_items, n_manu = 400, 40
    manu = rng.choice(n_manu, size=n_items, p=np.r_[0.5, np.full(n_manu - 1, 0.5 / (n_manu - 1))])
    data = SimpleNamespace(catalog=pd.DataFrame({"manufacturer": manu.astype(str)}))
    scores = rng.random((60, n_items)) + (manu == 0) * 0.2  # manufacturer 0 scores higher
    items = np.argsort(-scores, axis=1)[:, :100]
    cand_scores = np.take_along_axis(scores, items, 1)
    base = items[:, :10]
    # with m aspects each weighs 1/m, so the diversity term needs λ near 1 to compete
    spread = xquad_over_values(data, "manufacturer", items, cand_scores, 10, XQuAD(0.97, "smooth"))
    assert spread.shape == (60, 10) and (spread >= 0).all()
    assert all(set(r) <= set(c) for r, c in zip(spread, items, strict=True))  # from the pool

    def manu_gini(lists):
        w = np.tile(1 / np.log2(np.arange(2, 12)), lists.shape[0])
        return gini(np.bincount(manu[lists.ravel()], weights=w, minlength=n_manu))

    assert manu_gini(spread) < manu_gini(base)
    lam0 = xquad_over_values(data, "manufacturer", items, cand_scores, 10, XQuAD(0.0, "smooth"))
    np.testing.assert_array_equal(lam0, base)  # λ = 0 keeps the base order
