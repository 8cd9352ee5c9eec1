"""Results store: atomic, never duplicates a cell, round-trips metrics and per-unit tables."""

from __future__ import annotations

import math
import sqlite3

import numpy as np
import pandas as pd
import pytest

from skewbench.runner.cell import Cell, CellResult, Component
from skewbench.runner.store import ResultStore


def _cell(seed: int = 0, treatment: str = "none") -> Cell:
    return Cell(
        task="categorize",
        dataset=Component("clothing", {"label": "class_name"}),
        model=Component("tfidf_lr"),
        treatment=Component(treatment),
        imbalance=10.0,
        seed=seed,
        master_seed=3,
    )


def _result(v: float) -> CellResult:
    units = pd.DataFrame({"unit": np.arange(4), "correct": [1.0, 0.0, 1.0, v]})
    return CellResult({"accuracy": v, "auc_ovr": math.nan}, units, {"n_train": 4})


def test_put_is_idempotent_and_round_trips(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        assert store.put(_cell(), _result(0.5), 1.5)
        assert not store.put(_cell(), _result(0.9), 1.5)  # same key: ignored, not duplicated
        assert store.put(_cell(1), _result(0.25), 2.0)
        table = store.table()
        assert len(table) == 2
        row = table[table["seed"] == 0].iloc[0]
        assert row["accuracy"] == 0.5 and math.isnan(row["auc_ovr"])
        assert row["info"] == {"n_train": 4}
        assert row["treatment"] == "none" and row["imbalance"] == 10.0
        pd.testing.assert_frame_equal(store.units(row["key"]), _result(0.5).units)
        assert store.finished_keys() == {_cell().key, _cell(1).key}
        with pytest.raises(KeyError, match="no finished cell"):
            store.units("missing")


def test_failures_are_recorded_but_not_finished(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.put_failure(_cell(), "Traceback: boom")
        assert store.finished_keys() == set()
        assert store.failures()["error"].tolist() == ["Traceback: boom"]


def test_a_cell_is_written_in_one_transaction(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as store:
        store.put(_cell(), _result(0.5), 1.0)

        bad = CellResult({"accuracy": 1.0}, pd.DataFrame({"x": [object()]}), {})
        with pytest.raises(Exception):  # noqa: B017 - parquet cannot hold arbitrary objects
            store.put(_cell(2), bad, 1.0)
    # Nothing half-written: the failed cell is absent, the finished one intact.
    rows = sqlite3.connect(path).execute("SELECT key FROM cells").fetchall()
    assert rows == [(_cell().key,)]
