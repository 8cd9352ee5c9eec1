"""Where a torch model runs (``device``) and in what precision (``dtype``), checked before work.

``device``: ``auto`` (CUDA when torch sees a GPU, else Apple ``mps`` when present, else CPU),
``cpu``, ``cuda``, ``cuda:N`` or ``mps``. ``dtype``: ``fp32``, ``bf16`` or ``fp16`` — applied as
``torch.autocast`` around the forward passes (weights stay fp32), so ``fp16`` needs a GPU
(CPU autocast has no fp16 kernels worth using) and ``auto`` keeps each model's own default.
The resolved device and dtype are recorded in each cell's info. ``dtype`` enters the cell key
(it changes the numbers); ``device`` does not (the same config on another machine is the same
experiment; fp32 results differ only in float rounding between devices).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from skewbench.errors import ConfigError

DEVICE_PATTERN = r"^(auto|cpu|mps|cuda(:\d+)?)$"
DTYPES = ("auto", "fp32", "bf16", "fp16")
CUDA_TORCH = (
    "install a CUDA build of torch: pip install torch --index-url "
    "https://download.pytorch.org/whl/cu124"
)


def resolve_device(device: str, where: str = "model.params.device") -> str:
    """The concrete torch device of ``device`` on this machine; ConfigError for a device that
    is not there (naming what to install or change)."""
    import torch

    if not isinstance(device, str) or not re.match(DEVICE_PATTERN, device):
        raise ConfigError(f"{where}: expected auto, cpu, cuda, cuda:N or mps, got {device!r}")
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            build = "a CPU-only torch build" if torch.version.cuda is None else "no visible GPU"
            raise ConfigError(
                f"{where}: {device} asked, but torch sees no CUDA GPU ({build}); use device: auto "
                f"or cpu, or {CUDA_TORCH}"
            )
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(
                f"{where}: {device} asked, but torch sees {torch.cuda.device_count()} GPU(s) "
                f"(cuda:0 … cuda:{torch.cuda.device_count() - 1})"
            )
    if device == "mps" and not has_mps:
        raise ConfigError(f"{where}: mps asked, but this torch has no Apple GPU backend")
    return device


def check_dtype(dtype: str, device: str, where: str = "model.params.dtype") -> None:
    """Refuse a precision the resolved ``device`` cannot run."""
    if dtype not in DTYPES:
        raise ConfigError(f"{where}: expected one of {list(DTYPES)}, got {dtype!r}")
    if dtype == "fp16" and device == "cpu":
        raise ConfigError(
            f"{where}: fp16 needs a GPU (this run is on the CPU); use bf16 or fp32 on the CPU, "
            "or device: cuda"
        )


def placement(device: str, dtype: str, where: str = "model.params") -> tuple[str, str]:
    """(resolved device, dtype) after both checks."""
    resolved = resolve_device(device, f"{where}.device")
    check_dtype(dtype, resolved, f"{where}.dtype")
    return resolved, dtype


def autocast(device: str, dtype: str) -> Any:
    """``torch.autocast`` for bf16/fp16 on ``device``'s type; a no-op context for fp32."""
    import torch

    if dtype not in ("bf16", "fp16"):
        return contextlib.nullcontext()
    kind = device.partition(":")[0]
    return torch.autocast(kind, dtype=torch.bfloat16 if dtype == "bf16" else torch.float16)


def to_device(batch: dict[str, Any], device: str) -> dict[str, Any]:
    """A tokenised batch with its tensors on ``device`` (a no-op on the CPU)."""
    return {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}


def deterministic_cuda(device: str) -> None:
    """Let ``torch.use_deterministic_algorithms(True)`` run cuBLAS on a GPU (it refuses
    without a fixed workspace)."""
    import os

    if device.startswith("cuda"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
