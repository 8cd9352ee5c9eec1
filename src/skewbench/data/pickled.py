"""A disk cache of built Python objects (a loaded data side), checked on every read.

``pickled(kind, key, build)`` returns ``build()``, kept under
``$SKEWBENCH_CACHE/<kind>/<digest of key>.pkl`` beside a ``.digest`` file holding the entry's
checksum (:func:`skewbench.integrity.file_digest`). An entry whose checksum does not match, or
that cannot be read, is moved aside and rebuilt; entries are written to a temporary name and
renamed, so concurrent processes never read half an entry. The key must name everything the
object depends on (contents, parameters, code), never a path alone.
"""

from __future__ import annotations

import json
import os
import pickle
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skewbench.integrity import checksum, file_digest, set_aside


def entry_path(kind: str, key: Any) -> Path:
    """Where the entry of ``key`` (JSON-able parts; tuples as lists) lives."""
    from skewbench.data.sources import cache_dir

    digest = checksum(json.dumps(key, sort_keys=True, default=str))
    return cache_dir() / kind / f"{digest}.pkl"


def pickled(kind: str, key: Any, build: Callable[[], Any]) -> Any:
    """``build()``, read from the cache when an intact entry of ``key`` is there."""
    path = entry_path(kind, key)
    found = read_entry(path)
    if found is not None:
        return found[0]
    value = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("wb") as fh:
        pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
    digest = file_digest(tmp)
    os.replace(tmp, path)
    _stamp(path).write_text(digest, encoding="utf-8")
    return value


def read_entry(path: Path) -> tuple[Any] | None:
    """(object,) from an intact entry; None when there is none yet (or it is being written);
    an entry that fails its checksum or cannot be read is moved aside (None)."""
    stamp = _stamp(path)
    if not (path.exists() and stamp.exists()):
        return None
    try:
        if stamp.read_text(encoding="utf-8").strip() == file_digest(path):
            with path.open("rb") as fh:
                return (pickle.load(fh),)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    set_aside(path)
    stamp.unlink(missing_ok=True)
    return None


def verify(folder: Path) -> tuple[int, int]:
    """(entries checked, entries moved aside) under one kind's folder."""
    paths = sorted(folder.glob("*.pkl")) if folder.is_dir() else []
    bad = sum(read_entry(p) is None for p in paths)
    return len(paths), bad


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".digest")
