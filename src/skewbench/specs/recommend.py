"""Specs of the recommend task: data sets, models, treatments, options."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from skewbench.specs.base import (
    MAX_LIST,
    DataFile,
    DataFolder,
    DataPath,
    Empty,
    Entry,
    ListLength,
    Spec,
)
from skewbench.specs.common import (
    PRIMARY_PATTERN,
    ColumnMap,
    LLMRerankSpec,
    Placement,
    TableFile,
    category_level,
    check_primary,
    plugin_entry,
)

_UK = "k-core: minimum distinct items per user"
_IK = "k-core: minimum distinct users per item"
_TF = "share of interactions held out for test"
_VF = "share of the training interactions held out for validation (tuning), by the split's protocol"
_HINTS = {"imbalance": "target_gini", "candidate_k": "candidates"}


class CompleteJourney(Spec):
    HINTS: ClassVar[dict[str, str]] = _HINTS
    user_k: int = Field(10, ge=1, description=_UK)
    item_k: int = Field(30, ge=1, description=_IK)
    split: Literal["temporal", "ratio"] = Field(
        "temporal", description="global time cut, or per-user random ratio split"
    )
    test_frac: float = Field(0.2, gt=0, lt=1, description=_TF)
    val_frac: float = Field(0.2, gt=0, lt=1, description=_VF)
    feedback: Literal["binary", "count"] = Field(
        "binary", description="train on 1/0 or on purchase counts"
    )


class SplitData(Spec):
    """The k-core and split parameters of the data sets split per user by default."""

    HINTS: ClassVar[dict[str, str]] = _HINTS
    user_k: int = Field(1, ge=1, description=_UK)
    item_k: int = Field(1, ge=1, description=_IK)
    split: Literal["temporal", "ratio"] = Field("ratio", description="time cut or per-user ratio")
    test_frac: float = Field(0.2, gt=0, lt=1, description=_TF)
    val_frac: float = Field(0.2, gt=0, lt=1, description=_VF)


class MovieLens(SplitData):
    min_rating: float = Field(4, ge=1, le=5, description="ratings >= this are interactions")


class FileInteractions(SplitData):
    """The data-side parameters every file-based recommend data set shares."""

    feedback: Literal["binary", "count"] = Field("binary", description="1/0 or summed weights")
    category_level: int = category_level()


_MIN_RATING = "ratings >= this are the interactions (null: every row is one)"


class TableInteractions(FileInteractions):
    HINTS: ClassVar[dict[str, str]] = {**_HINTS, "path": "interactions", "items": "catalog"}
    interactions: TableFile = Field(
        description="user_id, item_id, timestamp (or an order), optional weight"
    )
    catalog: TableFile | None = Field(
        None,
        description="item_id, title, optional text, category_path, brand, manufacturer, price",
    )
    users: TableFile | None = Field(
        None, description="user_id + any attribute columns: the user groups of 'who is served'"
    )


class RecBole(FileInteractions):
    HINTS: ClassVar[dict[str, str]] = {**_HINTS, "folder": "path", "data_path": "path"}
    path: DataFolder = Field(description="folder of <dataset>.inter (+ optional .item, .user)")
    dataset: str | None = Field(None, description="the files' stem (default: the folder's name)")
    columns: ColumnMap | None = Field(None, description="our column -> the files' field name")
    min_rating: float | None = Field(None, description=_MIN_RATING)
    seq_separator: str = Field(" ", min_length=1, description="token_seq separator (RecBole's)")


class Amazon2023(FileInteractions):
    HINTS: ClassVar[dict[str, str]] = {**_HINTS, "path": "reviews", "catalog": "meta"}
    reviews: DataFile = Field(description="<Category>.jsonl(.gz): one review per line")
    meta: DataFile | None = Field(
        None, description="meta_<Category>.jsonl(.gz): one product per line"
    )
    min_rating: float | None = Field(None, ge=1, le=5, description=_MIN_RATING)


#: the files of a MovieLens folder that ``skewbench.data.sources.movielens_files`` reads
MovieLensFiles = Annotated[
    str,
    DataPath(
        folder=True,
        files=("ratings.dat", "movies.dat", "users.dat", "ratings.csv", "movies.csv"),
    ),
]


class MovieLensFolder(FileInteractions):
    HINTS: ClassVar[dict[str, str]] = {**_HINTS, "folder": "path"}
    path: MovieLensFiles = Field(
        description="ml-1m / ml-10m (.dat files) or ml-20m / ml-25m (.csv files)"
    )
    min_rating: float = Field(4, ge=0.5, le=5, description="ratings >= this are interactions")


class ItemKNN(Spec):
    neighbours: int = Field(100, ge=1, description="neighbours kept per item")
    shrink: float = Field(10.0, ge=0, description="cosine shrinkage term")


class EASE(Spec):
    HINTS: ClassVar[dict[str, str]] = {"lambda": "l2", "lambda_": "l2", "reg": "l2"}
    l2: float = Field(500.0, gt=0, description="L2 regularisation λ of the item-item weights")
    dtype: Literal["float64", "float32"] = Field("float64", description="Gram matrix precision")
    memory_budget_gb: float | None = Field(
        None,
        gt=0,
        description="refuse before fitting when the peak (24·n² bytes; 12·n² in float32) exceeds "
        "it; default SKEWBENCH_MEMORY_BUDGET_GB or half the RAM",
    )


class BPR(Spec):
    HINTS: ClassVar[dict[str, str]] = {"n_factors": "factors", "iterations": "epochs"}
    factors: int = Field(64, ge=1, description="latent dimensions")
    epochs: int = Field(20, ge=1, description="passes over the interactions")
    lr: float = Field(0.01, gt=0, description="SGD learning rate (implicit's default)")
    reg: float = Field(0.01, ge=0, description="L2 regularisation (implicit's default)")
    batch_size: int = Field(
        1 << 16,
        ge=1,
        description="pairs per kernel call (bounds memory; the fit does not depend on it)",
    )


class ALS(Spec):
    HINTS: ClassVar[dict[str, str]] = {"n_factors": "factors", "epochs": "iterations"}
    factors: int = Field(64, ge=1, description="latent dimensions")
    reg: float = Field(0.01, ge=0, description="L2 regularisation")
    alpha: float = Field(10.0, gt=0, description="confidence scale: c = 1 + alpha * r")
    iterations: int = Field(15, ge=1, description="alternating sweeps")


class Hybrid(Spec):
    alpha: float = Field(0.5, ge=0, le=1, description="weight of the content score")
    normalise: Literal["minmax", "rank"] = Field("minmax", description="score normalisation")
    collaborative: Literal["popularity", "itemknn", "ease", "bpr", "als"] = Field(
        "ease", description="the collaborative model (its default parameters)"
    )


class SASRec(Spec):
    dim: int = Field(64, ge=1, description="embedding and hidden size")
    max_len: int = Field(50, ge=1, description="latest training items the model reads")
    blocks: int = Field(2, ge=1, description="transformer blocks")
    heads: int = Field(1, ge=1, description="attention heads (must divide dim)")
    dropout: float = Field(0.2, ge=0, lt=1, description="dropout rate")
    epochs: int = Field(20, ge=1, description="passes over the users")
    batch_size: int = Field(128, ge=1, description="users per minibatch")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate")
    weight_decay: float = Field(0.0, ge=0, description="Adam weight decay")
    item_init: Literal["random", "text"] = Field(
        "random", description="free item table, or MiniLM item-text embeddings + projection"
    )
    negatives: int = Field(0, ge=0, description="0 = full softmax; n = sampled softmax + logQ")
    neg_beta: float = Field(0.75, ge=0, description="sampled negatives ∝ popularity^beta")
    ips_eta: float = Field(0.0, ge=0, description="IPS weight exponent of each target (0 = off)")
    ips_clip: float = Field(100.0, gt=0, description="maximum IPS weight")
    pop_tau: float = Field(0.0, ge=0, description="inference: score − tau·log(pop + 1)")


class TwoTower(Placement):
    history_items: int = Field(5, ge=1, description="latest purchases forming the user text")
    max_pairs: int = Field(1000, ge=0, description="fine-tuning pairs (0 = frozen encoder)")
    epochs: int = Field(1, ge=1, description="fine-tuning epochs")
    batch_size: int = Field(32, ge=2, description="pairs per batch (in-batch negatives)")
    lr: float = Field(2e-5, gt=0, description="AdamW learning rate")
    scale: float = Field(20.0, gt=0, description="cosine scale of the ranking loss")


class LLMRerank(LLMRerankSpec):
    first_stage: Literal["popularity", "itemknn", "ease", "als", "bpr", "sasrec"] = Field(
        "ease", description="the model whose top `depth` items the LLM re-ranks"
    )
    history_items: int = Field(5, ge=1, description="latest purchases shown in the prompt")


class Precomputed(Spec):
    path: DataFile = Field(
        description="run file whose units are the data set's users and items its items",
    )


class PDA(Spec):
    gamma: float = Field(0.1, ge=0, description="training: popularity exponent of m_i^gamma")
    infer_gamma: float = Field(0.0, ge=0, description="inference: re-injected popularity (0 = PD)")


class MACR(Spec):
    c: float = Field(0.0, ge=0, le=1, description="inference: counterfactual reference score")
    alpha: float = Field(1e-3, ge=0, description="weight of the item-branch loss")
    beta: float = Field(1e-3, ge=0, description="weight of the user-branch loss")


class PlackettLuce(Spec):
    temperature: float = Field(
        1.0, gt=0, description="softmax temperature of the per-user min-max normalised scores"
    )
    samples: int = Field(20, ge=1, le=1000, description="sampled rankings per user")


class IPS(Spec):
    eta: float = Field(0.5, ge=0, description="propensity exponent: p_i ∝ pop_i^eta")
    clip: float = Field(100.0, gt=0, description="maximum inverse-propensity weight")
    self_normalised: bool = Field(False, description="self-normalised IPS")


class PopNegatives(Spec):
    beta: float = Field(0.75, ge=0, description="negatives sampled ∝ popularity^beta")


def _lam() -> float:
    return Field(alias="lambda", ge=0, le=1, description="trade-off: 0 = base order")


class Calibrated(Spec):
    lambda_: float = _lam()
    alpha: float = Field(0.01, gt=0, le=1, description="smoothing of the list distribution")
    groups: (
        Literal["popularity", "department", "genre", "category", "brand", "manufacturer", "price"]
        | None
    ) = Field(
        None,
        description="item grouping the list is calibrated on (default: department, genre or "
        "category, whichever the data set has)",
    )


_FAMILIES = Literal[
    "popularity", "brand", "manufacturer", "price", "department", "genre", "category"
]


class XQuAD(Spec):
    lambda_: float = _lam()
    variant: Literal["smooth", "binary"] = Field("smooth", description="aspect coverage form")
    group: _FAMILIES = Field(
        "popularity", description="aspects: long tail vs head, or a catalog grouping's values"
    )
    target: Literal["history", "uniform", "catalog"] = Field(
        "history",
        description="P(aspect | user): the user's history share, uniform, or catalog share",
    )


class Fair(Spec):
    HINTS: ClassVar[dict[str, str]] = {"pp": "p", "proportion": "p"}
    p: float = Field(gt=0, lt=1, description="minimum share of protected items in every prefix")
    alpha: float = Field(0.1, gt=0, lt=1, description="significance of the FA*IR test")
    group: Literal["popularity", "brand", "manufacturer"] = Field(
        "popularity", description="protected: long tail, Private label, or tail manufacturers"
    )


class MMR(Spec):
    lambda_: float = Field(alias="lambda", ge=0, le=1, description="1 = base order")
    similarity: Literal["category", "embedding"] = Field(
        "category", description="same category, or cosine of MiniLM item embeddings"
    )


# the ranking metrics the task computes at every cutoff
RANKING_METRICS: tuple[str, ...] = ("ndcg", "recall", "precision", "hit_rate", "map", "mrr")


class Options(Spec):
    HINTS: ClassVar[dict[str, str]] = {"candidate_k": "candidates", "cutoff": "cutoffs"}
    cutoffs: list[ListLength] = Field(
        [5, 10, 20, 50], min_length=1, description="ranking-metric cutoffs"
    )
    k: int | None = Field(
        None, ge=1, le=MAX_LIST, description="list length (default: the largest cutoff)"
    )
    exposure_k: int | None = Field(
        None,
        ge=1,
        le=MAX_LIST,
        description="depth of exposure/diversity metrics (default min(10, k))",
    )
    candidates: int | None = Field(
        None,
        ge=1,
        le=MAX_LIST,
        description="candidates a re-ranker chooses from (default max(100, k))",
    )
    max_users: int | None = Field(None, ge=1, description="evaluate a random subset of users")
    primary: str | None = Field(
        None,
        pattern=PRIMARY_PATTERN,
        description="the report's headline accuracy metric, e.g. recall@5 (its cutoff must be "
        "one of cutoffs; default ndcg@10, or ndcg at the first cutoff when 10 is not one)",
    )
    imbalance_levels: list[Annotated[float, Field(ge=0, lt=1)] | None] | None = Field(
        None,
        description="set by the grid from the experiment's target_gini list: every level "
        "trains on the same number of interactions",
    )

    @model_validator(mode="after")
    def _depths(self) -> Options:
        k = self.k if self.k is not None else max(self.cutoffs)
        if k < max(self.cutoffs):
            raise ValueError(f"k = {k} is shorter than the largest cutoff {max(self.cutoffs)}")
        if self.exposure_k is not None and self.exposure_k > k:
            raise ValueError(f"exposure_k = {self.exposure_k} exceeds k = {k}")
        if self.candidates is not None and self.candidates < k:
            raise ValueError(f"candidates = {self.candidates} < k = {k}")
        check_primary(self.primary, self.cutoffs, RANKING_METRICS)
        return self


_BPR_ONLY = "it changes BPR's training loss/sampling; other models have none (use model bpr)"
TREATMENT_NAMES = (
    "none",
    "ips",
    "pop_negatives",
    "pda",
    "macr",
    "calibrated",
    "xquad",
    "fair",
    "mmr",
    "plackett_luce",
)
RERANKERS = ("calibrated", "xquad", "fair", "mmr")
_BPR_TREATMENTS = ("ips", "pop_negatives", "pda", "macr")
_NOT_BPR = tuple(t for t in TREATMENT_NAMES if t not in _BPR_TREATMENTS)
_NOT_BPR_WHY = {t: _BPR_ONLY for t in _BPR_TREATMENTS}


def _m(name: str, spec: type[Spec], doc: str) -> Entry:
    return Entry("model", "recommend", name, spec, doc, _NOT_BPR, _NOT_BPR_WHY)


def _t(name: str, spec: type[Spec], doc: str) -> Entry:
    return Entry("treatment", "recommend", name, spec, doc)


ENTRIES: tuple[Entry, ...] = (
    Entry("dataset", "recommend", "completejourney", CompleteJourney, "grocery purchases"),
    Entry("dataset", "recommend", "movielens100k", MovieLens, "MovieLens-100k ratings >= 4"),
    Entry("dataset", "recommend", "table", TableInteractions, "your interactions + catalog files"),
    Entry("dataset", "recommend", "recbole", RecBole, "a RecBole atomic-file folder"),
    Entry("dataset", "recommend", "amazon2023", Amazon2023, "Amazon Reviews 2023 JSONL files"),
    Entry("dataset", "recommend", "movielens", MovieLensFolder, "a MovieLens 1M/10M/20M+ folder"),
    _m("random", Empty, "uniformly random scores (seeded)"),
    _m("popularity", Empty, "most popular items first"),
    _m("itemknn", ItemKNN, "item-item cosine neighbourhood"),
    _m("ease", EASE, "EASE^R (Steck 2019)"),
    Entry("model", "recommend", "bpr", BPR, "BPR matrix factorisation"),
    _m("als", ALS, "implicit ALS (Hu et al. 2008)"),
    _m("content", Empty, "MiniLM item-text similarity to the user's history"),
    _m("hybrid", Hybrid, "content + collaborative score blend"),
    _m("sasrec", SASRec, "self-attentive sequential recommender, full-softmax CE"),
    _m("two_tower", TwoTower, "MiniLM history-text → item-text bi-encoder, fine-tuned"),
    _m("llm_rerank", LLMRerank, "LLM (SmolLM2-135M) re-ranking a first stage's top items"),
    _m("precomputed", Precomputed, "an external run's lists (TREC / ranx JSON / CSV / Parquet)"),
    plugin_entry("recommend", TREATMENT_NAMES),
    _t("none", Empty, "no treatment"),
    _t("ips", IPS, "inverse-propensity-weighted BPR loss"),
    _t("pop_negatives", PopNegatives, "popularity-aware BPR negative sampling"),
    _t("pda", PDA, "popularity-bias deconfounding and adjusting of BPR (Zhang et al. 2021)"),
    _t("macr", MACR, "model-agnostic counterfactual reasoning for BPR (Wei et al. 2021)"),
    _t("calibrated", Calibrated, "calibrated re-ranking (Steck 2018)"),
    _t("xquad", XQuAD, "xQuAD long-tail re-ranking (Abdollahpouri et al. 2019)"),
    _t("fair", Fair, "FA*IR long-tail re-ranking (Zehlike et al. 2017)"),
    _t("mmr", MMR, "maximal marginal relevance (Carbonell & Goldstein 1998)"),
    _t("plackett_luce", PlackettLuce, "stochastic ranking: Plackett–Luce samples of the scores"),
    Entry("options", "recommend", "options", Options, "options of every recommend cell"),
)
