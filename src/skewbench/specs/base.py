"""Typed component specs: the base class, the registry entry, parameter validation, rendering.

A spec is a pydantic model (``extra="forbid"``) whose fields are a component's parameters, each
with a type, a default (or none: required), a range and a one-line description. Specs only
validate and describe; the components keep their own implementation defaults, and
``tests/specs`` pins that both agree.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import annotated_types as at
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticUndefined

Kind = Literal["dataset", "model", "treatment", "options"]
_SCALAR = (str, int, float, bool, type(None))


class Spec(BaseModel):
    """Base of every component spec: unknown keys refused, values typed and range-checked."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    #: names users reach for (other libraries' names, old names) → our parameter name
    HINTS: ClassVar[dict[str, str]] = {}


@dataclass(frozen=True)
class DataPath:
    """Marks a spec field as the path of user data: the cell key holds the content's
    fingerprint instead of the path (:func:`data_files`), so a changed file is recomputed and a
    moved one is not. ``folder``: the path is a folder; ``files``: the folder's files that are
    read (``None``: every file in it)."""

    folder: bool = False
    files: tuple[str, ...] | None = None


#: a user data file (``path: DataFile = Field(...)``)
DataFile = typing.Annotated[str, DataPath()]


#: a user data folder, every file in it fingerprinted (``Annotated[str, DataPath(folder=True,
#: files=(...))]`` names only the files the reader reads)
DataFolder = typing.Annotated[str, DataPath(folder=True)]


def data_files(spec: type[BaseModel], params: dict[str, Any]) -> list[tuple[str, DataPath]]:
    """(path, marker) of every :class:`DataPath` field in ``params`` (nested specs too), in
    declaration order; ``params`` must be valid for ``spec``."""
    out: list[tuple[str, DataPath]] = []
    for name, info in spec.model_fields.items():
        value = params.get(info.alias or name)
        if value is None:
            continue
        marker = path_marker(info)
        if marker is not None:
            out.append((str(value), marker))
            continue
        for inner in _spec_types(info.annotation):
            if isinstance(value, str) and "path" in inner.model_fields:
                value = {"path": value}  # a bare path written for a {path, columns} file
            if isinstance(value, dict):
                out += data_files(inner, value)
                break
    return out


def path_marker(info: Any) -> DataPath | None:
    """The :class:`DataPath` of a field — ``DataFile`` or ``DataFile | None`` —, else None."""
    found = [m for m in info.metadata if isinstance(m, DataPath)]
    for arg in typing.get_args(info.annotation):  # inside an optional: Annotated[str, marker]
        found += [m for m in getattr(arg, "__metadata__", ()) if isinstance(m, DataPath)]
    return found[0] if found else None


def with_base_folder(spec: type[BaseModel], params: dict[str, Any], base: Path) -> dict[str, Any]:
    """``params`` with every relative :class:`DataPath` value (nested specs too) made relative
    to ``base`` — the config file's folder; absolute and ``~`` paths are kept. Values that do
    not fit the spec are left for its validation to report."""
    out = dict(params)
    for name, info in spec.model_fields.items():
        key = info.alias or name
        value = out.get(key)
        if value is None:
            continue
        if path_marker(info) is not None:
            if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
                out[key] = str(base / value)
            continue
        for inner in _spec_types(info.annotation):
            if isinstance(value, str) and "path" in inner.model_fields:
                out[key] = with_base_folder(inner, {"path": value}, base)["path"]
                break
            if isinstance(value, dict):
                out[key] = with_base_folder(inner, value, base)
                break
    return out


