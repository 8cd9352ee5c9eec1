"""Scoring external categorize predictions with the categorize task's own metrics
(:func:`skewbench.metrics.classification.classification_metrics` and the per-example shares the
paired tests run on). Class groups (head / mid / tail) come from the label counts of the
labels file, by the rule the task uses on training counts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from skewbench.errors import SchemaError
from skewbench.runner.cell import CellResult


def classes_of(labels: pd.DataFrame, predictions: dict[str, pd.DataFrame]) -> np.ndarray:
    """Sorted classes: every true label and every ``proba_<class>`` column's class."""
    names = set(labels["label"])
    for pred in predictions.values():
        names |= {c.removeprefix("proba_") for c in pred.columns if c.startswith("proba_")}
    return np.array(sorted(names), dtype=object)


def score_predictions(
    labels: pd.DataFrame, pred: pd.DataFrame, classes: np.ndarray, path: str
) -> CellResult:
    """Metrics of one predictions file against the labels (every labelled id predicted once).

    The predicted class is the ``label`` column, else the arg-max probability (ties: the first
    class in sorted order). Without probabilities, AUC and ECE are left out (NaN)."""
    from skewbench.metrics.classification import classification_metrics, per_example_shares
    from skewbench.tasks.categorize import class_groups

    index = pd.Index(pred["id"])
    extra = ~labels["id"].isin(index).to_numpy()
    if extra.any():
        raise SchemaError(
            path,
            f"id {labels['id'].iloc[int(np.flatnonzero(extra)[0])]!r} of the labels has no "
            "prediction; predict every labelled id",
        )
    unknown = ~pred["id"].isin(pd.Index(labels["id"])).to_numpy()
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise SchemaError(
            f"{path} line {row + 2}",
            f"id {pred['id'].iloc[row]!r} is not in the labels; predict only labelled ids",
        )
    pred = pred.set_index("id").loc[labels["id"].to_numpy()]
    k = classes.size
    code = {c: i for i, c in enumerate(classes.tolist())}
    y = np.array([code[v] for v in labels["label"]], dtype=np.int64)
    proba_cols = [f"proba_{c}" for c in classes]
    has_proba = any(c in pred.columns for c in proba_cols)
    proba = np.zeros((len(pred), k))
    if has_proba:
        for j, c in enumerate(proba_cols):
            if c in pred.columns:
                proba[:, j] = pred[c].to_numpy(dtype=np.float64)
    if "label" in pred.columns:
        bad = ~pred["label"].isin(code).to_numpy()
        if bad.any():
            raise SchemaError(
                path,
                f"id {pred.index[int(np.flatnonzero(bad)[0])]!r} predicts "
                f"{pred['label'].iloc[int(np.flatnonzero(bad)[0])]!r}, which is no class of "
                f"the labels; classes: {classes.tolist()}",
            )
        p = np.array([code[v] for v in pred["label"]], dtype=np.int64)
    else:
        p = proba.argmax(axis=1)
    if not has_proba:
        proba = np.eye(k)[p]  # for the counts only: AUC and ECE are dropped below
    counts = np.bincount(y, minlength=k)
    groups = class_groups(counts, counts)
    metrics, per_class = classification_metrics(y, p, proba, np.arange(k), groups)
    if not has_proba:
        metrics["auc_macro_ovr"] = metrics["ece"] = float("nan")
        per_class["auc"] = np.nan
    per_class["class"] = classes
    shares = per_example_shares(y, y == p, groups)
    units = pd.DataFrame(
        {
            "unit": labels["id"].to_numpy(),
            **shares,
            "true": classes[y],
            "pred": classes[p],
            "correct": y == p,
            "max_proba": proba.max(axis=1) if has_proba else np.nan,
        }
    )
    info: dict[str, Any] = {
        "classes": classes.tolist(),
        "class_groups": groups.tolist(),
        "n_test": int(y.size),
        "probabilities": bool(has_proba),
        "per_class": per_class.to_dict("records"),
    }
    return CellResult(metrics=metrics, units=units, info=info)
