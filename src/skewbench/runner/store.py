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
import shlex
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from skewbench import __version__
from skewbench.errors import StoreError
from skewbench.runner.cell import Cell, CellResult

SQLITE_HEADER = b"SQLite format 3\x00"
# Metrics stored under an earlier name → their name now; a store written before a rename reads
# as if written today (the stored bytes are never rewritten).
RENAMED = {"tail_share": "non_head_share"}

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


def _plain(obj: Any) -> Any:
    """``obj`` with numpy values made plain and every non-finite float made ``None``."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return _plain(obj.tolist())
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    return str(obj)


def _json(obj: Any) -> str:
    """Strict JSON: NaN and infinities are stored as ``null`` (SQLite's JSON functions reject
    bare ``NaN``); :meth:`ResultStore.table` reads a null metric back as NaN."""
    return json.dumps(_plain(obj), sort_keys=True, allow_nan=False)


def _nan_for_null(obj: Any) -> Any:
    if obj is None:
        return math.nan
    if isinstance(obj, dict):
        return {k: _nan_for_null(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan_for_null(v) for v in obj]
    return obj


def _read_info(text: str) -> dict[str, Any]:
    """A cell's ``info``: a null inside a list or nested mapping (a table of numbers) reads
    back as NaN, as it was written; a top-level null stays ``None`` ("no such fact")."""
    info = json.loads(text)
    return {k: v if v is None else _nan_for_null(v) for k, v in info.items()}


def _units_to_bytes(units: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    units.reset_index(drop=True).to_parquet(buf, index=False)
    return buf.getvalue()


class ResultStore:
    """The store of one run directory (``<output>/results.sqlite``)."""

    def __init__(self, path: str | Path, *, check: bool = True):
        self.path = Path(path)
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a directory, not a results store")
        if check:
            check_store(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, timeout=60)
            # WAL: readers (a report while a run goes on) never block the writer.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as err:
            raise StoreError(damage_message(self.path, str(err))) from None
        self._units_read: dict[str, pd.DataFrame] | None = None  # see reading_units_once

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def finished_keys(self) -> set[str]:
        return {row[0] for row in self._conn.execute("SELECT key FROM cells")}

    def put(self, cell: Cell, result: CellResult, seconds: float) -> bool:
        """Store a finished cell atomically; returns False if it was already there.

        The same transaction removes the cell's earlier failure rows: a failure that a later
        run fixed is no longer open.
        """
        metrics = {k: (float(v) if v is not None else math.nan) for k, v in result.metrics.items()}
        with self._conn:  # one transaction
            self._conn.execute("DELETE FROM failures WHERE key = ?", (cell.key,))
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
        """Every recorded failure of a cell not finished since (all attempts, oldest first)."""
        return pd.read_sql_query("SELECT * FROM failures ORDER BY at", self._conn)

    def open_failures(self) -> pd.DataFrame:
        """One row per cell whose latest attempt failed and that has not finished since.

        Columns: ``key``, ``task``, ``dataset``, ``imbalance``, ``model``, ``treatment``,
        ``seed``, ``attempts``, ``error`` (the last non-empty line of the latest error, e.g.
        ``ValueError: …``) and ``at`` (Unix time of the latest attempt).
        """
        rows = self._conn.execute(
            "SELECT f.key, f.config, f.error, f.at, n.attempts FROM failures f "
            "JOIN (SELECT key, MAX(at) AS last, COUNT(*) AS attempts FROM failures "
            "GROUP BY key) n ON f.key = n.key AND f.at = n.last "
            "WHERE f.key NOT IN (SELECT key FROM cells) ORDER BY f.at"
        ).fetchall()
        records = []
        for key, config, error, at, attempts in rows:
            cfg = json.loads(config)
            records.append(
                {
                    "key": key,
                    "task": cfg["task"],
                    "dataset": _label(cfg["dataset"]),
                    "imbalance": cfg.get("imbalance"),
                    "model": _label(cfg["model"]),
                    "treatment": _label(cfg["treatment"]),
                    "seed": cfg["seed"],
                    "attempts": attempts,
                    "error": last_line(error),
                    "at": at,
                }
            )
        columns = ["key", "task", "dataset", "imbalance", "model", "treatment", "seed"]
        columns += ["attempts", "error", "at"]
        return pd.DataFrame.from_records(records, columns=columns).drop_duplicates("key")

    def table(self) -> pd.DataFrame:
        """One row per finished cell: identity columns, seconds, and one column per metric.

        ``control`` is the cell's matched-control kind (``"uniform"``) or ``""`` for an ordinary
        cell (read from the stored cell config, so older stores need no migration).
        """
        rows = self._conn.execute(
            "SELECT key, task, dataset, imbalance, model, treatment, seed, seconds, metrics, info, "
            "config FROM cells ORDER BY task, dataset, imbalance, model, treatment, seed"
        ).fetchall()
        records = []
        for key, task, dataset, imb, model, treatment, seed, seconds, metrics, info, cfg in rows:
            rec: dict[str, Any] = {
                "key": key,
                "task": task,
                "dataset": dataset,
                "imbalance": imb,
                "control": json.loads(cfg).get("control") or "",
                "model": model,
                "treatment": treatment,
                "seed": seed,
                "seconds": seconds,
                "info": _read_info(info),
            }
            rec.update(
                {
                    RENAMED.get(k, k): (math.nan if v is None else v)
                    for k, v in json.loads(metrics).items()
                }
            )
            records.append(rec)
        columns = [
            "key",
            "task",
            "dataset",
            "imbalance",
            "control",
            "model",
            "treatment",
            "seed",
            "seconds",
            "info",
        ]
        return pd.DataFrame.from_records(records, columns=None if records else columns)

    @contextmanager
    def reading_units_once(self) -> Iterator[None]:
        """Within the block, each cell's per-unit table is read and decoded once and the same
        frame returned to every later call (callers must not modify it): a report asks for
        each table from several sections."""
        self._units_read = {}
        try:
            yield
        finally:
            self._units_read = None

    def units(self, key: str) -> pd.DataFrame:
        """The per-unit table of one cell."""
        if self._units_read is not None:
            if key not in self._units_read:
                self._units_read[key] = self._read_units(key)
            return self._units_read[key]
        return self._read_units(key)

    def _read_units(self, key: str) -> pd.DataFrame:
        try:
            row = self._conn.execute("SELECT units FROM cells WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as err:
            raise StoreError(damage_message(self.path, str(err))) from None
        if row is None:
            raise KeyError(f"no finished cell with key {key!r} in {self.path}")
        try:
            units = pd.read_parquet(io.BytesIO(row[0]))
        except Exception as err:  # bytes damaged inside a page quick_check cannot see
            raise StoreError(
                damage_message(self.path, f"per-unit table of cell {key} unreadable: {err}")
            ) from None
        return units.rename(columns=RENAMED) if RENAMED.keys() & set(units.columns) else units

    def iter_units(self, keys: list[str]) -> Iterator[tuple[str, pd.DataFrame]]:
        for key in keys:
            yield key, self.units(key)

    def content_stamp(self) -> str:
        """A hash of every finished cell (key and finish time) and every failure: it changes
        exactly when a cell finishes or fails."""
        import hashlib

        h = hashlib.sha256()
        for row in self._conn.execute("SELECT key, finished FROM cells ORDER BY key"):
            h.update(repr(row).encode())
        for row in self._conn.execute("SELECT key, at FROM failures ORDER BY key, at"):
            h.update(repr(row).encode())
        return h.hexdigest()

    def configs(self) -> dict[str, dict[str, Any]]:
        """Each finished cell's resolved config (``Cell.to_dict()``), by cell key."""
        rows = self._conn.execute("SELECT key, config FROM cells").fetchall()
        return {key: json.loads(config) for key, config in rows}

    def config(self, key: str) -> dict[str, Any]:
        """One finished cell's resolved config (``Cell.to_dict()``); KeyError if not stored."""
        row = self._conn.execute("SELECT config FROM cells WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(f"no finished cell {key!r} in {self.path}")
        return json.loads(row[0])


def _label(component: dict[str, Any]) -> str:
    from skewbench.runner.cell import Component

    return Component(component["name"], component.get("params", {})).label


def last_line(error: str) -> str:
    """The last non-empty line of an error text (a traceback's ``Type: message`` line)."""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def damage_message(path: Path, detail: str) -> str:
    """The one error shown for a damaged store: the file, what is wrong, what to do."""
    q = shlex.quote(str(path))
    return (
        f"results store {path} is damaged ({detail}). Nothing was changed. Move it aside "
        f"(mv {q} {q}.damaged), then rerun to recompute; `skewbench salvage {q}.damaged "
        f"<folder>` copies the finished cells it still holds into <folder>/results.sqlite, "
        "from which a run resumes"
    )


def check_store(path: Path) -> None:
    """Raise StoreError if ``path`` exists but is not a sound SQLite store.

    Checks the 16-byte header, then ``PRAGMA quick_check`` (every b-tree page's structure, not
    the bytes inside stored values; its cost is in the README). Reads only: nothing is written.
    A missing or empty file is fine (a new store is created).
    """
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as fh:
        head = fh.read(len(SQLITE_HEADER))
    if head != SQLITE_HEADER:
        raise StoreError(damage_message(path, "not an SQLite file: bad header"))
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        raise StoreError(damage_message(path, str(err))) from None
    if rows != [("ok",)]:
        found = [ln.strip() for (text,) in rows for ln in str(text).splitlines()]
        found = [ln for ln in found if ln and not ln.startswith("***")]
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        raise StoreError(damage_message(path, f"quick_check: {found[0]}{more}"))


def salvage(damaged: str | Path, output: str | Path) -> tuple[int, int]:
    """Copy every finished cell that ``damaged`` still holds intact into a new store.

    Reads rows one by one (by rowid), so a damaged page loses only the cells on it; a cell whose
    per-unit table no longer parses is skipped too. Returns (copied, unreadable). The damaged
    file is only read; ``output`` must not hold a store yet.
    """
    src_path = Path(damaged)
    if not src_path.is_file():
        raise StoreError(f"{src_path}: no such file")
    dest = Path(output)
    dest = dest / "results.sqlite" if dest.suffix != ".sqlite" else dest
    if dest.exists():
        raise StoreError(f"{dest} already exists; salvage into an empty folder")
    copied = lost = 0
    try:
        src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True)
        src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as err:
        raise StoreError(f"{src_path}: nothing can be read from it ({err})") from None
    with ResultStore(dest) as out:
        for row in _readable_rows(src):
            if row is None:
                lost += 1
                continue
            with out._conn:
                out._conn.execute(
                    "INSERT OR IGNORE INTO cells VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row
                )
            copied += 1
    src.close()
    return copied, lost


def _readable_rows(src: sqlite3.Connection, give_up_after: int = 1000) -> Iterator[Any]:
    """Each cell row that still reads and parses; ``None`` for a row that does not.

    If the table cannot be scanned (a damaged interior page), rows are looked up one rowid at
    a time, until ``give_up_after`` rowids in a row are missing.
    """
    try:
        rowids = iter([r for (r,) in src.execute("SELECT rowid FROM cells")])
    except sqlite3.DatabaseError:
        rowids = None
    rowid, misses = 0, 0
    while True:
        if rowids is not None:
            nxt = next(rowids, None)
            if nxt is None:
                return
            rowid = nxt
        else:
            rowid += 1
            if misses >= give_up_after:
                return
        try:
            row = src.execute("SELECT * FROM cells WHERE rowid = ?", (rowid,)).fetchone()
            if row is None:
                misses += 1
                continue
            pd.read_parquet(io.BytesIO(row[10]))  # the per-unit table must still parse
            json.loads(row[7]), json.loads(row[8]), json.loads(row[9])
        except Exception:
            misses += 1
            yield None
            continue
        misses = 0
        yield row
