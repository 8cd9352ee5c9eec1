"""Spec pieces shared by the recommend and search tasks: files of the ``table`` source, and the
LLM re-ranker's parameters."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from skewbench.specs.base import DataFile, Spec

ColumnMap = dict[str, str]


class TableFile(Spec):
    """One file of a ``table`` data set: a path and an optional column mapping."""

    HINTS: ClassVar[dict[str, str]] = {"file": "path", "mapping": "columns"}
    path: DataFile = Field(description="CSV/Parquet file")
    columns: ColumnMap | None = Field(None, description="our column -> the file's column")

    @model_validator(mode="before")
    @classmethod
    def _bare_path(cls, value: object) -> object:
        return {"path": value} if isinstance(value, str) else value


class LLMRerankSpec(Spec):
    """Parameters of an LLM re-ranker shared by recommend and search (each task adds its
    ``first_stage`` choices)."""

    first_stage_params: dict[str, float | int | str] = Field(
        default_factory=dict, description="parameters of the first stage"
    )
    depth: int = Field(10, ge=1, description="first-stage items re-ranked per unit")
    mode: Literal["pointwise", "listwise"] = Field(
        "pointwise", description="yes/no log-odds per item, or a permutation prompt"
    )
    orders: int = Field(1, ge=1, description="listwise: shuffled input orders, Borda-aggregated")
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
