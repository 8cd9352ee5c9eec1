r"""LLM re-ranking policies over a first stage's top-n candidates, and their bias probes.

- :func:`pointwise_rerank` — each (context, candidate) prompt gets the scorer's yes/no
  log-odds; candidates are sorted by it (ties: first-stage order). Order-free by design.
- :func:`listwise_rerank` — a permutation prompt (RankGPT) over a window of ``window``
  candidates, slid from the bottom of the list to the top in steps of ``step`` so the best
  items bubble up (Sun et al. 2023). Each answer is parsed by :func:`parse_permutation`; an
  answer with no usable number is a *failure* and leaves that window in its input order.
- :func:`bootstrap_listwise` — candidate-order bootstrapping (Hou et al., ECIR 2024): the
  listwise ranking is run on ``orders`` seeded shuffles of the candidates and aggregated by
  Borda count (an item at position j of n gets n − j points; ties: first-stage order).
  :func:`bootstrap_listwise_many` does the same for many units at once, sending the windows
  of every (unit, order) chain that are due together, so the model generates in batches; it
  draws the shuffles in the same order and gives the same answers as one unit at a time.
- :func:`position_bias` — how an item's output rank depends on where it stood in the prompt:
  for each shuffled input order, (input position, output position) pairs, summarised as the
  mean output position per input position and the Spearman correlation between the two.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
from scipy.stats import spearmanr

from skewbench.models.llm import prompts as P

_NUMBER = re.compile(r"\[?\s*(\d+)\s*\]?")


def check_policy(mode: str, orders: int, pop_tau: float = 0.0, **counts: int) -> None:
    """Refuse an unknown mode, order bootstrapping without a listwise prompt, ``orders`` and
    every count in ``counts`` (depth, window, step, history_items …) below 1, and a negative
    ``pop_tau``: the one check of an LLM re-ranker's settings, for recommend and search."""
    from skewbench.errors import ConfigError
    from skewbench.models.recommend.base import check_positive

    if mode not in ("pointwise", "listwise"):
        raise ConfigError(f"model.params.mode: 'pointwise' or 'listwise', got {mode!r}")
    if orders > 1 and mode != "listwise":
        raise ConfigError("model.params.orders: candidate-order bootstrapping needs mode listwise")
    for name, value in {"orders": orders, **counts}.items():
        check_positive(name, value)
    check_positive("pop_tau", pop_tau, allow_zero=True)


def parse_permutation(text: str, n: int) -> tuple[list[int], bool]:
    """0-based order of ``n`` candidates from an answer like "[2] > [1] > [3]".

    Valid numbers 1…n are taken in order of first appearance; the ones never named follow in
    their input order. Returns (order, ok) with ok = False when the answer named no valid
    candidate (then the order is the input order).
    """
    seen: list[int] = []
    for m in _NUMBER.finditer(text):
        v = int(m.group(1))
        if 1 <= v <= n and v - 1 not in seen:
            seen.append(v - 1)
    ok = bool(seen)
    return seen + [i for i in range(n) if i not in seen], ok


def pointwise_rerank(
    scorer,
    contexts: Sequence[str | Sequence[str]],
    candidates: np.ndarray,
    texts: Sequence[str],
    task: str,
) -> tuple[np.ndarray, np.ndarray]:
    """(re-ranked items, their LLM scores) per unit; −1 padding stays at the end."""
    prompts, where = [], []
    for u, row in enumerate(candidates):
        for j, item in enumerate(row):
            if item >= 0:
                prompt = (
                    P.pointwise_search(cast(str, contexts[u]), texts[item])
                    if task == "search"
                    else P.pointwise_recommend(contexts[u], texts[item])
                )
                prompts.append(prompt)
                where.append((u, j))
    scores = np.full(candidates.shape, -np.inf)
    if prompts:
        values = scorer.yes_no(prompts)
        for (u, j), v in zip(where, values, strict=True):
            scores[u, j] = v
    order = np.argsort(-scores, axis=1, kind="stable")
    return np.take_along_axis(candidates, order, 1), np.take_along_axis(scores, order, 1)


def _rank_window(
    generate: Callable[[list[str]], list[str]], context: str, items: list[int], texts: Sequence[str]
) -> tuple[list[int], bool]:
    answer = generate([P.listwise(context, [texts[i] for i in items])])[0]
    order, ok = parse_permutation(answer, len(items))
    return [items[i] for i in order], ok


