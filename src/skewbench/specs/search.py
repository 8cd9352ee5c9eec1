"""Specs of the search task: data sets, models, treatments, options."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from skewbench.specs.base import MAX_LIST, DataPath, Empty, Entry, ListLength, Spec
from skewbench.specs.common import (
    PRIMARY_PATTERN,
    LLMRerankSpec,
    Placement,
    TableFile,
    category_level,
    check_primary,
    plugin_entry,
)

_HINTS = {"candidate_k": "candidates"}
_MQ = "sample this many test queries (null: all)"


class CompleteJourneyQueries(Spec):
    HINTS: ClassVar[dict[str, str]] = _HINTS
    queries: Literal["type", "personalised"] = Field(
        "type", description="one query per product type, or per (household, type) purchase"
    )
    test_weeks: int = Field(8, ge=1, description="the last weeks, whose purchases are test")
    min_item_count: int = Field(
        0, ge=0, description="catalog: products with at least this many training purchases"
    )
    max_queries: int | None = Field(None, ge=1, description=_MQ + " (personalised: 1000)")
    index_type: bool = Field(False, description="put the product type into the item text")
    head_share: float = Field(
        0.5, gt=0, lt=1, description="head queries: most-bought types holding this share"
    )
    query_split: Literal["unseen", "seen"] = Field(
        "unseen",
        description="test on query texts never trained on (unseen), or on the training texts "
        "(seen: the memorisation contrast)",
    )
    test_share: float = Field(0.3, gt=0, lt=1, description="share of query texts held out for test")
    validation_share: float = Field(
        0.15, gt=0, lt=1, description="share of query texts held out for validation (tuning)"
    )

    @model_validator(mode="after")
    def _shares(self) -> CompleteJourneyQueries:
        if self.test_share + self.validation_share >= 1:
            raise ValueError(
                f"test_share + validation_share = {self.test_share + self.validation_share} "
                "leaves no training texts (must be < 1)"
            )
        return self


#: the files of an ESCI folder that ``skewbench.data.sources.esci`` reads (a test pins the names)
EsciFolder = Annotated[
    str,
    DataPath(
        folder=True,
        files=(
            "shopping_queries_dataset_examples.parquet",
            "shopping_queries_dataset_products.parquet",
        ),
    ),
]


class Esci(Spec):
    HINTS: ClassVar[dict[str, str]] = _HINTS
    path: EsciFolder = Field(
        description="folder holding the two shopping_queries_dataset parquet files"
    )
    version: Literal["small", "large"] = Field("small", description="ESCI task version")
    split: Literal["train", "test"] = Field("test", description="the evaluated split")
    locale: Literal["us", "es", "jp"] = Field("us", description="product locale")
    gains: Literal["kddcup", "paper"] | dict[Literal["E", "S", "C", "I"], float] = Field(
        "kddcup", description="E/S/C/I → NDCG gain: a named mapping or your own"
    )
    max_queries: int | None = Field(None, ge=1, description=_MQ)
    retrieval: Literal["judged", "catalogue"] = Field(
        "judged",
        description="judged: each query ranks its own judged products (ESCI task 1); "
        "catalogue: retrieve from every judged product",
    )
    query_split: Literal["unseen"] = Field(
        "unseen", description="training texts equal to a test text are dropped"
    )
    validation_share: float = Field(
        0.15, gt=0, lt=1, description="share of training query texts held out for validation"
    )


class TableSearch(Spec):
    HINTS: ClassVar[dict[str, str]] = {
        **_HINTS,
        "judgments": "qrels",
        "judgements": "qrels",
        "items": "catalog",
    }
    queries: TableFile = Field(description="query_id, text, optional group (head/tail)")
    qrels: TableFile = Field(description="judgments: query_id, item_id, grade (int >= 0)")
    catalog: TableFile = Field(
        description="item_id, title, optional text, category_path, brand, manufacturer, price"
    )
    interactions: TableFile | None = Field(
        None,
        description="user_id, item_id, timestamp: each item's rows are its popularity "
        "(else the catalog's popularity column, else none)",
    )
    train_queries: TableFile | None = Field(
        None,
        description="queries a model may be fitted on (finetuned, cross_encoder); no test text",
    )
    train_qrels: TableFile | None = Field(None, description="judgments of the train_queries")
    category_level: int = category_level()


class BM25(Spec):
    k1: float = Field(1.5, ge=0, description="term-frequency saturation")
    b: float = Field(0.75, ge=0, le=1, description="length normalisation")
    method: Literal["lucene", "robertson", "atire", "bm25l", "bm25+"] = Field(
        "lucene", description="bm25s variant"
    )


class Dense(Spec):
    index: Literal["exact", "hnsw"] = Field("exact", description="exact dot products or HNSW")
    hnsw_m: int = Field(32, ge=2, description="HNSW graph degree")
    ef_search: int = Field(128, ge=1, description="HNSW search breadth")
    backend: Literal["torch", "onnx", "onnx_int8"] = Field(
        "torch",
        description="encoder runtime: torch | onnx (ONNX Runtime fp32, CPU) | onnx_int8 "
        "(dynamically quantized int8, a different encoder)",
    )


class Hybrid(Spec):
    depth: int = Field(100, ge=1, le=MAX_LIST, description="each retriever's list fused by RRF")
    k_rrf: int = Field(60, ge=1, description="RRF constant: 1 / (k_rrf + rank)")


class BM25Pop(Spec):
    w: float = Field(0.1, ge=0, description="prior weight: score + w·ln(1 + popularity)")
    k1: float = Field(1.5, ge=0, description="BM25 term-frequency saturation")
    b: float = Field(0.75, ge=0, le=1, description="BM25 length normalisation")


class DensePop(Spec):
    w: float = Field(0.01, ge=0, description="prior weight: score + w·ln(1 + popularity)")


class Personal(Spec):
    alpha: float = Field(0.7, ge=0, le=1, description="weight of the query vs the household")
    beta: float = Field(0.05, ge=0, description="weight of the household's purchase counts")


class FineTuned(Placement):
    epochs: int = Field(1, ge=1, description="training epochs")
    max_pairs: int = Field(1000, ge=1, description="(query, relevant item) training pairs")
    batch_size: int = Field(32, ge=1, description="pairs per batch (in-batch negatives)")
    lr: float = Field(2e-5, gt=0, description="learning rate")
    scale: float = Field(20.0, gt=0, description="MNRL similarity scale")


class CrossEncoder(Placement):
    first_stage: Literal["bm25", "dense", "hybrid"] = Field(
        "dense", description="retriever whose top depth items are re-scored"
    )
    depth: int = Field(20, ge=1, le=MAX_LIST, description="candidates re-scored per query")
    max_queries: int = Field(200, ge=1, description="training queries")
    max_pairs: int = Field(800, ge=1, description="training pairs")
    negatives: int = Field(3, ge=0, description="hard negatives per positive")
    epochs: int = Field(1, ge=1, description="training epochs")
    batch_size: int = Field(16, ge=1, description="pairs per batch")
    lr: float = Field(2e-5, gt=0, description="learning rate")
    max_length: int = Field(64, ge=8, description="word pieces per (query, item) pair")


class LLMRerank(LLMRerankSpec):
    first_stage: Literal["bm25", "dense", "hybrid", "bm25_pop", "dense_pop"] = Field(
        "bm25", description="retriever whose top depth items the LLM re-ranks"
    )


Group = Literal["brand", "manufacturer", "category"]
_GROUP = "protected: Private-label brand, or tail manufacturers / categories"


class Fair(Spec):
    HINTS: ClassVar[dict[str, str]] = {"pp": "p", "groop": "group", "proportion": "p"}
    group: Group = Field("brand", description=_GROUP)
    p: float | None = Field(
        None, gt=0, lt=1, description="minimum protected share (default: its catalog share)"
    )
    alpha: float = Field(0.1, gt=0, lt=1, description="significance of the FA*IR test")


class XQuAD(Spec):
    HINTS: ClassVar[dict[str, str]] = {"lamda": "lambda", "lam": "lambda"}
    group: Group = Field("brand", description=_GROUP)
    lambda_: float = Field(0.5, alias="lambda", ge=0, le=1, description="0 = base order")
    variant: Literal["smooth", "binary"] = Field("smooth", description="aspect coverage form")
    aspects: Literal["protected", "values"] = Field(
        "protected",
        description="protected vs rest, or one aspect per group value (uniform weights)",
    )


class Calibrated(Spec):
    group: Group = Field("brand", description=_GROUP)
    lambda_: float = Field(0.5, alias="lambda", ge=0, le=1, description="0 = base order")
    alpha: float = Field(0.01, gt=0, le=1, description="smoothing of the list distribution")


class GroupNorm(Spec):
    group: Group = Field("brand", description="scores z-normalised within each group")


# the ranking metrics the task computes at every cutoff
RANK_METRICS = ("ndcg", "recall", "mrr")


class Options(Spec):
    HINTS: ClassVar[dict[str, str]] = {"candidate_k": "candidates", "cutoff": "cutoffs"}
    k: int = Field(10, ge=1, le=MAX_LIST, description="list length")
    cutoffs: list[ListLength] | None = Field(
        None, min_length=1, description="ranking-metric cutoffs <= k (default [k])"
    )
    candidates: int | None = Field(
        None,
        ge=1,
        le=MAX_LIST,
        description="candidates per query a treatment re-ranks (default max(100, k))",
    )
    primary: str | None = Field(
        None,
        pattern=PRIMARY_PATTERN,
        description="the report's headline accuracy metric, e.g. recall@5 (its cutoff must be "
        "one of cutoffs; default ndcg@10, or ndcg at the first cutoff when 10 is not one)",
    )

    @model_validator(mode="after")
    def _depths(self) -> Options:
        if self.cutoffs is not None and max(self.cutoffs) > self.k:
            raise ValueError(f"cutoffs {self.cutoffs} exceed k = {self.k}")
        if self.candidates is not None and self.candidates < self.k:
            raise ValueError(f"candidates = {self.candidates} < k = {self.k}")
        check_primary(self.primary, self.cutoffs or [self.k], RANK_METRICS)
        return self


TREATMENT_NAMES = ("none", "fair", "xquad", "calibrated", "group_norm")


def _m(name: str, spec: type[Spec], doc: str) -> Entry:
    return Entry("model", "search", name, spec, doc)


def _t(name: str, spec: type[Spec], doc: str) -> Entry:
    return Entry("treatment", "search", name, spec, doc)


ENTRIES: tuple[Entry, ...] = (
    Entry("dataset", "search", "completejourney", CompleteJourneyQueries, "derived queries"),
    Entry("dataset", "search", "esci", Esci, "Amazon Shopping Queries (ESCI), your download"),
    Entry("dataset", "search", "table", TableSearch, "your queries + judgments + catalog files"),
    _m("bm25", BM25, "lexical BM25 (bm25s)"),
    _m("dense", Dense, "frozen MiniLM bi-encoder"),
    _m("hybrid", Hybrid, "reciprocal-rank fusion of bm25 + dense"),
    _m("bm25_pop", BM25Pop, "BM25 + popularity prior"),
    _m("dense_pop", DensePop, "dense + popularity prior"),
    _m("personal", Personal, "dense query + household history"),
    _m("finetuned", FineTuned, "MiniLM bi-encoder fine-tuned with MNRL"),
    _m("cross_encoder", CrossEncoder, "MiniLM cross-encoder re-scoring a first stage"),
    _m("llm_rerank", LLMRerank, "LLM (SmolLM2-135M) re-ranking a first stage's top items"),
    plugin_entry("search", TREATMENT_NAMES),
    _t("none", Empty, "no treatment: the top k candidates"),
    _t("fair", Fair, "FA*IR (Zehlike et al. 2017)"),
    _t("xquad", XQuAD, "xQuAD over the two groups"),
    _t("calibrated", Calibrated, "top k mirrors the candidate pool's group shares"),
    _t("group_norm", GroupNorm, "z-score per group before ranking"),
    Entry("options", "search", "options", Options, "options of every search cell"),
)
