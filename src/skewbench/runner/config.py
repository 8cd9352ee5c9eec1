"""The YAML experiment config, validated with pydantic before any work starts.

Shape::

    name: quick                 # results go to results/<name>/ unless `output` is set
    seed: 20261127              # master seed: derives every random stream
    seeds: [0, 1, 2]            # replicate indices (or a count: 3 → [0, 1, 2])
    workers: 2
    experiments:
      - task: categorize
        datasets: [{name: clothing, label: class_name}]
        imbalance_ratio: [1, 10, 100]   # categorize: training ratio rho >= 1; null = as is
        # recommend: target_gini: [0.5, 0.6] (training item-popularity Gini); search: neither
        models: [tfidf_lr, minilm_frozen]
        treatments:
          - none
          - {name: class_weight, scheme: inverse}
          - {name: xquad, sweep: {lambda: [0.25, 0.5, 1.0]}}   # one cell per value
        options: {}               # task-level options passed to every cell
        tune: {method: grid, trials: 20, metric: ndcg@10, refit: true}   # optional

A component is a bare name or a mapping with ``name``, its parameters, and an optional
``sweep`` of parameter → list of values, expanded into one component per combination. A model
component may also carry ``tune`` (``true`` = the model's declared space, or a mapping param →
list of values / ``{low, high, log, int}``): its values are then chosen on a validation split
carved from training (``skewbench.tuning``); the experiment's ``tune`` block sets how.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from skewbench.errors import ConfigError
from skewbench.runner.cell import Component
from skewbench.tuning import TuneSettings

_SCALAR = (str, int, float, bool, type(None))

# Upper bounds checked before anything is expanded: a config past one is refused with its count
# (a few lines of YAML can otherwise ask for 10⁹ seeds or, through aliases, 10¹² values).
MAX_CONFIG_VALUES = 100_000  # values of the document with every alias expanded
MAX_DEPTH = 64  # nesting levels of the document
MAX_SEEDS = 1_000  # replicates
MAX_CELLS = 100_000  # cells of the grid
MAX_WORKERS = 256  # cells at once
MAX_NAME = 100  # characters of the run's name (a folder name; file systems stop at 255 bytes)


def document_size(data: Any, source: str = "<config>") -> int:
    """Values in ``data`` counting a shared (YAML-aliased) node each time it appears, without
    expanding it; ConfigError past :data:`MAX_CONFIG_VALUES`, :data:`MAX_DEPTH` or on a cycle."""
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Any, depth: int) -> int:
        if not isinstance(node, dict | list):
            return 1
        if depth > MAX_DEPTH:
            raise ConfigError(f"{source}: the config nests deeper than {MAX_DEPTH} levels")
        if id(node) in memo:
            return memo[id(node)]
        if id(node) in active:
            raise ConfigError(f"{source}: the config refers to itself (a recursive YAML alias)")
        active.add(id(node))
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        total = 1 + sum(size(child, depth + 1) for child in children)
        active.discard(id(node))
        memo[id(node)] = total
        return total

    n = size(data, 0)
    if n > MAX_CONFIG_VALUES:
        raise ConfigError(
            f"{source}: the config expands to {n:,} values (YAML anchors/aliases repeated); "
            f"at most {MAX_CONFIG_VALUES:,}"
        )
    return n


class ComponentSpec(BaseModel):
    """A data set, model or treatment as written in the config."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    sweep: dict[str, list[Any]] = Field(default_factory=dict)
    tune: bool | dict[str, Any] | None = None  # models only; see skewbench.tuning

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, dict) and "class" in value:
            # a model plug-in: its class and own parameters are the cell's model params
            value = dict(value)
            own = value.pop("params", None) or {}
            if not isinstance(own, dict):
                raise ValueError(f"params: a mapping of the class's parameters, got {own!r}")
            if "class" in own:
                raise ValueError("params.class: 'class' names the plug-in; it is no parameter")
            value = {**own, **value}
        if isinstance(value, dict) and "params" not in value:
            rest = {k: v for k, v in value.items() if k not in ("name", "sweep", "tune")}
            out = {"params": rest}
            for key in ("name", "sweep", "tune"):
                if key in value:
                    out[key] = value[key]
            return out
        return value

    @model_validator(mode="after")
    def _check(self) -> ComponentSpec:
        for key, values in self.sweep.items():
            if not values:
                raise ValueError(f"sweep of {key!r} is empty")
            if key in self.params:
                raise ValueError(f"{key!r} is both a fixed parameter and swept")
        if self.tune is False:
            object.__setattr__(self, "tune", None)
        if isinstance(self.tune, dict):
            if not self.tune:
                raise ValueError("tune: an empty mapping tunes nothing (use true or name params)")
            for key in self.tune:
                if key in self.params or key in self.sweep:
                    raise ValueError(f"{key!r} is both tuned and fixed/swept")
        return self

    def size(self) -> int:
        """Components :meth:`expand` returns, counted without expanding."""
        return math.prod(len(v) for v in self.sweep.values())

    def expand(self) -> list[Component]:
        """One Component per combination of swept values (in the order written)."""
        if not self.sweep:
            return [Component(self.name, dict(self.params))]
        keys = list(self.sweep)
        return [
            Component(self.name, {**self.params, **dict(zip(keys, combo, strict=True))})
            for combo in itertools.product(*(self.sweep[k] for k in keys))
        ]


