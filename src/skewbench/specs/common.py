"""Spec pieces shared by the recommend and search tasks: files of the ``table`` source."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from skewbench.specs.base import Spec

ColumnMap = dict[str, str]


class TableFile(Spec):
    """One file of a ``table`` data set: a path and an optional column mapping."""

    HINTS: ClassVar[dict[str, str]] = {"file": "path", "mapping": "columns"}
    path: str = Field(description="CSV/Parquet file")
    columns: ColumnMap | None = Field(None, description="our column -> the file's column")

    @model_validator(mode="before")
    @classmethod
    def _bare_path(cls, value: object) -> object:
        return {"path": value} if isinstance(value, str) else value
