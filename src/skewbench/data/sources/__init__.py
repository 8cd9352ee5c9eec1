"""Data sources: the bundled real data sets and the user's own tables, behind one registry.

``list_datasets()`` describes them; ``load(name, **params)`` returns a validated DataFrame.
Every real source reads files shipped inside installed packages; nothing is downloaded.

Tables per source (``table=`` parameter, first one is the default):

- ``clothing``: ``reviews`` — labelled text (see :mod:`.clothing`).
- ``completejourney``: ``purchases`` (interactions), ``products`` (catalog), ``demographics``.
- ``movielens100k``: ``ratings`` (interactions), ``items`` (catalog), ``users``.
- ``esci``: ``examples``, ``products`` — the Amazon ESCI parquet files, from ``path=``.
- ``table``: the user's CSV/Parquet file, ``path=``, ``kind=``, ``columns={ours: theirs}``.
- ``recbole``, ``amazon2023``, ``movielens``: the formats users already hold (a RecBole atomic
  folder, Amazon Reviews 2023 JSONL, a MovieLens 1M/10M/20M+ folder), from ``path=`` /
  ``reviews=``: ``interactions``, ``catalog``, ``users`` (see :mod:`.frames`).

Recommend-capable sources define ``recommend_frames(params)``; :func:`recommend_frames` calls it.

Heavy loads are cached in-process (``functools.lru_cache``; callers get a shallow copy, which
copy-on-write keeps independent of the cache) and, with ``disk_cache=True``, as Parquet under
``.cache/skewbench/`` (the ``SKEWBENCH_CACHE`` environment variable overrides the folder).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from skewbench.data.sources.frames import TABLES as FRAME_TABLES
from skewbench.errors import ConfigError, SchemaError

if TYPE_CHECKING:
    from skewbench.data.sources.frames import Frames

CACHE_VERSION = 1  # bump when a loader's output changes, so stale disk caches are not reused


@dataclass(frozen=True)
class DatasetInfo:
    """What a data source holds. ``sizes`` are facts about the shipped data (rows, classes)."""

    name: str
    tasks: tuple[str, ...]
    description: str
    licence: str
    tables: tuple[str, ...] = ()
    sizes: dict[str, int] = field(default_factory=dict)


_DATASETS: dict[str, tuple[DatasetInfo, str]] = {
    "clothing": (
        DatasetInfo(
            name="clothing",
            tasks=("categorize",),
            description=(
                "Women's E-Commerce Clothing Reviews: review title + text labelled with "
                "Division > Department > Class (20 classes, 6,319 vs 1)"
            ),
            licence="CC0",
            tables=("reviews",),
            sizes={"raw_rows": 23_486, "items": 1_206, "classes": 20},
        ),
        "skewbench.data.sources.clothing",
    ),
    "completejourney": (
        DatasetInfo(
            name="completejourney",
            tasks=("recommend", "search"),
            description=(
                "84.51 Complete Journey 2.0 grocery purchases (2017): household x product "
                "interactions and a product catalog with department > category > type, "
                "National/Private brand, manufacturer and median unit price"
            ),
            licence="data CC0, package MIT",
            tables=("purchases", "products", "demographics"),
            sizes={
                "purchase_lines": 1_469_307,
                "households": 2_469,
                "products": 92_331,
                "departments": 32,
                "demographics_households": 801,
            },
        ),
        "skewbench.data.sources.completejourney",
    ),
    "movielens100k": (
        DatasetInfo(
            name="movielens100k",
            tasks=("recommend",),
            description="MovieLens 100k: explicit ratings 1-5 with timestamps, 19 genre flags",
            licence="GroupLens research terms",
            tables=("ratings", "items", "users"),
            sizes={"ratings": 100_000, "users": 943, "items": 1_682},
        ),
        "skewbench.data.sources.movielens",
    ),
    "esci": (
        DatasetInfo(
            name="esci",
            tasks=("search",),
            description=(
                "Amazon Shopping Queries (ESCI, Reddy et al. 2022): real queries with E/S/C/I "
                "judgments; not shipped by any package — pass the folder of your download "
                "as path="
            ),
            licence="Apache-2.0",
            tables=("examples", "products"),
        ),
        "skewbench.data.sources.esci",
    ),
    "table": (
        DatasetInfo(
            name="table",
            tasks=("categorize", "recommend", "search"),
            description=(
                "your own CSV/Parquet files with a column mapping: categorize path= (labelled "
                "text); recommend interactions= + catalog=; search queries= + qrels= + catalog="
            ),
            licence="yours",
            tables=("catalog", "interactions", "queries", "qrels", "labelled_text"),
        ),
        "skewbench.data.sources.table",
    ),
    "recbole": (
        DatasetInfo(
            name="recbole",
            tasks=("recommend",),
            description=(
                "RecBole atomic files (<name>.inter, optional .item and .user; the format of "
                "RecBole's 40+ converted data sets) from the folder path="
            ),
            licence="the data set's",
            tables=FRAME_TABLES,
        ),
        "skewbench.data.sources.recbole",
    ),
    "amazon2023": (
        DatasetInfo(
            name="amazon2023",
            tasks=("recommend",),
            description=(
                "Amazon Reviews 2023 JSONL: a category's reviews= file and its meta= item file "
                "(store/brand, categories, price)"
            ),
            licence="the data set's (research use)",
            tables=FRAME_TABLES,
        ),
        "skewbench.data.sources.amazon2023",
    ),
    "movielens": (
        DatasetInfo(
            name="movielens",
            tasks=("recommend",),
            description=(
                "a MovieLens folder from path=: ratings.dat/movies.dat/users.dat (1M, 10M) or "
                "ratings.csv/movies.csv (20M, 25M, 32M)"
            ),
            licence="GroupLens research terms",
            tables=FRAME_TABLES,
        ),
        "skewbench.data.sources.movielens_files",
    ),
}


def register(info: DatasetInfo, module: str) -> None:
    """Add a source (e.g. the search helper's ESCI loader); ``module`` must define ``load``."""
    _DATASETS[info.name] = (info, module)


def list_datasets() -> list[DatasetInfo]:
    """Every registered source, in registration order."""
    return [info for info, _ in _DATASETS.values()]


def get_info(name: str) -> DatasetInfo:
    if name not in _DATASETS:
        raise ConfigError(f"dataset: unknown name {name!r}; choose one of {sorted(_DATASETS)}")
    return _DATASETS[name][0]


def load(name: str, **params: Any) -> pd.DataFrame:
    """Load data set ``name``; ``params`` go to that source's ``load`` (e.g. ``table=``)."""
    get_info(name)
    module = importlib.import_module(_DATASETS[name][1])
    try:
        return module.load(**params)
    except TypeError as exc:
        # an unknown keyword is a config mistake: say which data set and parameter
        if "unexpected keyword argument" in str(exc):
            raise ConfigError(f"dataset {name!r}: {exc}") from None
        raise


def loader_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The ``params`` the source's ``load`` takes (a task's own settings, such as
    ``min_class_count``, left out)."""
    import inspect

    get_info(name)
    accepted = inspect.signature(importlib.import_module(_DATASETS[name][1]).load).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        return dict(params)
    return {k: v for k, v in params.items() if k in accepted}


def recommend_frames(name: str, params: dict[str, Any]) -> Frames:
    """Interactions, catalog and user attributes of a recommend-capable source."""
    get_info(name)
    module = importlib.import_module(_DATASETS[name][1])
    if not hasattr(module, "recommend_frames"):
        raise ConfigError(f"dataset {name!r} holds no interactions")
    frames: Frames = module.recommend_frames(params)
    return frames


# --------------------------------------------------------------------------------------------
# helpers for the source modules


def package_dir(package: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SchemaError(package, f"package {package!r} is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package; SchemaError if it is missing."""
    path = package_dir(package) / relative
    if not path.is_file():
        raise SchemaError(f"{package}/{relative}", f"path does not exist: {str(path)!r}")
    return path


def cache_dir() -> Path:
    """Disk cache folder: ``$SKEWBENCH_CACHE`` or ``.cache/skewbench`` under the working dir."""
    return Path(os.environ.get("SKEWBENCH_CACHE", ".cache/skewbench"))


def disk_cached(
    name: str, inputs: list[Path], params: dict[str, Any], build: Callable[[], pd.DataFrame]
) -> pd.DataFrame:
    """Return ``build()``, cached as Parquet keyed by name, params and the inputs' size/mtime."""
    stamp = [CACHE_VERSION, name, sorted(params.items())]
    stamp += [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in inputs]
    key = hashlib.sha256(repr(stamp).encode()).hexdigest()[:16]
    path = cache_dir() / f"{name}-{key}.parquet"
    if path.is_file():
        return pd.read_parquet(path)
    df = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    df.to_parquet(tmp, index=True)
    os.replace(tmp, path)  # atomic: a concurrent reader sees the old state or the whole file
    return df


def unknown_table(source: str, table: str, tables: tuple[str, ...]) -> ConfigError:
    return ConfigError(f"dataset {source!r}: unknown table {table!r}; choose one of {tables}")
