"""Search task: derived product-search queries, lexical/dense/trained retrievers, fair re-ranking.

Modules: :mod:`.config` (names, options, checks), :mod:`.data` (data and item groupings),
:mod:`.models` (retrievers), :mod:`.tune` (validation tuning), :mod:`.candidates` (the
candidate stage of :mod:`skewbench.pipeline`), :mod:`.treat` (list-side treatments),
:mod:`.evaluate` (metrics), :mod:`.run` (prepare, run) and :mod:`.report` (report layout).

Datasets
- ``completejourney``: queries built from purchases and the taxonomy (not a query log; see
  :mod:`skewbench.data.queries`). Params: ``queries`` "type" (default) | "personalised",
  ``test_weeks`` (8), ``min_item_count`` (0 = all 91.6k products; the quick config uses 20:
  products bought at least 20 times in the training period, 11.8k products, 5.5k distinct
  texts), ``max_queries`` (a seeded sample of the test queries; personalised default 1000), ``index_type`` (False),
  ``head_share`` (0.5), ``query_split`` ("unseen" | "seen"), ``test_share`` (0.3),
  ``validation_share`` (0.15).
- ``esci``: the Amazon ESCI parquet files (:mod:`skewbench.data.sources.esci`); params
  ``path`` (required), ``version``, ``split``, ``locale``, ``gains``, ``max_queries``,
  ``retrieval`` ("judged" = task 1, each query ranks its own judged products | "catalogue"),
  ``validation_share`` (0.15).

Held out (details in :mod:`skewbench.data.queries`): test relevance comes from the test period
only, and by default (``query_split: unseen``) no test query's text is the text of any query a
model is fitted on (fine-tuned and cross-encoder training pairs, tuning) — query texts are split
into train / validation / test folds from the data-side ``split`` stream, so each replicate has
its own folds and ``query_id`` (the query text, or household + text) names the same query in
every replicate. ``query_split: seen`` asks the training-fold texts instead (memorisation).

Models (``MODELS``; params in their modules under :mod:`skewbench.models.search`): ``bm25``,
``dense`` (``index`` exact|hnsw), ``hybrid`` (RRF of bm25 + dense, k_rrf 60), ``bm25_pop`` /
``dense_pop`` (popularity prior, ``w``), ``personal`` (query + household history),
``finetuned`` (MNRL bi-encoder), ``cross_encoder`` (re-ranks ``first_stage`` top ``depth``).

Treatments (``TREATMENTS``), applied to each query's top ``candidates`` (100) list:
``none``; ``fair`` (FA*IR), ``xquad``, ``calibrated`` via :func:`skewbench.treatments.rerank.rerank`;
``group_norm`` (z-score per group, :mod:`skewbench.models.search.group_norm`). Param ``group``:
``brand`` (Private label = 1, the protected group), ``manufacturer`` or ``category``
(product_category) — for the last two, 1 = tail: the manufacturers/categories outside the
shortest most-bought set that holds 50 % of training purchase lines (ESCI: brands by number of
catalog products). Other params go to the re-ranker; FA*IR's ``p`` defaults to the protected
group's share of the catalog; calibrated's ``target`` is the group distribution of the query's
own candidate list (the top-k should mirror the candidate pool).

Options: ``k`` (10, list length), ``cutoffs`` ([k]), ``candidates`` (max(100, k)).

Tuning (``tune:`` on a model, :mod:`skewbench.tuning`): the spaces are ``TUNE_SPACES`` (declared
on the model classes: bm25 k1/b, bm25_pop and dense_pop w, hybrid k_rrf, finetuned
epochs/lr, personal alpha/beta). Each trial fits the model on the validation view and scores
the validation queries untreated (:func:`validation_score`, default NDCG@10); the chosen values
are refitted on train (+ the validation fold when ``refit``) and test is ranked once.
``info["tuning"]`` holds the trials and the choice; every treatment of a (model, replicate)
re-ranks the same tuned model's candidates.

Units and counting: every test query is a unit; one with no relevant product (ESCI queries
judged only Irrelevant) scores 0 and is counted (trec_eval), ``info["n_queries_no_relevant"]``.
Re-ranker cells also store what caps them: ``candidate_pool_size`` (the ``candidates`` option),
``candidate_pool_size_mean`` (real candidates per query), ``protected_group`` and
``share_units_no_protected_in_pool``. ``info["n_train_queries"]``: distinct training query
texts a trained encoder was fitted on (0 for the others); ``n_train_queries_available``: the
training queries offered (train fold, plus validation fold when refitted).


Metrics (every cell): per cutoff c ``ndcg@c`` (linear gain = grade), ``recall@c``, ``mrr@c``,
and ``ndcg@c_head``/``ndcg@c_tail``/``recall@c_head``/``recall@c_tail`` (mean over the query
group; NaN if empty); over the top-k lists: ``exposure_gini`` (items, log position weights,
engine), ``exposure_gini_manufacturer`` (Gini, normaliser n, of the summed item exposure per
manufacturer over all catalog manufacturers), ``private_share`` (position-weighted share of
exposure on Private-label products; NaN for ESCI), ``arp`` (mean training popularity).
``info``: sizes, ``timings_s`` (stages data, tune, fit, score = retrieval of the candidates,
rerank, metrics, total) and ``queries_per_s`` (test queries over the score time), encoding items/s, training stats and tie counts (``ties_within``:
adjacent equal-score pairs in the candidate lists; ``ties_boundary``: items outside a list
scoring exactly its last score, i.e. shut out by the item-index tie-break).
"""

from __future__ import annotations

from skewbench.tasks.search.candidates import base_candidates
from skewbench.tasks.search.config import (
    DATASETS,
    GROUPS,
    MODELS,
    RANK_METRICS,
    RERANKERS,
    TREATMENTS,
    TUNABLE,
    TUNE_SPACES,
    VALIDATION_METRIC,
    check,
)
from skewbench.tasks.search.data import fit_cell, group_values, item_groups, load_data
from skewbench.tasks.search.models import batch, build_model, fit_data
from skewbench.tasks.search.report import REPORT
from skewbench.tasks.search.run import prepare, run
from skewbench.tasks.search.treat import apply_treatment, xquad_over_values
from skewbench.tasks.search.tune import tune, validation_score

__all__ = [
    "DATASETS",
    "GROUPS",
    "MODELS",
    "RANK_METRICS",
    "REPORT",
    "RERANKERS",
    "TREATMENTS",
    "TUNABLE",
    "TUNE_SPACES",
    "VALIDATION_METRIC",
    "apply_treatment",
    "base_candidates",
    "batch",
    "build_model",
    "check",
    "fit_cell",
    "fit_data",
    "group_values",
    "item_groups",
    "load_data",
    "prepare",
    "run",
    "tune",
    "validation_score",
    "xquad_over_values",
]
