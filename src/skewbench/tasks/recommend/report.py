"""What the report shows for the recommend task."""

from __future__ import annotations

from skewbench.runner.tasks import TaskReport

REPORT = TaskReport(
    primary="ndcg@10",
    columns=[
        "ndcg@10",
        "recall@20",
        "mrr@10",
        "exposure_gini",
        "non_head_share",
        "arp",
        "coverage",
        "novelty",
    ],
    unit_metric="ndcg@10",
    tradeoff=[("ndcg@10", "exposure_gini"), ("ndcg@10", "non_head_share")],
    unit_exposure="non_head_share",
    vs_imbalance=["ndcg@10", "non_head_share"],
    imbalance_name="target training Gini",
    achieved_fact="achieved_gini",
)
