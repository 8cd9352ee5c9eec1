"""Readers for a system's output and its judgments: run files, qrels, labels and predictions.

Formats, chosen by the file's extension:

- run: TREC (``qid Q0 docid rank score tag``, whitespace-separated; any extension but those
  below), ranx JSON (``{unit: {item: score}}``, ``.json``), CSV / TSV / Parquet with columns
  ``unit``, ``item`` and ``score`` and/or ``rank``;
- qrels: TREC (``qid iter docid grade``), ranx JSON (``{unit: {item: grade}}``), CSV / TSV /
  Parquet with columns ``unit``, ``item``, ``grade``;
- categorize labels: CSV / TSV / Parquet with ``id`` and ``label``; predictions: ``id`` and
  ``label`` (the predicted class) and/or one ``proba_<class>`` column per class.

Conventions (trec_eval's): a list is ordered by score, highest first, ties broken by item id
in *descending* string order; the rank column then only has to be distinct within a unit. A
file without scores is ordered by rank. An item listed twice for one unit, a rank used twice
in one unit, a non-numeric score, rank or grade, and an empty file are refused with ONE error
naming the file, the line (row for Parquet, unit for JSON) and what to do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from skewbench.errors import SchemaError

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet")
RUN_COLUMNS = ("unit", "item", "score", "rank")
QRELS_COLUMNS = ("unit", "item", "grade")


def file_format(path: Path) -> str:
    """ "json", "csv", "tsv", "parquet" or "trec" (every other extension)."""
    suffix = path.suffix.lower()
    return suffix[1:] if suffix in (".json", *TABLE_SUFFIXES) else "trec"


def _where(path: Path, fmt: str, row: int) -> str:
    """The place of table row ``row`` (0-based, header excluded) in the file, for errors."""
    if fmt == "parquet":
        return f"{path} row {row + 1}"
    if fmt in ("csv", "tsv"):
        return f"{path} line {row + 2}"  # line 1 is the header
    return f"{path} line {row + 1}"


def _fail(path: Path, fmt: str, row: int, message: str) -> SchemaError:
    return SchemaError(_where(path, fmt, row), message)


def read_table(path: Path) -> pd.DataFrame:
    """A CSV / TSV / Parquet file as strings-as-given (no type guessing); empty → refused."""
    fmt = file_format(path)
    if fmt == "parquet":
        frame = pd.read_parquet(path)
    elif fmt in ("csv", "tsv"):
        try:
            frame = pd.read_csv(
                path, sep="," if fmt == "csv" else "\t", dtype=str, keep_default_na=False
            )
        except pd.errors.EmptyDataError:
            frame = pd.DataFrame()
        except pd.errors.ParserError as err:
            raise SchemaError(str(path), f"not a valid {fmt.upper()} file ({err})") from None
    else:
        raise SchemaError(
            str(path), f"a table must be .csv, .tsv or .parquet, got {path.suffix or 'no suffix'}"
        )
    if frame.empty:
        raise SchemaError(str(path), "the file holds no rows; give a file with at least one row")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _require(frame: pd.DataFrame, path: Path, needed: tuple[str, ...], what: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SchemaError(
            str(path),
            f"{what} needs the columns {list(needed)}; missing {missing} "
            f"(found {list(frame.columns)})",
        )


def _numeric(
    values: pd.Series, path: Path, fmt: str, column: str, hint: str, integer: bool = False
) -> np.ndarray:
    """``values`` as float64; the first blank or non-numeric (non-integer) value is refused."""
    raw = values.astype("string").str.strip() if values.dtype == object else values
    nums = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(nums)
    if integer:
        bad |= nums != np.floor(nums)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        kind = "an integer" if integer else "a number"
        raise _fail(path, fmt, row, f"{column} {values.iloc[row]!r} is not {kind}; {hint}")
    return nums


def _trec(path: Path, names: list[str]) -> pd.DataFrame:
    """A whitespace-separated file as strings, one row per line (blank lines kept as empty
    rows so that row i is line i + 1)."""
    try:
        frame = pd.read_csv(
            path,
            sep=r"\s+",
            header=None,
            names=names,
            index_col=False,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=names)
    except pd.errors.ParserError as err:  # "Expected 6 fields in line 7, saw 8"
        found = re.search(r"in line (\d+), saw (\d+)", str(err))
        where = f"{path} line {found[1]}" if found else str(path)
        saw = f", saw {found[2]}" if found else ""
        raise SchemaError(where, f"{len(names)} fields expected ({' '.join(names)}){saw}") from None
    blank = (frame == "").all(axis=1) | frame.isna().all(axis=1)
    frame = frame[~blank.to_numpy()]
    short = frame[names[-1]].isna() | (frame[names[-1]] == "")
    if short.any():
        row = int(frame.index[short.to_numpy()][0])
        raise _fail(
            path, "trec", row, f"{len(names)} fields expected ({' '.join(names)}), fewer given"
        )
    if frame.empty:
        raise SchemaError(str(path), "the file holds no lines; give at least one line")
    return frame


def _json(path: Path, what: str) -> pd.DataFrame:
    """ranx JSON: ``{unit: {item: value}}`` as (unit, item, value) rows."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise SchemaError(f"{path} line {err.lineno}", f"not valid JSON ({err.msg})") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise SchemaError(str(path), f"ranx {what} JSON is {{unit: {{item: value}}}}")
    units, items, values = [], [], []
    for unit, scored in data.items():
        for item, value in scored.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SchemaError(
                    f"{path} unit {unit!r}",
                    f"item {item!r} has value {value!r}, not a number; give numbers",
                )
            units.append(str(unit))
            items.append(str(item))
            values.append(float(value))
    if not units:
        raise SchemaError(str(path), f"the {what} holds no entries; give at least one")
    return pd.DataFrame({"unit": units, "item": items, "value": values})


