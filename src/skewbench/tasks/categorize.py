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
3. controlled imbalance at a fixed training size: the TRAINING split only is subsampled to the
   exponential profile with ratio ρ = ``cell.imbalance`` — class k (rank r_k by available count,
   0 = most frequent) gets a share ∝ ρ^(−r_k/(K−1)) of a total ``n_train`` that is the SAME for
   every ρ level of the experiment's sweep (``options.train_size``, below), so a sweep changes
   only the shape of the class distribution, not the amount of data. Counts are rounded by
   largest remainder (ties: the more frequent class), so they sum to ``n_train`` exactly; the
   rows of each class are drawn uniformly under ``cell.rng("imbalance", data_side=True)``.
   ``None`` keeps the training split as it is (natural size, outside the fixed-size sweep);
   ``info["n_train"]`` records the size fitted and ``info["achieved_imbalance_ratio"]`` the
   ratio after rounding;
4. the treatment is applied by the model, to training rows only; fit (validation split for
   early stopping / model selection only);
5. predict probabilities on the test split; metrics on the natural test set and, prefixed
   ``bal_``, on the balanced view (:mod:`skewbench.metrics.classification`). Head/mid/tail
   groups come from the cell's training counts (``head_mid_tail``, rule "share"); ties between
   equal counts (ρ = 1) are broken by the natural training counts, so "head" stays the
   naturally frequent classes.

``options.train_size`` (default ``"fixed"``):
- ``"fixed"``: n_train = the largest total every ρ level of the sweep can supply from this
  replicate's training split: ⌊min over levels of T(ρ)⌋, T(ρ) = Σ_k n_max ρ^(−r_k/(K−1)) with
  n_max = min_k avail_k ρ^(r_k/(K−1)) (the exponential profile at its largest). The sweep's
  levels reach every cell as ``options.imbalance_levels`` (set by the grid from
  ``imbalance_ratio``: ``SIZE_MATCHED_SWEEPS``; null levels are ignored); the split does not depend on ρ, so every level of a
  replicate computes the same n_train (replicates may differ slightly: their splits do);
- an integer: that n_train for every level (refused if a level cannot supply it);
- ``"natural"``: each level at its own largest size (⌊n_max ρ^(−r_k/(K−1))⌋ per class) — the
  earlier behaviour, where ρ and training size change together.
A level is reachable when its smallest class gets at least one example (before rounding);
an unreachable ρ is refused at validation, naming the largest reachable value.

Tuning (``tune:`` on the model, :mod:`skewbench.tuning`): each candidate parameter set is fitted
on the cell's training rows (after the subsample, with the treatment) and scored on the
validation split (default metric ``balanced_accuracy``; also ``macro_f1``, ``accuracy``); the
best candidate's fitted model is the cell's model. Validation is never merged into training
(``refit`` is recorded as false): it holds the natural class profile, which would undo the
controlled imbalance, and it is the early-stopping set. Test is touched once, after the choice.
``info["tuning"]`` holds the record (:meth:`skewbench.tuning.TuningResult.to_info`).

