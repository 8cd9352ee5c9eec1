"""What the report shows for each task: the layout each task module declares as ``REPORT``
(:class:`~skewbench.runner.tasks.TaskReport`), looked up by task name."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from skewbench.runner.tasks import TASKS, TaskReport, report_spec

__all__ = ["REPORTS", "TaskReport", "configured_primary", "for_metrics"]


class _Reports(Mapping[str, TaskReport]):
    """Task name → its declared :class:`TaskReport`, imported on first use."""

    def __getitem__(self, task: str) -> TaskReport:
        if task not in TASKS:
            raise KeyError(task)
        return report_spec(task)

    def __iter__(self) -> Iterator[str]:
        return iter(TASKS)

    def __len__(self) -> int:
        return len(TASKS)


REPORTS: Mapping[str, TaskReport] = _Reports()


_CUT = re.compile(r"^(?P<name>[a-z_]+)@(?P<cut>\d+)(?P<rest>.*)$")


def configured_primary(configs: Iterable[Mapping[str, Any]]) -> str | None:
    """The ``primary:`` option the cells of one task carry (the first one set), if any."""
    return next(
        (str(c["options"]["primary"]) for c in configs if c.get("options", {}).get("primary")), None
    )


def for_metrics(spec: TaskReport, present: Iterable[str], primary: str | None = None) -> TaskReport:
    """``spec`` with its cutoff metrics moved to the cutoffs a run computed.

    The primary metric is ``primary`` when given (the ``primary:`` option), else the declared
    one if the run computed it, else the same metric at the run's first cutoff. Any other
    ``metric@k…`` the run did not compute becomes ``metric@<primary's cutoff>…`` when that was
    computed (``cutoffs: [5]`` turns ``recall@20`` and ``ndcg@10_tail`` into ``recall@5`` and
    ``ndcg@5_tail``); what is still absent is left out by the blocks, as before."""
    have = [str(m) for m in present]
    cuts = [int(m.group("cut")) for m in map(_CUT.match, have) if m and not m.group("rest")]
    lead = _CUT.match(spec.primary)
    if primary is None and lead and spec.primary not in have and cuts:
        primary = f"{lead.group('name')}@{cuts[0]}"
    if primary is None or primary == spec.primary:
        return spec
    cut = _CUT.match(primary)

    def moved(metric: str | None) -> str | None:
        m = _CUT.match(metric or "")
        if metric == spec.primary:
            return primary
        if metric is None or metric in have or not m or not cut:
            return metric
        new = f"{m.group('name')}@{cut.group('cut')}{m.group('rest')}"
        return new if new in have else metric

    return replace(
        spec,
        primary=primary,
        columns=list(dict.fromkeys([primary, *(str(moved(c)) for c in spec.columns)])),
        unit_metric=moved(spec.unit_metric),
        tradeoff=[(str(moved(a)), str(moved(b))) for a, b in spec.tradeoff],
        vs_imbalance=list(dict.fromkeys(str(moved(m)) for m in spec.vs_imbalance)),
    )
