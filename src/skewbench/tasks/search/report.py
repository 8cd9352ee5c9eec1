"""What the report shows for the search task."""

from __future__ import annotations

from skewbench.runner.tasks import TaskReport

REPORT = TaskReport(
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
)
