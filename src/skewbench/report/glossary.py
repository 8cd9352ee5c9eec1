"""The report's glossary: one line for every metric, group and statistic name its tables show,
from the metric registry (formulas) and the report's own terms. Column headers carry the line
as a tooltip and link to the glossary entry."""

from __future__ import annotations

import re

from skewbench.report.render import Block, slug

# Terms of the report itself (statistics, columns, item and class groups).
TERMS: dict[str, str] = {
    "p_holm": "p-value of the paired randomization test over distinct units, Holm-corrected over "
    "every comparison of one metric in a task; significant below 0.01",
    "p": "p-value of the paired randomization test over distinct units, before correction",
    "Δ": "difference of means (treated − untreated baseline, or B − A) over the seeds both hold",
    "n units": "distinct units (test examples, users or queries) the test counts, each once",
    "n_units": "distinct units (test examples, users or queries) the test counts, each once",
    "replicates": "seeds (replicates) that hold the unit",
    "interval": "how the bracketed 95 % interval was made: t over seeds, or unit bootstrap",
    "head": "the most popular items (or most frequent classes) holding the first 50 % of "
    "interactions (examples)",
    "mid": "items (classes) between the head and the tail",
    "tail": "the least popular items (least frequent classes) that together hold at most 20 % "
    "of interactions (examples); `popularity=tail` is this group",
    "popularity": "item grouping by training popularity: head / mid / tail (see those entries)",
    "tail_share": "share of each user's top exposure_k slots that go to items outside the "
    "popularity head (mid and tail together: the long tail), averaged over users; not the "
    "`popularity=tail` group",
    "arp": "average recommendation popularity: mean training popularity of the listed items",
    "mad": "mean absolute deviation between the groups' mean metric values",
    "C_KL": "miscalibration: KL divergence of the list's group shares from the user's history",
    "share_units_no_protected_in_pool": "share of units whose candidate pool holds no item of the "
    "protected group, so no re-ranker can expose one",
    "deterministic": "every replicate's per-unit table is identical: one effective replicate",
}


def _registry_line(name: str) -> str | None:
    from skewbench.metrics.registry import OTHER, spec_for_key

    for key, _, line in OTHER:
        pattern = re.escape(key).replace(r"\{head,mid,tail\}", "(head|mid|tail)")
        pattern = pattern.replace("@k", r"@\d+").replace("<metric>", ".+")
        if re.fullmatch(pattern, name):
            return line
    try:
        spec = spec_for_key(name)
    except KeyError:
        return None
    return getattr(spec, "glossary", None) or spec.formula


def term_of(header: str) -> str | None:
    """The glossary term a column header names ("Δ ndcg@10 %" → "ndcg@10", "p_holm (x)" →
    "p_holm"), or None when the header is not a metric, group or statistic."""
    h = header.strip()
    if h in TERMS or _registry_line(h):
        return h
    m = re.fullmatch(r"(p_holm|p) \((.+)\)", h)
    if m:
        return m.group(1)
    m = re.fullmatch(r"Δ (.+?)( %)?", h)
    if m:
        return term_of(m.group(1))
    m = re.fullmatch(r"([^\[]+)\[(\w+)=(\w+)\]", h)  # exposure_share[popularity=tail]
    if m:
        return term_of(m.group(1))
    return None


def line_of(term: str) -> str | None:
    """The one-line meaning of ``term``."""
    return TERMS.get(term) or _registry_line(term)


def anchor(term: str) -> str:
    return "g-" + slug(term)


def glossary_blocks(headers: set[str]) -> list[Block]:
    """The glossary section: one entry per term the given table headers name."""
    terms = sorted({t for h in headers if (t := term_of(h))}, key=str.lower)
    if not terms:
        return []
    rows = [(t, line_of(t) or "") for t in terms]
    return [Block("h2", "Glossary"), Block("glossary", rows)]
