"""On-disk embedding cache keyed by (encoder, SHA-1 of the text), and the cached ``encode``.

Layout: ``<cache_dir>/<namespace>/shard-*.npz``, each shard holding ``keys`` (SHA-1 hex of the
UTF-8 text, ``S40``), ``vectors`` (float32, one row per key) and ``check``, the checksum of the
namespace, keys and vectors (:mod:`skewbench.integrity`): a shard that fails it — or cannot be
read without pickle — is moved aside, named, and its texts encoded again. The namespace names the
encoder (its label and model identity: a hash of its config and weight file names and sizes),
its precision and its max sequence length, so different settings never mix.
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
from skewbench.encoders.models import (
    Encoder,
    encoder_key,
    load_encoder,
    resolve_precision,
    run_encoder,
)
from skewbench.integrity import checksum, set_aside

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
            shard = self._read(path)
            if shard is None:
                continue
            keys, vecs = shard
            for k, v in zip(keys.tolist(), vecs, strict=True):
                self._vectors.setdefault(k, v)
            self._seen.add(path.name)

    def _check(self, keys: np.ndarray, vectors: np.ndarray) -> str:
        """Checksum of a shard: its keys' inputs (the encoder setting, i.e. the folder name,
        and the texts' keys) and its vectors' bytes."""
        return checksum(self.folder.name, keys.tobytes(), vectors.tobytes())

    def _read(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        """(keys, vectors) of a shard whose checksum matches; otherwise None, the shard moved
        aside and named (its texts are encoded again)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                keys, vecs = z["keys"], z["vectors"]
                check = z["check"].item().decode() if "check" in z.files else None
        except Exception as err:  # not a numpy archive, object (pickle) arrays, truncated …
            set_aside(path, f"cannot be read as an embedding shard ({type(err).__name__}: {err})")
            return None
        if check is None:
            set_aside(path, "carries no checksum (written by other code)")
            return None
        ok = keys.dtype == np.dtype("S40") and vecs.dtype == np.float32 and vecs.ndim == 2
        if not ok or len(keys) != len(vecs) or check != self._check(keys, vecs):
            set_aside(path)
            return None
        return keys, vecs

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
        key_arr = np.asarray(keys, dtype="S40")
        vec_arr = np.ascontiguousarray(vectors, dtype=np.float32)
        check = np.bytes_(self._check(key_arr, vec_arr))
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=key_arr, vectors=vec_arr, check=check)
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
    """``<encoder label>-<model identity>-<precision>-len<max length>[-<backend>]``: a
    different model, precision, truncation or backend never shares vectors (identity:
    :func:`encoder_key`)."""
    name = f"{encoder_key(model_name)}-{precision}-len{max_seq_length or 'default'}"
    return name if backend == "torch" else f"{name}-{backend}"


def get_store(
    model_name: str = "minilm",
    cache_dir: str | Path | None = None,
    precision: str = "auto",
    max_seq_length: int | None = None,
    backend: str = "torch",
    device: str = "cpu",
) -> EmbeddingStore:
    """The (process-wide, memoised) store for one encoder setting."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    prec = resolve_precision(precision, backend, device=device)
    folder = folder / namespace(model_name, prec, max_seq_length, backend)
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
    device: str = "cpu",
) -> np.ndarray:
    """Embeddings of ``texts`` (float32, shape (n, dim), unit L2 norm), through the disk cache.

    Only texts whose key is not cached are encoded (each distinct text once), in chunks of
    ``CHUNK`` that are each written as one shard, with their memory given back to the OS as
    each finishes (:mod:`skewbench.encoders.memory`). ``backend``: "torch", "onnx" or
    "onnx_int8" (:func:`skewbench.encoders.models.load_encoder`); ``device``: a resolved torch
    device (:func:`skewbench.encoders.device.resolve_device`). ``encoder`` overrides the
    registered model (it must be the model ``model_name`` names; the cache trusts that).
    """
    texts = [str(t) for t in texts]
    keys = [text_key(t) for t in texts]
    store = get_store(model_name, cache_dir, precision, max_seq_length, backend, device)
    todo = list(dict.fromkeys(store.missing(keys)))  # distinct, in first-seen order
    if todo:
        by_key = dict(zip(keys, texts, strict=True))
        model = (
            encoder
            if encoder is not None
            else load_encoder(model_name, max_seq_length, backend, device)
        )
        prec = resolve_precision(precision, backend, device=device)
        bar = None
        if progress:
            from tqdm import tqdm

            # onnx_int8 computes in fp32 on int8 weights: name the backend, not the precision
            label = prec if backend == "torch" else backend
            bar = tqdm(total=len(todo), desc=f"encoding ({model_name}, {label})", unit="text")
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
