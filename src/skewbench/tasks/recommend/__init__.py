"""The recommendation task: top-k recommendation under item-popularity imbalance.

Modules: :mod:`.config` (names, options, data set defaults), :mod:`.data` (loading),
:mod:`.split` (splits and the imbalance sweep), :mod:`.models` (build, fit, rank),
:mod:`.tune` (validation tuning), :mod:`.candidates` (the candidate stage of
:mod:`skewbench.pipeline`), :mod:`.treat` (list-side treatments), :mod:`.evaluate` (metrics),
:mod:`.run` (check, prepare, run) and :mod:`.report` (the report layout).

Pipeline of one cell (a pure function of the cell):

1. Data (``dataset.params``; cached per process):
   - ``completejourney``: household × product purchases (FUEL / coupon lines removed by the
     loader), one row per pair (weight = purchase lines). Iterative k-core on distinct pairs:
     every household ≥ ``user_k`` (default 10) products and every product ≥ ``item_k`` (default
     30) households — this bounds the catalog so EASE's dense items × items fits (sizes in
     ``info["kcore"]``). Split ``split="temporal"`` (default): a global time cut at the 80 %
     quantile of first-purchase times (``test_frac``), so test = (household, product) pairs first
     bought after the cut, cold users/items dropped; or ``split="ratio"``: per-user random 80/20.
     ``feedback="binary"`` (default) trains on 1/0, ``"count"`` on purchase counts.
   - ``movielens100k``: ratings ≥ 4 are the (binary) interactions, per-user random 80/20 split
     (``test_frac``), no k-core (``user_k``/``item_k`` default 1).
2. Controlled imbalance at a fixed training size: ``cell.imbalance`` = target item-popularity
   Gini (normaliser n, over the items present in train) of the TRAIN interactions only; test
   untouched. Every level of an experiment's sweep (``options.imbalance_levels``, set by the
   grid) trains on the same number of interactions n_train = the smallest of the sizes
   ``subsample_to_gini`` keeps for each level (data-side stream ``imbalance`` of that level;
   a natural level ``null`` in the sweep supplies the whole training split). Each level is then
   drawn at exactly n_train by ``subsample_to_gini_at_size``; the matched control
   (``cell.control == "uniform"``) and the natural level are one uniform random subsample of
   n_train (data-side stream ``control``, the same for every level of the replicate). A level
   that cannot be reached is refused by ``check`` (at validation, before any work) with the
   reachable range in the message; this loads the data set and is cached per process.
3. Validation (only for a model with ``tune:``): carved from the (subsampled) training split by
   the data set's protocol — Complete Journey temporal (the training interactions first bought
   in the last ``val_frac`` of the training period by time, cold pairs dropped), MovieLens
   per-user random (``val_frac`` of each user's training items, data-side stream
   ``validation``). Each trial fits on train-minus-validation and is scored by the validation
   metric (default ndcg@10) over users with a validation item; the chosen values are refit on
   the whole training split (``refit: true``) before test is touched, once. Tuning is done for
   the model without its treatment (training treatments ``ips``/``pop_negatives`` use the
   untreated model's tuned values, so a treatment cell changes one factor) and is reused by
   every re-ranker cell of the same base model. ``info["tuning"]`` holds chosen values and every
   trial's score.
4. Model (``MODELS``) fitted on the train matrix with seed ``cell.seed_int("model")``; full
   ranking over all items with the user's training items excluded (``topk(..., exclude=)``).
5. Treatment (``TREATMENTS``): ``ips`` / ``pop_negatives`` change BPR's training; re-rankers take
   the base model's top-``candidates`` (default 100) and produce the top-``k`` list. Caps of a
   re-ranker cell in ``info``: ``candidate_pool_size``, ``protected_group`` and
   ``share_units_no_protected_in_pool`` (share of evaluated users whose candidate pool holds no
   item of the protected group, so no re-ranker can show them one).
6. Metrics over test users with ≥ 1 test item: ``ndcg/recall/precision/hit_rate/map/mrr @
   cutoffs`` (default 5, 10, 20, 50), and at depth ``exposure_k`` (default 10)
   the exposure and diversity families, per-group exposure and relevance shares and
   ``non_head_share`` (share of list slots given to non-head items: mid and tail).

Item popularity = distinct training users; head/mid/tail by ``popularity_groups`` (head: the
most popular items holding 50 % of training interactions; tail: the least popular holding 20 %).
"""

from __future__ import annotations

from skewbench.tasks.recommend.config import (
    DATASETS,
    LIST_SIDE,
    MODELS,
    POLICIES,
    RANKING_METRICS,
    RERANKERS,
    SIZE_MATCHED_SWEEPS,
    TREATMENTS,
    TUNABLE,
    base_cell,
    options,
)
from skewbench.tasks.recommend.data import Data, item_embeddings
from skewbench.tasks.recommend.models import build_model, needs_embeddings
from skewbench.tasks.recommend.report import REPORT
from skewbench.tasks.recommend.run import check, check_data, prepare, run
from skewbench.tasks.recommend.split import load_split, validation_split
from skewbench.tasks.recommend.treat import aspect_weights

__all__ = [
    "DATASETS",
    "LIST_SIDE",
    "MODELS",
    "POLICIES",
    "RANKING_METRICS",
    "REPORT",
    "RERANKERS",
    "SIZE_MATCHED_SWEEPS",
    "TREATMENTS",
    "TUNABLE",
    "Data",
    "aspect_weights",
    "base_cell",
    "build_model",
    "check",
    "check_data",
    "item_embeddings",
    "load_split",
    "needs_embeddings",
    "options",
    "prepare",
    "run",
    "validation_split",
]
