"""The report's glossary: one line for every metric, group and statistic name its tables show.

Metric lines come from the metric registry (:func:`skewbench.metrics.registry.metric_info`: the
display name, the better direction and the glossary line); statistics, columns and item groups
are the report's own :data:`TERMS`. Column headers carry their line as a tooltip and link to
the entry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from skewbench.metrics.registry import metric_info

# Terms of the report itself: statistics, columns and the groups a column may name.
TERMS: dict[str, str] = {
    "p_holm": "p-value of the paired randomization test over distinct units, Holm-corrected over "
    "every comparison of one metric in a task; significant below 0.01",
    "p": "p-value of the paired randomization test over distinct units, before correction",
    "Δ": "difference of means (treated − untreated baseline, or B − A) over the seeds both hold",
    "n units": "distinct units (test examples, users or queries) counted, each once",
    "units": "distinct units (test examples, users or queries) counted, each once",
    "seeds": "replicates: the same cell run under different derived seeds",
    "interval": "how the bracketed 95 % interval was made: Student-t over seeds, or a bootstrap "
    "over distinct units where the replicates are identical",
    "MDE": "minimum detectable effect: the smallest difference the test would find with 80 % "
    "power at its Holm-corrected level",
    "head": "the most popular items (most frequent classes, queries) that together hold the first "
    "50 % of interactions (examples)",
    "mid": "items (classes) between the head and the tail",
    "tail": "the least popular items (least frequent classes) that together hold at most 20 % "
    "of interactions (examples)",
    "popularity": "items grouped by training popularity: head / mid / tail (see those entries); "
    "popularity=tail is the least-popular 20 %, not the non-head items",
    "brand": "the product's brand: Private (the retailer's own label) or National",
    "manufacturer": "the product's manufacturer",
    "category": "the item's category as the data set labels it",
    "deterministic": "every replicate's per-unit table is identical: one effective replicate",
    "distinct units": "distinct units (test examples, users or queries) counted, each once",
    "replicates": "seeds (replicates) that hold the unit",
    "units per seed": "units each seed evaluates",
    "in every seed": "units every seed evaluates",
    "in one seed only": "units only one seed evaluates",
    "SE (units)": "standard error of Δ from its units (the test's spread)",
    "SD of Δ over seeds": "how much Δ moves from seed to seed",
    "sig": "★ where p_holm < 0.01",
    "if not significant": "what a non-significant test can still say: equivalence within the "
    "smallest effect of interest (TOST, Holm) or its minimum detectable effect (MDE)",
    "mad": "mean absolute difference between the user groups' mean metric values (0 = parity)",
    "max_min_gap": "best group's mean metric minus the worst group's (0 = parity)",
    "gap to best": "the group's mean metric minus the best group's",
    "worst group": "the user group with the lowest mean of the metric",
    "best group": "the user group with the highest mean of the metric",
    "miscalibration C_KL": "KL divergence of a list's group shares from the user's history's "
    "(Steck 2018; 0 = calibrated), mean over users",
    "lift": "popularity lift: how much more popular the listed items are than the user's history "
    "(0 = as popular)",
    "share": "share of each list from one group (share[popularity=tail]: from the tail items)",
    "share_units_no_protected_in_pool": "share of units whose candidate pool holds no item of "
    "the protected group, so no re-ranker can expose one",
    "candidate_pool_size": "candidates each list is re-ranked from",
    "protected_group": "the group a re-ranker promotes",
    "base_rank": "the item's position in the untreated model's full ranking",
    "catalog_share": "share of catalogue items with a group value",
    "relevant_share": "share of relevant (held-out) pairs with a group value",
    "gap": "mean metric of the best user group minus the worst's (groups fixed by the untreated "
    "system)",
    "gap base": "the gap (best − worst group) of the untreated system",
    "gap treated": "the gap (best − worst group) of the treated system",
    # the item-group decomposition: the group's share at each step of the chain
    "catalog": "decomposition step: the group's share of the catalogue",
    "train": "decomposition step: the group's share of training interactions",
    "relevant": "decomposition step: the group's share of the held-out relevant pairs",
    "pool": "decomposition step: the group's share of the candidate pools",
    "before": "decomposition step: the group's share of the untreated lists",
    "after": "decomposition step: the group's share of the treated lists",
}
# Headers with a metric in brackets: "gap to best (ndcg@10)", "lift (q1)".
_QUALIFIED = re.compile(r"^(?P<term>gap to best|worst group|lift) \((?P<metric>.+)\)$")

_GROUP = re.compile(r"^(?P<metric>[^\[]+?)\s*\[(?P<group>[^=\]]+)(=(?P<value>[^\]]+))?\]$")
_BETTER = {"higher": "higher is better", "lower": "lower is better", "neither": "no direction"}


def _metric(name: str) -> tuple[str, str] | None:
    """(registry key, line) of a metric name: "ndcg@10" → ("ndcg@k", "nDCG@k: … (higher is
    better; 0 to 1)"); None when the registry has no entry."""
    try:
        spec = metric_info(name)
    except KeyError:
        return None
    if name.startswith("bal_"):
        return ("bal_<metric>", "the metric (after bal_) on a class-balanced view of the test set")
    meta = spec.meta
    lo, hi = meta.range
    span = f"{lo:g} to {'∞' if math.isinf(hi) else f'{hi:g}'}"
    return spec.key, f"{meta.display}: {meta.glossary} ({_BETTER[meta.better]}; {span})"


