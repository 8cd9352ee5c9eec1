"""A disk cache of built arrays (a loaded data side), checked on every read, never pickled.

``stored(kind, key, build)`` returns ``build()`` — a dict of named NumPy arrays plus a
JSON-able ``meta`` dict — kept as ``$SKEWBENCH_CACHE/<kind>/<digest of key>.npz`` beside a
``.digest`` file with the entry's checksum (:func:`skewbench.integrity.file_digest`). Arrays of
Python strings are stored as UTF-8 bytes and offsets and come back as object arrays of ``str``;
no entry is ever read with pickle. An entry whose checksum does not match, or that cannot be
read, is moved aside and rebuilt; entries are written under a temporary name and renamed, so
concurrent processes never read half of one. The key must name everything the arrays depend
on (contents, parameters, code).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from skewbench.integrity import checksum, file_digest, set_aside

Arrays = dict[str, np.ndarray]


def entry_path(kind: str, key: Any) -> Path:
    """Where the entry of ``key`` (JSON-able parts) lives."""
    from skewbench.data.sources import cache_dir

    digest = checksum(json.dumps(key, sort_keys=True, default=str))
    return cache_dir() / kind / f"{digest}.npz"


def stored(
    kind: str, key: Any, build: Callable[[], tuple[Arrays, dict[str, Any]]]
) -> tuple[Arrays, dict[str, Any]]:
    """(arrays, meta) = ``build()``, read from the cache when an intact entry of ``key`` is
    there. An object array holding anything but ``str`` cannot be stored: the result is then
    returned uncached."""
    path = entry_path(kind, key)
    found = read_entry(path)
    if found is not None:
        return found
    arrays, meta = build()
    packed: Arrays = {}
    for name, a in arrays.items():
        if a.dtype == object:
            if not all(isinstance(v, str) for v in a.ravel()):
                return arrays, meta
            data = [v.encode("utf-8") for v in a.ravel()]
            packed[f"{name}.utf8"] = np.frombuffer(b"".join(data), dtype=np.uint8)
            packed[f"{name}.ends"] = np.cumsum([len(d) for d in data], dtype=np.int64)
        else:
            packed[name] = a
    packed["meta.json"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp.npz")
    np.savez(tmp, **packed)  # type: ignore[arg-type]
    digest = file_digest(tmp)
    os.replace(tmp, path)
    _stamp(path).write_text(digest, encoding="utf-8")
    return arrays, meta


def read_entry(path: Path) -> tuple[Arrays, dict[str, Any]] | None:
    """(arrays, meta) from an intact entry; None when there is none (or it is being written);
    an entry that fails its checksum or cannot be read is moved aside (None)."""
    stamp = _stamp(path)
    if not (path.exists() and stamp.exists()):
        return None
    try:
        if stamp.read_text(encoding="utf-8").strip() == file_digest(path):
            with np.load(path, allow_pickle=False) as z:
                raw = {name: z[name] for name in z.files}
            meta = json.loads(raw.pop("meta.json").tobytes().decode("utf-8"))
            arrays: Arrays = {}
            for name, a in raw.items():
                if name.endswith(".ends"):
                    continue
                if name.endswith(".utf8"):
                    base = name.removesuffix(".utf8")
                    blob, ends = a.tobytes(), raw[f"{base}.ends"]
                    starts = np.concatenate([[0], ends[:-1]])
                    text = [blob[s:e].decode("utf-8") for s, e in zip(starts, ends, strict=True)]
                    arrays[base] = np.array(text, dtype=object)
                else:
                    arrays[name] = a
            return arrays, meta
    except (OSError, ValueError, KeyError, UnicodeDecodeError):
        pass
    set_aside(path)
    stamp.unlink(missing_ok=True)
    return None


def verify(folder: Path) -> tuple[int, int]:
    """(entries checked, entries moved aside) under one kind's folder."""
    paths = sorted(folder.glob("*.npz")) if folder.is_dir() else []
    bad = sum(read_entry(p) is None for p in paths)
    return len(paths), bad


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".digest")
