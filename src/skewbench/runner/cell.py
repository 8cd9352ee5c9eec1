"""The unit of work: one cell of the grid, and what running it returns.

A cell is a pure function of its resolved config and seed (see ``skewbench.seeds``), so it can
run in any process or on any Ray worker and be re-run to the same numbers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from skewbench.seeds import SeedKey, derive_seed, int_seed, make_rng

NOT_IDENTITY = ("device",)


@dataclass(frozen=True)
class Component:
    """A named, parametrised part of a cell: a data set, a model or a treatment.

    ``files``: for a data set read from user files, (path, content fingerprint) of each file or
    folder (see :func:`skewbench.specs.base.data_files`); the cell key and the data-side random
    streams then hold the fingerprints in place of the paths, so a changed file is recomputed
    and a moved one is not. Bundled data sets have none, so their keys are unchanged.
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    files: tuple[tuple[str, str], ...] = ()

    @property
    def fingerprint(self) -> str | None:
        """One short fingerprint of all the files' contents (None without files)."""
        if not self.files:
            return None
        from skewbench.data.fingerprint import combined

        return combined([fp for _, fp in self.files])

    def key_dict(self) -> dict[str, Any]:
        """``to_dict`` with each file path replaced by its content fingerprint (the key's form)."""
        if not self.files:
            return self.to_dict()
        by_path = dict(self.files)
        return {
            "name": self.name,
            "params": _by_content(dict(sorted(self.params.items())), by_path),
        }

    @property
    def key_label(self) -> str:
        """:attr:`label` with paths replaced by fingerprints: names the content, not the place."""
        if not self.files:
            return self.label
        return Component(self.name, self.key_dict()["params"]).label

    @property
    def label(self) -> str:
        """Human-readable label, e.g. ``class_weight(scheme=inverse)`` (without ``device``)."""
        params = self.identity_params()
        if not params:
            return self.name
        inner = ",".join(f"{k}={_fmt(v)}" for k, v in sorted(params.items()))
        return f"{self.name}({inner})"

    def identity_params(self) -> dict[str, Any]:
        """The params that make the experiment: all but ``device`` (where a model runs is
        recorded in the cell's info, and enters neither the key nor a random stream)."""
        return {k: v for k, v in self.params.items() if k not in NOT_IDENTITY}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "params": dict(sorted(self.params.items()))}
        if self.files:
            out["files"] = dict(self.files)
            out["fingerprint"] = self.fingerprint
        return out


def _by_content(value: Any, by_path: dict[str, str]) -> Any:
    """``value`` with every string that is one of the paths replaced by ``content:<fp>``."""
    if isinstance(value, str):
        return f"content:{by_path[value]}" if value in by_path else value
    if isinstance(value, dict):
        return {k: _by_content(v, by_path) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_by_content(v, by_path) for v in value]
    return value


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


@dataclass(frozen=True)
class Cell:
    """One (dataset × imbalance × task × model × treatment × seed) combination.

    ``imbalance`` is task-specific: the target imbalance ratio ρ for categorization, a target
    item-popularity Gini for recommendation; ``None`` leaves the data as it is.
    ``master_seed`` is the config's seed; ``seed`` is the replicate index.
    ``tune``: None, or the resolved tuning request of the model (``space`` as written in the
    config — ``True`` or a mapping —, ``method``, ``trials``, ``metric``, ``refit``; see
    ``skewbench.tuning``). ``control``: None, or ``"uniform"`` for the matched control of an
    imbalance level (a uniform random subsample of the size the skewed level trains on).
    Both enter ``to_dict`` (hence the key) only when set, so existing keys do not change.
    """

    task: str
    dataset: Component
    model: Component
    treatment: Component
    imbalance: float | None
    seed: int
    master_seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)  # task-level options (k, split …)
    tune: dict[str, Any] | None = None
    control: str | None = None

    def to_dict(self, *, keyed: bool = False) -> dict[str, Any]:
        """The resolved config as stored; ``keyed``: the form the key hashes (data-set paths
        replaced by content fingerprints)."""
        out: dict[str, Any] = {
            "task": self.task,
            "dataset": self.dataset.key_dict() if keyed else self.dataset.to_dict(),
            "imbalance": self.imbalance,
            "model": self.model.to_dict(),
            "treatment": self.treatment.to_dict(),
            "seed": self.seed,
            "master_seed": self.master_seed,
            "options": dict(sorted(self.options.items())),
        }
        if keyed:  # where a model runs is not the experiment (Component.identity_params)
            model = Component(self.model.name, self.model.identity_params(), self.model.files)
            out["model"] = model.key_dict()  # a run file's path replaced by its content
        if self.tune is not None:
            out["tune"] = self.tune
        if self.control is not None:
            out["control"] = self.control
        return out

    @property
    def key(self) -> str:
        """Content hash of the resolved config: the cell's identity in the results store."""
        blob = json.dumps(self.to_dict(keyed=True), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]

    # Random streams. Data-side streams (split, imbalance) are keyed without model or treatment,
    # so every model and treatment in a replicate sees the very same split and subsample.
    def data_keys(self) -> tuple[SeedKey, ...]:
        return (self.task, self.dataset.key_label, self.seed)

    def rng(self, stream: str, *, data_side: bool = False) -> np.random.Generator:
        """Generator for a named stream; ``data_side=True`` shares it across models/treatments."""
        keys = self.data_keys() + ((self.imbalance,) if stream != "split" else ())
        if not data_side:
            keys = keys + (self.model.label, self.treatment.label)
        return make_rng(self.master_seed, *keys, stream)

    def seed_int(self, stream: str, *, data_side: bool = False) -> int:
        keys = self.data_keys() + ((self.imbalance,) if stream != "split" else ())
        if not data_side:
            keys = keys + (self.model.label, self.treatment.label)
        return int_seed(self.master_seed, *keys, stream)

    def seed_sequence(self, stream: str) -> np.random.SeedSequence:
        return derive_seed(self.master_seed, *self.data_keys(), self.model.label, stream)


@dataclass
class CellResult:
    """What a task returns for one cell.

    ``metrics``: the cell's scalar metrics (name → value; NaN where undefined, never missing).
    ``units``: one row per evaluation unit (test example, user or query) with its per-unit metric
    values and/or predictions, for bootstrap CIs and paired tests in the report.
    ``info``: sizes, timings, achieved imbalance and other facts worth reporting.
    """

    metrics: dict[str, float]
    units: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
