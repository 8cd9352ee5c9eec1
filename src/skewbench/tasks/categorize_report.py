"""What the report shows for the categorize task (its ``REPORT``, see
:class:`skewbench.runner.tasks.Task`)."""

from __future__ import annotations

from skewbench.runner.tasks import TaskReport

REPORT = TaskReport(
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
)
