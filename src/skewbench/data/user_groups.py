"""User groups for user-side fairness: activity, mainstreamness and demographics.

Every function returns one label per user (aligned with its input) as a NumPy object array of
strings, plus — where the groups come from cut points — the edges, so a report can state them.
Missing values are a group of their own ("unknown"), never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

UNKNOWN = "unknown"

#: Demographic columns used per data set (the recommend data-set names).
DEMOGRAPHICS: dict[str, tuple[str, ...]] = {
    "completejourney": ("age", "income", "household_size"),
    "movielens100k": ("age", "gender", "occupation"),
}
#: MovieLens-100k ages are integers; these bands (lower edges, years) follow MovieLens-1M's.
AGE_BANDS: tuple[int, ...] = (0, 18, 25, 35, 45, 50, 56)


def quantile_groups(
    values: Sequence[float] | np.ndarray, n_groups: int = 3, prefix: str = "q"
) -> tuple[np.ndarray, list[float]]:
    """Quantile groups "q1" (smallest values) … "q{n}" and the inner edges.

    Edges are the j/n quantiles (numpy linear interpolation) of the non-NaN values; group =
    1 + number of inner edges strictly below the value (so a value equal to an edge joins the
    lower group, and equal values always share a group; groups can be uneven under ties). NaN
    → "unknown".
    """
    if n_groups < 1:
        raise ValueError(f"n_groups must be >= 1, got {n_groups}")
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    known = ~np.isnan(x)
    out = np.full(x.size, UNKNOWN, dtype=object)
    if not known.any():
        return out, []
    edges = np.quantile(x[known], np.arange(1, n_groups) / n_groups)
    band = np.searchsorted(edges, x[known], side="left")
    out[known] = np.array([f"{prefix}{b + 1}" for b in range(n_groups)], dtype=object)[band]
    return out, [float(e) for e in edges]


def activity_groups(
    history_length: np.ndarray, n_groups: int = 3
) -> tuple[np.ndarray, list[float]]:
    """Activity = number of distinct training items per user; quantile groups "q1" (least
    active) … (edges returned)."""
    return quantile_groups(np.asarray(history_length, dtype=np.float64), n_groups)


def mainstreamness(history: object, item_popularity: np.ndarray) -> np.ndarray:
    r"""Mean training popularity of each user's distinct history items:
    m_u = (1/|H_u|) Σ_{i∈H_u} φ_i (NaN for an empty history). ``history`` is a users × items
    sparse matrix (any positive weight counts once)."""
    import scipy.sparse as sp

    H = sp.csr_matrix(history)
    B = H.copy()
    B.data = (B.data > 0).astype(np.float64)
    n = np.asarray(B.sum(axis=1)).ravel()
    total = B @ np.asarray(item_popularity, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def mainstream_groups(
    history: object, item_popularity: np.ndarray, n_groups: int = 3
) -> tuple[np.ndarray, list[float]]:
    """Quantile groups of :func:`mainstreamness`: "q1" = the most niche users (lowest mean
    item popularity) … "q{n}" = the most mainstream (edges returned)."""
    return quantile_groups(mainstreamness(history, item_popularity), n_groups)


def age_bands(ages: Sequence[float] | np.ndarray) -> np.ndarray:
    """Integer ages → "<18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+" (lower edges
    :data:`AGE_BANDS`); NaN → "unknown"."""
    a = np.asarray(ages, dtype=np.float64)
    names = []
    for lo, hi in zip(AGE_BANDS[:-1], AGE_BANDS[1:], strict=True):
        names.append(f"<{hi}" if lo == 0 else f"{lo}-{hi - 1}")
    names.append(f"{AGE_BANDS[-1]}+")
    out = np.full(a.size, UNKNOWN, dtype=object)
    known = ~np.isnan(a)
    idx = np.searchsorted(np.asarray(AGE_BANDS[1:]), a[known], side="right")
    out[known] = np.asarray(names, dtype=object)[idx]
    return out


def demographic_groups(dataset: str, user_ids: Sequence[str] | np.ndarray) -> dict[str, np.ndarray]:
    """{attribute: label per user} for the data set's demographics (:data:`DEMOGRAPHICS`);
    users absent from the table, and missing values, are "unknown". Empty for other data."""
    cols = DEMOGRAPHICS.get(dataset)
    if not cols:
        return {}
    if dataset == "completejourney":
        from skewbench.data.sources import completejourney

        table = completejourney.load_demographics()
    else:
        from skewbench.data.sources import movielens

        table = movielens.load_users().copy()
        table["age"] = age_bands(table["age"].to_numpy(dtype=np.float64))
    table = table.drop_duplicates("user_id").set_index("user_id")
    idx = pd.Index(np.asarray(user_ids).astype(str))
    out = {}
    for c in cols:
        s = table[c].astype("object").where(table[c].notna(), UNKNOWN).astype(str)
        out[c] = s.reindex(idx).fillna(UNKNOWN).to_numpy(dtype=object)
    return out


#: a user-attribute group with fewer users than this is merged with the other small ones into
#: "other" (the report tests no group this small: ``metrics.user_fairness.MIN_USERS``)
MIN_GROUP_USERS = 20
OTHER = "other"


def attribute_groups(
    table: pd.DataFrame,
    user_ids: Sequence[str] | np.ndarray,
    n_bands: int = 4,
    min_users: int = MIN_GROUP_USERS,
) -> dict[str, np.ndarray]:
    """{attribute: label per user} from your user-attributes table (``user_id`` + any columns).

    A numeric column with more than ``2 * n_bands`` distinct values becomes quantile bands
    "q1" … (edges over the listed users, :func:`quantile_groups`); any other column groups by
    value. Missing values and users absent from the table are "unknown". When two or more
    groups have fewer than ``min_users`` of the listed users, they are merged into "other" (a
    single small group keeps its name; the report flags it with its n). An attribute left with
    one group is dropped: nothing to compare.
    """
    from skewbench.data.schema import as_str

    rows = (
        table.drop_duplicates("user_id")
        .set_index("user_id")
        .reindex(pd.Index(np.asarray(user_ids).astype(str)))
    )
    rows.index = pd.RangeIndex(len(rows))
    out: dict[str, np.ndarray] = {}
    for col in rows.columns:
        s = rows[col]
        if pd.api.types.is_numeric_dtype(s.dtype) and s.nunique() > 2 * n_bands:
            labels, _ = quantile_groups(s.to_numpy(dtype=np.float64), n_bands)
        else:
            text = as_str(rows, "user attributes", col, allow_na=True)
            labels = text.fillna(UNKNOWN).to_numpy(dtype=object)
        names, counts = np.unique(labels.astype(str), return_counts=True)
        small = names[counts < min_users]
        if small.size >= 2:
            labels = np.where(np.isin(labels.astype(str), small), OTHER, labels).astype(object)
        if np.unique(labels.astype(str)).size >= 2:
            out[str(col)] = labels
    return out