def _first_duplicate(frame: pd.DataFrame, cols: list[str]) -> tuple[int, int] | None:
    """(first row, repeating row) of the first repeated ``cols`` combination, by position."""
    dup = frame.duplicated(cols, keep=False).to_numpy()
    if not dup.any():
        return None
    sub = frame.iloc[np.flatnonzero(dup)]
    later = sub.duplicated(cols, keep="first").to_numpy()
    second = int(np.flatnonzero(dup)[np.flatnonzero(later)[0]])
    key = tuple(frame.iloc[second][c] for c in cols)
    match = (frame[cols] == pd.Series(dict(zip(cols, key, strict=True)))).all(axis=1).to_numpy()
    return int(np.flatnonzero(match)[0]), second


def read_run(path: str | Path) -> pd.DataFrame:
    """A run as (unit, item, score, rank, line) rows in list order (unit, then rank 1, 2, …).

    ``rank`` is the position the conventions give (module doc); ``score`` is NaN for a file
    ordered by rank only; ``line`` is where the row is in the file (:func:`located`). Units
    and items are strings."""
    path = Path(path)
    fmt = file_format(path)
    rank = None
    if fmt == "json":
        frame = _json(path, "run").rename(columns={"value": "score"})
        pos = np.arange(len(frame))
        score = frame["score"].to_numpy()
    else:
        if fmt == "trec":
            frame = _trec(path, ["unit", "q0", "item", "rank", "score", "tag"])
        else:
            frame = read_table(path)
            _require(frame, path, ("unit", "item"), "a run")
            if "score" not in frame.columns and "rank" not in frame.columns:
                raise SchemaError(str(path), "a run needs a 'score' or a 'rank' column (or both)")
        pos = frame.index.to_numpy() if fmt == "trec" else np.arange(len(frame))
        frame = frame.reset_index(drop=True)
        frame["unit"] = frame["unit"].astype(str).str.strip()
        frame["item"] = frame["item"].astype(str).str.strip()
        fix = "give every line a numeric score"
        score = (
            _numeric(frame["score"], path, fmt, "score", fix) if "score" in frame.columns else None
        )
        if "rank" in frame.columns:
            fix = "give every line an integer rank"
            rank = _numeric(frame["rank"], path, fmt, "rank", fix, integer=True)
    out = pd.DataFrame({"unit": frame["unit"].to_numpy(), "item": frame["item"].to_numpy()})
    _refuse_duplicates(out, path, fmt, pos, ["unit", "item"], "item", "list each item once")
    out["line"] = _line_numbers(fmt, pos)
    if rank is not None:
        out["given_rank"] = rank
        _refuse_duplicates(
            out, path, fmt, pos, ["unit", "given_rank"], "rank", "give each item its own rank"
        )
    if score is not None:
        # trec_eval: score descending, then item id descending (its own rank is ignored)
        out["score"] = score
        order = np.lexsort((_desc(out["item"].to_numpy()), -score, _codes(out["unit"])))
    else:
        assert rank is not None  # a file without scores has ranks (checked above)
        out["score"] = np.nan
        order = np.lexsort((rank, _codes(out["unit"])))
    out = out.iloc[order].reset_index(drop=True)
    out["rank"] = out.groupby("unit", sort=False).cumcount().to_numpy() + 1
    return out[["unit", "item", "score", "rank", "line"]]


def _line_numbers(fmt: str, pos: np.ndarray) -> np.ndarray:
    """The 1-based line (row for Parquet) of each table row; 0 for JSON (no lines)."""
    if fmt == "json":
        return np.zeros(pos.size, dtype=np.int64)
    return pos.astype(np.int64) + (2 if fmt in ("csv", "tsv") else 1)


def known_index(
    run: pd.DataFrame, path: str | Path, column: str, known: pd.Index, fix: str, tag: str = ""
) -> np.ndarray:
    """Positions of ``run[column]`` (a :func:`read_run` output) in ``known``; the row coming
    first in the file whose value ``known`` lacks is refused, naming its line and ``fix``."""
    index = known.get_indexer(run[column].to_numpy())
    bad = index < 0
    if bad.any():
        r = run.iloc[int(np.flatnonzero(bad)[np.argmin(run["line"].to_numpy()[bad])])]
        unit = f" (unit {r['unit']!r})" if column != "unit" else ""
        raise SchemaError(
            located(path, int(r["line"])) + tag, f"{column} {r[column]!r}{unit} {fix}"
        )
    return index


