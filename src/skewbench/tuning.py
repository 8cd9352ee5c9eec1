"""Hyper-parameter tuning on a validation split: seeded grid or random search, budget in trials.

A model declares its searchable ranges once (``tune_space`` on its class: param → list of
values or :class:`Range`). A config asks for tuning per model component (``tune: true`` = the
declared space, or a mapping param → list of values / ``{low, high, log, int}``) and per
experiment (``tune: {method, trials, metric, refit}``, :class:`TuneSettings`). The task owns the
protocol: it carves validation from training, and passes :func:`search` a function that fits one
parameter set on train-minus-validation and returns the validation score (higher is better).
Test data never enters this module.

Candidates (:func:`candidates`):

- ``grid``: the Cartesian product of the value lists, in the order written (first parameter
  slowest). If it has more points than ``trials``, a seeded uniform subset of ``trials`` points
  is taken, kept in grid order. Ranges are refused in grid mode (they have no finite grid).
- ``random``: ``trials`` draws; a list draws uniformly among its values, a range uniformly on
  [low, high] (log-uniform with ``log``; rounded to an integer with ``int``). Repeated points are
  evaluated once (the later copy is dropped), so fewer than ``trials`` may be evaluated.

Choice: the highest validation score; ties go to the first trial in evaluation order; NaN
scores never win (all NaN is an error).
"""

from __future__ import annotations

import builtins
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from skewbench.errors import ConfigError


class Range(BaseModel):
    """A continuous (or integer) range for random search."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    low: float
    high: float
    log: bool = False
    int: bool = False

    @model_validator(mode="after")
    def _check(self) -> Range:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ValueError(f"range needs finite low <= high, got [{self.low}, {self.high}]")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got {self.low}")
        return self

    # the field ``int`` shadows the builtin in this class body, hence ``builtins.int`` below
    def draw(self, rng: np.random.Generator) -> float | builtins.int:
        if self.log:
            v = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            v = rng.uniform(self.low, self.high)
        if self.int:
            return int(min(max(round(v), math.ceil(self.low)), math.floor(self.high)))
        return float(v)

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log, "int": self.int}


Space = dict[str, list[Any] | Range]
DEFAULT_TRIALS = 20


class TuneSettings(BaseModel):
    """Experiment-level ``tune:`` block. ``metric`` None = the task's validation metric."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    method: Literal["grid", "random"] = "grid"
    trials: int = Field(default=DEFAULT_TRIALS, ge=1, le=10_000)
    metric: str | None = None
    refit: bool = True


def parse_metric(metric: str | None, allowed: Sequence[str], default: str) -> tuple[str, int]:
    """(name, cutoff) of a list task's validation metric ``<name>@<k>`` (None → ``default``);
    ConfigError naming the allowed metrics otherwise."""
    metric = metric or default
    name, _, cut = metric.partition("@")
    if name not in allowed or not cut.isdigit() or int(cut) < 1:
        raise ConfigError(
            f"tune.metric: {metric!r} is not <metric>@<k> with <metric> one of {list(allowed)} "
            f"(default {default})"
        )
    return name, int(cut)


def parse_space(
    value: Any,
    declared: Mapping[str, list[Any] | Range],
    *,
    fixed: Mapping[str, Any] | None = None,
    what: str = "model",
) -> Space:
    """Resolve a component's ``tune`` value against the model's ``declared`` space.

    ``True`` → the declared space; a mapping param → list (grid values) or ``{low, high, log,
    int}`` (a range). Parameters must be among the declared ones and must not also be fixed.
    Raises ConfigError naming the problem and the allowed names.
    """
    fixed = dict(fixed or {})
    if value is True:
        if not declared:
            raise ConfigError(f"{what}.tune: this model declares no tunable parameters")
        space: Space = {k: (v if isinstance(v, Range) else list(v)) for k, v in declared.items()}
        return {k: v for k, v in space.items() if k not in fixed}
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(
            f"{what}.tune: `true` or a non-empty mapping param -> list / {{low, high}} expected, "
            f"got {value!r}"
        )
    out: Space = {}
    for name, spec in value.items():
        if name not in declared:
            raise ConfigError(
                f"{what}.tune: {name!r} is not tunable; tunable parameters: {sorted(declared)}"
            )
        if name in fixed:
            raise ConfigError(f"{what}.tune: {name!r} is both fixed and tuned")
        if isinstance(spec, list | tuple):
            if not spec:
                raise ConfigError(f"{what}.tune.{name}: empty list of values")
            out[name] = list(spec)
        elif isinstance(spec, Mapping):
            try:
                out[name] = Range.model_validate(dict(spec))
            except Exception as err:  # pydantic ValidationError → one readable line
                msg = str(err).splitlines()
                raise ConfigError(f"{what}.tune.{name}: {' '.join(msg[1:]) or msg[0]}") from None
        else:
            raise ConfigError(
                f"{what}.tune.{name}: a list of values or {{low, high, log, int}} expected, "
                f"got {spec!r}"
            )
    return out