def listwise_rerank(
    scorer,
    context: str,
    items: Sequence[int],
    texts: Sequence[str],
    window: int = 10,
    step: int = 5,
) -> tuple[list[int], int]:
    """Sliding-window listwise ranking of one unit's candidates; returns (order, failures)."""
    order = [int(i) for i in items if i >= 0]
    failures = 0
    end = len(order)
    while True:
        start = max(0, end - window)
        ranked, ok = _rank_window(scorer.generate, context, order[start:end], texts)
        order[start:end] = ranked
        failures += not ok
        if start == 0:
            return order, failures
        end -= step


def borda(orders: Sequence[Sequence[int]], reference: Sequence[int]) -> list[int]:
    """Borda aggregation of several orders of the same items; ties by ``reference`` order."""
    n = len(reference)
    points = {item: 0 for item in reference}
    for order in orders:
        for j, item in enumerate(order):
            points[item] += n - j
    rank = {item: r for r, item in enumerate(reference)}
    return sorted(reference, key=lambda i: (-points[i], rank[i]))


def bootstrap_listwise(
    scorer,
    context: str,
    items: Sequence[int],
    texts: Sequence[str],
    orders: int,
    rng: np.random.Generator,
    window: int = 10,
    step: int = 5,
) -> tuple[list[int], int, list[list[int]], list[list[int]]]:
    """Listwise ranking over ``orders`` input orders, Borda-aggregated; the first input order
    is the first-stage order itself, the others seeded shuffles. Returns (order, failures,
    input orders, output orders)."""
    base = [int(i) for i in items if i >= 0]
    ins, outs, failures = [], [], 0
    for b in range(orders):
        shuffled = base if b == 0 else [base[i] for i in rng.permutation(len(base))]
        out, f = listwise_rerank(scorer, context, shuffled, texts, window, step)
        ins.append(shuffled)
        outs.append(out)
        failures += f
    return borda(outs, base), failures, ins, outs


def bootstrap_listwise_many(
    scorer,
    contexts: Sequence[str],
    candidates: Sequence[Sequence[int]] | np.ndarray,
    texts: Sequence[str],
    orders: int,
    rng: np.random.Generator,
    window: int = 10,
    step: int = 5,
) -> tuple[list[list[int]], list[int], list[list[int]], list[list[int]]]:
    """:func:`bootstrap_listwise` over every unit (row of ``candidates``, −1 = padding), the
    windows of all chains batched. Returns (order per unit, failures per unit, input orders,
    output orders) — the last two pooled over units for :func:`position_bias`."""
    bases = [[int(i) for i in row if i >= 0] for row in candidates]
    chains: list[list[Any]] = []  # [unit, order list, end] per (unit, input order)
    ins: list[list[int]] = []
    for u, base in enumerate(bases):
        for b in range(orders):
            shuffled = base if b == 0 else [base[i] for i in rng.permutation(len(base))]
            ins.append(list(shuffled))
            chains.append([u, list(shuffled), len(shuffled)])
    failures = [0] * len(bases)
    active = [c for c in chains if c[2] > 0]
    while active:
        spans = [(max(0, end - window), end) for _, _, end in active]
        prompts = [
            P.listwise(contexts[u], [texts[i] for i in order[a:b]])
            for (u, order, _), (a, b) in zip(active, spans, strict=True)
        ]
        answers = scorer.generate(prompts)
        for chain, (a, b), answer in zip(active, spans, answers, strict=True):
            u, order, _ = chain
            perm, ok = parse_permutation(answer, b - a)
            order[a:b] = [order[a + i] for i in perm]
            failures[u] += not ok
            chain[2] = 0 if a == 0 else b - step
        active = [c for c in active if c[2] > 0]
    outs = [c[1] for c in chains]
    per_unit = [borda(outs[u * orders : (u + 1) * orders], base) for u, base in enumerate(bases)]
    return per_unit, failures, ins, outs


def position_bias(inputs: Sequence[Sequence[int]], outputs: Sequence[Sequence[int]]) -> dict:
    """Mean output position per input position, and Spearman ρ(input, output position),
    pooled over (input order, output order) pairs of the same items."""
    xs, ys = [], []
    for inp, out in zip(inputs, outputs, strict=True):
        pos = {item: j for j, item in enumerate(out)}
        for j, item in enumerate(inp):
            xs.append(j)
            ys.append(pos[item])
    xs_a, ys_a = np.asarray(xs), np.asarray(ys)
    n = int(xs_a.max()) + 1 if xs_a.size else 0
    mean_out = [float(ys_a[xs_a == j].mean()) for j in range(n)]
    rho = float(spearmanr(xs_a, ys_a).statistic) if xs_a.size > 2 else float("nan")
    return {"mean_output_position": mean_out, "spearman": rho}
