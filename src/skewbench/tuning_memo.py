"""Memo of tuning results, in this process and on disk (``$SKEWBENCH_CACHE/tuning``).

A tuning result (chosen parameters, ``info["tuning"]`` record) is a pure function of its key:
the task hashes everything the search depends on — fit and validation data, the model and its
fixed parameters, the tuning request, the candidate list, the trial seed — plus
:func:`code_version` of the code that computes it. Worker processes tuning the same base model
lock the key on disk: one searches, the others wait and reuse its result.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from skewbench.integrity import checksum, set_aside

Result = tuple[dict[str, Any], dict[str, Any]]
_PROCESS: OrderedDict[str, Result] = OrderedDict()
PROCESS_SIZE = 8


def fingerprint(*mats: sp.csr_matrix) -> str:
    """sha256 of sparse matrices' shapes and contents."""
    h = hashlib.sha256()
    for M in mats:
        h.update(repr(M.shape).encode())
        for arr in (M.indptr, M.indices, M.data):
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


@lru_cache(maxsize=8)
def code_version(*parts: str) -> str:
    """Digest of the source files under ``parts`` (paths relative to the package), so a stored
    result of older code is never reused."""
    import skewbench

    root = Path(skewbench.__file__).parent
    h = hashlib.sha256()
    for sub in parts:
        path = root / sub
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def memo_key(*parts: Any) -> str:
    """A key from JSON-able parts (sorted keys; numpy and other values by ``str``)."""
    blob = json.dumps(list(parts), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def memoised(key: str, compute: Callable[[], Result]) -> Result:
    """The result under ``key``: from this process, from disk, or computed and stored."""
    if key in _PROCESS:
        return _PROCESS[key]
    with _DiskLock(key) as stored:
        if stored is not None:
            return _remember(key, stored)
        out = compute()
        _write(key, out)
    return _remember(key, out)


def _remember(key: str, out: Result) -> Result:
    while len(_PROCESS) >= PROCESS_SIZE:
        _PROCESS.popitem(last=False)
    _PROCESS[key] = out
    return out


def _dir() -> Path:
    from skewbench.data.sources import cache_dir

    return cache_dir() / "tuning"


class _DiskLock:
    """Lock ``key`` on disk; yields the stored result or None."""

    def __init__(self, key: str):
        self.key = key

    def __enter__(self) -> Result | None:
        import fcntl

        d = _dir()
        d.mkdir(parents=True, exist_ok=True)
        self.lock = open(d / f"{self.key}.lock", "w")  # noqa: SIM115 - held until __exit__
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        return read_record(d / f"{self.key}.json")

    def __exit__(self, *exc: object) -> None:
        import fcntl

        fcntl.flock(self.lock, fcntl.LOCK_UN)
        self.lock.close()


def read_record(path: Path) -> Result | None:
    """The result stored at ``path`` if its checksum matches; a record that does not is moved
    aside and named (None either way, or if there is none)."""
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text())
        out: Result = (rec["chosen"], rec["info"])
        ok = rec.get("check") == _check(path.stem, out)
    except (ValueError, KeyError, TypeError, OSError):
        ok = False
    if not ok:
        set_aside(path)
        return None
    return out


def _check(key: str, out: Result) -> str:
    """Checksum of a record: its key (a digest of everything the search depends on) and the
    canonical JSON of its result."""
    return checksum(key, json.dumps([out[0], out[1]], sort_keys=True))


def _write(key: str, out: Result) -> None:
    path = _dir() / f"{key}.json"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    # stored as read back (JSON), so the checksum is of exactly what a later read returns
    record = json.loads(json.dumps({"chosen": out[0], "info": out[1]}, default=float))
    record["check"] = _check(key, (record["chosen"], record["info"]))
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)  # atomic: a reader sees the whole record or none