``units``: one row per test example — ``unit`` (the data set's row label),
``balanced_accuracy`` (the example's share of balanced accuracy: mean over units = the
metric), ``true``, ``pred``, ``correct``, ``max_proba``, ``in_balanced_view``.

``info["timings_s"]``: seconds per stage, the keys every task records
(:data:`skewbench.pipeline.timings.STAGES`; ``rerank`` is 0 here); a tuned cell's chosen model is
fitted during the search, so its fit time is inside tune.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from skewbench.data.subsample import (
    exponential_profile_targets,
    fixed_size_targets,
    largest_reachable,
    level_total,
    profile_total,
    reachable,
    take_per_class,
)
from skewbench.errors import ConfigError
from skewbench.models.categorize import MODELS as MODEL_CLASSES
from skewbench.models.categorize.base import TREATMENT_PARAMS, Treatment
from skewbench.pipeline.timings import Timings
from skewbench.runner.cell import Cell, CellResult
from skewbench.tasks.categorize_data import (
    DEFAULT_MIN_CLASS_COUNT as DEFAULT_MIN_CLASS_COUNT,  # read by the runner's data check
)
from skewbench.tasks.categorize_data import cached_dataset, replicate_split
from skewbench.tasks.categorize_data import load_dataset as load_dataset  # read by the data check
from skewbench.tasks.categorize_report import REPORT  # noqa: F401 - the task protocol
from skewbench.treatments.weights import RENAMED

MODELS = tuple(MODEL_CLASSES)
TREATMENTS = tuple(TREATMENT_PARAMS)
TRAIN_SIZES = ("fixed", "natural")
ENCODED_MODELS = ("minilm_frozen",)  # models whose embeddings prepare() puts in the cache
TUNABLE = True
SIZE_MATCHED_SWEEPS = True  # the grid passes every cell its sweep's levels (imbalance_levels)
TUNE_METRICS = ("balanced_accuracy", "macro_f1", "accuracy")


def check(cell: Cell) -> None:
    """Refuse a cell that cannot run, naming every bad field (ConfigError / IncompatibleError)."""
    from skewbench.specs.validate import cell_errors, raise_errors

    errors, incompatible = cell_errors(cell)
    for key in ("scheme", "alpha"):  # a renamed scheme: say its new name, not just the list
        old = cell.treatment.params.get(key)
        if isinstance(old, str) and old in RENAMED:
            errors = [e for e in errors if not e.startswith(f"treatment.params.{key}:")]
            errors.append(
                f"treatment.params.{key}: scheme {old!r} was renamed {RENAMED[old]!r} "
                f"(α_k ∝ N_k/(N−N_k), which gives the majority class the larger weight); "
                f"write {RENAMED[old]!r}"
            )
            incompatible = False
    rho = cell.imbalance
    if rho is not None and (not isinstance(rho, int | float) or not np.isfinite(rho) or rho < 1):
        errors.append(f"imbalance_ratio: categorize takes a ratio rho >= 1 or null, got {rho!r}")
        incompatible = False
    raise_errors(errors, incompatible)
    # model-specific rules the specs cannot state (a DRW start within the epoch budget, a
    # registered encoder, scheme names), then the sweep's reachability on the real split
    treatment = Treatment.parse(cell.treatment.name, cell.treatment.params)
    MODEL_CLASSES[cell.model.name].check(treatment, cell.model.params)
    _train_size_option(cell)
    if cell.tune is not None:
        _tune_space(cell)
    if rho is not None:
        _training_counts_and_size(cell)  # raises ConfigError for an unreachable level


def _tune_space(cell: Cell) -> Any:
    from skewbench.tuning import parse_space

    assert cell.tune is not None  # callers tune only a cell with a tune block
    cls = MODEL_CLASSES[cell.model.name]
    space = parse_space(cell.tune["space"], cls.tune_space, fixed=cell.model.params, what="model")
    metric = cell.tune.get("metric") or "balanced_accuracy"
    if metric not in TUNE_METRICS:
        raise ConfigError(
            f"tune.metric: categorize tunes on one of {list(TUNE_METRICS)}, got {metric!r}"
        )
    return space


def _train_size_option(cell: Cell) -> str | int:
    v = cell.options.get("train_size", "fixed")
    ok = v in TRAIN_SIZES or (isinstance(v, int) and not isinstance(v, bool) and v >= 2)
    if not ok:
        raise ConfigError(
            f"options.train_size: expected one of {list(TRAIN_SIZES)} or an integer >= 2, got {v!r}"
        )
    levels = cell.options.get("imbalance_levels", [])
    if not isinstance(levels, list) or not all(
        x is None or (isinstance(x, int | float) and not isinstance(x, bool) and x >= 1)
        for x in levels
    ):
        raise ConfigError(
            f"options.imbalance_levels: set from the experiment's imbalance list; expected "
            f"numbers >= 1, got {levels!r}"
        )
    return v


def _training_counts_and_size(cell: Cell) -> tuple[np.ndarray, int | None]:
    """(available training counts per class, n_train of this cell's level or None)."""
    tr_counts = replicate_split(cell)[3]
    rho = cell.imbalance
    if rho is None:
        return tr_counts, None
    mode = _train_size_option(cell)
    given = cell.options.get("imbalance_levels", [])
    levels = sorted({float(v) for v in given if v is not None}) or [float(rho)]
    if float(rho) not in levels:
        levels = sorted({*levels, float(rho)})
    avail = tr_counts.astype(float)
    if (avail <= 0).any():
        raise ConfigError(
            f"imbalance_ratio: a class has no training example in replicate {cell.seed}; raise "
            f"dataset.params.min_class_count"
        )
    for r in levels:
        if not reachable(avail, r, [x for x in levels if x != r], mode):
            best = largest_reachable(avail, [x for x in levels if x != r], mode)
            raise ConfigError(
                f"imbalance_ratio: ratio {r:g} is not reachable on {cell.dataset.label} with "
                f"train_size={mode!r} (its smallest class would get fewer than 1 training "
                f"example); the largest reachable ratio with this sweep is {np.floor(best):g}"
            )
    if mode == "natural":
        return tr_counts, int(exponential_profile_targets(avail, float(rho)).sum())
    total = int(level_total(avail, float(rho), levels, mode))
    for r in levels:
        if total > profile_total(avail, r) + 1e-9:
            raise ConfigError(
                f"options.train_size: {total} training examples cannot follow ratio {r:g} "
                f"on {cell.dataset.label} (at most {int(profile_total(avail, r))})"
            )
    return tr_counts, total


def prepare(cells: Iterable[Cell]) -> None:
    """Encode, once and in the parent, the texts that the cells of cached-embedding models read
    (their training, validation and test rows; texts no cell reads are not encoded)."""
    from skewbench.encoders import encode
    from skewbench.models.categorize.minilm_frozen import encode_settings
    from skewbench.progress import quiet

    needed: dict[tuple[str, str], tuple[Cell, set[int]]] = {}
    codes: dict[str, np.ndarray] = {}
    seen: set[str] = set()
    for cell in cells:
        if cell.model.name not in ENCODED_MODELS:
            continue
        settings = encode_settings(cell.model.params)
        key = (cell.dataset.key_label, repr(sorted(settings.items())))
        # the rows a cell reads depend on its data side only: one pass per (data side, encoder)
        side = {k: v for k, v in cell.to_dict().items() if k not in ("model", "treatment", "tune")}
        if repr((key, side)) in seen:
            continue
        seen.add(repr((key, side)))
        check(cell)
        if cell.dataset.key_label not in codes:
            df, _, label = cached_dataset(cell.dataset)
            codes[cell.dataset.key_label] = np.unique(
                df[label].astype(str).to_numpy(), return_inverse=True
            )[1]
        tr, va, te, _, _ = cell_positions(cell, codes[cell.dataset.key_label])
        needed.setdefault(key, (cell, set()))[1].update(np.concatenate([tr, va, te]).tolist())
    for cell, positions in needed.values():
        df, text, _ = cached_dataset(cell.dataset)
        rows = np.sort(np.fromiter(positions, dtype=np.int64))
        encode(
            df[text].to_numpy(dtype=object)[rows].tolist(),
            progress=not quiet(),
            **encode_settings(cell.model.params),
        )


def placement_info(params: dict[str, Any]) -> dict[str, Any]:
    """Where and how a torch model ran: the resolved device, its precision, its batch size
    (encoding, else training) and its encoder's identity (``params`` with defaults)."""
    from skewbench.encoders.device import placement
    from skewbench.encoders.models import encoder_key, resolve_precision

    device, dtype = placement(params["device"], params["dtype"])
    return {
        "device": device,
        "dtype": resolve_precision(dtype, device=device),
        "batch_size": params.get("encode_batch_size", params.get("batch_size")),
        "encoder": encoder_key(params["encoder"]),
    }


def class_groups(train_counts: np.ndarray, natural_counts: np.ndarray) -> np.ndarray:
    """head/mid/tail per class from the training counts; ties broken by the natural counts."""
    from skewbench.data.imbalance import head_mid_tail

    order = np.lexsort((-natural_counts, -train_counts))  # train desc, then natural desc
    groups = np.empty(train_counts.size, dtype=object)
    groups[order] = head_mid_tail(train_counts[order])
    return groups


def _tuned_model(
    cell: Cell,
    treatment: Treatment,
    texts: np.ndarray,
    codes: np.ndarray,
    tr: np.ndarray,
    va: np.ndarray,
    k: int,
) -> tuple[Any, dict[str, Any]]:
    """Search the model's space on validation; returns (the chosen fitted model, the record)."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    from skewbench.tuning import TuneSettings, search

    space = _tune_space(cell)
    assert cell.tune is not None  # checked by _tune_space
    metric = cell.tune.get("metric") or "balanced_accuracy"
    score_fn = {
        "balanced_accuracy": balanced_accuracy_score,
        "accuracy": accuracy_score,
        "macro_f1": lambda a, b: f1_score(a, b, average="macro"),
    }[metric]
    settings = TuneSettings(
        method=cell.tune.get("method", "grid"),
        trials=int(cell.tune.get("trials", 20)),
        metric=metric,
        refit=False,
    )
    fitted: dict[str, Any] = {}
    vtexts = list(texts[va])

    def evaluate(params: dict[str, Any]) -> float:
        m = MODEL_CLASSES[cell.model.name](
            treatment, cell.seed_int("model"), **{**cell.model.params, **params}
        )
        m.fit(list(texts[tr]), codes[tr], vtexts, codes[va], k)
        fitted[repr(sorted(params.items()))] = m
        return float(score_fn(codes[va], m.predict_proba(vtexts).argmax(axis=1)))

    result = search(
        space, evaluate, settings=settings, metric=metric, rng=cell.rng("tune", data_side=True)
    )
    return fitted[repr(sorted(result.chosen.items()))], result.to_info()


def cell_positions(
    cell: Cell, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, test, natural train counts, balanced test view) positions of a cell,
    the training positions after its controlled-imbalance subsample."""
    tr, va, te, natural_counts, bal = replicate_split(cell)
    if cell.imbalance is not None:
        avail, n_train = _training_counts_and_size(cell)
        if _train_size_option(cell) == "natural":
            targets = exponential_profile_targets(avail.astype(float), float(cell.imbalance))
        else:
            assert n_train is not None  # a cell with a level has its training size
            targets = fixed_size_targets(avail.astype(float), float(cell.imbalance), n_train)
        tr = tr[take_per_class(codes[tr], targets, cell.rng("imbalance", data_side=True))]
    return tr, va, te, natural_counts, bal


def run(cell: Cell) -> CellResult:
    """Run one cell (module doc)."""
    from skewbench.data.imbalance import imbalance_ratio
    from skewbench.metrics.classification import classification_metrics, per_example_shares

    timings = Timings()  # every task's stage keys
    check(cell)  # loads the data and splits it (memoised): counted as data time
    df, text_col, label_col = cached_dataset(cell.dataset)
    texts = df[text_col].to_numpy(dtype=object)
    classes, codes = np.unique(df[label_col].astype(str).to_numpy(), return_inverse=True)
    k = classes.size

    tr, va, te, natural_counts, bal = cell_positions(cell, codes)
    train_counts = np.bincount(codes[tr], minlength=k)
    groups = class_groups(train_counts, natural_counts)
    timings.add("data", time.perf_counter() - timings.start)

    treatment = Treatment.parse(cell.treatment.name, cell.treatment.params)
    tuning = None
    t = time.perf_counter()
    if cell.tune is None:
        model = MODEL_CLASSES[cell.model.name](
            treatment, cell.seed_int("model"), **cell.model.params
        )
        model.fit(list(texts[tr]), codes[tr], list(texts[va]), codes[va], k)
        timings.add("fit", time.perf_counter() - t)
    else:
        # the chosen candidate is fitted during the search (no refit): all of it is tune time
        model, tuning = _tuned_model(cell, treatment, texts, codes, tr, va, k)
        timings.add("tune", time.perf_counter() - t)
    t = time.perf_counter()
    proba = model.predict_proba(list(texts[te]))
    pred = proba.argmax(axis=1)
    timings.add("score", time.perf_counter() - t)
    t = time.perf_counter()

    metrics, per_class = classification_metrics(codes[te], pred, proba, np.arange(k), groups)
    bal_metrics, _ = classification_metrics(
        codes[te][bal], pred[bal], proba[bal], np.arange(k), groups
    )
    metrics.update({f"bal_{name}": v for name, v in bal_metrics.items()})
    per_class["class"] = classes

    in_bal = np.zeros(te.size, dtype=bool)
    in_bal[bal] = True
    # Per-example shares whose mean over the test examples IS balanced accuracy / each group
    # recall / the head–tail gap, so paired tests on them test those metrics.
    shares = per_example_shares(codes[te], codes[te] == pred, groups)
    units = pd.DataFrame(
        {
            "unit": df.index.to_numpy()[te],
            **shares,
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
        "available_train_counts": natural_counts.tolist(),
        "train_size_mode": None if cell.imbalance is None else _train_size_option(cell),
        "class_groups": groups.tolist(),
        "achieved_imbalance_ratio": imbalance_ratio(train_counts),
        "n_train": int(tr.size),
        "n_train_fit": int(tr.size if src is None else src.size),
        "n_val": int(va.size),
        "n_test": int(te.size),
        "n_test_balanced": int(bal.size),
        "converged": getattr(model, "converged_", None),
        "tuning": tuning,
        # per-epoch loss/accuracy/val_loss/val_accuracy (Keras model) and the class-weight
        # vectors a schedule set (DRW, adaptive_recall); None where the model has none
        "history": getattr(model, "history_", None),
        "weight_history": getattr(model, "weight_history_", None) or None,
        "per_class": per_class.to_dict("records"),
    }
    plugin = getattr(model, "plugin_info_", None)
    if plugin is not None:
        info["plugin"] = plugin
    model_class = MODEL_CLASSES[cell.model.name]
    if "device" in model_class.PARAMS:  # where and how it ran
        info["placement"] = placement_info(model_class.resolve_params(dict(cell.model.params)))
    timings.add("metrics", time.perf_counter() - t)
    info["timings_s"] = timings.to_info()
    return CellResult(metrics=metrics, units=units, info=info)
