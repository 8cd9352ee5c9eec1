"""A MovieLens folder as GroupLens ships it (Harper & Konstan 2015), found by its files:

- ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``), ``movies.dat``
  (``MovieID::Title::Genres``, Latin-1) and, in 1M only, ``users.dat``
  (``UserID::Gender::Age::Occupation::Zip-code``) — MovieLens 1M and 10M;
- ``ratings.csv`` (``userId,movieId,rating,timestamp``) and ``movies.csv``
  (``movieId,title,genres``) — MovieLens 20M, 25M, 32M and latest.

Ratings >= ``min_rating`` are the interactions. The catalog's ``category`` (and its one-level
``category_path``) is the first genre as listed; ``genres`` holds them all, joined by "|".
1M's users carry ``gender``, ``age`` (its bands, e.g. "25-34") and ``occupation`` (its names).
Row 0 is the first line of a ``.dat`` file, the first line after the header of a ``.csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from skewbench.data import schema
from skewbench.data.sources.frames import (
    Frames,
    first_token,
    frame_table,
    keep_ratings,
    one_per_pair,
    require_covered,
    validate_users,
)
from skewbench.errors import SchemaError

LAYOUTS = {
    "dat": ("ratings.dat", "movies.dat", "users.dat"),
    "csv": ("ratings.csv", "movies.csv"),
}
#: MovieLens 1M's age codes (lower edge of the band) and occupation codes (its README)
AGES = {"1": "<18", "18": "18-24", "25": "25-34", "35": "35-44", "45": "45-49", "50": "50-55"}
AGES["56"] = "56+"
OCCUPATIONS = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)  # fmt: skip


def layout(path: str | Path) -> tuple[str, dict[str, Path]]:
    """("dat" | "csv", {file name: path} of the folder's MovieLens files that exist)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        what = "a file, not a folder" if folder.is_file() else "path does not exist"
        raise SchemaError(str(folder), f"{what}: give the MovieLens folder (e.g. ml-1m)")
    for kind, names in LAYOUTS.items():
        if (folder / names[0]).is_file():
            missing = [n for n in names[:2] if not (folder / n).is_file()]
            if missing:
                raise SchemaError(str(folder), f"{names[0]} is there but {missing[0]} is not")
            return kind, {n: folder / n for n in names if (folder / n).is_file()}
    raise SchemaError(str(folder), "neither ratings.dat (1M, 10M) nor ratings.csv (20M+) is there")


def _dat(path: Path, names: list[str], encoding: str = "utf-8") -> pd.DataFrame:
    """A ``::``-separated file as text columns; the last field may itself hold ``::``-free
    text with single colons (titles), so lines are split at most ``len(names) - 1`` times."""

    def read(p: Path) -> pd.DataFrame:
        lines = pd.read_csv(
            p, sep="\x01", header=None, names=["line"], dtype="str", encoding=encoding,
            quoting=3, keep_default_na=False, skip_blank_lines=True,
        )["line"]  # fmt: skip
        return lines.str.split("::", n=len(names) - 1, expand=True, regex=False)

    df = schema.read_file(path, str(path), read)
    if df.shape[1] != len(names) or df.iloc[:, -1].isna().any():
        short = df.iloc[:, -1].isna() if df.shape[1] == len(names) else df.iloc[:, 0].notna()
        row = short.index[short.to_numpy()][0]
        raise SchemaError(
            str(path), f"expected {len(names)} fields {names} separated by '::'", row=row
        )
    df.columns = names
    return df


def _ratings(kind: str, path: Path, min_rating: float | None) -> pd.DataFrame:
    source = str(path)
    if kind == "dat":
        df = _dat(path, ["user_id", "item_id", "rating", "timestamp"])
    else:
        df = schema.read_table(path, source)
        df = df.rename(columns={"userId": "user_id", "movieId": "item_id"})
    return keep_ratings(schema.validate_interactions(df, source), min_rating, source)


def _movies(kind: str, path: Path) -> pd.DataFrame:
    if kind == "dat":
        try:
            df = _dat(path, ["item_id", "title", "genres"])
        except SchemaError:  # 1M writes Latin-1 titles ("Misérables, Les (1995)")
            df = _dat(path, ["item_id", "title", "genres"], encoding="latin-1")
    else:
        df = schema.read_table(path, str(path)).rename(columns={"movieId": "item_id"})
    genres = df["genres"].astype("str").replace("(no genres listed)", None)
    df["category"] = df["category_path"] = first_token(genres, "|")
    df["genres"] = genres
    return schema.validate_catalog(df, str(path))


def _users(path: Path) -> pd.DataFrame:
    df = _dat(path, ["user_id", "gender", "age", "occupation", "zip_code"])
    df["age"] = df["age"].map(AGES).fillna(df["age"])
    codes = pd.to_numeric(df["occupation"], errors="coerce")
    named = codes.map(dict(enumerate(OCCUPATIONS)))
    df["occupation"] = named.fillna(df["occupation"])
    return validate_users(df, str(path))


def recommend_frames(params: dict[str, Any]) -> Frames:
    """Interactions (ratings >= ``min_rating``), movies and (1M) users of the folder ``path``."""
    kind, files = layout(params["path"])
    names = LAYOUTS[kind]
    inter = one_per_pair(_ratings(kind, files[names[0]], params.get("min_rating")))
    catalog = _movies(kind, files[names[1]])
    require_covered(inter, catalog, str(files[names[1]]))
    users = _users(files["users.dat"]) if "users.dat" in files else None
    return Frames(inter, catalog, users)


def load(table: str = "interactions", **params: Any) -> pd.DataFrame:
    """Registry entry: ``table`` = interactions (default) | catalog | users."""
    return frame_table(recommend_frames(params), table, "movielens")
