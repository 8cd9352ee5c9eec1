"""What the report shows for each task: its leaderboard columns, primary metric and plots."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TaskReport:
    """Report layout of one task. Metrics absent from a run are left out, never invented."""

    primary: str  # the metric tested for significance against the base treatment
    columns: list[str]  # leaderboard columns, in order
    higher_is_better: dict[str, bool] = field(default_factory=dict)
    unit_metric: str | None = None  # per-unit column used for paired tests
    # (accuracy metric, exposure metric) pairs, one Pareto plot each
    tradeoff: list[tuple[str, str]] = field(default_factory=list)
    # per-unit exposure metric whose change is reported beside the primary one
    unit_exposure: str | None = None
    vs_imbalance: list[str] = field(default_factory=list)  # metrics plotted against imbalance
    # (base model, model-name prefixes): paired tests of those models against the base, e.g.
    # "does fine-tuning beat the frozen encoder?" (held-out only if the data's info says so)
    model_contrast: tuple[str, tuple[str, ...]] | None = None
    # facts from each cell's ``info`` shown per model (mean over cells), with their meaning
    info_facts: dict[str, str] = field(default_factory=dict)
    # what the imbalance axis is (None: the task has no imbalance setting), and the info keys
    # of the training size (INTERFACES §2) and of the imbalance actually reached
    imbalance_name: str | None = None
    size_fact: str = "n_train"
    achieved_fact: str | None = None


REPORTS: dict[str, TaskReport] = {
    "categorize": TaskReport(
        primary="balanced_accuracy",
        columns=[
            "accuracy",
            "macro_f1",
            "balanced_accuracy",
            "recall_head",
            "recall_mid",
            "recall_tail",
            "worst_class_recall",
            "auc_macro_ovr",
            "ece",
            "bal_macro_f1",
        ],
        higher_is_better={"ece": False},
        unit_metric="balanced_accuracy",
        unit_exposure="recall_tail",
        vs_imbalance=["macro_f1", "recall_tail"],
        imbalance_name="training imbalance ratio ρ",
        achieved_fact="achieved_imbalance_ratio",
    ),
    "recommend": TaskReport(
        primary="ndcg@10",
        columns=[
            "ndcg@10",
            "recall@20",
            "mrr@10",
            "exposure_gini",
            "tail_share",
            "arp",
            "coverage",
            "novelty",
        ],
        higher_is_better={"exposure_gini": False, "arp": False},
        unit_metric="ndcg@10",
        tradeoff=[("ndcg@10", "exposure_gini"), ("ndcg@10", "tail_share")],
        unit_exposure="tail_share",
        vs_imbalance=["ndcg@10", "tail_share"],
        imbalance_name="target training Gini",
        achieved_fact="achieved_gini",
    ),
    "search": TaskReport(
        primary="ndcg@10",
        columns=[
            "ndcg@10",
            "recall@10",
            "mrr@10",
            "ndcg@10_head",
            "ndcg@10_tail",
            "exposure_gini_manufacturer",
            "private_share",
            "exposure_gini",
            "arp",
        ],
        higher_is_better={"exposure_gini_manufacturer": False, "exposure_gini": False},
        unit_metric="ndcg@10",
        tradeoff=[("ndcg@10", "exposure_gini_manufacturer"), ("ndcg@10", "private_share")],
        unit_exposure="private_share",
        model_contrast=("dense", ("finetuned", "cross_encoder")),
        size_fact="n_train_queries",
        info_facts={
            "ties_within": "adjacent equal-score pairs inside the candidate lists",
            "ties_boundary": "products scoring exactly a list's last score but left out "
            "by the tie-break (item index ascending)",
        },
    ),
}
