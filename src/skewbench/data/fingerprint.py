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


def file_fingerprint(path: str | Path) -> str:
    """``"<size>-<blake2b-128 hex>"`` of the file's bytes (memoised per process by stat);
    SchemaError / ConfigError naming the path if it cannot be read."""
    from skewbench.data.schema import check_path
    from skewbench.integrity import file_digest

    p = check_path(path)  # the loaders' own message for a missing path or a folder
    try:
        return file_digest(p)
    except OSError as err:
        raise ConfigError(f"data file {str(path)!r}: cannot read: {err.strerror}") from None


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
