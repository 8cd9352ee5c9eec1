"""Classification metrics for imbalanced categorization (scikit-learn where it has the metric).

Inputs: ``y_true``/``y_pred`` hold labels from ``classes``; ``proba`` is (n, K) with columns in
the order of ``classes``; ``class_groups`` gives "head"/"mid"/"tail" per class (aligned with
``classes``), computed from the TRAINING counts of the cell with
:func:`skewbench.data.imbalance.head_mid_tail`.

Definitions (each where libraries or papers differ):
- Macro averages (``macro_f1``, ``balanced_accuracy``, group recalls, ``worst_class_recall``,
  ``auc_macro_ovr``) run over the classes present in ``y_true``; a class absent from the test
  set has no recall and is left out (its false positives still lower the other classes'
  recall and precision). ``macro_f1``/per-class precision use ``zero_division=0``.
- ``recall_{head,mid,tail}``: mean recall of the group's classes present in ``y_true`` (NaN
  when none is); ``head_tail_gap`` = recall_head − recall_tail (lower: the tail is served more
  like the head).
- ``auc_macro_ovr``: mean over present classes of the one-vs-rest ROC AUC of ``proba[:, k]``
  (``roc_auc_score``); equals ``roc_auc_score(multi_class="ovr", average="macro")`` when every
  class is present. NaN if fewer than two classes are present.
- ``ece``: expected calibration error on the max probability (confidence) with 15 equal-width
  bins, bin b = (b/15, (b+1)/15] (confidence 0 goes to the first bin):
  ECE = Σ_b (n_b / n) · |accuracy_b − mean confidence_b|, correctness = (y_pred == y_true).
- ``gini_pred_counts`` / ``gini_true_counts``: Gini (normaliser n, as in
  :func:`skewbench.metrics.exposure.gini`) of the per-class counts of predictions / true labels
  over all K classes (classes never predicted count as 0); ``gini_gap`` = pred − true
  (> 0: predictions more concentrated on few classes than the truth).
- Per-example shares (:func:`per_example_shares`): a macro recall over a set S of present
  classes, (1/|S|) Σ_{k∈S} recall_k, is the mean over the n test examples of
  s_i = 1[y_i ∈ S] · c_i · n / (|S| · n_{y_i}) (c_i = 1 if example i is right), so a paired test
  on s_i over examples is a test of that macro recall. The gap column ``head_tail_gap`` is
  s_i(head) − s_i(tail), whose mean is recall_head − recall_tail.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from skewbench.metrics.exposure import gini

N_BINS = 15
GROUPS = ("head", "mid", "tail")
METRIC_NAMES = (
    "accuracy",
    "macro_f1",
    "balanced_accuracy",
    "recall_head",
    "recall_mid",
    "recall_tail",
    "head_tail_gap",
    "worst_class_recall",
    "auc_macro_ovr",
    "ece",
    "gini_pred_counts",
    "gini_true_counts",
    "gini_gap",
)


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = N_BINS
) -> float:
    """ECE with equal-width bins (b/n_bins, (b+1)/n_bins]; module doc."""
    conf = np.asarray(confidence, dtype=float)
    hit = np.asarray(correct, dtype=float)
    if conf.size == 0:
        return float("nan")
    b = np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    gap = np.abs(np.bincount(b, hit, n_bins) - np.bincount(b, conf, n_bins))  # per-bin sums
    return float(gap.sum() / conf.size)  # Σ_b n_b/n · |acc_b − conf_b| = Σ_b |Σhit − Σconf|/n


def per_example_shares(
    y_true: np.ndarray, correct: np.ndarray, class_groups: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-example shares of balanced accuracy, the group recalls and the head–tail gap.

    ``y_true`` holds class codes 0..K−1, ``class_groups`` the group of each code. The mean of
    each returned vector over the examples equals the macro metric of the same name (module
    doc); a group with no present class gives a NaN vector.
    """
    yt = np.asarray(y_true, dtype=np.int64)
    hit = np.asarray(correct, dtype=float)
    groups = np.asarray(class_groups)
    n = yt.size
    support = np.bincount(yt, minlength=groups.size)
    per_class = np.where(support > 0, n / np.maximum(support, 1), 0.0)
    out = {"balanced_accuracy": hit * per_class[yt] / max(int((support > 0).sum()), 1)}
    for g in GROUPS:
        in_g = (groups == g) & (support > 0)
        m = int(in_g.sum())
        out[f"recall_{g}"] = (
            np.where(in_g[yt], hit * per_class[yt] / m, 0.0) if m else np.full(n, np.nan)
        )
    out["head_tail_gap"] = out["recall_head"] - out["recall_tail"]
    return out