def located(path: str | Path, line: int) -> str:
    """Where a row of :func:`read_run`'s output came from: "file line N" ("row N" for
    Parquet; the file alone for JSON)."""
    fmt = file_format(Path(path))
    if fmt == "json" or line <= 0:
        return str(path)
    return f"{path} {'row' if fmt == 'parquet' else 'line'} {line}"


def _codes(values: pd.Series) -> np.ndarray:
    return pd.factorize(values, sort=True)[0]


def _desc(items: np.ndarray) -> np.ndarray:
    """Sort key putting item ids in descending string order."""
    return -pd.factorize(pd.Series(items), sort=True)[0]


def _refuse_duplicates(
    frame: pd.DataFrame,
    path: Path,
    fmt: str,
    pos: np.ndarray,
    cols: list[str],
    what: str,
    fix: str,
) -> None:
    found = _first_duplicate(frame, cols)
    if found is None:
        return
    first, second = found
    r = frame.iloc[second]
    value = r[cols[1]]
    value = int(value) if what == "rank" else value
    if fmt == "json":  # a JSON object cannot repeat a key; only ranks can repeat
        raise SchemaError(f"{path} unit {r['unit']!r}", f"{what} {value!r} twice; {fix}")
    first_at = _where(path, fmt, int(pos[first])).removeprefix(f"{path} ")
    raise _fail(
        path,
        fmt,
        int(pos[second]),
        f"unit {r['unit']!r} lists {what} {value!r} again (first at {first_at}); {fix}",
    )


def read_qrels(path: str | Path) -> pd.DataFrame:
    """Judgments as (unit, item, grade) rows; grade > 0 is relevant (trec_eval)."""
    path = Path(path)
    fmt = file_format(path)
    if fmt == "json":
        frame = _json(path, "qrels").rename(columns={"value": "grade"})
        pos = np.arange(len(frame))
        grade = frame["grade"].to_numpy()
    else:
        if fmt == "trec":
            frame = _trec(path, ["unit", "iter", "item", "grade"])
        else:
            frame = read_table(path)
            _require(frame, path, QRELS_COLUMNS, "a qrels file")
        pos = frame.index.to_numpy() if fmt == "trec" else np.arange(len(frame))
        frame = frame.reset_index(drop=True)
        grade = _numeric(frame["grade"], path, fmt, "grade", "give every judgment a numeric grade")
    out = pd.DataFrame(
        {
            "unit": frame["unit"].astype(str).str.strip().to_numpy(),
            "item": frame["item"].astype(str).str.strip().to_numpy(),
            "grade": grade,
        }
    )
    _refuse_duplicates(out, path, fmt, pos, ["unit", "item"], "item", "judge each item once")
    return out


def read_predictions(path: str | Path) -> pd.DataFrame:
    """Categorize predictions: ``id``, then ``label`` and/or ``proba_<class>`` columns (floats,
    checked numeric and within [0, 1])."""
    path = Path(path)
    fmt = file_format(path)
    frame = read_table(path)
    _require(frame, path, ("id",), "a predictions file")
    proba = [c for c in frame.columns if c.startswith("proba_")]
    if "label" not in frame.columns and not proba:
        raise SchemaError(
            str(path), "predictions need a 'label' column or 'proba_<class>' columns (or both)"
        )
    out = pd.DataFrame({"id": frame["id"].astype(str).str.strip()})
    if "label" in frame.columns:
        out["label"] = frame["label"].astype(str).str.strip()
    for c in proba:
        v = _numeric(frame[c], path, fmt, c, "give a probability in [0, 1]")
        outside = (v < 0) | (v > 1)
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise _fail(path, fmt, row, f"{c} {v[row]!r} is outside [0, 1]")
        out[c] = v
    found = _first_duplicate(out, ["id"])
    if found is not None:
        raise _fail(path, fmt, found[1], f"id {out['id'].iloc[found[1]]!r} is listed again")
    return out


def read_labels(path: str | Path) -> pd.DataFrame:
    """Categorize ground truth: ``id`` and ``label`` (strings), each id once."""
    path = Path(path)
    fmt = file_format(path)
    frame = read_table(path)
    _require(frame, path, ("id", "label"), "a labels file")
    out = pd.DataFrame(
        {
            "id": frame["id"].astype(str).str.strip(),
            "label": frame["label"].astype(str).str.strip(),
        }
    )
    blank = (out["label"] == "").to_numpy()
    if blank.any():
        raise _fail(path, fmt, int(np.flatnonzero(blank)[0]), "label is empty; give every id one")
    found = _first_duplicate(out, ["id"])
    if found is not None:
        raise _fail(path, fmt, found[1], f"id {out['id'].iloc[found[1]]!r} is listed again")
    return out
