"""Specs of the categorize task: data sets, models, treatments, options."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from skewbench.specs.base import DataFile, Empty, Entry, Spec
from skewbench.specs.common import DEVICE_DOC, ENCODER_DOC, TRAIN_DTYPE_DOC, Device, plugin_entry

Scheme = Literal["inverse", "sqrt_inverse", "effective_number", "majority_weighted"]
PosInt = Annotated[int, Field(ge=1)]
ColumnMap = dict[str, str]

_MCC = "drop classes with fewer examples (>= 3: one per split part)"
_HINTS = {"min_class_size": "min_class_count", "imbalance": "imbalance_ratio"}


class ClothingData(Spec):
    HINTS: ClassVar[dict[str, str]] = _HINTS
    label: Literal["class_name", "department_name", "division_name"] = Field(
        "class_name", description="the class column"
    )
    min_class_count: int = Field(20, ge=3, description=_MCC)
    group: str | None = Field(
        "item_id", description="rows sharing this column stay in one split part (null: by row)"
    )


class TableText(Spec):
    HINTS: ClassVar[dict[str, str]] = {**_HINTS, "file": "path"}
    path: DataFile = Field(description="CSV/Parquet file of labelled texts")
    kind: Literal["labelled_text"] = Field("labelled_text", description="the file's schema")
    columns: ColumnMap | None = Field(None, description="our column -> the file's column")
    label: str = Field("label", description="the class column")
    text: str = Field("text", description="the text column")
    id_column: str | None = Field(None, description="a unique row id column, if any")
    min_class_count: int = Field(20, ge=3, description=_MCC)
    group: str | None = Field(None, description="rows sharing this column stay in one split part")


class TfidfLR(Spec):
    C: float = Field(1.0, gt=0, description="inverse L2 strength of the logistic regression")
    solver: Literal["lbfgs", "saga", "newton-cg", "newton-cholesky", "sag"] = Field(
        "lbfgs", description="scikit-learn solver"
    )
    tol: float = Field(1e-4, gt=0, description="solver tolerance")
    max_iter: int = Field(1000, ge=1, description="solver iteration budget")
    min_df: int = Field(2, ge=1, description="TF-IDF: minimum document frequency of a term")
    ngram_range: tuple[PosInt, PosInt] = Field((1, 1), description="TF-IDF: (min n, max n)")
    max_features: int | None = Field(20_000, ge=1, description="TF-IDF vocabulary size cap")


class MiniLMFrozen(Spec):
    encoder: str = Field("minilm", description=ENCODER_DOC)
    device: Device = Field("auto", description=DEVICE_DOC)
    dtype: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto",
        description="encoding precision; auto: bf16 where the device computes it natively "
        "(fp16: GPU only)",
    )
    encode_batch_size: int = Field(64, ge=1, description="texts per encoder forward pass")
    backend: Literal["torch", "onnx", "onnx_int8"] = Field(
        "torch",
        description="encoder runtime: torch (sentence-transformers) | onnx (ONNX Runtime, fp32, "
        "CPU) | onnx_int8 (dynamically quantized int8: ~2x the texts per CPU-second, a "
        "different encoder)",
    )
    lr: float = Field(0.01, gt=0, description="Adam learning rate of the linear head")
    weight_decay: float = Field(1e-4, ge=0, description="L2 penalty on the head's weights")
    max_epochs: int = Field(300, ge=1, description="epoch budget")
    batch_size: int | None = Field(None, ge=1, description="minibatch size (null: full batch)")
    eval_every: int = Field(10, ge=1, description="epochs between validation-loss checks")
    patience: int = Field(3, ge=1, description="checks without improvement before stopping")

    @model_validator(mode="after")
    def _onnx_runs_on_the_cpu(self) -> MiniLMFrozen:
        if self.backend != "torch" and (self.device not in ("auto", "cpu") or
                                        self.dtype not in ("auto", "fp32")):  # fmt: skip
            raise ValueError(
                f"backend {self.backend} runs its own graph on the CPU: use device auto or cpu "
                f"and dtype auto or fp32 (got device {self.device}, dtype {self.dtype}), or "
                "backend: torch"
            )
        return self


class MiniLMFinetune(Spec):
    encoder: str = Field("minilm", description=ENCODER_DOC)
    device: Device = Field("auto", description=DEVICE_DOC)
    dtype: Literal["fp32", "bf16"] = Field("fp32", description=TRAIN_DTYPE_DOC)
    max_train: int = Field(2000, ge=1, description="class-stratified training subset size")
    max_val: int = Field(500, ge=1, description="validation rows for best-epoch selection")
    epochs: int = Field(1, ge=1, description="fine-tuning epochs")
    max_seq_length: int = Field(128, ge=8, description="word pieces per text")
    batch_size: int = Field(16, ge=1, description="minibatch size")
    lr: float = Field(2e-5, gt=0, description="encoder learning rate")
    head_lr: float = Field(1e-3, gt=0, description="classification head learning rate")


class KerasEmbedMLP(Spec):
    vocab_size: int = Field(20_000, ge=3, description="vocabulary cap (+ pad and OOV ids)")
    max_len: int = Field(100, ge=1, description="tokens kept per text")
    embedding_dim: int = Field(128, ge=1, description="Embedding output size (source: 128)")
    hidden: int = Field(64, ge=1, description="Dense hidden units (source: 64)")
    epochs: int = Field(10, ge=1, description="training epochs (source: 10)")
    batch_size: int = Field(32, ge=1, description="minibatch size (source: 32)")


class ClassWeight(Spec):
    scheme: Scheme = Field(
        description="inverse, sqrt_inverse, effective_number, or majority_weighted "
        "(α_k ∝ N_k/(N−N_k): the majority class gets the larger weight)"
    )
    beta: float = Field(0.999, ge=0, lt=1, description="effective_number's β")


class Focal(Spec):
    gamma: float = Field(2.0, ge=0, description="focusing exponent γ (0 = cross-entropy)")
    alpha: Scheme | list[Annotated[float, Field(gt=0)]] | None = Field(
        None, description="class weights: a scheme name, one positive float per class, or null"
    )


class LogitAdjust(Spec):
    tau: float = Field(1.0, ge=0, description="τ in z − τ·log π (class prior π from training)")


class LDAM(Spec):
    max_margin: float = Field(0.5, ge=0, description="largest class margin Δ (Δ_k ∝ N_k^-1/4)")
    scale: float = Field(1.0, gt=0, description="logit scale s")
    drw_start: int | None = Field(None, ge=1, description="LDAM-DRW: re-weight from this epoch")


class DRW(Spec):
    start: int | None = Field(None, ge=1, description="first re-weighted epoch (null: model's)")
    scheme: Scheme = Field("effective_number", description="weights of the re-weighted phase")
    beta: float = Field(0.9999, ge=0, lt=1, description="effective_number's β")


class AdaptiveRecall(Spec):
    step: float = Field(1.0, ge=0, description="multiplicative step η")
    smoothing: float = Field(0.5, gt=0, le=1, description="EMA factor of validation recall")
    lower: float = Field(0.1, gt=0, le=1, description="smallest class weight")
    upper: float = Field(10.0, ge=1, description="largest class weight")


class TauNorm(Spec):
    tau: float = Field(1.0, ge=0, description="w_k / ‖w_k‖^τ (0 = unchanged)")


class Smote(Spec):
    k_neighbors: int = Field(5, ge=1, description="neighbours SMOTE interpolates between")


class Options(Spec):
    fractions: tuple[float, float, float] = Field(
        (0.7, 0.1, 0.2), description="train / validation / test shares, positive, summing to 1"
    )
    train_size: Literal["fixed", "natural"] | Annotated[int, Field(ge=2)] = Field(
        "fixed",
        description="fixed: every ρ level of the sweep at the same n_train; natural: each at "
        "its own largest size; an integer: that n_train",
    )
    imbalance_levels: list[Annotated[float, Field(ge=1)] | None] = Field(
        default_factory=list, description="set by the grid from imbalance_ratio (do not write)"
    )

    @field_validator("fractions")
    @classmethod
    def _sum(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if min(v) <= 0 or abs(sum(v) - 1) > 1e-6:
            raise ValueError(f"expected three positive numbers summing to 1, got {list(v)}")
        return v


_SMOTE_WHY = (
    "SMOTE makes synthetic feature vectors, and fine-tuning needs texts; use oversample, or "
    "smote with minilm_frozen"
)
_TFIDF_WHY = {
    "focal": "scikit-learn's LogisticRegression has a fixed log-loss (no focal term); use "
    "minilm_frozen or minilm_finetune",
    "logit_adjust_loss": "scikit-learn's LogisticRegression cannot add τ·log π to its logits "
    "during training; use logit_adjust_posthoc or a torch model",
}
_TORCH_ONLY = ("balanced_softmax", "ldam", "drw", "adaptive_recall", "crt", "tau_norm")
_TFIDF_WHY.update(
    {
        t: "scikit-learn's LogisticRegression has a fixed loss and no epoch schedule; use "
        "minilm_frozen, minilm_finetune (or keras_embed_mlp where it applies)"
        for t in _TORCH_ONLY
    }
)
_KERAS_WHY = {
    "smote": "SMOTE interpolates feature vectors; interpolated token ids are no text",
    "ldam": "LDAM is implemented for the torch heads (minilm_frozen, minilm_finetune)",
    "crt": "cRT is implemented for the torch heads (minilm_frozen, minilm_finetune)",
    "tau_norm": "τ-normalisation is implemented for the torch heads",
}
TREATMENT_NAMES = (
    "none",
    "class_weight",
    "focal",
    "logit_adjust_loss",
    "logit_adjust_posthoc",
    "oversample",
    "undersample",
    "smote",
    *_TORCH_ONLY,
)


def _t(name: str, spec: type[Spec], doc: str) -> Entry:
    return Entry("treatment", "categorize", name, spec, doc)


ENTRIES: tuple[Entry, ...] = (
    Entry("dataset", "categorize", "clothing", ClothingData, "Women's Clothing Reviews"),
    Entry("dataset", "categorize", "table", TableText, "your own labelled-text CSV/Parquet"),
    Entry(
        "model",
        "categorize",
        "tfidf_lr",
        TfidfLR,
        "TF-IDF + multinomial logistic regression",
        treatments=tuple(t for t in TREATMENT_NAMES if t not in _TFIDF_WHY),
        reasons=_TFIDF_WHY,
    ),
    Entry("model", "categorize", "minilm_frozen", MiniLMFrozen, "frozen MiniLM + linear head"),
    Entry(
        "model",
        "categorize",
        "minilm_finetune",
        MiniLMFinetune,
        "MiniLM fine-tuned end to end",
        treatments=tuple(t for t in TREATMENT_NAMES if t != "smote"),
        reasons={"smote": _SMOTE_WHY},
    ),
    Entry(
        "model",
        "categorize",
        "keras_embed_mlp",
        KerasEmbedMLP,
        "Keras token ids → Embedding → Flatten → Dense(64) → softmax (torch backend)",
        treatments=tuple(t for t in TREATMENT_NAMES if t not in _KERAS_WHY),
        reasons=_KERAS_WHY,
    ),
    plugin_entry("categorize", TREATMENT_NAMES),
    _t("none", Empty, "no treatment"),
    _t("class_weight", ClassWeight, "per-class loss weights"),
    _t("focal", Focal, "focal loss (Lin et al. 2017)"),
    _t("logit_adjust_loss", LogitAdjust, "logit-adjusted training loss (Menon et al. 2021)"),
    _t("logit_adjust_posthoc", LogitAdjust, "post-hoc logit adjustment (Menon et al. 2021)"),
    _t("oversample", Empty, "random oversampling of training rows"),
    _t("undersample", Empty, "random undersampling of training rows"),
    _t("smote", Smote, "SMOTE on training features (Chawla et al. 2002)"),
    _t("balanced_softmax", Empty, "balanced softmax loss (Ren et al. 2020)"),
    _t("ldam", LDAM, "label-distribution-aware margin loss, optional DRW (Cao et al. 2019)"),
    _t("drw", DRW, "deferred re-weighting (Cao et al. 2019)"),
    _t("adaptive_recall", AdaptiveRecall, "class weights re-set from validation recall"),
    _t("crt", Empty, "classifier re-training on class-balanced samples (Kang et al. 2020)"),
    _t("tau_norm", TauNorm, "τ-normalised classifier (Kang et al. 2020)"),
    Entry("options", "categorize", "options", Options, "options of every categorize cell"),
)