def lookup(header: str) -> list[tuple[str, str]]:
    """The glossary entries (term, line) a column header names, the one it links to first:
    "Δ ndcg@10 %" → ndcg@k, Δ; "p_holm (x)" → p_holm, x's; "exposure_share[popularity=tail]"
    → exposure_share[g=v], popularity, tail; "bal_macro_f1" → bal_<metric>, macro_f1; [] for
    a plain column ("model")."""
    h = header.strip()
    if h in TERMS:
        return [(h, TERMS[h])]
    m = _QUALIFIED.match(h)
    if m:
        return [(m.group("term"), TERMS[m.group("term")]), *lookup(m.group("metric"))]
    g = _GROUP.match(h)
    if g and g.group("metric") in TERMS:  # share[popularity=tail]
        return [(g.group("metric"), TERMS[g.group("metric")]), *_group_terms(g)]
    m = re.fullmatch(r"(\w+)/(\w+)", h)  # a decomposition ratio: "pool/relevant"
    if m and m.group(1) in TERMS and m.group(2) in TERMS:
        ratio = f"how much the step from {m.group(2)} to {m.group(1)} changes the group's share"
        return [(h, ratio + " (1 = unchanged)")]
    m = re.fullmatch(r"(?P<group>[a-z_]+)=(?P<value>\w+)", h)  # popularity=tail
    if m and m.group("group") in TERMS:
        return _group_terms(m)
    m = re.fullmatch(r"(p_holm|p) \((.+)\)", h)
    if m:
        return [(m.group(1), TERMS[m.group(1)]), *lookup(m.group(2))]
    m = re.fullmatch(r"Δ (.+?)( %)?", h)
    if m:
        return [*lookup(m.group(1)), ("Δ", TERMS["Δ"])]
    found = _metric(h)
    if found is None:
        return []
    out = [found]
    if h.startswith("bal_"):
        out += lookup(h[4:])
    g = _GROUP.match(h)
    if g:
        out += _group_terms(g)
    return out


def _group_terms(m: re.Match[str]) -> list[tuple[str, str]]:
    """The entries of a grouping and its value ("popularity", "tail") that the glossary has."""
    found = (m.group("group"), m.group("value"))
    return [(t, TERMS[t]) for t in found if t and t in TERMS]


def anchor(term: str) -> str:
    """The HTML id of ``term``'s entry."""
    return "g-" + (re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-") or "delta")


def entries(headers: Iterable[str]) -> list[tuple[str, str]]:
    """(term, line) for every term the given column headers name, sorted by term."""
    found = dict(e for h in headers for e in lookup(str(h)))
    return sorted(found.items(), key=lambda e: e[0].lower())
