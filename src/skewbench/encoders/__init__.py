"""Pretrained text encoders loaded offline, and an on-disk embedding cache.

``encode(texts, model_name="minilm", batch_size=64, cache_dir=None)`` is the one way to get
embeddings: float32, unit-norm rows, computed once per (encoder setting, text) and reused.
"""

from skewbench.encoders.cache import EmbeddingStore, default_cache_dir, encode, text_key
from skewbench.encoders.models import (
    ENCODERS,
    encoder_path,
    load_encoder,
    resolve_precision,
    run_encoder,
)

__all__ = [
    "ENCODERS",
    "EmbeddingStore",
    "default_cache_dir",
    "encode",
    "encoder_path",
    "load_encoder",
    "resolve_precision",
    "run_encoder",
    "text_key",
]