def classification_metrics(
    y_true: Sequence[object] | np.ndarray,
    y_pred: Sequence[object] | np.ndarray,
    proba: np.ndarray,
    classes: Sequence[object] | np.ndarray,
    class_groups: Sequence[str] | np.ndarray | None = None,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Scalar metrics (names in ``METRIC_NAMES``) and a per-class table (module doc).

    The table has one row per class: class, group, support (test), n_pred, recall, precision,
    f1, auc (NaN where undefined).
    """
    # Imported here: the report reads METRIC_NAMES and need not load scikit-learn (0.8 s).
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        f1_score,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    classes = np.asarray(classes)
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    proba = np.asarray(proba, dtype=float)
    k = classes.size
    if proba.shape != (yt.size, k):
        raise ValueError(f"proba has shape {proba.shape}, expected ({yt.size}, {k})")
    index = {c: i for i, c in enumerate(classes.tolist())}
    unknown = [v for v in set(yt.tolist()) | set(yp.tolist()) if v not in index]
    if unknown:
        raise ValueError(f"labels not in classes: {sorted(map(str, unknown))[:5]}")
    groups = (
        np.asarray(class_groups, dtype=object)
        if class_groups is not None
        else np.full(k, None, dtype=object)
    )
    if groups.size != k:
        raise ValueError(f"class_groups has {groups.size} entries for {k} classes")

    ti = np.array([index[v] for v in yt.tolist()], dtype=np.int64)
    pi = np.array([index[v] for v in yp.tolist()], dtype=np.int64)
    support = np.bincount(ti, minlength=k)
    n_pred = np.bincount(pi, minlength=k)
    present = support > 0
    labels = np.arange(k)

    prec, rec, f1, _ = precision_recall_fscore_support(ti, pi, labels=labels, zero_division=0)
    rec = np.where(present, rec, np.nan)
    auc = np.full(k, np.nan)
    if present.sum() >= 2:
        for c in np.flatnonzero(present):
            auc[c] = roc_auc_score(ti == c, proba[:, c])

    m: dict[str, float] = {}
    m["accuracy"] = float(accuracy_score(ti, pi))
    m["macro_f1"] = float(
        f1_score(ti, pi, labels=labels[present], average="macro", zero_division=0)
    )
    with warnings.catch_warnings():
        # "y_pred contains classes not in y_true": expected, and handled as documented
        warnings.simplefilter("ignore", UserWarning)
        m["balanced_accuracy"] = float(balanced_accuracy_score(ti, pi))
    for g in GROUPS:
        sel = present & (groups == g)
        m[f"recall_{g}"] = float(np.mean(rec[sel])) if sel.any() else float("nan")
    m["head_tail_gap"] = m["recall_head"] - m["recall_tail"]
    m["worst_class_recall"] = float(np.nanmin(rec)) if present.any() else float("nan")
    m["auc_macro_ovr"] = float(np.nanmean(auc)) if np.isfinite(auc).any() else float("nan")
    m["ece"] = expected_calibration_error(proba.max(axis=1), ti == pi)
    m["gini_pred_counts"] = gini(n_pred)
    m["gini_true_counts"] = gini(support)
    m["gini_gap"] = m["gini_pred_counts"] - m["gini_true_counts"]

    table = pd.DataFrame(
        {
            "class": classes,
            "group": groups,
            "support": support,
            "n_pred": n_pred,
            "recall": rec,
            "precision": np.where(n_pred > 0, prec, np.nan),
            "f1": np.where(present | (n_pred > 0), f1, np.nan),
            "auc": auc,
        }
    )
    return m, table
