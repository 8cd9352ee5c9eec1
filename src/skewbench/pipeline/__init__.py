"""One pipeline for the list tasks (recommend, search): candidates → list-side treatment →
evaluation, after LensKit's scorer → ranker → re-ranker.

1. **Candidates** (:mod:`.candidates`): the task fits its model (tuned on validation when asked)
   and keeps each unit's top ``depth`` items with their scores as a :class:`Candidates`. Every
   list-side treatment of a (data, model, replicate) re-ranks the same untreated model's
   candidates, so they are kept in one process-wide LRU :class:`CandidateCache` keyed by
   :func:`candidate_key` (the untreated cell's key, the depth and the number of units).
2. **List-side treatment** (:mod:`skewbench.treatments.rerank`): a re-ranker takes a typed
   parameter object and a typed :class:`~skewbench.treatments.rerank.RerankContext` (candidate
   items and scores, item groups, protected group, per-unit targets, embeddings) and returns
   the top-k lists. What groups mean is the task's business; the kernels are shared.
3. **Evaluation** (:mod:`.evaluate`): per-unit ranking metrics of the final lists (averaged
   over a stochastic policy's samples), their means, and group means; the exposure and
   diversity families come from :mod:`skewbench.metrics`.

:func:`run_stages` runs the three in order; stage timings go to ``info["timings_s"]`` through
:class:`Timings`.
"""

from skewbench.pipeline.candidates import CandidateCache, Candidates, candidate_key
from skewbench.pipeline.evaluate import group_mean, per_unit_ranking, unit_means
from skewbench.pipeline.stages import run_stages
from skewbench.pipeline.timings import STAGES, Timings

__all__ = [
    "STAGES",
    "CandidateCache",
    "Candidates",
    "Timings",
    "candidate_key",
    "group_mean",
    "per_unit_ranking",
    "run_stages",
    "unit_means",
]
