"""Table schemas (catalog, interactions, queries, qrels, labelled text) and their validation.

Every check raises :class:`skewbench.errors.SchemaError` naming the source (file or table), the
column and the first bad row, so bad input never surfaces as a traceback from inside pandas.
Rows are named by their index label; tables read by :func:`read_table` carry a 0-based
``RangeIndex`` (the first data row after the header is row 0).

Each ``validate_*`` returns a new frame: the schema's columns first, in schema order and with
canonical dtypes (ids and text as pandas ``str``, prices and weights ``float64``, timestamps and
grades ``int64``), then any extra columns unchanged. The input is never modified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from skewbench.errors import SchemaError

CATALOG_COLUMNS = (
    "item_id",
    "title",
    "text",
    "category",
    "category_path",
    "brand",
    "manufacturer",
    "price",
)
INTERACTION_COLUMNS = ("user_id", "item_id", "timestamp", "weight")
QUERY_COLUMNS = ("query_id", "text")
QREL_COLUMNS = ("query_id", "item_id", "grade")
CATEGORY_SEPARATOR = " > "


# --------------------------------------------------------------------------------------------
# files


def check_path(path: str | Path, source: str | None = None) -> Path:
    """Return ``path`` as a :class:`Path`, or raise SchemaError if no such file exists."""
    p = Path(path).expanduser()
    if not p.is_file():
        what = "directory, not a file" if p.is_dir() else "path does not exist"
        raise SchemaError(source or str(p), f"{what}: {str(p)!r}")
    return p


def read_table(path: str | Path, source: str | None = None) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.tsv``, optionally gzipped) or Parquet file, with clear errors.

    ``source`` names the table in errors (default: the path). The frame gets a fresh 0-based
    ``RangeIndex`` so that error rows count data rows from 0.
    """
    p = check_path(path, source)
    name = p.name.lower()
    if name.endswith((".parquet", ".pq", ".parquet.brotli")):
        return read_file(p, source, pd.read_parquet)
    if name.endswith((".tsv", ".tsv.gz", ".tab")):
        return read_file(p, source, lambda f: pd.read_csv(f, sep="\t"))
    if name.endswith((".csv", ".csv.gz", ".txt")):
        return read_file(p, source, pd.read_csv)
    raise SchemaError(source or str(p), "unknown file type; use .csv, .tsv or .parquet")


def read_file(
    path: str | Path, source: str | None, reader: Callable[[Path], pd.DataFrame]
) -> pd.DataFrame:
    """``reader(path)`` with the errors of :func:`read_table`: a missing or empty file, text
    that is not UTF-8 (its line named) and any parse error, each as one SchemaError line."""
    p = check_path(path, source)
    src = source or str(p)
    if p.stat().st_size == 0:
        raise SchemaError(src, "file is empty (0 bytes); expected a header row and data rows")
    try:
        df = reader(p)
    except SchemaError:
        raise
    except UnicodeDecodeError:
        raise _not_utf8(p, src) from None
    except Exception as exc:  # pandas/pyarrow parse errors: re-raise as one clear message
        text = " ".join(str(exc).split())  # one line
        raise SchemaError(src, f"cannot read file: {type(exc).__name__}: {text}") from None
    return df.reset_index(drop=True)


def _not_utf8(path: Path, source: str) -> SchemaError:
    """Name the first byte that is not UTF-8 by its line and data row (row 0 = first data row
    after the header)."""
    import gzip

    if path.name.lower().endswith(".gz"):
        with gzip.open(path) as fh:
            raw = fh.read()
    else:
        raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        where = f"line {line}" + (f", row {line - 2}" if line >= 2 else " (the header)")
        return SchemaError(
            source,
            f"{where}: byte 0x{raw[err.start]:02x} is not UTF-8 text; save the file as UTF-8",
        )
    return SchemaError(source, "not UTF-8 text; save the file as UTF-8")


# --------------------------------------------------------------------------------------------
# column checks (shared building blocks)


def _first(mask: pd.Series) -> object:
    """Index label of the first True in a boolean Series."""
    return mask.index[np.flatnonzero(mask.to_numpy())[0]]