def _spec_types(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside a field's annotation (``TableFile | None`` → [TableFile])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [t for a in typing.get_args(annotation) for t in _spec_types(a)]


#: the longest list (k, candidates, cutoffs, re-ranked depth) a spec accepts: a list of this
#: length per user or query is the largest allocation a count can ask for; own data sets are
#: further bounded by their catalog before any cell runs
MAX_LIST = 100_000
ListLength = typing.Annotated[int, Field(ge=1, le=MAX_LIST)]


class Empty(Spec):
    """No parameters."""


@dataclass(frozen=True)
class Entry:
    """One registered component of one task.

    ``treatments``: for a model, the treatments it accepts (``None`` = every treatment of the
    task); ``reasons``: why a refused treatment cannot apply.
    """

    kind: Kind
    task: str
    name: str
    spec: type[Spec]
    doc: str
    treatments: tuple[str, ...] | None = None
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def what(self) -> str:
        return (
            f"task {self.task}"
            if self.kind == "options"
            else f"{self.task} {self.kind} {self.name!r}"
        )


def names(spec: type[Spec]) -> list[str]:
    """The parameter names a config may use (aliases such as ``lambda``), sorted."""
    return sorted(info.alias or name for name, info in spec.model_fields.items())


def suggest(key: str, allowed: typing.Iterable[str], hints: dict[str, str] | None = None) -> str:
    """``"; did you mean 'x'?"`` for a misspelt key (a declared hint first, then difflib)."""
    allowed = list(allowed)
    if hints and key in hints:
        return f"; did you mean {hints[key]!r}?"
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def param_errors(entry: Entry, params: dict[str, Any], path: str) -> list[str]:
    """Every problem of ``params`` against ``entry.spec``, as ``path.key: message`` lines."""
    spec = entry.spec
    allowed = names(spec)
    try:
        spec.model_validate(params)
    except ValidationError as err:
        out = []
        for e in err.errors():
            loc = [str(p) for p in e["loc"]]
            where = ".".join([path, *loc]) if loc else path
            if e["type"] == "extra_forbidden":
                word = "option" if entry.kind == "options" else "parameter"
                out.append(
                    f"{where}: unknown {word} for {entry.what}; allowed: "
                    f"{allowed or 'none'}{suggest(loc[0], allowed, spec.HINTS)}"
                )
                continue
            value = e.get("input")
            shown = f" (got {value!r})" if isinstance(value, _SCALAR) and loc else ""
            msg = e["msg"].removeprefix("Value error, ")
            out.append(f"{where}: {msg}{shown} [{entry.what}]")
        return out
    return []


# --------------------------------------------------------------------------------------------
# rendering (``skewbench describe`` and the docs/components.md tables)


def type_text(annotation: Any) -> str:
    """Readable type: ``int``, ``float | null``, ``'a' | 'b'``, ``list[int]``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(a) for a in args)
    if origin is typing.Annotated:
        return type_text(args[0])
    if origin is not None:
        inner = ", ".join(type_text(a) for a in args if a is not Ellipsis)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def range_text(metadata: list[Any]) -> str:
    """``[0, 1]``, ``> 0``, ``>= 1`` … from a field's annotated-types constraints."""
    lo: Any = ""
    hi: Any = ""
    lo_open = hi_open = False
    for m in metadata:
        if isinstance(m, at.Ge):
            lo = m.ge
        elif isinstance(m, at.Gt):
            lo, lo_open = m.gt, True
        elif isinstance(m, at.Le):
            hi = m.le
        elif isinstance(m, at.Lt):
            hi, hi_open = m.lt, True
    if lo != "" and hi != "":
        return f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo != "":
        return f"{'>' if lo_open else '>='} {lo:g}"
    if hi != "":
        return f"{'<' if hi_open else '<='} {hi:g}"
    return ""


def default_text(info: Any) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    return "null" if value is None else repr(value) if isinstance(value, str) else str(value)


def fields(spec: type[Spec]) -> list[tuple[str, str, str, str, str]]:
    """(name, type, default, range, description) per parameter, in declaration order."""
    rows = []
    for name, info in spec.model_fields.items():
        key = info.alias or name
        rows.append(
            (
                key,
                type_text(info.annotation),
                default_text(info),
                range_text(info.metadata),
                info.description or "",
            )
        )
    return rows


def defaults(spec: type[Spec]) -> dict[str, Any]:
    """Parameter → default (required parameters left out)."""
    out = {}
    for name, info in spec.model_fields.items():
        if info.default is not PydanticUndefined or info.default_factory is not None:
            out[info.alias or name] = info.get_default(call_default_factory=True)
    return out
