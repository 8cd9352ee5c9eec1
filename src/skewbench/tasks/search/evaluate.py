"""The search task's evaluation of the final lists: ranking metrics per query (and over the
head / tail query groups) and the exposure metrics of the lists (module doc of
:mod:`skewbench.tasks.search`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from skewbench.data.queries import SearchData
from skewbench.metrics.exposure import (
    exposure_metrics,
    gini,
    list_item_stats,
    position_weights,
    unit_exposure_shares,
)
from skewbench.pipeline import group_mean, per_unit_ranking, unit_means
from skewbench.tasks.search.config import RANK_METRICS


def evaluate_lists(
    data: SearchData,
    ranked: np.ndarray,
    truth: sp.csr_matrix,
    group: np.ndarray,
    cutoffs: list[int],
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """(per-query metrics, cell metrics). Every test query is judged, so one with no relevant
    product (ESCI: all labels I) scores 0 and is counted, as in trec_eval; never dropped."""
    per_unit = per_unit_ranking(ranked, truth, RANK_METRICS, cutoffs)
    metrics = unit_means(per_unit)
    for c in cutoffs:
        for m in ("ndcg", "recall"):
            for g in ("head", "tail"):
                metrics[f"{m}@{c}_{g}"] = group_mean(per_unit[f"{m}@{c}"], group == g)
    metrics.update(list_metrics(data, ranked))
    if "product_category" in data.catalog.columns:  # Complete Journey: Private label is a brand
        # per-query parts of private_share (their mean is the list-level share): paired tests
        per_unit["private_share"] = unit_exposure_shares(
            ranked, data.catalog["brand"].astype(str).to_numpy() == "Private"
        )
    return per_unit, metrics


def unavailable(data: SearchData) -> dict[str, str]:
    """The list metrics this data cannot give, and why (a ``table`` catalog without the column
    they read); the report shows them as not available, never as 0."""
    if data.info.get("source") != "table":
        return {}
    from skewbench.data.groups import catalog_groups, missing_groupings

    groups = catalog_groups(data.catalog, int(data.info["category_level"]))
    why = {f"exposure_gini[{g}]": w for g, w in missing_groupings(groups).items()}
    if data.catalog["manufacturer"].isna().all():
        why["exposure_gini_manufacturer"] = "the catalog's manufacturer column holds no value"
    why["private_share"] = (
        "Complete Journey's Private-label brand; on your catalog see exposure_share[brand=…]"
    )
    return why


def list_metrics(data: SearchData, ranked: np.ndarray) -> dict[str, float]:
    """Exposure metrics of the final lists (module docstring)."""
    n = len(data.catalog)
    pop = data.item_popularity if data.item_popularity is not None else np.zeros(n)
    is_cj = "product_category" in data.catalog.columns
    groups = {"brand": data.catalog["brand"].astype(str).to_numpy()} if is_cj else None
    ex = exposure_metrics(ranked, n, pop, groups=groups)
    # Item exposure from the engine (same log position weights as exposure_gini), summed per
    # manufacturer: exposure_metrics' per-group keys would add one entry per manufacturer (~6k).
    exposure = list_item_stats(ranked, n, position_weights(ranked.shape[1], "log")).exposure
    manu = data.catalog["manufacturer"].astype(str).fillna("NA").to_numpy()
    per_manu = pd.Series(exposure).groupby(manu).sum().to_numpy()
    return {
        "exposure_gini": float(ex["exposure_gini"]),
        "exposure_gini_manufacturer": gini(per_manu)
        if exposure.sum() > 0 and "exposure_gini_manufacturer" not in unavailable(data)
        else float("nan"),
        "private_share": float(ex.get("exposure_share[brand=Private]", 0.0))
        if is_cj
        else float("nan"),
        "arp": float(ex["arp"]),
    }
