"""ONNX Runtime backend for sentence encoders: fp32, or int8 with dynamic quantization.

A sentence-transformers folder whose modules are ``Transformer`` + mean ``Pooling`` (+
``Normalize``) — MiniLM and mpnet both are — is exported once with ``torch.onnx.export``
(the transformer's ``last_hidden_state``, dynamic batch and length) into
``$SKEWBENCH_CACHE/models/onnx/<identity>/model.onnx``. ``int8`` then quantizes the weight
matrices of its MatMuls per output channel (``onnxruntime.quantization.quantize_dynamic``,
QInt8; activations are quantized on the fly), into ``model_int8.onnx``. ``<identity>`` hashes the
folder's config files and its weight files' names and sizes, and the exporter's versions, so a
different model or toolchain never reuses an export. Export and quantization run under a file
lock into a temporary file renamed into place, like the assembled mpnet folder.

Encoding tokenises with the folder's own tokenizer (as sentence-transformers does: the longest
texts first, padded per batch, truncated at ``max_seq_length``), runs the ONNX graph and
mean-pools over the attention mask. fp32 matches the torch path to cosine 1.0000; int8 is a
different encoder (cosine ≈ 0.99 to fp32 on Clothing reviews, ~2.2× the texts per CPU-second:
``benchmarks/bench_onnx.py``), so the backend is part of the embedding cache's namespace.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import uuid
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

from skewbench.errors import ConfigError

Backend = Literal["torch", "onnx", "onnx_int8"]
BACKENDS: tuple[str, ...] = ("torch", "onnx", "onnx_int8")
_CONFIG_FILES = ("config.json", "modules.json", "1_Pooling/config.json", "tokenizer.json")
_WEIGHT_SUFFIXES = (".safetensors", ".bin")


def check_backend(backend: str) -> str:
    """``backend`` if it is known, else a ConfigError naming the choices and what to install."""
    if backend not in BACKENDS:
        raise ConfigError(f"encoder backend: expected one of {list(BACKENDS)}, got {backend!r}")
    if backend != "torch":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"encoder backend {backend!r} needs onnxruntime and onnx: "
                "pip install onnxruntime onnx onnxscript"
            ) from None
    return backend


def model_identity(folder: str | Path) -> str:
    """A short hash of what defines the model in ``folder`` (module doc) and the exporters."""
    import onnxruntime
    import torch

    root = Path(folder)
    h = hashlib.sha256()
    for name in _CONFIG_FILES:
        path = root / name
        h.update(name.encode())
        h.update(path.read_bytes() if path.is_file() else b"-")
    for path in sorted(root.rglob("*")):
        if path.suffix in _WEIGHT_SUFFIXES and path.is_file():
            h.update(f"{path.relative_to(root)}:{path.stat().st_size}".encode())
    h.update(f"torch {torch.__version__} onnxruntime {onnxruntime.__version__}".encode())
    return h.hexdigest()[:16]


def _check_mean_pooling(folder: Path) -> None:
    pooling = folder / "1_Pooling" / "config.json"
    if not pooling.is_file():
        raise ConfigError(f"encoder backend onnx: {folder} has no 1_Pooling/config.json")
    mode = json.loads(pooling.read_text())
    # sentence-transformers writes either the old flags or (from v5) one "pooling_mode" name
    if not (mode.get("pooling_mode_mean_tokens") or mode.get("pooling_mode") == "mean"):
        raise ConfigError(
            f"encoder backend onnx: {folder} pools with {mode}; only mean pooling is exported "
            "(use backend: torch)"
        )


def _atomic(dest: Path, write: Any) -> Path:
    """Run ``write(tmp_path)`` under a lock and rename the result to ``dest`` (once)."""
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / f".{dest.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if dest.is_file():
            return dest
        tmp = dest.parent / f".tmp-{uuid.uuid4().hex[:8]}-{dest.name}"
        try:
            write(tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
    return dest


def export_onnx(folder: str | Path, cache_dir: Path, int8: bool) -> Path:
    """The ONNX file of the sentence-transformers model in ``folder`` (module doc)."""
    root = Path(folder)
    _check_mean_pooling(root)
    target = cache_dir / model_identity(root)
    fp32 = _atomic(target / "model.onnx", lambda tmp: _export(root, tmp))
    if not int8:
        return fp32
    return _atomic(target / "model_int8.onnx", lambda tmp: _quantize(fp32, tmp))


def _export(folder: Path, dest: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(folder)).eval()
    tok = AutoTokenizer.from_pretrained(str(folder))
    sample = tok(["an example text", "a second, longer example text"], padding=True,
                 return_tensors="pt")  # fmt: skip
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Hidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notes
        torch.onnx.export(
            Hidden(model),
            tuple(sample[n] for n in names),
            str(dest),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def _quantize(source: Path, dest: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # onnxruntime logs a pre-processing suggestion at WARNING on the root logger for every
    # call; silence it for this call only, not for the rest of the process.
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        quantize_dynamic(
            str(source),
            str(dest),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            extra_options={"MatMulConstBOnly": True},
        )
    finally:
        root.setLevel(level)


def own_max_length(folder: Path) -> int:
    """The folder's truncation length as sentence-transformers reads it: its
    ``sentence_bert_config.json`` (up to v4), else the tokenizer's ``model_max_length`` (v5)."""
    for name, key in (("sentence_bert_config.json", "max_seq_length"),
                      ("tokenizer_config.json", "model_max_length")):  # fmt: skip
        path = folder / name
        value = json.loads(path.read_text()).get(key) if path.is_file() else None
        if isinstance(value, int) and 0 < value <= 1 << 16:
            return value
    return 512


class OnnxEncoder:
    """A sentence encoder on ONNX Runtime with sentence-transformers' ``encode`` signature."""

    def __init__(self, folder: str | Path, model_file: Path, max_seq_length: int, threads: int):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.max_seq_length = int(max_seq_length)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = [i.name for i in self.session.get_inputs()]

    def encode(self, sentences: list[str], batch_size: int = 64, **_: Any) -> np.ndarray:
        """Mean-pooled last hidden states, float32 (not normalised: the caller does that)."""
        order = np.argsort([-len(s) for s in sentences], kind="stable")
        out: np.ndarray | None = None
        for start in range(0, len(sentences), batch_size):
            idx = order[start : start + batch_size]
            enc = self.tokenizer(
                [sentences[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_seq_length,
                return_tensors="np",
            )
            feeds = {n: np.asarray(enc[n], dtype=np.int64) for n in self.inputs}
            hidden = self.session.run(None, feeds)[0]
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            if out is None:
                out = np.empty((len(sentences), pooled.shape[1]), dtype=np.float32)
            out[idx] = pooled
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def load_onnx_encoder(
    folder: str | Path, backend: str, max_seq_length: int | None = None
) -> OnnxEncoder:
    """The ONNX encoder of ``folder`` for ``backend`` ("onnx" or "onnx_int8"), exported once;
    ``max_seq_length`` None keeps the folder's own (``sentence_bert_config.json``)."""
    import torch

    if max_seq_length is None:
        max_seq_length = own_max_length(Path(folder))

    cache = Path(os.environ.get("SKEWBENCH_CACHE", ".cache/skewbench")) / "models" / "onnx"
    model_file = export_onnx(folder, cache, int8=backend == "onnx_int8")
    return OnnxEncoder(folder, model_file, max_seq_length, threads=torch.get_num_threads())