_LEVEL_KEYS = {"categorize": "imbalance_ratio", "recommend": "target_gini"}


class Experiment(BaseModel):
    """One block of the grid: datasets × imbalance × models × treatments (× the run's seeds)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    task: Literal["categorize", "recommend", "search"]
    datasets: list[ComponentSpec] = Field(min_length=1)
    imbalance: list[float | None] = Field(default_factory=lambda: list[float | None]([None]))
    models: list[ComponentSpec] = Field(min_length=1)
    treatments: list[ComponentSpec] = Field(default_factory=lambda: [ComponentSpec(name="none")])
    options: dict[str, Any] = Field(default_factory=dict)
    tune: TuneSettings | None = None
    uniform_control: bool | None = None  # default: true when the imbalance sweep is set

    @model_validator(mode="after")
    def _tune_where_allowed(self) -> Experiment:
        for kind in ("datasets", "treatments"):
            for i, spec in enumerate(getattr(self, kind)):
                if spec.tune is not None:
                    raise ValueError(f"{kind}.{i}.tune: only models can be tuned")
        if self.tune is not None and not any(m.tune is not None for m in self.models):
            raise ValueError(
                "tune: the experiment sets tuning but no model has a `tune:` key "
                "(add tune: true or a space to a model)"
            )
        if self.uniform_control:
            if self.task != "recommend":
                raise ValueError("uniform_control: only the recommend task has matched controls")
            if all(v is None for v in self.imbalance):
                raise ValueError("uniform_control: needs an imbalance sweep (target Gini levels)")
        return self

    def size(self, n_seeds: int) -> int:
        """Cells of this block, counted without expanding (before duplicates are dropped)."""
        levels = len(self.imbalance) + (
            sum(v is not None for v in self.imbalance) if self.controls() else 0
        )
        return (
            sum(s.size() for s in self.datasets)
            * levels
            * n_seeds
            * sum(s.size() for s in self.models)
            * sum(s.size() for s in self.treatments)
        )

    def controls(self) -> bool:
        """Whether matched uniform-control cells are generated (recommend sweeps)."""
        if self.uniform_control is not None:
            return self.uniform_control
        return self.task == "recommend" and any(v is not None for v in self.imbalance)

    @model_validator(mode="before")
    @classmethod
    def _levels(cls, value: Any) -> Any:
        """``imbalance_ratio`` (categorize) / ``target_gini`` (recommend) → ``imbalance``."""
        if not isinstance(value, dict):
            return value
        task = value.get("task")
        if "imbalance" in value:
            right = _LEVEL_KEYS.get(str(task))
            hint = f"write {right}: [...]" if right else f"{task} takes no imbalance level"
            raise ValueError(
                f"imbalance: ambiguous name; {hint} (categorize: imbalance_ratio, a ratio >= 1; "
                "recommend: target_gini, a Gini in [0, 1))"
            )
        value = dict(value)
        for t, key in _LEVEL_KEYS.items():
            if key in value:
                if task != t and task in ("categorize", "recommend", "search"):
                    raise ValueError(f"{key}: only for task {t}, not {task}")
                value["imbalance"] = value.pop(key)
        return value

    @field_validator("imbalance", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return value if isinstance(value, list) else [value]

    @field_validator("imbalance")
    @classmethod
    def _distinct(cls, values: list[float | None]) -> list[float | None]:
        if len(set(values)) != len(values):
            raise ValueError(f"imbalance levels repeat: {values}")
        return values

    @model_validator(mode="after")
    def _level_ranges(self) -> Experiment:
        for v in self.imbalance:
            if v is None:
                continue
            if self.task == "categorize" and v < 1:
                raise ValueError(f"imbalance_ratio: a ratio rho >= 1 or null, got {v}")
            if self.task == "recommend" and not 0 <= v < 1:
                raise ValueError(f"target_gini: a Gini in [0, 1) or null, got {v}")
        return self


class RunConfig(BaseModel):
    """A whole benchmark run."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=MAX_NAME)
    seed: int = Field(default=0, ge=0)
    seeds: list[int] = Field(default_factory=lambda: [0], max_length=MAX_SEEDS)
    workers: int = Field(default=1, ge=1, le=MAX_WORKERS)
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    gpus_per_cell: float = Field(default=0.0, ge=0)  # Ray: GPUs each cell's task asks for
    output: str | None = None
    experiments: list[Experiment] = Field(min_length=1)
    # Smallest effect of interest per tested metric (absolute Δ): the report's equivalence
    # tests (TOST) use ±this; unlisted metrics use the report's default, 0 switches it off.
    sesoi: dict[str, float] = Field(default_factory=dict)

    @field_validator("sesoi")
    @classmethod
    def _sesoi_values(cls, values: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in values.items() if not (v >= 0 and v < float("inf"))}
        if bad:
            raise ValueError(f"sesoi values must be finite and >= 0, got {bad}")
        return values

    @model_validator(mode="after")
    def _sesoi_metrics(self) -> RunConfig:
        from skewbench.runner.tasks import TASKS, report_spec

        allowed: set[str] = set()
        for task in {e.task for e in self.experiments} & set(TASKS):
            spec = report_spec(task)
            allowed |= {
                *spec.columns,
                spec.primary,
                spec.unit_metric or "",
                spec.unit_exposure or "",
            }
        unknown = sorted(set(self.sesoi) - allowed)
        if unknown:
            raise ValueError(
                f"sesoi: unknown metric(s) {unknown} for this config's tasks; "
                f"allowed: {sorted(allowed - {''})}"
            )
        return self

    @field_validator("name")
    @classmethod
    def _not_dots(cls, value: str) -> str:
        if set(value) == {"."}:
            raise ValueError(f"{value!r} names no folder of its own; use letters or digits")
        return value

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_count(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValueError("seeds must be a positive count or a list of integers")
            if value > MAX_SEEDS:
                raise ValueError(f"{value:,} replicates; at most {MAX_SEEDS:,}")
            return list(range(value))
        return value

    @field_validator("seeds")
    @classmethod
    def _unique(cls, values: list[int]) -> list[int]:
        if not values or len(set(values)) != len(values) or min(values) < 0:
            raise ValueError(f"seeds must be distinct non-negative integers, got {values}")
        return values

    def size(self) -> int:
        """Cells of the grid, counted without expanding it."""
        return sum(exp.size(len(self.seeds)) for exp in self.experiments)

    def output_dir(self, base: Path | None = None) -> Path:
        return Path(self.output) if self.output else (base or Path("results")) / self.name


def _format_errors(source: str, err: ValidationError) -> str:
    """One line per problem, naming the dotted field; a single problem is a single line."""
    problems = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if p not in ("function-after", "function-before"))
        value = e.get("input")
        shown = f" (got {value!r})" if isinstance(value, _SCALAR) else ""
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = _unknown_key(e["loc"])
        problems.append(f"{loc or '<top>'}: {msg}{shown}")
    if len(problems) == 1:
        return f"{source}: invalid config: {problems[0]}"
    lines = [f"{source}: invalid config ({len(problems)} problems)"]
    return "\n".join(lines + [f"  - {p}" for p in problems])


