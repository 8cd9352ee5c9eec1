"""Results store: one SQLite file per run; a finished cell is never lost or duplicated.

Why SQLite: it is in the standard library, a single file, and gives atomic transactions. Each
cell — its config, scalar metrics, info and per-unit table (Parquet bytes) — is written in one
transaction by the parent process only, so a crash or kill at any moment leaves either the
whole cell or nothing. The primary key is the cell's content hash, so re-running a config
skips finished cells and can never insert one twice.
"""

from __future__ import annotations

import io
import json
import math
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from skewbench import __version__
from skewbench.runner.cell import Cell, CellResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS cells (
    key        TEXT PRIMARY KEY,
    task       TEXT NOT NULL,
    dataset    TEXT NOT NULL,
    imbalance  REAL,
    model      TEXT NOT NULL,
    treatment  TEXT NOT NULL,
    seed       INTEGER NOT NULL,
    config     TEXT NOT NULL,
    metrics    TEXT NOT NULL,
    info       TEXT NOT NULL,
    units      BLOB NOT NULL,
    seconds    REAL NOT NULL,
    finished   REAL NOT NULL,
    version    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    key        TEXT NOT NULL,
    config     TEXT NOT NULL,
    error      TEXT NOT NULL,
    at         REAL NOT NULL
);
"""


def _json(obj: Any) -> str:
    def default(o: Any) -> Any:
        if hasattr(o, "item"):  # numpy scalars
            return o.item()
        if hasattr(o, "tolist"):
            return o.tolist()
        return str(o)

    return json.dumps(obj, sort_keys=True, default=default, allow_nan=True)


def _units_to_bytes(units: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    units.reset_index(drop=True).to_parquet(buf, index=False)
    return buf.getvalue()


class ResultStore:
    """The store of one run directory (``<output>/results.sqlite``)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=60)
        # WAL: readers (a report while a run goes on) never block the writer.
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def finished_keys(self) -> set[str]:
        return {row[0] for row in self._conn.execute("SELECT key FROM cells")}

    def put(self, cell: Cell, result: CellResult, seconds: float) -> bool:
        """Store a finished cell atomically; returns False if it was already there."""
        metrics = {k: (float(v) if v is not None else math.nan) for k, v in result.metrics.items()}
        with self._conn:  # one transaction
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO cells VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    cell.key,
                    cell.task,
                    cell.dataset.label,
                    cell.imbalance,
                    cell.model.label,
                    cell.treatment.label,
                    cell.seed,
                    _json(cell.to_dict()),
                    _json(metrics),
                    _json(result.info),
                    _units_to_bytes(result.units),
                    float(seconds),
                    time.time(),
                    __version__,
                ),
            )
        return cur.rowcount == 1

    def put_failure(self, cell: Cell, error: str) -> None:
        with self._conn:
            self._conn.execute(
                "INSERT INTO failures VALUES (?,?,?,?)",
                (cell.key, _json(cell.to_dict()), error, time.time()),
            )

    def failures(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM failures ORDER BY at", self._conn)

    def table(self) -> pd.DataFrame:
        """One row per finished cell: identity columns, seconds, and one column per metric."""
        rows = self._conn.execute(
            "SELECT key, task, dataset, imbalance, model, treatment, seed, seconds, metrics, info "
            "FROM cells ORDER BY task, dataset, imbalance, model, treatment, seed"
        ).fetchall()
        records = []
        for key, task, dataset, imb, model, treatment, seed, seconds, metrics, info in rows:
            rec: dict[str, Any] = {
                "key": key,
                "task": task,
                "dataset": dataset,
                "imbalance": imb,
                "model": model,
                "treatment": treatment,
                "seed": seed,
                "seconds": seconds,
                "info": json.loads(info),
            }
            rec.update(json.loads(metrics))
            records.append(rec)
        columns = [
            "key",
            "task",
            "dataset",
            "imbalance",
            "model",
            "treatment",
            "seed",
            "seconds",
            "info",
        ]
        return pd.DataFrame.from_records(records, columns=None if records else columns)

    def units(self, key: str) -> pd.DataFrame:
        """The per-unit table of one cell."""
        row = self._conn.execute("SELECT units FROM cells WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(f"no finished cell with key {key!r} in {self.path}")
        return pd.read_parquet(io.BytesIO(row[0]))

    def iter_units(self, keys: list[str]) -> Iterator[tuple[str, pd.DataFrame]]:
        for key in keys:
            yield key, self.units(key)

    def configs(self) -> dict[str, dict[str, Any]]:
        """Each finished cell's resolved config (``Cell.to_dict()``), by cell key."""
        rows = self._conn.execute("SELECT key, config FROM cells").fetchall()
        return {key: json.loads(config) for key, config in rows}
