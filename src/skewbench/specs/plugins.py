"""Model plug-ins: a user's class, named in the config, checked against its task's protocol.

A config names the class by import path or by an entry point of the group ``skewbench.models``::

    models: [{name: plugin, class: "my_pkg.rank:MyRecommender", params: {factors: 32}}]

The cell stores ``class`` and the plug-in's own parameters as the model's params, so cell keys
and resume work as for shipped models. Everything here runs at validation, before any work:
the module imports, the class has its task's methods (:data:`METHODS`), its declared
``capabilities`` are known ones, its parameters fit its own spec (a pydantic model in the
class attribute ``config_class``) or else its constructor's signature, and the treatment is one
that its capabilities allow (:func:`plugin_treatments`). The protocols themselves are
documented in ``docs/plugins.md`` and typed in :mod:`skewbench.specs.plugin_protocols`.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from typing import Any

from pydantic import BaseModel, ValidationError

from skewbench.errors import ConfigError

ENTRY_POINT_GROUP = "skewbench.models"
CLASS_KEY = "class"
#: capability → what it lets the task hand the plug-in
CAPABILITIES = {
    "sample_weights": "fit gets sample_weight (per training row / interaction)",
    "custom_loss": "fit gets loss: a torch loss (logits, targets) -> scalar with a schedule",
}
#: the methods each task calls
METHODS = {
    "categorize": ("fit", "predict_proba"),
    "recommend": ("fit", "score"),
    "search": ("fit", "score"),
}
_DOC = "see docs/plugins.md"


def _entry_points() -> dict[str, str]:
    """Installed entry points of :data:`ENTRY_POINT_GROUP`: name → ``module:attr``."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def resolve(ref: str) -> type:
    """The class ``ref`` names (``pkg.mod:Class`` or an entry-point name); ConfigError naming
    what to install or change otherwise. The working folder is searched last (as by
    ``python -m``), so a plug-in beside the config imports without installing it."""
    where = f"model.params.{CLASS_KEY}"
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"{where}: expected 'package.module:Class' or an entry-point name")
    if ":" not in ref:
        found = _entry_points()
        if ref not in found:
            raise ConfigError(
                f"{where}: {ref!r} is neither 'package.module:Class' nor an installed entry point "
                f"of group {ENTRY_POINT_GROUP!r} (installed: {sorted(found) or 'none'})"
            )
        ref = found[ref]
    module_name, _, attr = ref.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        missing = err.name or module_name
        hint = (
            "put its folder on PYTHONPATH or run from the folder that holds it"
            if module_name.split(".")[0] == missing.split(".")[0]
            else f"install {missing.split('.')[0]!r} (pip install ...)"
        )
        raise ConfigError(
            f"{where}: cannot import {module_name!r}: no module {missing!r}; {hint}"
        ) from None
    except Exception as err:  # a user's module failing to import is a config problem
        first = str(err).splitlines()[0] if str(err) else ""
        raise ConfigError(
            f"{where}: importing {module_name!r} raised {type(err).__name__}: {first}"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        if not part or not hasattr(obj, part):
            raise ConfigError(f"{where}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not inspect.isclass(obj):
        raise ConfigError(f"{where}: {ref!r} is a {type(obj).__name__}, not a class")
    return obj


def capabilities(cls: type) -> frozenset[str]:
    """The capabilities ``cls`` declares (class attribute ``capabilities``)."""
    return frozenset(getattr(cls, "capabilities", ()) or ())


def plugin_treatments(
    task: str, caps: frozenset[str], every: tuple[str, ...]
) -> tuple[tuple[str, ...], dict[str, str]]:
    """(those of the task's treatments ``every`` that a plug-in with ``caps`` accepts, why each
    other one cannot apply)."""
    allowed: set[str] = set()
    reasons: dict[str, str] = {}
    if task == "categorize":
        loss = ("focal", "logit_adjust_loss", "balanced_softmax", "ldam", "drw", "adaptive_recall")
        allowed = {"none", "oversample", "undersample", "logit_adjust_posthoc"}
        if "sample_weights" in caps or "custom_loss" in caps:
            allowed.add("class_weight")
        else:
            reasons["class_weight"] = "declare capability sample_weights (or custom_loss)"
        if "custom_loss" in caps:
            allowed.update(loss)
        else:
            reasons.update({t: "it changes the training loss: declare custom_loss" for t in loss})
        reasons["smote"] = "SMOTE interpolates feature vectors, and a plug-in is given texts"
        for t in ("crt", "tau_norm"):
            reasons[t] = "it re-trains / re-scales a linear classifier the task cannot reach"
    elif task == "recommend":
        allowed = {"none", "calibrated", "xquad", "fair", "mmr", "plackett_luce"}
        if "sample_weights" in caps:
            allowed.add("ips")
        else:
            reasons["ips"] = "IPS weights each training interaction: declare sample_weights"
        for t in ("pop_negatives", "pda", "macr"):
            reasons[t] = "it changes BPR's sampling / objective (use model bpr)"
    else:
        allowed = set(every)  # every search treatment re-ranks the candidate lists
    return tuple(t for t in every if t in allowed), {t: reasons[t] for t in every if t in reasons}


def _spec_errors(cls: type, params: dict[str, Any]) -> list[str]:
    """Problems of the plug-in's own ``params`` against its ``config_class`` or signature."""
    where = "model.params"
    spec = getattr(cls, "config_class", None)
    if spec is not None:
        if not (inspect.isclass(spec) and issubclass(spec, BaseModel)):
            return [f"{where}: {cls.__name__}.config_class must be a pydantic BaseModel class"]
        try:
            spec.model_validate(params)
        except ValidationError as err:
            out = []
            for e in err.errors():
                loc = ".".join(str(p) for p in e["loc"])
                msg = e["msg"].removeprefix("Value error, ")
                if e["type"] == "extra_forbidden":
                    msg = (
                        f"unknown parameter of {cls.__name__}; allowed: {sorted(spec.model_fields)}"
                    )
                out.append(f"{where}.{loc}: {msg}")
            return out
        return []
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return []
    ps = sig.parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in ps):
        return []
    named = [p.name for p in ps if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    out = [
        f"{where}.{k}: unknown parameter of {cls.__name__}; allowed: {sorted(named)}"
        for k in params
        if k not in named
    ]
    out += [
        f"{where}.{p.name}: required by {cls.__name__}() and not given"
        for p in ps
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name not in params
    ]
    return out


def split_params(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(the class reference, the plug-in's own parameters) of a plugin model's params."""
    own = {k: v for k, v in params.items() if k != CLASS_KEY}
    return params.get(CLASS_KEY, ""), own


def plugin_errors(task: str, params: dict[str, Any]) -> tuple[list[str], type | None]:
    """Every problem of a plugin model's params for ``task`` (and the class when it loads)."""
    ref, own = split_params(params)
    if CLASS_KEY not in params:
        return [
            f"model.params.{CLASS_KEY}: a plugin model names its class: "
            f"{{name: plugin, class: 'package.module:Class', params: {{...}}}} ({_DOC})"
        ], None
    try:
        cls = resolve(ref)
    except ConfigError as err:
        return [str(err)], None
    errors = []
    lacking = [m for m in METHODS[task] if not callable(getattr(cls, m, None))]
    if lacking:
        errors.append(
            f"model.params.{CLASS_KEY}: {cls.__name__} lacks {', '.join(lacking)}: the {task} "
            f"plug-in protocol needs {' and '.join(METHODS[task])} ({_DOC})"
        )
    unknown = sorted(capabilities(cls) - set(CAPABILITIES))
    if unknown:
        errors.append(
            f"model.params.{CLASS_KEY}: {cls.__name__}.capabilities has unknown {unknown}; "
            f"known: {sorted(CAPABILITIES)}"
        )
    return errors + _spec_errors(cls, own), cls


def build(params: dict[str, Any]) -> Any:
    """An instance of the plug-in class with its own parameters (validated beforehand)."""
    ref, own = split_params(params)
    return resolve(ref)(**own)
