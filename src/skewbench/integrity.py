"""Checksums of cache entries, checked on read, so a cache can never silently change a result.

Every cache entry (an embedding shard, a tuning record, an LLM answer, the assembled mpnet
folder) carries a digest of its content together with its key's inputs. An entry whose digest
is missing or does not match — damaged, written by other code, or placed there by hand — is
moved aside (``<name>.mismatch``), named in one warning line, and recomputed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from pathlib import Path

log = logging.getLogger("skewbench.cache")

_CHUNK = 1 << 20
_MEMO: dict[tuple[str, int, int, int], str] = {}


def checksum(*parts: bytes | str) -> str:
    """BLAKE2b-128 hex of ``parts``, each length-prefixed (so no two splits collide)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def file_digest(path: Path) -> str:
    """``"<size>-<blake2b-128 hex>"`` of a file's bytes, memoised per process while its size,
    modification time and inode stay the same (OSError if it cannot be read)."""
    st = path.stat()
    stamp = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    if stamp not in _MEMO:
        h = hashlib.blake2b(digest_size=16)
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
        _MEMO[stamp] = f"{st.st_size}-{h.hexdigest()}"
    return _MEMO[stamp]


def set_aside(path: Path, why: str = "does not match its checksum") -> Path | None:
    """Move a bad cache entry (file or folder) to ``<path>.mismatch[-n]`` and say so in one
    line; returns the new path (None if another process moved it first)."""
    dest = path.with_name(f"{path.name}.mismatch")
    if dest.exists():
        dest = path.with_name(f"{path.name}.mismatch-{uuid.uuid4().hex[:8]}")
    try:
        os.replace(path, dest)
    except FileNotFoundError:
        return None
    log.warning("cache entry %s %s; it was moved aside to %s, recomputing", path, why, dest.name)
    return dest
