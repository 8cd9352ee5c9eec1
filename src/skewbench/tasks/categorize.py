"""Product categorization under class imbalance: text → category.

One cell (dataset, ρ, model, treatment, seed), step by step:

1. load the labelled texts (``dataset.params`` go to the loader; ``label`` names the class
   column, default ``class_name``; ``text`` the text column, default ``text``) and drop classes
   with fewer than ``min_class_count`` examples (default 20: below that a 70/10/20 split leaves
   ≤ 2 validation and ≤ 4 test examples, whose recall is noise; on Clothing it removes the two
   classes of 2 and 1 reviews);
2. stratified train/validation/test split (``options.fractions``, default 0.7/0.1/0.2),
   grouped by ``dataset.params.group`` (Clothing: ``item_id``, so no product is on both sides;
   ``null`` = row-level) under
   ``cell.rng("split", data_side=True)``; the same stream then draws the class-balanced test
   view (every class cut to the smallest test class count), so the view is identical for every
   ρ, model and treatment of a replicate;
3. controlled imbalance: the TRAINING split only is subsampled to the exponential profile with
   ratio ρ = ``cell.imbalance`` (:func:`skewbench.data.imbalance.subsample_to_ratio`, stream
   ``cell.rng("imbalance", data_side=True)``); ``None`` keeps it as is;
4. the treatment is applied by the model, to training rows only; fit (validation split for
   early stopping / model selection only);
5. predict probabilities on the test split; metrics on the natural test set and, prefixed
   ``bal_``, on the balanced view (:mod:`skewbench.metrics.classification`). Head/mid/tail
   groups come from the cell's training counts (``head_mid_tail``, rule "share"); ties between
   equal counts (ρ = 1) are broken by the natural training counts, so "head" stays the
   naturally frequent classes.

``units``: one row per test example — ``unit`` (the data set's row label),
``balanced_accuracy`` (the example's share of balanced accuracy: mean over units = the
metric), ``true``, ``pred``, ``correct``, ``max_proba``, ``in_balanced_view``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from skewbench.errors import ConfigError
from skewbench.models.categorize import MODELS as MODEL_CLASSES
from skewbench.models.categorize.base import TREATMENT_PARAMS, Treatment
from skewbench.runner.cell import Cell, CellResult

MODELS = tuple(MODEL_CLASSES)
TREATMENTS = tuple(TREATMENT_PARAMS)
DEFAULT_MIN_CLASS_COUNT = 20
DEFAULT_FRACTIONS = (0.7, 0.1, 0.2)
ENCODED_MODELS = ("minilm_frozen",)  # models whose embeddings prepare() puts in the cache


def check(cell: Cell) -> None:
    """Refuse a cell that cannot run, naming every bad field (ConfigError / IncompatibleError)."""
    from skewbench.specs.validate import cell_errors, raise_errors

    errors, incompatible = cell_errors(cell)
    rho = cell.imbalance
    if rho is not None and (not isinstance(rho, int | float) or not np.isfinite(rho) or rho < 1):
        errors.append(f"imbalance_ratio: categorize takes a ratio rho >= 1 or null, got {rho!r}")
        incompatible = False
    raise_errors(errors, incompatible)


def _fractions(cell: Cell) -> tuple[float, ...]:
    """(train, validation, test) shares; validated by the options spec in :func:`check`."""
    return tuple(float(x) for x in cell.options.get("fractions", DEFAULT_FRACTIONS))


def _group_column(dataset: Any) -> str | None:
    """The column whose rows must stay together in one split part (``dataset.params.group``).

    Clothing defaults to ``item_id``: every review of a product shares the product's class, so
    a row-level split would put reviews of one product on both sides and let a model memorise
    product-specific words. ``group: null`` asks for the plain row-level split.
    """
    return dataset.params.get("group", "item_id" if dataset.name == "clothing" else None)


def load_dataset(dataset: Any) -> tuple[pd.DataFrame, str, str]:
    """(frame, text column, label column) after dropping rare classes."""
    from skewbench.data.prepare import drop_rare_classes
    from skewbench.data.sources import load

    params = dict(dataset.params)
    mcc = int(params.pop("min_class_count", DEFAULT_MIN_CLASS_COUNT))
    params.pop("group", None)
    label = params.setdefault("label", "class_name" if dataset.name == "clothing" else "label")
    if dataset.name == "table":
        params.setdefault("kind", "labelled_text")
    text = params.get("text", "text")
    df = load(dataset.name, **params)
    group = _group_column(dataset)
    if group is not None and group not in df.columns:
        raise ConfigError(
            f"dataset.params.group: {dataset.name} has no column {group!r} "
            f"(columns: {list(df.columns)})"
        )
    return drop_rare_classes(df, label, mcc), text, label


def prepare(cells: Iterable[Cell]) -> None:
    """Encode every text of each data set used by a cached-embedding model, once, in the parent."""
    from skewbench.encoders import encode

    done: set[tuple[str, str]] = set()
    for cell in cells:
        if cell.model.name not in ENCODED_MODELS:
            continue
        encoder = cell.model.params.get("encoder", "minilm")
        key = (cell.dataset.label, encoder)
        if key in done:
            continue
        df, text, _ = load_dataset(cell.dataset)
        encode(df[text].tolist(), model_name=encoder, progress=True)
        done.add(key)


def balanced_view(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of a class-balanced subset: each present class cut to the smallest
    present class count, uniformly at random."""
    counts = np.bincount(codes)
    m = counts[counts > 0].min()
    order = np.lexsort((rng.random(codes.size), codes))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    within = np.arange(codes.size) - starts[codes[order]]
    return np.sort(order[within < m])


