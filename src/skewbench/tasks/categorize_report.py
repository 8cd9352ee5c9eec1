"""What the report shows for the categorize task (its ``REPORT``, see
:class:`skewbench.runner.tasks.Task`)."""

from __future__ import annotations

from skewbench.metrics.classification import METRIC_NAMES
from skewbench.runner.tasks import TaskReport

REPORT = TaskReport(
    primary="balanced_accuracy",
    # every classification metric but the prediction-count Ginis, plus balanced macro-F1
    columns=[m for m in METRIC_NAMES if not m.startswith("gini_")] + ["bal_macro_f1"],
    unit_metric="balanced_accuracy",
    unit_exposure="recall_tail",
    vs_imbalance=["macro_f1", "recall_tail"],
    imbalance_name="training imbalance ratio ρ",
    achieved_fact="achieved_imbalance_ratio",
)
