"""Content fingerprints of user data files and folders, so results are keyed by content.

A file's fingerprint is its size plus a BLAKE2b hash of its bytes (``"<size>-<hex>"``); a
folder's is a hash of its files' names and fingerprints. Each file is hashed once per process
while its size, modification time and inode stay the same, so a run that keys its cells twice
reads the bytes once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from skewbench.errors import ConfigError

_CHUNK = 1 << 20
_MEMO: dict[tuple[str, int, int, int], str] = {}


def file_fingerprint(path: str | Path) -> str:
    """``"<size>-<blake2b-128 hex>"`` of the file's bytes (memoised per process by stat);
    SchemaError / ConfigError naming the path if it cannot be read."""
    from skewbench.data.schema import check_path

    p = check_path(path)  # the loaders' own message for a missing path or a folder
    try:
        st = p.stat()
        stamp = (str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
        if stamp in _MEMO:
            return _MEMO[stamp]
        h = hashlib.blake2b(digest_size=16)
        with p.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    except OSError as err:
        raise ConfigError(f"data file {str(path)!r}: cannot read: {err.strerror}") from None
    _MEMO[stamp] = out = f"{st.st_size}-{h.hexdigest()}"
    return out


def folder_fingerprint(path: str | Path, files: tuple[str, ...] | None = None) -> str:
    """Hash of the names and fingerprints of ``files`` inside the folder (``None``: every
    regular file below it that is not hidden)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"dataset.params.path: not a folder: {str(folder)!r}")
    if files is None:
        names = sorted(
            str(p.relative_to(folder))
            for p in folder.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )
    else:
        names = sorted(f for f in files if (folder / f).is_file())
    h = hashlib.blake2b(digest_size=16)
    for name in names:
        h.update(f"{name}\0{file_fingerprint(folder / name)}\0".encode())
    return f"{len(names)}f-{h.hexdigest()}"


def combined(fingerprints: list[str]) -> str:
    """One short fingerprint for several files (shown in the report)."""
    h = hashlib.blake2b("\0".join(fingerprints).encode(), digest_size=6)
    return h.hexdigest()


def clear_memo() -> None:
    """Forget the per-process hashes (tests that rewrite a file within one stat tick)."""
    _MEMO.clear()
