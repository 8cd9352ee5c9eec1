"""RecBole atomic files: ``<name>.inter`` (required), ``<name>.item`` and ``<name>.user``
(optional) in one folder — the format of RecBole's 40+ converted data sets.

Each file is tab-separated with a ``field:type`` header (types ``token``, ``token_seq``,
``float``, ``float_seq``), e.g. ``user_id:token	item_id:token	rating:float	timestamp:float``.
Fields are read by name (RecBole's defaults ``user_id``, ``item_id``, ``rating``,
``timestamp``; ``columns: {ours: field}`` renames), ``float`` fields must parse as numbers.

- interactions: ``user_id``, ``item_id``, ``timestamp`` (row order when the file has none),
  ``rating`` (kept when ``min_rating`` is set: rows rated below it are dropped);
- catalog (``.item``): ``title`` = the first of ``title``, ``movie_title``, ``item_name``,
  ``name`` present (else the id); ``categories`` (a token_seq) become the category path, one
  level per token; else ``genre``'s first token is the category; ``brand``, ``manufacturer``,
  ``price`` by name; other fields are kept;
- users (``.user``): every field besides ``user_id`` is a user attribute.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd

from skewbench.data import schema
from skewbench.data.schema import CATEGORY_SEPARATOR
from skewbench.data.sources.frames import (
    Frames,
    first_token,
    frame_table,
    ids_as_catalog,
    join_tokens,
    keep_ratings,
    one_per_pair,
    require_covered,
    validate_users,
)
from skewbench.errors import ConfigError, SchemaError

TYPES = ("token", "token_seq", "float", "float_seq")
TITLE_FIELDS = ("title", "movie_title", "item_name", "name")


def atomic_files(path: str | Path, dataset: str | None = None) -> dict[str, Path]:
    """{"inter": …, "item": …, "user": …} of the folder (the last two only when present);
    the file stem is ``dataset`` or the folder's name."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        what = "a file, not a folder" if folder.is_file() else "path does not exist"
        raise SchemaError(str(folder), f"{what}: give the folder holding the atomic files")
    stem = dataset or folder.name
    files = {kind: folder / f"{stem}.{kind}" for kind in ("inter", "item", "user")}
    if not files["inter"].is_file():
        found = sorted(p.name for p in folder.glob("*.inter"))
        hint = f"; .inter files there: {found} (set dataset: to the stem)" if found else ""
        raise SchemaError(str(folder), f"no {stem}.inter in the folder{hint}")
    return {k: p for k, p in files.items() if k == "inter" or p.is_file()}


def _read_tsv(path: Path) -> pd.DataFrame:
    # every value as text ("NA" is a token, only an empty field is missing); no quoting
    return pd.read_csv(
        path, sep="\t", quoting=csv.QUOTE_NONE, dtype="str", keep_default_na=False, na_values=[""]
    )


def read_atomic(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """(frame with columns named by field, {field: type}); ``float`` fields parsed (the first
    bad row named), everything else kept as text (row 0 = the first line after the header)."""
    source = str(path)
    df = schema.read_file(path, source, _read_tsv)
    types: dict[str, str] = {}
    for header in map(str, df.columns):
        name, _, kind = header.rpartition(":")
        if not name or kind not in TYPES:
            raise SchemaError(
                source,
                f"header field {header!r} is not name:type with a type in {TYPES}",
                column=header,
            )
        if name in types:
            raise SchemaError(source, f"field {name!r} appears twice in the header", column=name)
        types[name] = kind
    df.columns = list(types)
    for name, kind in types.items():
        if kind == "float":
            df[name] = schema.as_float(df, source, name, allow_na=True)
    return df, types


def _rename(df: pd.DataFrame, columns: dict[str, str], source: str) -> pd.DataFrame:
    """Apply the user's ``{ours: field}`` where the field is in this file."""
    present = {ours: theirs for ours, theirs in columns.items() if theirs in df.columns}
    from skewbench.data.sources.table import apply_mapping

    return apply_mapping(df, present, source)


def _interactions(path: Path, columns: dict[str, str], min_rating: float | None) -> pd.DataFrame:
    source = str(path)
    df, _ = read_atomic(path)
    df = _rename(df, columns, source)
    if "timestamp" not in df.columns:
        df["timestamp"] = pd.RangeIndex(len(df))  # file order stands for time
    inter = schema.validate_interactions(df, source)
    return keep_ratings(inter, min_rating, source)


def _catalog(path: Path, columns: dict[str, str], separator: str) -> pd.DataFrame:
    source = str(path)
    df, types = read_atomic(path)
    df = _rename(df, columns, source)
    kind = {c: types.get(columns.get(c, c), "token") for c in df.columns}
    if "title" not in df.columns:
        found = next((f for f in TITLE_FIELDS if f in df.columns), "item_id")
        df["title"], kind["title"] = df[found], kind[found]
    if "category_path" not in df.columns and "categories" in df.columns:
        df["category_path"], kind["category_path"] = df["categories"], kind["categories"]
    if kind.get("category_path") == "token_seq":  # one level per token
        df["category_path"] = join_tokens(df["category_path"], separator, CATEGORY_SEPARATOR)
    if not {"category", "category_path"} & set(df.columns) and "genre" in df.columns:
        genre = df["genre"]
        df["category"] = first_token(genre, separator) if kind["genre"] == "token_seq" else genre
    return schema.validate_catalog(df, source)


def recommend_frames(params: dict[str, Any]) -> Frames:
    """Interactions, catalog and users of a RecBole folder (``path``, optional ``dataset``,
    ``columns``, ``min_rating``, ``seq_separator``)."""
    files = atomic_files(params["path"], params.get("dataset"))
    columns = dict(params.get("columns") or {})
    ours = ("user_id", "item_id", "timestamp", "rating", *schema.CATALOG_COLUMNS)
    unknown = sorted(set(columns) - set(ours))
    if unknown:
        raise ConfigError(
            f"dataset recbole: columns: {unknown[0]!r} is not one of ours; map any of {ours}"
        )
    inter = one_per_pair(_interactions(files["inter"], columns, params.get("min_rating")))
    if "item" in files:
        catalog = _catalog(files["item"], columns, str(params.get("seq_separator", " ")))
        require_covered(inter, catalog, str(files["item"]))
    else:
        catalog = ids_as_catalog(inter)
    users = None
    if "user" in files:
        df, _ = read_atomic(files["user"])
        users = validate_users(_rename(df, columns, str(files["user"])), str(files["user"]))
    return Frames(inter, catalog, users)


def load(table: str = "interactions", **params: Any) -> pd.DataFrame:
    """Registry entry: ``table`` = interactions (default) | catalog | users."""
    return frame_table(recommend_frames(params), table, "recbole")
