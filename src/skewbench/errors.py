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
