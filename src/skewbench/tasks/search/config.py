"""The search task's names, options and config checks (parameters validated by the specs)."""

from __future__ import annotations

from typing import Any

from skewbench.errors import ConfigError
from skewbench.models.search.bm25 import BM25Retriever
from skewbench.models.search.fusion import PopularityPrior, RRFHybrid
from skewbench.models.search.personal import PersonalisedDense
from skewbench.models.search.trained import FineTunedBiEncoder
from skewbench.runner.cell import Cell
from skewbench.specs.search import RANK_METRICS as RANK_METRICS

DATASETS = ("completejourney", "esci", "table")

MODELS = (
    "bm25",
    "dense",
    "hybrid",
    "bm25_pop",
    "dense_pop",
    "personal",
    "finetuned",
    "cross_encoder",
    "llm_rerank",
    "plugin",
)

RERANKERS = ("fair", "xquad", "calibrated")

TREATMENTS = ("none", *RERANKERS, "group_norm")

GROUPS = ("brand", "manufacturer", "category")


TUNE_SPACES: dict[str, dict[str, list[Any]]] = {
    "bm25": BM25Retriever.tune_space,
    "bm25_pop": PopularityPrior.tune_space_bm25,
    "dense_pop": PopularityPrior.tune_space_cosine,
    "hybrid": RRFHybrid.tune_space,
    "finetuned": FineTunedBiEncoder.tune_space,
    "personal": PersonalisedDense.tune_space,
}

VALIDATION_METRIC = "ndcg@10"

TUNABLE = True  # the runner lets models of this task carry `tune:`


def options(cell: Cell) -> tuple[int, list[int], int]:
    o = cell.options
    k = int(o.get("k", 10))
    cutoffs = [int(c) for c in o.get("cutoffs", [k])]
    cand_k = int(o.get("candidates", max(100, k)))
    return k, cutoffs, cand_k


def check(cell: Cell) -> None:
    """Reject unknown names and parameters, and combinations that cannot run (all at once)."""
    from skewbench.specs.validate import cell_errors, raise_errors

    errors, incompatible = cell_errors(cell)
    ds, model, tr = cell.dataset, cell.model, cell.treatment
    more = []
    queries = ds.params.get("queries", "type")
    if model.name == "personal" and (ds.name != "completejourney" or queries != "personalised"):
        more.append(
            "model.name: personal needs dataset completejourney with queries=personalised (a "
            "household per query)"
        )
    if tr.name != "none" and ds.name == "esci" and tr.params.get("group", "brand") != "brand":
        more.append("treatment.params.group: esci has brands only: use group=brand")
    if ds.name == "table" and model.name in ("bm25_pop", "dense_pop") and not errors:
        more += _popularity_errors(model.name, ds.params)
    trained = model.name in ("finetuned", "cross_encoder")
    if ds.name == "table" and trained and ds.params.get("train_queries") is None:
        more.append(
            f"model.name: {model.name} trains on training queries: give the table data set "
            "train_queries: and train_qrels: files"
        )
    if cell.imbalance is not None:
        more.append("imbalance: search takes no imbalance level")
    raise_errors(errors + more, incompatible or (not errors and bool(more)))
    request = getattr(cell, "tune", None)
    if request is not None:
        if ds.name == "table":
            raise ConfigError("model.tune: a table data set has no training or validation queries")
        tune_space(cell, request)


def _popularity_errors(model: str, params: dict[str, Any]) -> list[str]:
    """A popularity prior on a ``table`` data set needs popularity: an interactions file or a
    catalog popularity column holding some positive value (else it would equal its base)."""
    if params.get("interactions") is not None:
        return []
    from skewbench.data.sources.table import read_file
    from skewbench.errors import SchemaError

    try:
        catalog = read_file(params["catalog"], "catalog")
    except (SchemaError, ConfigError):
        return []  # the file check reports it
    if "popularity" in catalog.columns and (catalog["popularity"].fillna(0) > 0).any():
        return []
    return [
        f"model.name: {model} adds item popularity to its base model's score, and this table "
        "data set has none: give interactions: (a file of user_id, item_id, timestamp) or a "
        "popularity column in the catalog"
    ]


def tune_space(cell: Cell, request: dict[str, Any]) -> dict[str, Any]:
    """The resolved search space of a cell's ``tune`` request (refused if the model has none)."""
    from skewbench.tuning import parse_space

    declared = TUNE_SPACES.get(cell.model.name, {})
    return parse_space(
        request.get("space", True),
        declared,
        fixed=cell.model.params,
        what=f"models.{cell.model.name}",
    )