def require_nonempty(df: pd.DataFrame, source: str) -> None:
    """Raise if ``df`` has no rows."""
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(source, f"expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise SchemaError(source, "table is empty (no rows)")


def require_columns(df: pd.DataFrame, source: str, columns: Iterable[str]) -> None:
    """Raise naming the first missing column (and listing the ones present)."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            source,
            f"missing required column(s) {missing}; columns present: {list(map(str, df.columns))}",
            column=missing[0],
        )


def as_str(df: pd.DataFrame, source: str, column: str, *, allow_na: bool = False) -> pd.Series:
    """Column as pandas ``str``; integer-valued floats become ``"12"`` rather than ``"12.0"``.

    Unless ``allow_na``, a missing or blank value is an error naming its row.
    """
    s = df[column]
    if pd.api.types.is_float_dtype(s.dtype):
        vals = s.to_numpy(dtype=float)
        finite = np.isfinite(vals)
        if np.all(vals[finite] == np.round(vals[finite])):
            s = s.astype("Int64")  # ids read as float because of NaNs: keep "12" not "12.0"
    out = s.astype("str")
    if not allow_na:
        bad = out.isna() | (out.str.strip() == "")
        if bad.any():
            raise SchemaError(source, "missing or empty value", column=column, row=_first(bad))
    else:
        out = out.mask(out.str.strip() == "")  # blank counts as missing
    return out


def as_float(
    df: pd.DataFrame,
    source: str,
    column: str,
    *,
    allow_na: bool = False,
    minimum: float | None = None,
    strict_minimum: bool = False,
) -> pd.Series:
    """Column as ``float64``; names the first row that does not parse as a number."""
    s = df[column]
    if pd.api.types.is_bool_dtype(s.dtype):
        raise SchemaError(source, "expected numbers, got booleans", column=column, row=s.index[0])
    num = pd.to_numeric(s, errors="coerce").astype("float64")
    unparsed = num.isna() & s.notna()
    if unparsed.any():
        row = _first(unparsed)
        raise SchemaError(
            source, f"not a number: {s.loc[row]!r} (dtype {s.dtype})", column=column, row=row
        )
    if not np.isfinite(num.to_numpy()[num.notna().to_numpy()]).all():
        raise SchemaError(source, "infinite value", column=column, row=_first(np.isinf(num)))
    if not allow_na and num.isna().any():
        raise SchemaError(source, "missing value", column=column, row=_first(num.isna()))
    if minimum is not None:
        low = (num <= minimum) if strict_minimum else (num < minimum)
        if low.any():
            op = ">" if strict_minimum else ">="
            row = _first(low)
            raise SchemaError(
                source, f"must be {op} {minimum:g}, got {num.loc[row]!r}", column=column, row=row
            )
    return num


def as_int(df: pd.DataFrame, source: str, column: str, *, minimum: int | None = None) -> pd.Series:
    """Column as ``int64`` (no missing values); names the first non-integer row."""
    num = as_float(df, source, column, minimum=minimum)
    frac = num != np.round(num)
    if frac.any():
        row = _first(frac)
        raise SchemaError(source, f"not an integer: {num.loc[row]!r}", column=column, row=row)
    return num.astype("int64")


def as_timestamp(df: pd.DataFrame, source: str, column: str) -> pd.Series:
    """Column as ``int64``: datetimes become Unix seconds; numbers (seconds or day index) stay.

    Strings are read as numbers if any of them is one, else parsed as dates.
    """
    s = df[column]
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(s.dtype):
        if s.isna().any():
            raise SchemaError(source, "missing timestamp", column=column, row=_first(s.isna()))
        return s.dt.as_unit("s").astype("int64")
    if pd.api.types.is_numeric_dtype(s.dtype):
        return as_int(df, source, column)
    num = pd.to_numeric(s, errors="coerce")
    if num.notna().any():  # numbers (seconds or day index): the first non-number is the bad row
        return as_int(df, source, column)
    parsed = pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
    bad = parsed.isna()
    if bad.any():
        row = _first(bad)
        raise SchemaError(source, f"not a timestamp: {s.loc[row]!r}", column=column, row=row)
    return parsed.dt.tz_localize(None).dt.as_unit("s").astype("int64")


def require_unique(df: pd.DataFrame, source: str, columns: str | list[str]) -> None:
    """Raise naming the first row whose key repeats an earlier row's."""
    cols = [columns] if isinstance(columns, str) else list(columns)
    dup = df.duplicated(subset=cols, keep="first")
    if dup.any():
        row = _first(dup)
        key = tuple(df.loc[row, c] for c in cols)
        key_text = repr(key[0]) if len(key) == 1 else repr(key)
        same = np.logical_and.reduce(
            [(df[c] == k).to_numpy() for c, k in zip(cols, key, strict=True)]
        )
        first_row = df.index[np.flatnonzero(same)[0]]
        raise SchemaError(
            source,
            f"duplicate id {key_text} (first seen at row {first_row})",
            column=", ".join(cols),
            row=row,
        )


def _assemble(df: pd.DataFrame, columns: dict[str, pd.Series]) -> pd.DataFrame:
    extra = [c for c in df.columns if c not in columns]
    out = pd.DataFrame(columns, index=df.index)
    for c in extra:
        out[c] = df[c]
    return out


# --------------------------------------------------------------------------------------------
# schemas


def validate_catalog(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Validate an item catalog.

    Required: ``item_id`` (unique), ``title`` (non-empty). Optional, with defaults when the
    column is absent: ``text`` (= title), ``category`` (NA), ``category_path`` (= category;
    levels joined by ``" > "``), ``brand`` / ``manufacturer`` (NA), ``price`` (NaN; >= 0 where
    present). ``category``, ``brand``, ``manufacturer`` and ``price`` may hold NA values.
    """
    require_nonempty(df, source)
    require_columns(df, source, ["item_id", "title"])
    cols: dict[str, pd.Series] = {}
    cols["item_id"] = as_str(df, source, "item_id")
    cols["title"] = as_str(df, source, "title")
    cols["text"] = as_str(df, source, "text") if "text" in df.columns else cols["title"]
    na = pd.Series(pd.NA, index=df.index, dtype="str")
    cols["category"] = (
        as_str(df, source, "category", allow_na=True) if "category" in df.columns else na
    )
    cols["category_path"] = (
        as_str(df, source, "category_path", allow_na=True)
        if "category_path" in df.columns
        else cols["category"]
    )
    for c in ("brand", "manufacturer"):
        cols[c] = as_str(df, source, c, allow_na=True) if c in df.columns else na
    cols["price"] = (
        as_float(df, source, "price", allow_na=True, minimum=0.0)
        if "price" in df.columns
        else pd.Series(np.nan, index=df.index)
    )
    out = _assemble(df, cols)
    require_unique(out, source, "item_id")
    return out


def validate_interactions(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Validate user–item interactions.

    Required: ``user_id``, ``item_id``, ``timestamp`` (datetimes → Unix seconds; integers kept as
    seconds or day index). Optional: ``weight`` (float > 0, default 1.0). Repeated
    (user, item) pairs are allowed here; :func:`skewbench.data.prepare.dedupe` merges them.
    """
    require_nonempty(df, source)
    require_columns(df, source, ["user_id", "item_id", "timestamp"])
    cols = {
        "user_id": as_str(df, source, "user_id"),
        "item_id": as_str(df, source, "item_id"),
        "timestamp": as_timestamp(df, source, "timestamp"),
        "weight": (
            as_float(df, source, "weight", minimum=0.0, strict_minimum=True)
            if "weight" in df.columns
            else pd.Series(1.0, index=df.index)
        ),
    }
    return _assemble(df, cols)


def validate_queries(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Validate queries: ``query_id`` (unique), ``text`` (non-empty), optional ``user_id``."""
    require_nonempty(df, source)
    require_columns(df, source, QUERY_COLUMNS)
    cols = {"query_id": as_str(df, source, "query_id"), "text": as_str(df, source, "text")}
    if "user_id" in df.columns:
        cols["user_id"] = as_str(df, source, "user_id", allow_na=True)
    out = _assemble(df, cols)
    require_unique(out, source, "query_id")
    return out


def validate_qrels(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Validate graded relevance: ``query_id``, ``item_id``, ``grade`` (int >= 0), unique pairs."""
    require_nonempty(df, source)
    require_columns(df, source, QREL_COLUMNS)
    cols = {
        "query_id": as_str(df, source, "query_id"),
        "item_id": as_str(df, source, "item_id"),
        "grade": as_int(df, source, "grade", minimum=0),
    }
    out = _assemble(df, cols)
    require_unique(out, source, ["query_id", "item_id"])
    return out


def validate_labelled_text(
    df: pd.DataFrame,
    source: str,
    label: str,
    text: str = "text",
    id_column: str | None = None,
) -> pd.DataFrame:
    """Validate a text-classification table: non-empty ``text``, non-missing ``label``.

    Labels become ``str``. ``id_column``, when given, must be unique.
    """
    require_nonempty(df, source)
    require_columns(df, source, [c for c in (id_column, text, label) if c is not None])
    cols: dict[str, pd.Series] = {}
    if id_column is not None:
        cols[id_column] = as_str(df, source, id_column)
    if pd.api.types.is_numeric_dtype(df[text].dtype) or pd.api.types.is_bool_dtype(df[text].dtype):
        raise SchemaError(
            source,
            f"holds numbers, not text (row 0: {df[text].iloc[0]}); name the text column "
            "with text: (or columns: {text: ...})",
            column=text,
        )
    cols[text] = as_str(df, source, text)
    cols[label] = as_str(df, source, label)
    out = _assemble(df, cols)
    if id_column is not None:
        require_unique(out, source, id_column)
    return out
