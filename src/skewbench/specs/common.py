"""Spec pieces shared by the recommend and search tasks: files of the ``table`` source, and the
LLM re-ranker's parameters."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from skewbench.encoders.device import DEVICE_PATTERN
from skewbench.specs.base import MAX_LIST, DataFile, Entry, Spec

ColumnMap = dict[str, str]
Device = Annotated[str, Field(pattern=DEVICE_PATTERN)]
DEVICE_DOC = "auto (CUDA when torch sees a GPU, else mps, else CPU) | cpu | cuda | cuda:N | mps"
ENCODER_DOC = (
    "minilm | mpnet | a local sentence-transformers / Hugging Face folder | a hub id already in "
    "the local HF cache (never downloaded)"
)
TRAIN_DTYPE_DOC = "autocast precision of training and scoring (weights stay fp32)"


class Placement(Spec):
    """The pretrained encoder of a trained torch model, where it runs and in what precision."""

    encoder: str = Field("minilm", description=ENCODER_DOC)
    device: Device = Field("auto", description=DEVICE_DOC)
    dtype: Literal["fp32", "bf16"] = Field("fp32", description=TRAIN_DTYPE_DOC)


PRIMARY_PATTERN = r"^[a-z_]+@[1-9][0-9]*$"


def check_primary(primary: str | None, cutoffs: list[int], names: tuple[str, ...]) -> None:
    """A ``primary:`` option names a ranking metric the task computes at one of its cutoffs."""
    if primary is None:
        return
    name, cut = primary.split("@")
    if name not in names:
        raise ValueError(f"primary {primary!r}: metric {name!r} unknown; choose one of {names}")
    if int(cut) not in cutoffs:
        raise ValueError(f"primary {primary!r}: cutoff {cut} is not one of cutoffs {cutoffs}")


class TableFile(Spec):
    """One file of a ``table`` data set: a path and an optional column mapping."""

    HINTS: ClassVar[dict[str, str]] = {"file": "path", "mapping": "columns"}
    path: DataFile = Field(description="CSV/Parquet file")
    columns: ColumnMap | None = Field(None, description="our column -> the file's column")

    @model_validator(mode="before")
    @classmethod
    def _bare_path(cls, value: object) -> object:
        return {"path": value} if isinstance(value, str) else value


def category_level() -> Any:
    """The ``category_level`` parameter of a ``table`` data set (recommend and search)."""
    return Field(
        1,
        ge=1,
        description='category path levels a category group keeps ("A > B": 1 → A, 2 → A > B)',
    )


class PluginRef(Spec):
    """A model plug-in as written in a config (its own parameters are checked against the
    class: :mod:`skewbench.specs.plugins`)."""

    class_: str = Field(
        alias="class",
        description="'package.module:Class' or an entry point of group skewbench.models",
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="the class's own parameters (checked against its config_class or __init__)",
    )


def plugin_entry(task: str, treatments: tuple[str, ...]) -> Entry:
    """The ``plugin`` model of ``task``: the treatments a class without capabilities accepts."""
    from skewbench.specs.plugins import plugin_treatments

    accepted, reasons = plugin_treatments(task, frozenset(), treatments)
    return Entry(
        "model",
        task,
        "plugin",
        PluginRef,
        "your own model class (docs/plugins.md)",
        accepted,
        reasons,
    )


class LLMRerankSpec(Spec):
    """Parameters of an LLM re-ranker shared by recommend and search (each task adds its
    ``first_stage`` choices)."""

    first_stage_params: dict[str, float | int | str] = Field(
        default_factory=dict, description="parameters of the first stage"
    )
    depth: int = Field(10, ge=1, le=MAX_LIST, description="first-stage items re-ranked per unit")
    mode: Literal["pointwise", "listwise"] = Field(
        "pointwise", description="yes/no log-odds per item, or a permutation prompt"
    )
    orders: int = Field(
        1, ge=1, le=100, description="listwise: shuffled input orders, Borda-aggregated"
    )
    window: int = Field(10, ge=2, description="listwise sliding-window size")
    step: int = Field(5, ge=1, description="listwise sliding-window step")
    pop_tau: float = Field(0.0, ge=0, description="pointwise: log-odds − tau·log(pop + 1)")
    model: str = Field("smollm2-135m", description="smollm2-135m, a .gguf file or an HF folder")
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="weights' dtype; auto: bfloat16 where the CPU/GPU computes it natively"
    )

    @model_validator(mode="after")
    def _orders_need_listwise(self) -> LLMRerankSpec:
        if self.orders > 1 and self.mode != "listwise":
            raise ValueError("orders > 1 (candidate-order bootstrapping) needs mode listwise")
        return self
