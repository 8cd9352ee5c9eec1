"""Text → unit-norm embeddings for the dense search models.

Frozen MiniLM embeddings go through the shared on-disk cache (``skewbench.encoders.encode``).
Texts are de-duplicated before encoding: Complete Journey's 92k products have about 26k
distinct texts, and encoding each distinct text once also makes equal texts get bit-identical
vectors, so their tie is exact (batch padding could otherwise perturb the last float bits).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from skewbench.vectors import unit_rows

DEFAULT_MODEL = "minilm"  # the name registered in skewbench.encoders


def unique_texts(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """(distinct texts in first-seen order, inverse index so that ``uniq[inv] == texts``)."""
    index: dict[str, int] = {}
    inv = np.fromiter((index.setdefault(t, len(index)) for t in texts), np.int64, len(texts))
    return list(index), inv


def embed(
    texts: Sequence[str], encode_fn: Callable[[list[str]], np.ndarray]
) -> tuple[np.ndarray, dict[str, float]]:
    """Unit-norm embeddings of ``texts`` via ``encode_fn`` on the distinct texts only.

    Returns (embeddings (n × d) float32, {"n_texts", "n_unique", "encode_s", "items_per_s"});
    items/s counts distinct texts encoded (or fetched from the cache) per second.
    """
    uniq, inv = unique_texts(texts)
    t0 = time.perf_counter()
    vecs = (
        unit_rows(np.asarray(encode_fn(uniq), np.float32)) if uniq else np.zeros((0, 1), np.float32)
    )
    dt = time.perf_counter() - t0
    stats = {
        "n_texts": float(len(texts)),
        "n_unique": float(len(uniq)),
        "encode_s": dt,
        "items_per_s": len(uniq) / dt if dt > 0 else float("nan"),
    }
    return vecs[inv], stats


def frozen_encoder(
    model_name: str = DEFAULT_MODEL, backend: str = "torch"
) -> Callable[[list[str]], np.ndarray]:
    """The cached frozen encoder: ``skewbench.encoders.encode(texts, model_name, backend=…)``."""
    from skewbench.encoders import encode

    def fn(texts: list[str]) -> np.ndarray:
        return np.asarray(encode(texts, model_name, backend=backend))

    return fn


def st_encoder(model: object, batch_size: int = 64) -> Callable[[list[str]], np.ndarray]:
    """Encoder function of an in-memory SentenceTransformer (e.g. a fine-tuned one; uncached)."""

    def fn(texts: list[str]) -> np.ndarray:
        return np.asarray(
            model.encode(  # type: ignore[attr-defined]
                texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False
            )
        )

    return fn
