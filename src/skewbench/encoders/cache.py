"""On-disk embedding cache keyed by (encoder, SHA-1 of the text), and the cached ``encode``.

Layout: ``<cache_dir>/<namespace>/shard-*.npz``, each shard holding ``keys`` (SHA-1 hex of the
UTF-8 text, ``S40``) and ``vectors`` (float32, one row per key). The namespace names the
encoder, its precision and its max sequence length, so different settings never mix.
Each write goes to a temporary file in the same folder and is renamed into place with
``os.replace`` under a unique name: concurrent writers never clobber each other and readers see
whole shards only. A key found in several shards (two processes encoding the same text) is read
from the first shard in file-name order.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from skewbench.encoders.memory import returning_memory, trim
from skewbench.encoders.models import Encoder, load_encoder, resolve_precision, run_encoder

CHUNK = 2048  # texts per shard while encoding, so an interrupted run keeps its progress


def default_cache_dir() -> Path:
    """``$SKEWBENCH_CACHE/embeddings``, default ``.cache/skewbench/embeddings``."""
    return Path(os.environ.get("SKEWBENCH_CACHE", ".cache/skewbench")) / "embeddings"


def text_key(text: str) -> bytes:
    """SHA-1 hex digest of the UTF-8 text (40 ASCII bytes)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest().encode("ascii")


class EmbeddingStore:
    """Append-only keyed store of float32 vectors in one folder (see module doc)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._vectors: dict[bytes, np.ndarray] = {}
        self._seen: set[str] = set()

    def refresh(self) -> None:
        """Read shards written since the last call (by this or any other process)."""
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("shard-*.npz")):
            if path.name in self._seen:
                continue
            with np.load(path) as z:
                keys, vecs = z["keys"], z["vectors"]
            for k, v in zip(keys.tolist(), vecs, strict=True):
                self._vectors.setdefault(k, v)
            self._seen.add(path.name)

    def missing(self, keys: Sequence[bytes]) -> list[bytes]:
        self.refresh()
        return [k for k in keys if k not in self._vectors]

    def get(self, keys: Sequence[bytes]) -> np.ndarray:
        self.refresh()
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32, copy=False)

    def put(self, keys: Sequence[bytes], vectors: np.ndarray) -> Path:
        """Write one shard atomically; returns its path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"shard-{time.time_ns()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.npz"
        tmp = self.folder / f".tmp-{name}"
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=np.asarray(keys, dtype="S40"), vectors=vectors.astype(np.float32))
        os.replace(tmp, self.folder / name)
        for k, v in zip(keys, vectors, strict=True):
            self._vectors.setdefault(k, v)
        self._seen.add(name)
        return self.folder / name

    def __len__(self) -> int:
        self.refresh()
        return len(self._vectors)


_STORES: dict[Path, EmbeddingStore] = {}


def namespace(
    model_name: str, precision: str, max_seq_length: int | None, backend: str = "torch"
) -> str:
    """The cache folder of one encoder setting; the torch backend keeps its historical name."""
    name = f"{model_name}-{precision}-len{max_seq_length or 'default'}"
    return name if backend == "torch" else f"{name}-{backend}"


def get_store(
    model_name: str = "minilm",
    cache_dir: str | Path | None = None,
    precision: str = "auto",
    max_seq_length: int | None = None,
    backend: str = "torch",
) -> EmbeddingStore:
    """The (process-wide, memoised) store for one encoder setting."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder = folder / namespace(
        model_name, resolve_precision(precision, backend), max_seq_length, backend
    )
    key = folder.resolve()
    if key not in _STORES:
        _STORES[key] = EmbeddingStore(folder)
    return _STORES[key]


def encode(
    texts: Sequence[str],
    model_name: str = "minilm",
    batch_size: int = 64,
    cache_dir: str | Path | None = None,
    *,
    precision: str = "auto",
    max_seq_length: int | None = None,
    encoder: Encoder | None = None,
    progress: bool = False,
    backend: str = "torch",
) -> np.ndarray:
    """Embeddings of ``texts`` (float32, shape (n, dim), unit L2 norm), through the disk cache.

    Only texts whose key is not cached are encoded (each distinct text once), in chunks of
    ``CHUNK`` that are each written as one shard, with their memory given back to the OS as
    each finishes (:mod:`skewbench.encoders.memory`). ``backend``: "torch", "onnx" or
    "onnx_int8" (:func:`skewbench.encoders.models.load_encoder`). ``encoder`` overrides the registered model
    (it must be the model ``model_name`` names; the cache trusts that).
    """
    texts = [str(t) for t in texts]
    keys = [text_key(t) for t in texts]
    store = get_store(model_name, cache_dir, precision, max_seq_length, backend)
    todo = list(dict.fromkeys(store.missing(keys)))  # distinct, in first-seen order
    if todo:
        by_key = dict(zip(keys, texts, strict=True))
        model = (
            encoder if encoder is not None else load_encoder(model_name, max_seq_length, backend)
        )
        prec = resolve_precision(precision, backend)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc=f"encoding ({model_name}, {prec})", unit="text")
        with returning_memory():  # peak near model + one batch (see encoders.memory)
            for start in range(0, len(todo), CHUNK):
                chunk = todo[start : start + CHUNK]
                vecs = run_encoder(model, [by_key[k] for k in chunk], batch_size, prec)
                store.put(chunk, vecs)
                trim()
                if bar is not None:
                    bar.update(len(chunk))
        if bar is not None:
            bar.close()
    if not keys:
        return np.zeros((0, 0), dtype=np.float32)
    return store.get(keys)
