"""Categorization models: one module per family, registered by name in ``MODELS``."""

from skewbench.models.categorize.base import CategorizeModel, Treatment
from skewbench.models.categorize.keras_mlp import KerasEmbedMLP
from skewbench.models.categorize.minilm_finetune import MiniLMFinetune
from skewbench.models.categorize.minilm_frozen import MiniLMFrozen
from skewbench.models.categorize.tfidf_lr import TfidfLR

MODELS: dict[str, type[CategorizeModel]] = {
    m.name: m for m in (TfidfLR, MiniLMFrozen, MiniLMFinetune, KerasEmbedMLP)
}

__all__ = [
    "MODELS",
    "CategorizeModel",
    "KerasEmbedMLP",
    "MiniLMFinetune",
    "MiniLMFrozen",
    "TfidfLR",
    "Treatment",
]
