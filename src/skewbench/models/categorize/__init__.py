"""Categorization models: one module per family, registered by name in ``MODELS``.

``MODELS`` maps a model's name to its class and imports that class's module on first lookup,
so checking a TF-IDF-only config never imports torch (the MiniLM models).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from skewbench.models.categorize.base import CategorizeModel, Treatment

if TYPE_CHECKING:
    from skewbench.models.categorize.keras_mlp import KerasEmbedMLP
    from skewbench.models.categorize.minilm_finetune import MiniLMFinetune
    from skewbench.models.categorize.minilm_frozen import MiniLMFrozen
    from skewbench.models.categorize.tfidf_lr import TfidfLR

# name -> (module, class); the name is the class's ``name`` attribute
_WHERE = {
    "tfidf_lr": ("tfidf_lr", "TfidfLR"),
    "minilm_frozen": ("minilm_frozen", "MiniLMFrozen"),
    "minilm_finetune": ("minilm_finetune", "MiniLMFinetune"),
    "keras_embed_mlp": ("keras_mlp", "KerasEmbedMLP"),
    "plugin": ("plugin", "PluginModel"),
}


def _load(module: str, cls: str) -> Any:
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


class _LazyModels(Mapping[str, "type[CategorizeModel]"]):
    """name → model class, importing a class's module on first lookup."""

    def __getitem__(self, name: str) -> type[CategorizeModel]:
        if name not in _WHERE:
            raise KeyError(name)
        return _load(*_WHERE[name])

    def __iter__(self) -> Iterator[str]:
        return iter(_WHERE)

    def __len__(self) -> int:
        return len(_WHERE)


MODELS: Mapping[str, type[CategorizeModel]] = _LazyModels()


def __getattr__(name: str) -> Any:
    for module, cls in _WHERE.values():
        if cls == name:
            value = _load(module, cls)
            globals()[name] = value
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MODELS",
    "CategorizeModel",
    "KerasEmbedMLP",
    "MiniLMFinetune",
    "MiniLMFrozen",
    "TfidfLR",
    "Treatment",
]
