"""Validation of a cell against the specs, collecting every problem before any work."""

from __future__ import annotations

from typing import Any

from skewbench.errors import ConfigError, IncompatibleError
from skewbench.specs.base import Entry, names, param_errors, suggest


class ConfigErrors(ConfigError):
    """Several config problems at once; ``errors`` holds one ``field.path: message`` each."""

    def __init__(self, errors: list[str]):
        self.errors = list(dict.fromkeys(errors))
        super().__init__("\n".join(self.errors))


class IncompatibleErrors(ConfigErrors, IncompatibleError):
    """Only model × treatment (or data) combinations that cannot apply."""


def raise_errors(errors: list[str], incompatible: bool = False) -> None:
    """Raise :class:`ConfigErrors` (or its incompatible variant) when ``errors`` is not empty."""
    if errors:
        raise (IncompatibleErrors if incompatible else ConfigErrors)(errors)


def _tune_errors(entry: Entry, tune: Any) -> list[str]:
    """``tune: true`` or a mapping of the model's own parameters (searched by :mod:`skewbench.tuning`)."""
    if entry.name == "plugin":
        return [
            "model.tune: a plug-in is not tuned by skewbench; sweep its parameters instead "
            "(sweep: {param: [values]}) or tune inside its fit"
        ]
    if isinstance(tune, bool):
        return []
    if not isinstance(tune, dict):
        return [f"model.tune: true/false or a mapping param -> values, got {tune!r}"]
    allowed = names(entry.spec)
    return [
        f"model.tune.{key}: not a parameter of {entry.what}; allowed: {allowed}"
        f"{suggest(key, allowed, entry.spec.HINTS)}"
        for key in tune
        if key not in allowed
    ]


def _placement_errors(entry: Entry, params: dict[str, Any]) -> list[str]:
    """A model's encoder (a folder or a cached hub id must be there), an LLM re-ranker's
    model (file or folder, with a chat template), and a device and dtype (the device must exist
    here, the dtype run on it)."""
    from skewbench.encoders.device import placement
    from skewbench.encoders.models import ENCODERS, model_folder
    from skewbench.errors import ConfigError

    full: Any = entry.spec.model_validate(params)
    errors = []
    encoder = getattr(full, "encoder", None)
    if isinstance(encoder, str) and encoder not in ENCODERS:
        try:
            model_folder(encoder, "model.params.encoder")
        except ConfigError as err:
            errors.append(str(err))
    if entry.name == "llm_rerank":
        from skewbench.encoders.models import chat_model_errors

        default = type(full).model_fields["model"].default
        errors += chat_model_errors(full.model, default)
    if hasattr(full, "device"):
        try:
            placement(full.device, getattr(full, "dtype", "fp32") or "fp32")
        except ConfigError as err:
            errors.append(str(err))
    return errors


def _plugin_entry(entry: Entry, params: dict[str, Any]) -> tuple[Entry, list[str]]:
    """The plugin entry with the treatments its class's capabilities allow, and every problem
    of its class and parameters (:mod:`skewbench.specs.plugins`)."""
    import dataclasses

    from skewbench.specs import names_of
    from skewbench.specs.plugins import capabilities, plugin_errors, plugin_treatments

    errors, cls = plugin_errors(entry.task, params)
    caps = capabilities(cls) if cls is not None and not errors else frozenset()
    every = tuple(names_of("treatment", entry.task))
    accepted, reasons = plugin_treatments(entry.task, caps, every)
    return dataclasses.replace(entry, treatments=accepted, reasons=reasons), errors


def cell_errors(cell: Any) -> tuple[list[str], bool]:
    """(every problem of ``cell``'s components and options, whether they are all
    incompatibilities rather than mistakes)."""
    from skewbench.specs import find, names_of, treatments_for

    errors: list[str] = []
    found: dict[str, Entry] = {}
    for kind, comp in (
        ("dataset", cell.dataset),
        ("model", cell.model),
        ("treatment", cell.treatment),
    ):
        entry = find(kind, cell.task, comp.name)
        if entry is None:
            from skewbench.specs import REGISTRY

            choices = names_of(kind, cell.task)
            others = sorted({e.task for e in REGISTRY if e.kind == kind and e.name == comp.name})
            elsewhere = f" (it is one of {', '.join(others)})" if others else ""
            errors.append(
                f"{kind}.name: {comp.name!r} is not a {cell.task} {kind}{elsewhere}; choose one "
                f"of {choices}{suggest(comp.name, choices)}"
            )
            continue
        params = dict(comp.params)
        if kind == "model" and comp.name == "plugin":
            entry, problems = _plugin_entry(entry, params)
            errors += problems
        found[kind] = entry
        if kind == "model" and "tune" in params:
            errors += _tune_errors(entry, params.pop("tune"))
        if not (kind == "model" and comp.name == "plugin"):
            problems = param_errors(entry, params, f"{kind}.params")
            errors += problems
            if kind == "model" and not problems:
                errors += _placement_errors(entry, params)
    space = (getattr(cell, "tune", None) or {}).get("space")
    if "model" in found and space is not None:
        errors += _tune_errors(found["model"], space)
    options = find("options", cell.task, "options")
    if options is not None:
        errors += param_errors(options, dict(cell.options), "options")
    only_incompatible = not errors
    model, treatment = found.get("model"), found.get("treatment")
    if model is not None and treatment is not None:
        accepted = treatments_for(model)
        if treatment.name not in accepted:
            why = model.reasons.get(treatment.name, "")
            errors.append(
                f"treatment.name: model {model.name!r} cannot apply treatment "
                f"{treatment.name!r}" + (f": {why}" if why else "") + f"; it supports "
                f"{sorted(accepted)}"
            )
    return errors, only_incompatible and bool(errors)


def check_cell(cell: Any) -> None:
    """Raise every spec problem of ``cell`` at once (ConfigErrors / IncompatibleErrors)."""
    errors, incompatible = cell_errors(cell)
    raise_errors(errors, incompatible)


def dataset_errors(task: str, dataset: Any) -> list[str]:
    """Problems of a data set's files (``table``, ``esci``): opened, columns, types, emptiness
    and duplicate keys checked — no split, no k-core, nothing cached."""
    if dataset.name == "table":
        from skewbench.data.sources.table import check_files

        return check_files(task, dict(dataset.params))
    if dataset.name == "esci" and "path" in dataset.params:
        from skewbench.data.sources.esci import check_folder

        return check_folder(dataset.params["path"])
    if dataset.name in FILE_READERS:
        return reader_errors(task, dataset)
    return []


#: data sets read from your files in a format other tools write (``skewbench.data.sources``)
FILE_READERS = ("recbole", "amazon2023", "movielens")


def reader_errors(task: str, dataset: Any) -> list[str]:
    """The one-line problem of a reader's files (all of them opened and validated), if any."""
    from skewbench.data.sources import recommend_frames
    from skewbench.errors import SchemaError
    from skewbench.specs import find
    from skewbench.specs.base import defaults

    entry = find("dataset", task, dataset.name)
    if entry is None:
        return []
    try:
        recommend_frames(dataset.name, {**defaults(entry.spec), **dataset.params})
    except (SchemaError, ConfigError) as err:
        return [f"dataset {dataset.name}: {err}"]
    return []