def class_groups(train_counts: np.ndarray, natural_counts: np.ndarray) -> np.ndarray:
    """head/mid/tail per class from the training counts; ties broken by the natural counts."""
    from skewbench.data.imbalance import head_mid_tail

    order = np.lexsort((-natural_counts, -train_counts))  # train desc, then natural desc
    groups = np.empty(train_counts.size, dtype=object)
    groups[order] = head_mid_tail(train_counts[order])
    return groups


def run(cell: Cell) -> CellResult:
    """Run one cell (module doc)."""
    from skewbench.data.imbalance import imbalance_ratio, subsample_to_ratio
    from skewbench.data.split import stratified_group_split, stratified_split
    from skewbench.metrics.classification import classification_metrics

    check(cell)
    t0 = time.perf_counter()
    df, text_col, label_col = load_dataset(cell.dataset)
    texts = df[text_col].to_numpy(dtype=object)
    classes, codes = np.unique(df[label_col].astype(str).to_numpy(), return_inverse=True)
    k = classes.size

    split_rng = cell.rng("split", data_side=True)
    group = _group_column(cell.dataset)
    if group is None:
        tr, va, te = stratified_split(codes, _fractions(cell), rng=split_rng)
    else:
        tr, va, te = stratified_group_split(
            codes, df[group].astype(str).to_numpy(), _fractions(cell), rng=split_rng
        )
    bal = balanced_view(codes[te], split_rng)
    natural_counts = np.bincount(codes[tr], minlength=k)
    if cell.imbalance is not None:
        keep = subsample_to_ratio(
            codes[tr], float(cell.imbalance), cell.rng("imbalance", data_side=True)
        )
        tr = tr[keep]
    train_counts = np.bincount(codes[tr], minlength=k)
    groups = class_groups(train_counts, natural_counts)
    t_data = time.perf_counter()

    treatment = Treatment.parse(cell.treatment.name, cell.treatment.params)
    model = MODEL_CLASSES[cell.model.name](treatment, cell.seed_int("model"), **cell.model.params)
    model.fit(list(texts[tr]), codes[tr], list(texts[va]), codes[va], k)
    t_fit = time.perf_counter()
    proba = model.predict_proba(list(texts[te]))
    pred = proba.argmax(axis=1)
    t_pred = time.perf_counter()

    metrics, per_class = classification_metrics(codes[te], pred, proba, np.arange(k), groups)
    bal_metrics, _ = classification_metrics(
        codes[te][bal], pred[bal], proba[bal], np.arange(k), groups
    )
    metrics.update({f"bal_{name}": v for name, v in bal_metrics.items()})
    per_class["class"] = classes

    in_bal = np.zeros(te.size, dtype=bool)
    in_bal[bal] = True
    # Per-example share of balanced accuracy: c_i · n / (K' · n_{y_i}) over the K' classes
    # present in test, so its mean over test examples IS the balanced accuracy and paired
    # tests on it are tests of balanced accuracy.
    test_counts = np.bincount(codes[te], minlength=k)
    n_present = int((test_counts > 0).sum())
    bal_acc_unit = (codes[te] == pred) * te.size / (n_present * test_counts[codes[te]])
    units = pd.DataFrame(
        {
            "unit": df.index.to_numpy()[te],
            "balanced_accuracy": bal_acc_unit,
            "true": classes[codes[te]],
            "pred": classes[pred],
            "correct": codes[te] == pred,
            "max_proba": proba.max(axis=1),
            "in_balanced_view": in_bal,
        }
    )
    src = model.resample_source_
    info: dict[str, Any] = {
        "classes": classes.tolist(),
        "train_counts": train_counts.tolist(),
        "class_groups": groups.tolist(),
        "achieved_imbalance_ratio": imbalance_ratio(train_counts),
        "n_train": int(tr.size),
        "n_train_fit": int(tr.size if src is None else src.size),
        "n_val": int(va.size),
        "n_test": int(te.size),
        "n_test_balanced": int(bal.size),
        "converged": getattr(model, "converged_", None),
        "per_class": per_class.to_dict("records"),
        "data_seconds": t_data - t0,
        "fit_seconds": t_fit - t_data,
        "predict_seconds": t_pred - t_fit,
        "total_seconds": time.perf_counter() - t0,
    }
    return CellResult(metrics=metrics, units=units, info=info)
