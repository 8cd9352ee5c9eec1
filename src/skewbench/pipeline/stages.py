"""The pipeline's three stages run in order and timed: candidates → treatment → evaluation."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from skewbench.pipeline.candidates import Candidates
from skewbench.pipeline.timings import Timings

T = TypeVar("T")
E = TypeVar("E")


def run_stages(
    timings: Timings,
    candidates: Callable[[], Candidates],
    treat: Callable[[Candidates], T],
    evaluate: Callable[[T], E],
) -> tuple[Candidates, T, E]:
    """(candidates, treated lists, evaluation). The candidate stage reports its own seconds
    (``tune``, ``fit``, ``score``: a cached base model keeps the times of its one fit); the
    treatment counts as ``rerank``, the evaluation as ``metrics``."""
    cand = candidates()
    for stage, seconds in cand.seconds.items():
        timings.add(stage, seconds)
    with timings.stage("rerank"):
        treated = treat(cand)
    with timings.stage("metrics"):
        evaluated = evaluate(treated)
    return cand, treated, evaluated
