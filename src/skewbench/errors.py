"""Errors that name what is wrong and where, so bad input never becomes a silent wrong number."""

from __future__ import annotations


class SkewbenchError(Exception):
    """Base class for every error skewbench raises on purpose."""


class SchemaError(SkewbenchError, ValueError):
    """A table does not match its schema: names the source (file or table), column and row."""

    def __init__(self, source: str, message: str, column: str | None = None, row: object = None):
        self.source, self.column, self.row = source, column, row
        where = [f"in {source}"]
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{', '.join(where)}: {message}")


class ConfigError(SkewbenchError, ValueError):
    """A config is invalid: names the field (dotted path) and the bad value."""


class IncompatibleError(ConfigError):
    """A combination (model × treatment, task × metric …) that cannot apply."""


class StoreError(SkewbenchError):
    """A results store is damaged or unreadable: names the file and what to do."""


class LockError(SkewbenchError):
    """Another run holds the output folder: names the holder (pid, host, start time)."""


class Interrupted(SkewbenchError):
    """The user stopped a run (Ctrl-C / SIGTERM); ``stored`` finished cells are in the store."""

    def __init__(self, stored: int):
        self.stored = stored
        super().__init__(
            f"interrupted — {stored} finished cells are stored; run the same command to resume"
        )


def environment_problem(err: BaseException) -> str | None:
    """One line saying what to do when the machine, not skewbench or the config, failed: a
    full disk, a write refused, memory exhausted; None for anything else (a bug)."""
    import errno
    import sqlite3

    code = getattr(err, "errno", None)
    text = str(err)
    filename = getattr(err, "filename", None)
    where = f" ({filename})" if filename else ""
    resume = "finished cells are kept, so rerunning the same command resumes"
    if code in (errno.ENOSPC, errno.EDQUOT) or (
        isinstance(err, sqlite3.OperationalError) and "disk is full" in text
    ):
        return (
            f"the disk is full{where}: free space, or write elsewhere (--output, "
            f"SKEWBENCH_CACHE), then rerun; {resume}"
        )
    if code in (errno.EACCES, errno.EPERM, errno.EROFS) or (
        isinstance(err, sqlite3.OperationalError) and "readonly database" in text
    ):
        return (
            f"permission denied{where}: {text}; make the folder writable or choose another "
            f"(--output, SKEWBENCH_CACHE); {resume}"
        )
    if isinstance(err, MemoryError):
        return f"out of memory: lower workers (--workers) or the grid's sizes; {resume}"
    return None
