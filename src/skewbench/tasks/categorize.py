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
``info["tuning"]`` holds the record (INTERFACES §4).

``units``: one row per test example — ``unit`` (the data set's row label),
``balanced_accuracy`` (the example's share of balanced accuracy: mean over units = the
metric), ``true``, ``pred``, ``correct``, ``max_proba``, ``in_balanced_view``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from skewbench.data.split import stratified_group_split, stratified_split, within_group_rank
from skewbench.errors import ConfigError
from skewbench.models.categorize import MODELS as MODEL_CLASSES
from skewbench.models.categorize.base import TREATMENT_PARAMS, Treatment
from skewbench.runner.cell import Cell, CellResult
from skewbench.tasks.categorize_report import REPORT  # noqa: F401 - the task protocol
from skewbench.treatments.weights import RENAMED

MODELS = tuple(MODEL_CLASSES)
TREATMENTS = tuple(TREATMENT_PARAMS)
DEFAULT_MIN_CLASS_COUNT = 20
DEFAULT_FRACTIONS = (0.7, 0.1, 0.2)
TRAIN_SIZES = ("fixed", "natural")
ENCODED_MODELS = ("minilm_frozen",)
TUNABLE = True
SIZE_MATCHED_SWEEPS = True  # the grid passes every cell its sweep's levels (imbalance_levels)
TUNE_METRICS = (
    "balanced_accuracy",
    "macro_f1",
    "accuracy",
)  # models whose embeddings prepare() puts in the cache


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

    cls = MODEL_CLASSES[cell.model.name]
    space = parse_space(cell.tune["space"], cls.tune_space, fixed=cell.model.params, what="model")
    metric = cell.tune.get("metric") or "balanced_accuracy"
    if metric not in TUNE_METRICS:
        raise ConfigError(
            f"tune.metric: categorize tunes on one of {list(TUNE_METRICS)}, got {metric!r}"
        )
    return space


def _fractions(cell: Cell) -> tuple[float, ...]:
    """(train, validation, test) shares; validated by the options spec in :func:`check`."""
    return tuple(float(x) for x in cell.options.get("fractions", DEFAULT_FRACTIONS))


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


# ---------------------------------------------------------------------------------------------
# controlled imbalance at a fixed training size (module doc, step 3)


def _exponents(avail: np.ndarray) -> np.ndarray:
    """e_k = r_k / (K − 1), r_k the rank by available count (0 = most frequent)."""
    from skewbench.data.imbalance import class_ranks

    k = avail.size
    return class_ranks(avail) / max(k - 1, 1)


def profile_total(avail: np.ndarray, rho: float) -> float:
    """T(ρ): the real-valued total of the exponential profile at its largest (module doc)."""
    e = _exponents(avail)
    n_max = float(np.min(avail * rho**e))
    return float(n_max * np.sum(rho ** (-e)))


def fixed_size_targets(avail: np.ndarray, rho: float, total: int) -> np.ndarray:
    """Per-class counts of the exponential profile with ratio ρ summing to ``total``.

    Real targets x_k = total · ρ^(−e_k) / Σ_j ρ^(−e_j), floored, then the remainder handed out
    one each by largest fractional part (ties: lower rank, i.e. the more frequent class).
    Needs total ≤ T(ρ) (then x_k ≤ avail_k, so no class is asked for more than it has) and
    min x_k ≥ 1 (:func:`reachable`).
    """
    e = _exponents(avail)
    x = total * rho ** (-e) / np.sum(rho ** (-e))
    out = np.floor(x + 1e-9).astype(np.int64)
    rest = int(total - out.sum())
    if rest > 0:
        order = np.lexsort((e, -(x - out)))
        out[order[:rest]] += 1
    return np.minimum(out, avail.astype(np.int64))


def take_per_class(codes: np.ndarray, take: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of a uniform random subset of ``take[c]`` rows of every class c."""
    order = np.lexsort((rng.random(codes.size), codes))  # by class, random within class
    within = within_group_rank(codes, order, take.size)
    return np.sort(order[within < take[codes[order]]])


def _tail_target(avail: np.ndarray, rho: float, total: float) -> float:
    e = _exponents(avail)
    return float(total * rho**-1.0 / np.sum(rho ** (-e)))


def common_train_size(avail: np.ndarray, levels: list[float]) -> int:
    """⌊min over levels of T(ρ)⌋: the largest total every level can supply."""
    return int(np.floor(min(profile_total(avail, r) for r in levels) + 1e-9))


def _level_total(avail: np.ndarray, rho: float, levels: list[float], mode: str | int) -> float:
    if mode == "natural":
        return profile_total(avail, rho)
    if mode == "fixed":
        return float(common_train_size(avail, sorted({*levels, rho})))
    return float(mode)


def reachable(avail: np.ndarray, rho: float, levels: list[float], mode: str | int) -> bool:
    """Whether level ρ gives its smallest class at least one example (before rounding)."""
    if avail.size < 2 or rho == 1:
        return True
    total = _level_total(avail, rho, levels, mode)
    if mode == "natural":  # n_max / ρ: the floor of the profile at its own largest size
        e = _exponents(avail)
        return float(np.min(avail * rho**e)) / rho >= 1 - 1e-9
    return _tail_target(avail, rho, total) >= 1 - 1e-9


def largest_reachable(avail: np.ndarray, levels: list[float], mode: str | int) -> float:
    """The largest ρ reachable together with the other levels (bisection on log ρ; the tail
    target decreases in ρ)."""
    others = [r for r in levels]
    lo, hi = 0.0, 40.0  # log ρ in [0, 40]
    if reachable(avail, float(np.exp(hi)), others, mode):
        return float(np.exp(hi))
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if reachable(avail, float(np.exp(mid)), others, mode):
            lo = mid
        else:
            hi = mid
    return float(np.exp(lo))


def _training_counts_and_size(cell: Cell) -> tuple[np.ndarray, int | None]:
    """(available training counts per class, n_train of this cell's level or None)."""
    tr_counts = _split_cached(cell)[3]
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
        from skewbench.data.imbalance import exponential_profile_targets

        return tr_counts, int(exponential_profile_targets(avail, float(rho)).sum())
    total = int(_level_total(avail, float(rho), levels, mode))
    for r in levels:
        if total > profile_total(avail, r) + 1e-9:
            raise ConfigError(
                f"options.train_size: {total} training examples cannot follow ratio {r:g} "
                f"on {cell.dataset.label} (at most {int(profile_total(avail, r))})"
            )
    return tr_counts, total


def _split_cached(cell: Cell) -> tuple[np.ndarray, ...]:
    """(train, validation, test positions, training class counts, balanced test view positions
    into test) of the cell's replicate; memoised per process."""
    key = (
        json.dumps(cell.dataset.to_dict(), sort_keys=True, default=str),
        _fractions(cell),
        cell.seed,
        cell.master_seed,
    )
    if key not in _SPLITS:
        df, _, label_col = _load_cached(cell.dataset)
        codes = np.unique(df[label_col].astype(str).to_numpy(), return_inverse=True)[1]
        split_rng = cell.rng("split", data_side=True)
        group = _group_column(cell.dataset)
        if group is None:
            tr, va, te = stratified_split(codes, _fractions(cell), rng=split_rng)
        else:
            tr, va, te = stratified_group_split(
                codes, df[group].astype(str).to_numpy(), _fractions(cell), rng=split_rng
            )
        # the balanced test view continues the same stream (identical across ρ and models)
        bal = balanced_view(codes[te], split_rng)
        k = int(codes.max()) + 1
        if len(_SPLITS) >= 8:
            _SPLITS.clear()
        _SPLITS[key] = (tr, va, te, np.bincount(codes[tr], minlength=k), bal)
    return _SPLITS[key]


_SPLITS: dict[tuple[Any, ...], tuple[np.ndarray, ...]] = {}
_FRAMES: dict[str, tuple[pd.DataFrame, str, str]] = {}


def _load_cached(dataset: Any) -> tuple[pd.DataFrame, str, str]:
    """:func:`load_dataset`, memoised per process (check and run of one cell load once)."""
    key = json.dumps(dataset.to_dict(), sort_keys=True, default=str)
    if key not in _FRAMES:
        if len(_FRAMES) >= 2:
            _FRAMES.clear()
        _FRAMES[key] = load_dataset(dataset)
    return _FRAMES[key]


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
        from skewbench.progress import quiet

        encode(df[text].tolist(), model_name=encoder, progress=not quiet())
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


def run(cell: Cell) -> CellResult:
    """Run one cell (module doc)."""
    from skewbench.data.imbalance import exponential_profile_targets, imbalance_ratio
    from skewbench.metrics.classification import classification_metrics

    t0 = time.perf_counter()
    check(cell)  # loads the data and splits it (memoised): counted as data time
    df, text_col, label_col = _load_cached(cell.dataset)
    texts = df[text_col].to_numpy(dtype=object)
    classes, codes = np.unique(df[label_col].astype(str).to_numpy(), return_inverse=True)
    k = classes.size

    tr, va, te, natural_counts, bal = _split_cached(cell)
    avail, n_train = _training_counts_and_size(cell)
    if cell.imbalance is not None:
        mode = _train_size_option(cell)
        if mode == "natural":
            targets = exponential_profile_targets(avail.astype(float), float(cell.imbalance))
        else:
            targets = fixed_size_targets(avail.astype(float), float(cell.imbalance), n_train)
        keep = take_per_class(codes[tr], targets, cell.rng("imbalance", data_side=True))
        tr = tr[keep]
    train_counts = np.bincount(codes[tr], minlength=k)
    groups = class_groups(train_counts, natural_counts)
    t_data = time.perf_counter()

    treatment = Treatment.parse(cell.treatment.name, cell.treatment.params)
    tuning = None
    if cell.tune is None:
        model = MODEL_CLASSES[cell.model.name](
            treatment, cell.seed_int("model"), **cell.model.params
        )
        model.fit(list(texts[tr]), codes[tr], list(texts[va]), codes[va], k)
    else:
        model, tuning = _tuned_model(cell, treatment, texts, codes, tr, va, k)
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
        "data_seconds": t_data - t0,
        "fit_seconds": t_fit - t_data,
        "predict_seconds": t_pred - t_fit,
        "total_seconds": time.perf_counter() - t0,
    }
    return CellResult(metrics=metrics, units=units, info=info)
