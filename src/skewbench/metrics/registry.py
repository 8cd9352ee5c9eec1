"""One entry per ranked-list metric: where it is computed, its formula and its choices.

The docs/metrics.md table is generated from here (:func:`metric_table_markdown`), so the table,
the docstrings and the code cannot drift apart silently: tests check that every key the
functions return has an entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from skewbench.metrics.diversity import diversity_metrics
from skewbench.metrics.expected_exposure import awrf, expected_exposure
from skewbench.metrics.exposure import exposure_metrics
from skewbench.metrics.ranking import ranking_metrics

FAMILIES = ("accuracy", "exposure", "diversity")


@dataclass(frozen=True)
class MetricSpec:
    """A metric: ``name`` as it appears in keys (``@k`` / ``[group]`` suffixes stripped)."""

    name: str
    family: str
    function: Callable[..., object]
    formula: str
    choices: dict[str, str] = field(default_factory=dict)  # choice → default (and alternatives)
    key: str = ""  # key pattern as returned, e.g. "ndcg@k"

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family of {self.name!r} must be one of {FAMILIES}")


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


def spec_for_key(key: str) -> MetricSpec:
    """The registry entry for a returned key like "ndcg@10" or "exposure_share[brand=A]"."""
    for spec in REGISTRY.values():
        pattern = re.escape(spec.key).replace("@k", r"@\d+")
        pattern = pattern.replace(r"\[g=v\]", r"\[[^=\]]+=.*\]").replace(r"\[g\]", r"\[[^=\]]+\]")
        if re.fullmatch(pattern, key):
            return spec
    raise KeyError(f"no registry entry for metric key {key!r}")


# Metrics the reports show that are not ranked-list kernels: classification metrics (categorize,
# :mod:`skewbench.metrics.classification`) and per-task list columns.
OTHER: list[tuple[str, str, str]] = [
    ("accuracy", "classification", "share of test examples predicted right"),
    ("balanced_accuracy", "classification", "mean recall over the classes present in test"),
    ("macro_f1", "classification", "mean F1 over present classes (zero_division 0)"),
    ("recall_{head,mid,tail}", "classification", "mean recall of the group's present classes"),
    ("head_tail_gap", "classification", "recall_head − recall_tail"),
    ("worst_class_recall", "classification", "min recall over present classes"),
    ("auc_macro_ovr", "classification", "mean one-vs-rest ROC AUC over present classes"),
    ("ece", "classification", "Σ_b n_b/n |acc_b − conf_b|, 15 equal-width confidence bins"),
    ("gini_gap", "classification", "Gini of predicted-class counts − Gini of true counts"),
    ("bal_<metric>", "classification", "the metric on the class-balanced test view"),
    (
        "gauc",
        "accuracy",
        "Σ_u |R_u| auc_u / Σ_u |R_u| over evaluated users (recommend; auc_u against the items "
        "the user did not train on, unlisted items tied below the list)",
    ),
    ("tail_share", "exposure", "mean_u share of the top exposure_k that is long tail (recommend)"),
    ("private_share", "exposure", "position-weighted exposure share of Private label (search)"),
    (
        "exposure_gini_manufacturer",
        "exposure",
        "Gini of summed item exposure per manufacturer, all catalogue manufacturers (search)",
    ),
    ("ndcg@k_{head,tail}", "accuracy", "NDCG@k over head / tail queries (search)"),
    (
        "exposure_gini[g]",
        "exposure",
        "Gini of summed item exposure per label of grouping g, all catalogue labels (evaluate)",
    ),
    (
        "popularity_lift",
        "exposure",
        "(mean list popularity − mean history popularity) / mean history popularity (evaluate)",
    ),
]


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