def _unknown_key(loc: tuple[Any, ...]) -> str:
    """'unknown key; allowed: [...]; did you mean ...?' for a key of a config block."""
    from skewbench.specs import suggest

    parents = [p for p in loc[:-1] if isinstance(p, str)]
    block: type[BaseModel] = RunConfig
    if parents[:1] == ["experiments"]:
        block = TuneSettings if parents[1:2] == ["tune"] else Experiment
    allowed = sorted(block.model_fields)
    if block is Experiment:  # written names of the imbalance levels
        allowed = sorted({*allowed, *_LEVEL_KEYS.values()} - {"imbalance"})
    return f"unknown key; allowed: {allowed}{suggest(str(loc[-1]), allowed)}"


def parse_config(data: Any, source: str = "<config>") -> RunConfig:
    """Validate a loaded YAML document; errors name the source and the dotted field path."""
    if data is None:
        raise ConfigError(f"{source}: the config is empty; it needs at least name and experiments")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: a config must be a mapping of field: value (name, experiments, ...), "
            f"got a YAML {type(data).__name__}"
        )
    document_size(data, source)  # before pydantic walks (and copies) an alias bomb
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_errors(source, err)) from None
    if (n := config.size()) > MAX_CELLS:
        raise ConfigError(
            f"{source}: the grid has {n:,} cells; at most {MAX_CELLS:,} "
            "(split the config or shorten its sweeps)"
        )
    if config.executor == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise ConfigError(
                f"{source}: executor: 'ray' needs Ray, which is not installed "
                "(pip install 'skewbench[ray]'), or use executor: local"
            )
    return config


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML config file (UTF-8)."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"config {str(path)!r} is a directory; give the path of a YAML file")
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: line {line}: byte 0x{err.object[err.start]:02x} is not UTF-8; "
            "save the file as UTF-8"
        ) from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise ConfigError(f"{path}: the config nests too deeply to read") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{path}:{where} not valid YAML: {problem}") from None
    return data_paths_from(parse_config(data, str(path)), path.resolve().parent)


def data_paths_from(config: RunConfig, folder: Path) -> RunConfig:
    """``config`` with the relative data paths of its data sets (the spec fields that are
    :class:`~skewbench.specs.base.DataPath`s, swept values too) resolved against ``folder`` —
    the config file's, so a config runs the same from any working folder."""
    from skewbench.specs import find
    from skewbench.specs.base import with_base_folder

    for exp in config.experiments:
        specs = []
        for ds in exp.datasets:
            entry = find("dataset", exp.task, ds.name)
            if entry is None:
                specs.append(ds)
                continue
            params = with_base_folder(entry.spec, ds.params, folder)
            sweep = {
                key: [with_base_folder(entry.spec, {key: v}, folder)[key] for v in values]
                for key, values in ds.sweep.items()
            }
            specs.append(ds.model_copy(update={"params": params, "sweep": sweep}))
        exp.datasets = specs
    return config
