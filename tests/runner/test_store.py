"""Results store: atomic, never duplicates a cell, round-trips metrics and per-unit tables."""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import sqlite3

import numpy as np
import pandas as pd
import pytest
import yaml

from skewbench.cli import main
from skewbench.errors import StoreError
from skewbench.runner.cell import Cell, CellResult, Component
from skewbench.runner.store import ResultStore, check_store

RUN_CONFIG = {
    "name": "damaged",
    "experiments": [{"task": "recommend", "datasets": ["movielens100k"], "models": ["popularity"]}],
}


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


def test_reading_units_once_decodes_each_table_once(tmp_path, monkeypatch):
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.put(_cell(), _result(0.5), 1.5)
        key = _cell().key
        assert store.units(key) is not store.units(key)  # outside the block: read each time
        reads = []
        read = store._read_units
        monkeypatch.setattr(store, "_read_units", lambda k: reads.append(k) or read(k))
        with store.reading_units_once():
            first = store.units(key)
            assert store.units(key) is first and reads == [key]
            pd.testing.assert_frame_equal(first, _result(0.5).units)
            with pytest.raises(KeyError, match="no finished cell"):
                store.units("missing")
        assert store.units(key) is not first and reads == [key, "missing", key]


def test_a_renamed_metric_reads_under_its_new_name(tmp_path):
    """A store written before ``tail_share`` became ``non_head_share`` (it counts the non-head
    items, not the ``popularity=tail`` group) reads as if written today."""
    old = CellResult(
        {"ndcg@10": 0.3, "tail_share": 0.25},
        pd.DataFrame({"user_id": [1, 2], "tail_share": [0.2, 0.3]}),
        {},
    )
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.put(_cell(), old, 1.0)
        row = store.table().iloc[0]
        assert row["non_head_share"] == 0.25 and "tail_share" not in row
        assert store.units(row["key"])["non_head_share"].tolist() == [0.2, 0.3]


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


# --------------------------------------------------------------------------------------------
# damage: one clear error naming the file and what to do; nothing overwritten


def _filled_store(path, n: int = 40) -> None:
    with ResultStore(path) as store:
        for i in range(n):
            units = pd.DataFrame({"u": np.arange(2000), "v": np.random.default_rng(i).random(2000)})
            store.put(_cell(i), CellResult({"accuracy": 0.5}, units, {}), 1.0)
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()


def _truncate(path):
    os.truncate(path, path.stat().st_size // 2)


def _garbage_header(path):
    with open(path, "r+b") as fh:
        fh.write(b"this is not sqlite at all")


def _random_middle(path):
    with open(path, "r+b") as fh:
        fh.seek(path.stat().st_size // 3)
        fh.write(np.random.default_rng(0).bytes(8192))


DAMAGE = {"truncated": _truncate, "garbage header": _garbage_header, "8 KiB random": _random_middle}


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "results.sqlite"
    _filled_store(path)
    return path


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_store_is_one_clear_error_and_left_untouched(filled, tmp_path, damage, capsys):
    path = tmp_path / "results.sqlite"
    shutil.copy(filled, path)
    DAMAGE[damage](path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(StoreError) as err:
        ResultStore(path)
    msg = str(err.value)
    assert str(path) in msg and "is damaged" in msg and "Move it aside" in msg
    assert "skewbench salvage" in msg and "\n" not in msg
    # the commands a user runs answer with the same one line, exit code 2, no traceback
    assert main(["report", str(tmp_path)]) == 2
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(RUN_CONFIG))
    assert main(["run", str(cfg), "--output", str(tmp_path), "--quiet", "--no-report"]) == 2
    out = capsys.readouterr().err
    assert out.count("is damaged") == 2 and "Traceback" not in out
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # nothing written
    made = {p.name for p in tmp_path.iterdir()} - {"results.sqlite", "c.yaml", ".lock", "report"}
    assert made <= {"results.sqlite-wal", "results.sqlite-shm"}  # SQLite's (empty) side files


def test_salvage_copies_the_cells_that_still_read(filled, tmp_path, capsys):
    path = tmp_path / "broken.sqlite"
    shutil.copy(filled, path)
    _random_middle(path)
    assert main(["salvage", str(path), str(tmp_path / "new")]) == 0
    out = capsys.readouterr().out
    with ResultStore(tmp_path / "new" / "results.sqlite") as store:
        keys = store.finished_keys()
        for key in keys:  # every copied cell is whole
            assert len(store.units(key)) == 2000
    assert 30 <= len(keys) < 40  # 8 KiB over 4 KiB pages loses a few cells, not all
    assert f"copied {len(keys)} finished cells" in out
    # salvage never writes over an existing store
    assert main(["salvage", str(path), str(tmp_path / "new")]) == 2


def test_quick_check_passes_a_sound_store(filled):
    check_store(filled)  # no error
    with ResultStore(filled) as store:
        assert len(store.finished_keys()) == 40


# --------------------------------------------------------------------------------------------
# failures and NaN


def test_a_later_success_clears_the_failure(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.put_failure(_cell(0), "Traceback (most recent call last):\n  ...\nValueError: boom")
        store.put_failure(_cell(0), "Traceback (most recent call last):\n  ...\nKeyError: 'x'\n")
        store.put_failure(_cell(1), "RuntimeError: other")
        open_ = store.open_failures()
        assert open_["key"].tolist() == [_cell(0).key, _cell(1).key]
        first = open_.iloc[0]
        assert first["error"] == "KeyError: 'x'" and first["attempts"] == 2
        assert (first["model"], first["treatment"], first["seed"]) == ("tfidf_lr", "none", 0)
        assert first["dataset"] == "clothing(label=class_name)"
        store.put(_cell(0), _result(0.5), 1.0)
        assert store.open_failures()["key"].tolist() == [_cell(1).key]
        assert set(store.failures()["key"]) == {_cell(1).key}  # fixed ones no longer counted


def test_nan_is_stored_as_null_and_read_back_as_nan(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as store:
        info = {"ratio": math.inf, "nested": [1.0, math.nan, np.float64("nan")], "n": np.int64(3)}
        store.put(
            _cell(), CellResult({"accuracy": math.nan, "f1": 0.25}, _result(0).units, info), 1
        )
        row = store.table().iloc[0]
        assert math.isnan(row["accuracy"]) and row["f1"] == 0.25
        info = row["info"]
        assert info["ratio"] is None and info["n"] == 3  # top level: null = no such fact
        assert info["nested"][0] == 1.0 and np.isnan(info["nested"][1:]).all()
    conn = sqlite3.connect(path)
    metrics, auc = conn.execute(
        "SELECT metrics, json_extract(metrics, '$.accuracy') FROM cells"
    ).fetchone()
    assert "NaN" not in metrics and auc is None  # SQLite's JSON functions read it


def test_the_report_lists_open_failures_only(tmp_path):
    from skewbench.report.build import build_report

    with ResultStore(tmp_path / "results.sqlite") as store:
        store.put_failure(_cell(0), "Traceback (most recent call last):\nValueError: boom")
        store.put_failure(_cell(1), "RuntimeError: other")
        store.put(_cell(0), _result(0.5), 1.0)
    md, _ = build_report(tmp_path, exports=False)
    text = md.read_text(encoding="utf-8")
    assert "Open failures (1 cells)" in text and "RuntimeError: other" in text
    assert "ValueError: boom" not in text  # fixed by the later success
