"""The report's LLM section: facts from both tasks' info layouts, the position-bias table and
figure (one probe per data set, model and seed, whatever the treatments)."""

from __future__ import annotations

import pandas as pd
import pytest

from skewbench.report.llm_blocks import (
    first_stage_label,
    llm_blocks,
    llm_facts,
    model_params,
    short_label,
)
from skewbench.report.render import Figure
from skewbench.runner.cell import Component

LISTWISE_PARAMS = {"depth": 3, "first_stage": "bm25", "mode": "listwise", "orders": 3}
LISTWISE = Component("llm_rerank", LISTWISE_PARAMS).label


def _rec_info(calls, bias=None):
    mi = {"model_id": "m", "prompts": 0, "model_calls": calls, "parse_failures": 1}
    return {"model_info": mi | ({"position_bias": bias} if bias else {})}


def test_facts_are_read_from_both_info_layouts():
    assert llm_facts(_rec_info(4))["model_calls"] == 4
    search = {"train_info_llm_model_calls": 2, "train_info_llm_prompts": 6}
    assert llm_facts(search)["prompts"] == 6 and llm_facts(search)["position_bias"] is None
    assert llm_facts({"timings_s": {}}) is None


def test_labels_come_from_the_stored_parameters():
    assert short_label(LISTWISE_PARAMS) == "bm25 → LLM listwise, orders 3, depth 3"
    assert first_stage_label(LISTWISE_PARAMS) == "bm25"
    ease = {"depth": 20, "first_stage": "ease", "first_stage_params": {"l2": 500}, "pop_tau": 1.0}
    assert first_stage_label(ease) == "ease(l2=500)"  # the runner's label of EASE alone
    assert short_label(ease) == "ease → LLM pointwise, depth 20, pop_tau 1"
    assert first_stage_label({}) is None
    data = pd.DataFrame({"model": [LISTWISE, LISTWISE, "bm25"], "key": ["a", "b", "c"]})
    configs = {k: {"model": {"name": "x", "params": LISTWISE_PARAMS}} for k in "ab"}
    configs["c"] = {"model": {"name": "bm25", "params": {}}}
    assert model_params(data, configs) == {LISTWISE: LISTWISE_PARAMS, "bm25": {}}


def test_position_bias_table_and_figure(tmp_path):
    b0 = {"mean_output_position": [0.0, 1.0, 2.0], "spearman": 1.0}  # the input order copied
    b1 = {"mean_output_position": [1.0, 1.0, 1.0], "spearman": 0.0}  # order ignored
    rows = [
        # two seeds of one listwise model; the xquad cell repeats seed 0's probe
        ("none", 0, _rec_info(3, b0)),
        ("xquad", 0, _rec_info(0, b0)),
        ("none", 1, _rec_info(3, b1)),
    ]
    data = pd.DataFrame(
        [
            {
                "key": f"k{j}",
                "dataset": "d",
                "model": LISTWISE,
                "treatment": t,
                "seed": s,
                "info": i,
            }
            for j, (t, s, i) in enumerate(rows)
        ]
        + [
            {
                "key": "b",
                "dataset": "d",
                "model": "bm25",
                "treatment": "none",
                "seed": 0,
                "info": {},
            }
        ]
    )
    configs = {f"k{j}": {"model": {"params": LISTWISE_PARAMS}} for j in range(len(rows))}
    blocks = llm_blocks(None, data, "search", tmp_path, configs)  # bm25 cell: no store read
    facts = blocks[2].frame
    assert facts["model_calls"].tolist() == ["6"]  # untreated cells, summed over seeds
    img = next(b for b in blocks if isinstance(b, Figure))
    assert img.path.suffix == ".svg" and "<svg" in img.path.read_text()
    table = blocks[-1].frame
    assert len(table) == 1 and table["seeds"].iloc[0] == "2"
    # mean over the two seeds, 1-based: input 1 → (1 + 2)/2, input 3 → (3 + 2)/2
    assert float(table["mean output pos. of input 1"].iloc[0]) == pytest.approx(1.5)
    assert float(table["of input 3"].iloc[0]) == pytest.approx(2.5)
    assert float(table["spearman ρ"].iloc[0]) == pytest.approx(0.5)
    assert table["parse failures"].iloc[0] == "2"  # seed 0 once + seed 1


def test_no_llm_cells_no_section(tmp_path):
    data = pd.DataFrame(
        [{"dataset": "d", "model": "bm25", "treatment": "none", "seed": 0, "info": {}}]
    )
    assert llm_blocks(None, data, "search", tmp_path, {}) == []
