"""The paths that make 10⁸ interactions fit one machine give the results of the direct ones:
ranking in score blocks, ids coded by hash lookup, a data side built once and read back from
the disk cache (checked on read)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from skewbench.data import stored as P
from skewbench.data.synthetic import zipf_matrix
from skewbench.metrics.topk import topk
from skewbench.models import recommend as R
from skewbench.models.recommend import base
from skewbench.tasks.recommend import data as D


@pytest.fixture(scope="module")
def train() -> sp.csr_matrix:
    X, _ = zipf_matrix(np.random.default_rng(5), 300, 400, 9_000, activity_a=0.5)
    return X


@pytest.mark.parametrize("model", [R.ALS(factors=8, iterations=2), R.Popularity()])
def test_rank_users_in_small_blocks_equals_one_topk(train, model, monkeypatch):
    model.fit(train, seed=1)
    users = np.arange(0, 300, 2)
    whole = topk(model.score(users), 25, exclude=train[users])
    monkeypatch.setattr(base, "RANK_BLOCK_ELEMENTS", 7 * train.shape[1])  # blocks of 7 users
    ranked, scores = base.rank_users(model, train, users, 25, with_scores=True)
    assert np.array_equal(ranked, whole)
    expect = np.take_along_axis(model.score(users), ranked, axis=1)
    assert np.array_equal(scores, expect.astype(np.float64))
    assert ranked.dtype == np.int64 and not np.isin(-1, ranked)


def test_code_ids_equals_the_string_search():
    ids = np.array(["b", "a", "c10", "c9", "é"], dtype=object)
    values = pd.Series(["c9", "é", "a", "c10", "c9"], dtype="string[pyarrow]")
    got = D.code_ids(np.sort(ids), values)
    assert got.dtype == np.int64
    assert np.array_equal(got, np.searchsorted(np.sort(ids), values.to_numpy()))
    assert got.tolist() == [3, 4, 0, 2, 3]


def test_stored_builds_once_and_sets_a_tampered_entry_aside(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SKEWBENCH_CACHE", str(tmp_path))
    calls = []
    names = np.array(["a", "é", "", "long text"], dtype=object)

    def build():
        calls.append(1)
        return {"rows": np.arange(5), "names": names}, {"n": 5}

    key = ["set", [["a", 1]], ["fp1"]]
    P.stored("kind", key, build)
    arrays, meta = P.stored("kind", key, build)
    assert len(calls) == 1 and meta == {"n": 5} and np.array_equal(arrays["rows"], np.arange(5))
    assert arrays["names"].dtype == object and arrays["names"].tolist() == names.tolist()
    P.stored("kind", ["set", [["a", 1]], ["fp2"]], build)  # other content: built again
    assert len(calls) == 2
    path = P.entry_path("kind", key)
    path.write_bytes(path.read_bytes()[:-3] + b"xyz")  # damaged on disk
    assert P.verify(path.parent) == (2, 1)
    assert "moved aside" in caplog.text and path.with_name(path.name + ".mismatch").exists()
    assert P.stored("kind", key, build)[1] == {"n": 5} and len(calls) == 3
    # an object array of anything but str is returned as built, not stored
    odd = P.stored("kind", ["odd"], lambda: ({"x": np.array([1, "a"], dtype=object)}, {}))
    assert odd[0]["x"].tolist() == [1, "a"] and not P.entry_path("kind", ["odd"]).exists()


def test_a_table_data_side_is_built_once_per_content(tmp_path, monkeypatch):
    from skewbench import specs
    from skewbench.data.fingerprint import file_fingerprint
    from skewbench.data.sources.table import freeze

    monkeypatch.setenv("SKEWBENCH_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "orders.csv"
    rows = [(f"u{u}", f"i{(u * 7 + k) % 13}", k, 1.0) for u in range(30) for k in range(4)]
    pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp", "weight"]).to_csv(path)
    spec = specs.find("dataset", "recommend", "table").spec
    params = freeze({**specs.defaults(spec), "interactions": str(path), "user_k": 1, "item_k": 1})
    builds = []
    real = D._build
    monkeypatch.setattr(D, "_build", lambda *a: builds.append(1) or real(*a))
    files = ((str(path), file_fingerprint(path)),)
    first = D.load.__wrapped__("table", params, files)  # the data check, in the parent
    again = D.load.__wrapped__("table", params, files)  # a worker process, say
    assert len(builds) == 1
    assert again.interactions.equals(first.interactions)
    for name in ("users", "items", "item_text", "category", "user_groups"):
        assert getattr(again, name).tolist() == getattr(first, name).tolist(), name
        assert getattr(again, name).dtype == getattr(first, name).dtype, name
    assert again.info == first.info and again.params == first.params
    assert again.labels.keys() == first.labels.keys()
    pd.DataFrame(rows[:-4], columns=["user_id", "item_id", "timestamp", "weight"]).to_csv(path)
    changed = D.load.__wrapped__("table", params, ((str(path), file_fingerprint(path)),))
    assert len(builds) == 2 and len(changed.interactions) == len(first.interactions) - 4