def space_to_dict(space: Space) -> dict[str, Any]:
    """JSON-able form of a space (for cell keys and stored info)."""
    return {k: (v.to_dict() if isinstance(v, Range) else list(v)) for k, v in space.items()}


def space_from_dict(data: Mapping[str, Any]) -> Space:
    return {
        k: (Range.model_validate(v) if isinstance(v, Mapping) else list(v)) for k, v in data.items()
    }


def grid_size(space: Space) -> int | None:
    """Number of grid points, or None when the space holds a range."""
    if any(isinstance(v, Range) for v in space.values()):
        return None
    return math.prod(len(v) for v in space.values() if isinstance(v, list))


def candidates(
    space: Space, method: str, trials: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """The parameter sets to evaluate, in evaluation order (see the module docstring)."""
    if not space:
        raise ConfigError("tune: empty search space")
    if trials < 1:
        raise ConfigError(f"tune.trials: must be >= 1, got {trials}")
    keys = list(space)
    if method == "grid":
        ranged = [k for k in keys if isinstance(space[k], Range)]
        if ranged:
            raise ConfigError(
                f"tune: parameters {ranged} are ranges; grid search needs value lists "
                "(use method: random)"
            )
        points = [
            dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(space[k] for k in keys))
        ]
        if len(points) > trials:
            pick = np.sort(rng.choice(len(points), size=trials, replace=False))
            points = [points[i] for i in pick]
        return _dedupe(points)
    if method == "random":
        points = []
        for _ in range(trials):
            p: dict[str, Any] = {}
            for k in keys:
                v = space[k]
                p[k] = v.draw(rng) if isinstance(v, Range) else v[int(rng.integers(len(v)))]
            points.append(p)
        return _dedupe(points)
    raise ConfigError(f"tune.method: 'grid' or 'random', got {method!r}")


def _dedupe(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for p in points:
        key = repr(sorted(p.items()))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


@dataclass
class TuningResult:
    """What a search found: the chosen parameters and every trial's validation score."""

    metric: str
    method: str
    chosen: dict[str, Any]
    trials: list[dict[str, Any]] = field(default_factory=list)
    refit: bool = True

    def to_info(self) -> dict[str, Any]:
        """The ``info["tuning"]`` record of a tuned cell."""
        return {
            "metric": self.metric,
            "method": self.method,
            "chosen": dict(self.chosen),
            "trials": [{"params": dict(t["params"]), "score": t["score"]} for t in self.trials],
            "refit": self.refit,
        }


def choose(scores: list[float]) -> int:
    """Index of the best score; ties → the first; NaN never wins."""
    arr = np.asarray(scores, dtype=float)
    if arr.size == 0 or np.isnan(arr).all():
        raise ValueError("tuning: no trial produced a finite validation score")
    return int(np.argmax(np.where(np.isnan(arr), -np.inf, arr)))


def search(
    space: Space,
    evaluate: Callable[[dict[str, Any]], float],
    *,
    settings: TuneSettings,
    metric: str,
    rng: np.random.Generator,
) -> TuningResult:
    """Evaluate each candidate with ``evaluate(params) -> validation score`` and pick the best.

    ``rng`` drives only the choice of candidates (grid subset / random draws); pass a stream that
    does not depend on the treatment so every cell sharing a base model tunes identically.
    """
    return evaluate_all(
        candidates(space, settings.method, settings.trials, rng),
        evaluate,
        settings=settings,
        metric=metric,
    )


def evaluate_all(
    points: list[dict[str, Any]],
    evaluate: Callable[[dict[str, Any]], float],
    *,
    settings: TuneSettings,
    metric: str,
) -> TuningResult:
    """Score the given candidates in order and pick the best (see :func:`search`)."""
    trials: list[dict[str, Any]] = []
    for params in points:
        score = float(evaluate(dict(params)))
        trials.append({"params": dict(params), "score": score})
    best = choose([t["score"] for t in trials])
    return TuningResult(
        metric=metric,
        method=settings.method,
        chosen=dict(trials[best]["params"]),
        trials=trials,
        refit=settings.refit,
    )
