"""Text views of the constructed search data: the query text of a product type or category
path, the indexed product text (which leaves product_type out, see
:mod:`skewbench.data.queries`), and the key under which query texts are compared."""

from __future__ import annotations

import re

import pandas as pd

_NON_WORD = re.compile(r"[^0-9a-z.]+")


def query_key(text: str) -> str:
    """The form in which query texts are compared across folds: case-folded, runs of
    whitespace collapsed to one space (works for any script, unlike :func:`normalize_text`)."""
    return " ".join(str(text).casefold().split())


def normalize_text(text: str) -> str:
    """Lower-case, turn every run of characters other than ``[0-9a-z.]`` into one space."""
    return _NON_WORD.sub(" ", str(text).lower()).strip()


def _dedupe_tokens(text: str) -> str:
    seen: dict[str, None] = {}
    for tok in text.split():
        seen.setdefault(tok, None)
    return " ".join(seen)


def type_query_text(product_type: str) -> str:
    """Query text of a type query: the normalised product_type words."""
    return normalize_text(product_type)


def path_query_text(product_category: str, product_type: str) -> str:
    """Ai et al.-style query: category then type words, normalised, repeated tokens dropped."""
    return _dedupe_tokens(normalize_text(f"{product_category} {product_type}"))


def product_text(products: pd.DataFrame, *, index_type: bool = False) -> pd.Series:
    """Indexed document text of each product from its own fields.

    ``"{category}. {department}. {National brand|Private label}. manufacturer {id}. {size}"``,
    normalised; ``index_type=True`` prepends the product_type (the ablation in the module
    docstring). Missing fields are left out.
    """
    brand = products["brand"].map({"National": "national brand", "Private": "private label"})
    parts = [products["product_category"], products["department"], brand]
    parts.append("manufacturer " + products["manufacturer_id"].astype(str))
    parts.append(products["package_size"])
    if index_type:
        parts.insert(0, products["product_type"])
    frame = pd.concat([p.astype("object") for p in parts], axis=1)
    return frame.apply(
        lambda row: ". ".join(normalize_text(v) for v in row if isinstance(v, str) and v.strip()),
        axis=1,
    ).astype(str)
