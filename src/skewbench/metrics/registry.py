"""One entry per metric: where it is computed, its formula, its choices, and how to read it.

Ranked-list metrics (:data:`REGISTRY`) name the function that computes them; the other metrics
a report shows (:data:`REPORTED`: classification, per-task list columns) are computed by their
task. Every entry carries :class:`MetricMeta` — better direction, range, unit kind, display name
and a glossary line — which the report reads (:func:`metric_info`); nothing guesses a direction
from a name. The docs/metrics.md table is generated from here (:func:`metric_table_markdown`),
so the table, the docstrings and the code cannot drift apart silently: tests check that every
key the functions return has an entry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from skewbench.metrics.diversity import diversity_metrics
from skewbench.metrics.expected_exposure import awrf, expected_exposure
from skewbench.metrics.exposure import exposure_metrics
from skewbench.metrics.ranking import ranking_metrics

FAMILIES = ("accuracy", "exposure", "diversity", "classification")
Better = Literal["higher", "lower", "neither"]
Unit = Literal["share", "score", "count", "bits", "ratio", "difference"]
INF = math.inf


@dataclass(frozen=True)
class MetricMeta:
    """How to read a metric: its better direction, value range, unit kind, display name (``@k``
    stands for the cut-off) and one glossary line."""

    better: Better
    range: tuple[float, float]
    unit: Unit
    display: str
    glossary: str

    @property
    def higher_is_better(self) -> bool | None:
        """True / False, or None for a quantity with no better direction (a group's share)."""
        return None if self.better == "neither" else self.better == "higher"


def _m(better: Better, lo: float, hi: float, unit: Unit, display: str, glossary: str) -> MetricMeta:
    return MetricMeta(better, (lo, hi), unit, display, glossary)


# One entry per metric name (REGISTRY and REPORTED); a test checks that none is missing.
META: dict[str, MetricMeta] = {
    # accuracy of ranked lists
    "precision": _m("higher", 0, 1, "share", "Precision@k", "share of the top k that is relevant"),
    "recall": _m(
        "higher", 0, 1, "share", "Recall@k", "share of a unit's relevant items in its top k"
    ),
    "recall_capped": _m(
        "higher", 0, 1, "share", "Recall@k (capped)", "relevant items in the top k over min(|R|, k)"
    ),
    "f1": _m("higher", 0, 1, "score", "F1@k", "harmonic mean of precision@k and recall@k"),
    "hit_rate": _m(
        "higher", 0, 1, "share", "Hit rate@k", "1 if the top k holds any relevant item, else 0"
    ),
    "mrr": _m("higher", 0, 1, "score", "MRR@k", "1 / rank of the first relevant item in the top k"),
    "map": _m(
        "higher", 0, 1, "score", "MAP@k", "precision at each relevant rank, summed, over |R|"
    ),
    "map_capped": _m("higher", 0, 1, "score", "MAP@k (capped)", "as MAP@k, over min(|R|, k)"),
    "ndcg": _m(
        "higher",
        0,
        1,
        "score",
        "nDCG@k",
        "graded gain discounted by log2 rank, over the ideal order's",
    ),
    "ndcg_exp": _m(
        "higher", 0, 1, "score", "nDCG@k (2^rel − 1 gain)", "nDCG with exponential gain 2^rel − 1"
    ),
    "ndcg_binary": _m(
        "higher", 0, 1, "score", "nDCG@k (binary gain)", "nDCG with every relevant item worth 1"
    ),
    "auc": _m(
        "higher", 0, 1, "score", "AUC", "share of (relevant, non-relevant) pairs ordered correctly"
    ),
    # exposure
    "exposure_gini": _m(
        "lower",
        0,
        1,
        "score",
        "Exposure Gini",
        "inequality of position-weighted exposure over the catalogue (0 = equal)",
    ),
    "exposure_vs_relevance": _m(
        "lower",
        0,
        1,
        "score",
        "Exposure vs relevance",
        "total-variation distance between items' exposure and relevance shares",
    ),
    "arp": _m(
        "lower",
        0,
        INF,
        "count",
        "ARP",
        "average popularity (training interactions) of the listed items",
    ),
    "aplt": _m("higher", 0, 1, "share", "APLT", "share of each list from the long tail"),
    "aclt": _m("higher", 0, INF, "count", "ACLT", "long-tail items per list"),
    "poprsp": _m(
        "lower",
        0,
        1,
        "ratio",
        "PopRSP",
        "head vs tail gap in how often candidates are recommended (std/mean; 0 = parity)",
    ),
    "popreo": _m(
        "lower",
        0,
        1,
        "ratio",
        "PopREO",
        "head vs tail gap in how often relevant items are recommended (std/mean; 0 = parity)",
    ),
    "exposure_share": _m(
        "neither", 0, 1, "share", "Exposure share", "share of exposure going to a group value"
    ),
    "catalog_share": _m(
        "neither", 0, 1, "share", "Catalogue share", "share of catalogue items with a group value"
    ),
    "relevant_share": _m(
        "neither", 0, 1, "share", "Relevant share", "share of relevant pairs with a group value"
    ),
    "exposure_vs_catalog": _m(
        "lower",
        0,
        1,
        "score",
        "Exposure vs catalogue",
        "total-variation distance between a grouping's exposure and catalogue shares",
    ),
    "exposure_vs_relevance_group": _m(
        "lower",
        0,
        1,
        "score",
        "Exposure vs relevance (groups)",
        "total-variation distance between a grouping's exposure and relevance shares",
    ),
    "rsp": _m(
        "lower",
        0,
        INF,
        "ratio",
        "RSP",
        "gap between a grouping's recommendation rates (std/mean; 0 = parity)",
    ),
    "reo": _m(
        "lower",
        0,
        INF,
        "ratio",
        "REO",
        "gap between a grouping's rates of recommending relevant items (std/mean; 0 = parity)",
    ),
    "ee_l": _m(
        "lower",
        0,
        INF,
        "score",
        "EE-L",
        "squared distance between the policy's expected exposure and the ideal one",
    ),
    "ee_d": _m(
        "lower",
        0,
        INF,
        "score",
        "EE-D",
        "squared norm of expected exposure (lower = spread more evenly)",
    ),
    "ee_r": _m("higher", 0, INF, "score", "EE-R", "expected exposure placed where relevance is"),
    "exposure_gini_group": _m(
        "lower",
        0,
        1,
        "score",
        "Exposure Gini by group",
        "inequality of exposure over a grouping's labels (0 = equal)",
    ),
    "relevant_gini": _m(
        "neither", 0, 1, "score", "Relevance Gini by group", "inequality of the labels' relevance"
    ),
    "catalog_gini": _m(
        "neither", 0, 1, "score", "Catalogue Gini by group", "inequality of the labels' sizes"
    ),
    "awrf": _m(
        "higher",
        0,
        1,
        "score",
        "AWRF",
        "1 − Jensen–Shannon divergence of groups' attention from their target shares",
    ),
    # diversity
    "coverage": _m("higher", 0, 1, "share", "Coverage", "share of the catalogue listed to anyone"),
    "entropy": _m(
        "higher", 0, INF, "bits", "Entropy", "entropy of how the listed slots spread over items"
    ),
    "ild_category": _m(
        "higher",
        0,
        1,
        "share",
        "ILD (category)",
        "share of item pairs in a list from different categories",
    ),
    "ild_embedding": _m(
        "higher", 0, 2, "score", "ILD (embedding)", "mean cosine distance between a list's items"
    ),
    "novelty": _m(
        "higher",
        0,
        INF,
        "bits",
        "Novelty",
        "mean self-information −log2 of the listed items' popularity",
    ),
    "group_coverage": _m(
        "higher", 0, 1, "share", "Group coverage", "share of a grouping's values listed to anyone"
    ),
}


@dataclass(frozen=True)
class MetricSpec:
    """A metric: ``name`` as it appears in keys (``@k`` / ``[group]`` suffixes stripped).

    ``function`` computes it (None: a task computes it, see :data:`REPORTED`); ``key`` is the
    key pattern as returned, e.g. ``ndcg@k``, ``rsp[g]``, ``recall_{head,mid,tail}``."""

    name: str
    family: str
    function: Callable[..., object] | None
    formula: str
    choices: dict[str, str] = field(default_factory=dict)  # choice → default (and alternatives)
    key: str = ""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family of {self.name!r} must be one of {FAMILIES}")
        if self.name not in META:
            raise ValueError(f"metric {self.name!r} has no META entry (direction, range, …)")

    @property
    def meta(self) -> MetricMeta:
        return META[self.name]


_EMPTY = (
    "judged unit with no relevant item scores 0 and is counted (trec_eval); "
    "empty='nan': NaN, dropped by aggregate"
)
_TIES = "score desc, then item index asc (topk)"
_REL = "grade > 0"

_ACC = [
    ("precision", "hits@k / k", {"denominator": "k (even if the list is shorter)"}),
    ("recall", "hits@k / |R|", {"denominator": "|R| (trec_eval recall_k)"}),
    ("recall_capped", "hits@k / min(|R|, k)", {"denominator": "min(|R|, k)"}),
    ("f1", "2 P@k R@k / (P@k + R@k); 0 if both 0", {"recall": "|R| denominator"}),
    ("hit_rate", "1[hits@k > 0]", {}),
    ("mrr", "1 / rank of first relevant item within k, else 0", {"hits": "first only"}),
    (
        "map",
        "Σ_{r≤k} hit(r) · P@r / |R|",
        {"denominator": "|R| (trec_eval map_cut_k, ranx map@k)", "trec_eval map": "map@K, K=list"},
    ),
    ("map_capped", "Σ_{r≤k} hit(r) · P@r / min(|R|, k)", {"denominator": "min(|R|, k)"}),
    (
        "ndcg",
        "Σ_{r≤k} rel(r)/log2(r+1) / IDCG@k",
        {
            "gain": "linear rel (graded)",
            "discount": "log2(r+1)",
            "ideal": "all relevant sorted by grade, cut at k",
        },
    ),
    (
        "ndcg_exp",
        "Σ_{r≤k} (2^rel(r) − 1)/log2(r+1) / IDCG@k",
        {"gain": "2^rel − 1 (Burges)", "discount": "log2(r+1)", "ideal": "cut at k"},
    ),
    (
        "ndcg_binary",
        "Σ_{r≤k} hit(r)/log2(r+1) / Σ_{r≤min(|R|,k)} 1/log2(r+1)",
        {"gain": "binary", "discount": "log2(r+1)", "ideal": "cut at k"},
    ),
    (
        "auc",
        "share of (relevant, non-relevant) pairs ordered correctly; ties ½",
        {"candidates": "all items (or n_candidates)", "unlisted items": "tied below the list"},
    ),
]

_EXP_W = "position weight: log 1/log2(r+1) (uniform 1, geometric p^(r−1), p=0.5)"
_EXPO = [
    (
        "exposure_gini",
        "Σ_i (2i − n − 1) E_(i) / (D Σ E), E_i = Σ_u Σ_r w(r) 1[L_u(r)=i]",
        {"normaliser D": "n (or n−1)", "universe": "whole catalogue", "weights": _EXP_W},
    ),
    (
        "exposure_vs_relevance",
        "½ Σ_i |E_i/ΣE − ρ_i/Σρ|, ρ_i = #units with i relevant",
        {"distance": "total variation", "weights": _EXP_W},
    ),
    ("arp", "mean_u Σ_{i∈L_u} φ_i / |L_u|", {"popularity φ": "as passed (interactions or users)"}),
    ("aplt", "mean_u |L_u ∩ Γ| / |L_u|", {"tail Γ": "given by caller"}),
    ("aclt", "mean_u |L_u ∩ Γ|", {"tail Γ": "given by caller"}),
    (
        "poprsp",
        "std/mean over {head, tail} of #recs in g / #candidate (u, i) pairs in g",
        {"std": "population (ddof 0)", "candidates": "all pairs minus exclude", "tail": "caller"},
    ),
    (
        "popreo",
        "std/mean over {head, tail} of #relevant hits in g / #relevant (u, i) pairs in g",
        {"std": "population (ddof 0)", "tail": "caller"},
    ),
    ("exposure_share", "Σ_{i∈v} E_i / Σ E", {"weights": _EXP_W}),
    ("catalog_share", "|v| / n_items", {}),
    ("relevant_share", "Σ_{i∈v} ρ_i / Σ ρ", {}),
    ("exposure_vs_catalog", "½ Σ_v |exposure_share_v − catalog_share_v|", {}),
    ("exposure_vs_relevance_group", "½ Σ_v |exposure_share_v − relevant_share_v|", {}),
    (
        "exposure_gini_group",
        "Σ_v (2v − m − 1) E_(v) / (D Σ E), E_v = Σ_{i∈v} E_i over the grouping's m labels",
        {"normaliser D": "m (or m−1)", "universe": "every label in the catalogue (unshown: 0)"},
    ),
    ("catalog_gini", "Gini of the labels' catalogue sizes |v| (as exposure_gini_group)", {}),
    ("relevant_gini", "Gini of the labels' relevant pairs Σ_{i∈v} ρ_i (as above)", {}),
    ("rsp", "RSP over the grouping's labels (as poprsp)", {"std": "population (ddof 0)"}),
    ("reo", "REO over the grouping's labels (as popreo)", {"std": "population (ddof 0)"}),
]
_EE = "ε_d = E_σ[γ^rank_σ(d)] over the policy's (sampled) top-k lists, 0 beyond k"
_EE_CHOICES = {
    "browsing": "RBP, patience γ = 0.5",
    "target ε*": "items of equal grade share their block's mean position exposure",
    "universe": "whole catalogue (sparse)",
}
_EXPO_POLICY: list[tuple[str, str, dict[str, str], Callable[..., object]]] = [
    ("ee_l", "‖ε − ε*‖² (Diaz et al. 2020, EE-L; lower = better)", _EE_CHOICES, expected_exposure),
    ("ee_d", "‖ε‖² (EE-D; lower = exposure spread more evenly)", _EE_CHOICES, expected_exposure),
    ("ee_r", "εᵀε* (EE-R; higher = exposure where relevance is)", _EE_CHOICES, expected_exposure),
    (
        "awrf",
        "1 − JSD₂(a, t), a_g = Σ_r w_r 1[g(L(r)) = g] / Σ_r w_r, w_r = p(1−p)^(r−1)",
        {
            "attention p": "0.5",
            "target t": "groups' catalogue shares",
            "groups (recommend)": "popularity head/mid/tail",
        },
        awrf,
    ),
]
_EXPO_KEYS = {
    "exposure_share": "exposure_share[g=v]",
    "catalog_share": "catalog_share[g=v]",
    "relevant_share": "relevant_share[g=v]",
    "exposure_vs_catalog": "exposure_vs_catalog[g]",
    "exposure_vs_relevance_group": "exposure_vs_relevance[g]",
    "exposure_gini_group": "exposure_gini[g]",
    "catalog_gini": "catalog_gini[g]",
    "relevant_gini": "relevant_gini[g]",
    "rsp": "rsp[g]",
    "reo": "reo[g]",
}

_DIV = [
    ("coverage", "|{i ∈ U : recommended}| / |U|", {"universe U": "catalogue (or caller's set)"}),
    ("entropy", "−Σ_i p_i log2 p_i, p_i = share of recommendations", {"log base": "2 (bits)"}),
    ("ild_category", "mean_u share of item pairs in L_u with different categories", {}),
    (
        "ild_embedding",
        "mean_u mean_{i<j} (1 − cos(e_i, e_j)) = 1 − (‖Σ ê‖² − |L|)/(|L|(|L|−1))",
        {"distance": "cosine", "zero vector": "distance 1"},
    ),
    (
        "novelty",
        "mean_u mean_{i∈L_u} −log2(max(φ_i, 1)/Z)",
        {"Z": "Σφ: share of interactions (or n_users: share of users)", "log base": "2"},
    ),
    ("group_coverage", "#labels recommended / #labels in U", {"universe U": "catalogue"}),
]


def _build() -> dict[str, MetricSpec]:
    reg: dict[str, MetricSpec] = {}
    for name, formula, choices in _ACC:
        common = {
            "relevance": _REL,
            "empty truth": _EMPTY,
            "tie-break": _TIES,
            "repeated item": "refused (error names the row)",
        }
        reg[name] = MetricSpec(
            name,
            "accuracy",
            ranking_metrics,
            formula,
            {**choices, **common},
            name if name == "auc" else f"{name}@k",
        )
    for name, formula, choices in _EXPO:
        key = _EXPO_KEYS.get(name, name)
        reg[name] = MetricSpec(name, "exposure", exposure_metrics, formula, choices, key)
    for name, formula, choices, fn in _EXPO_POLICY:
        key = "awrf_popularity" if name == "awrf" else name
        reg[name] = MetricSpec(name, "exposure", fn, formula, {**choices, "with": _EE}, key)
    for name, formula, choices in _DIV:
        key = "group_coverage[g]" if name == "group_coverage" else name
        common = {"lists averaged": "non-empty (≥ 2 items for ILD)"}
        reg[name] = MetricSpec(
            name, "diversity", diversity_metrics, formula, {**choices, **common}, key
        )
    return reg


REGISTRY: dict[str, MetricSpec] = _build()


def _pattern(key: str) -> re.Pattern[str]:
    """A key pattern as a regex: ``@k`` a cut-off, ``[g]`` / ``[g=v]`` a grouping (and value),
    ``{a,b}`` alternatives."""
    p = re.escape(key).replace("@k", r"@\d+")
    p = p.replace(r"\[g=v\]", r"\[[^=\]]+=.*\]").replace(r"\[g\]", r"\[[^=\]]+\]")
    p = re.sub(r"\\\{([^}]*)\\\}", lambda m: "(?:" + m.group(1).replace(",", "|") + ")", p)
    return re.compile(p)


def spec_for_key(key: str) -> MetricSpec:
    """The ranked-list registry entry for a returned key like "ndcg@10" or "exposure_share[brand=A]"."""
    for spec in REGISTRY.values():
        if _pattern(spec.key).fullmatch(key):
            return spec
    raise KeyError(f"no registry entry for metric key {key!r}")


# Metrics the reports show that are not ranked-list kernels: classification metrics (categorize,
# :mod:`skewbench.metrics.classification`) and per-task list columns.
_REPORTED: list[tuple[str, str, str, MetricMeta]] = [
    (
        "accuracy",
        "classification",
        "share of test examples predicted right",
        _m("higher", 0, 1, "share", "Accuracy", "share of test examples predicted right"),
    ),
    (
        "balanced_accuracy",
        "classification",
        "mean recall over the classes present in test",
        _m("higher", 0, 1, "share", "Balanced accuracy", "mean recall over the test classes"),
    ),
    (
        "macro_f1",
        "classification",
        "mean F1 over present classes (zero_division 0)",
        _m("higher", 0, 1, "score", "Macro F1", "mean F1 over the classes present in test"),
    ),
    (
        "recall_{head,mid,tail}",
        "classification",
        "mean recall of the group's present classes",
        _m("higher", 0, 1, "share", "Recall", "mean recall of a class group (head, mid, tail)"),
    ),
    (
        "head_tail_gap",
        "classification",
        "recall_head − recall_tail",
        _m(
            "lower",
            -1,
            1,
            "difference",
            "Head − tail recall",
            "recall of head classes minus tail classes (lower: the tail is served as well)",
        ),
    ),
    (
        "worst_class_recall",
        "classification",
        "min recall over present classes",
        _m("higher", 0, 1, "share", "Worst-class recall", "lowest recall of any test class"),
    ),
    (
        "auc_macro_ovr",
        "classification",
        "mean one-vs-rest ROC AUC over present classes",
        _m("higher", 0, 1, "score", "Macro AUC", "mean one-vs-rest ROC AUC over the classes"),
    ),
    (
        "ece",
        "classification",
        "Σ_b n_b/n |acc_b − conf_b|, 15 equal-width confidence bins",
        _m("lower", 0, 1, "score", "ECE", "gap between confidence and accuracy (calibration)"),
    ),
    (
        "gini_gap",
        "classification",
        "Gini of predicted-class counts − Gini of true counts",
        _m(
            "neither",
            -1,
            1,
            "difference",
            "Gini gap",
            "0 = predicted classes exactly as concentrated as the true ones",
        ),
    ),
    (
        "gini_{pred,true}_counts",
        "classification",
        "Gini of the predicted (true) class counts of the test examples",
        _m("neither", 0, 1, "score", "Class-count Gini", "inequality of class counts"),
    ),
    (
        "bal_<metric>",
        "classification",
        "the metric on the class-balanced test view",
        _m("neither", -INF, INF, "score", "balanced view", "the metric on a class-balanced test"),
    ),
    (
        "gauc",
        "accuracy",
        "Σ_u |R_u| auc_u / Σ_u |R_u| over evaluated users (recommend; auc_u against the items "
        "the user did not train on, unlisted items tied below the list)",
        _m("higher", 0, 1, "score", "GAUC", "users' AUC, weighted by their relevant items"),
    ),
    (
        "non_head_share",
        "exposure",
        "mean_u share of the top exposure_k outside the popularity head, i.e. mid and tail "
        "items (recommend; was tail_share)",
        _m(
            "higher",
            0,
            1,
            "share",
            "Non-head share",
            "share of each top list from outside the popularity head (mid and tail items); "
            "not popularity=tail, the least-popular 20 %",
        ),
    ),
    (
        "private_share",
        "exposure",
        "position-weighted exposure share of Private label (search)",
        _m("higher", 0, 1, "share", "Private-label share", "exposure share of Private label"),
    ),
    (
        "exposure_gini_manufacturer",
        "exposure",
        "Gini of summed item exposure per manufacturer, all catalogue manufacturers (search)",
        _m(
            "lower",
            0,
            1,
            "score",
            "Manufacturer exposure Gini",
            "inequality of exposure over manufacturers (0 = equal)",
        ),
    ),
    (
        "ndcg@k_{head,tail}",
        "accuracy",
        "NDCG@k over head / tail queries (search)",
        _m("higher", 0, 1, "score", "nDCG@k", "nDCG@k over the head or the tail queries"),
    ),
    (
        "popularity_lift",
        "exposure",
        "(mean list popularity − mean history popularity) / mean history popularity (evaluate)",
        _m(
            "lower",
            -1,
            INF,
            "ratio",
            "Popularity lift",
            "how much more popular the listed items are than the user's history (0 = as popular)",
        ),
    ),
]
META.update({key: meta for key, _, _, meta in _REPORTED})
REPORTED: dict[str, MetricSpec] = {
    key: MetricSpec(key, family, None, formula, key=key) for key, family, formula, _ in _REPORTED
}
# (key, family, formula) rows of the terminal table
OTHER: list[tuple[str, str, str]] = [(s.key, s.family, s.formula) for s in REPORTED.values()]

_GROUP_SUFFIXES = ("_head", "_mid", "_tail")  # a metric over one group of units (search)


def metric_info(key: str) -> MetricSpec:
    """The entry of any metric key a report shows: a registry key, a reported one, ``bal_`` +
    a metric (the balanced test view), or a key + ``_head``/``_mid``/``_tail`` (one group of
    units). KeyError for anything else."""
    if key.startswith("bal_"):
        return metric_info(key[4:])
    for spec in (*REGISTRY.values(), *REPORTED.values()):
        if spec.name != "bal_<metric>" and _pattern(spec.key).fullmatch(key):
            return spec
    for suffix in _GROUP_SUFFIXES:
        if key.endswith(suffix):
            return metric_info(key[: -len(suffix)])
    raise KeyError(f"no metric entry for key {key!r}")


def higher_is_better(key: str) -> bool | None:
    """The better direction of metric ``key`` (None: no better direction, e.g. a group's share)."""
    return metric_info(key).meta.higher_is_better


def display_name(key: str) -> str:
    """A metric key as a reader sees it: "nDCG@10", "Exposure share [brand=Private]"."""
    view, base = ("balanced view: ", key[4:]) if key.startswith("bal_") else ("", key)
    meta = metric_info(base).meta
    name = meta.display
    cut = re.search(r"@(\d+)", base)
    if cut and "@k" in name:
        name = name.replace("@k", "@" + cut.group(1))
    qualifier = re.search(r"(\[.*\])$", base)
    if qualifier:
        name += " " + qualifier.group(1)
    for suffix in _GROUP_SUFFIXES:
        if base.endswith(suffix):
            name += f" ({suffix[1:]})"
    return view + name


def metric_table_text(width: int = 100) -> str:
    """Every metric a report shows, as a plain-text table for a terminal of ``width`` columns."""
    import textwrap

    rows = [(spec.key, spec.family, spec.formula) for spec in REGISTRY.values()] + OTHER
    kw = max(len(r[0]) for r in rows)
    fw = max(len(r[1]) for r in rows)
    room = max(30, width - kw - fw - 4)
    lines = [f"{'metric':<{kw}}  {'family':<{fw}}  formula", "-" * min(width, kw + fw + 4 + room)]
    for key, family, formula in rows:
        wrapped = textwrap.wrap(formula, room) or [""]
        lines.append(f"{key:<{kw}}  {family:<{fw}}  {wrapped[0]}")
        lines += [f"{'':<{kw}}  {'':<{fw}}  {w}" for w in wrapped[1:]]
    lines.append("")
    lines.append("Choices and defaults: skewbench metrics --markdown")
    return "\n".join(lines) + "\n"


def metric_table_markdown() -> str:
    """The docs/metrics.md table: one row per metric with key, family, formula and choices."""
    lines = [
        "| metric | family | formula | choices (default first) |",
        "|---|---|---|---|",
    ]
    for spec in REGISTRY.values():
        choices = "; ".join(f"{k}: {v}" for k, v in spec.choices.items())
        cells = [f"`{spec.key}`", spec.family, spec.formula, choices]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
