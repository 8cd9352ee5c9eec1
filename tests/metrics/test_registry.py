"""Every key the metric functions return has a registry entry; the README table renders."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.metrics.diversity import diversity_metrics
from skewbench.metrics.expected_exposure import awrf, expected_exposure
from skewbench.metrics.exposure import exposure_metrics
from skewbench.metrics.ranking import METRICS, ranking_metrics
from skewbench.metrics.registry import REGISTRY, metric_table_markdown, spec_for_key


def test_every_returned_key_is_registered():
    ranked = np.array([[0, 1, 2], [3, 0, -1]])
    truth = sp.csr_matrix(np.array([[1.0, 0, 0, 2], [0, 1, 0, 0]]))
    groups = {"brand": np.array(["A", "B", "A", "C"])}
    seen = set()
    for key in ranking_metrics(ranked, truth, METRICS, [1, 3]):
        assert spec_for_key(key).function is ranking_metrics
        seen.add(spec_for_key(key).name)
    ex = exposure_metrics(
        ranked, 4, np.array([5.0, 3, 1, 1]), groups, truth, tail=np.array([0, 0, 1, 1], bool)
    )
    for key in ex:
        assert spec_for_key(key).function is exposure_metrics, key
        seen.add(spec_for_key(key).name)
    dv = diversity_metrics(
        ranked, 4, np.array([5.0, 3, 1, 1]), np.array([0, 0, 1, 1]), np.eye(4), groups=groups
    )
    for key in dv:
        assert spec_for_key(key).function is diversity_metrics, key
        seen.add(spec_for_key(key).name)
    for key in expected_exposure(ranked, truth, 4):  # the keys the recommend task stores
        assert spec_for_key(key).function is expected_exposure, key
        seen.add(spec_for_key(key).name)
    awrf(ranked, np.array([0, 0, 1, 1]), np.array([0.5, 0.5]))
    assert spec_for_key("awrf_popularity").function is awrf
    seen.add("awrf")
    assert seen == set(REGISTRY)  # and every entry is produced by something
    with pytest.raises(KeyError):
        spec_for_key("ndcg")


def test_markdown_table():
    table = metric_table_markdown()
    rows = table.strip().splitlines()
    assert len(rows) == 2 + len(REGISTRY)
    assert rows[1] == "|---|---|---|---|"
    assert all(r.startswith("| ") and r.count(" | ") >= 3 for r in rows[:1] + rows[2:])
    assert "`ndcg@k`" in table and "log2(r+1)" in table and "`exposure_share[g=v]`" in table


def test_terminal_table_lists_every_metric_a_report_shows(capsys):
    from skewbench.cli import main
    from skewbench.metrics.registry import OTHER, metric_table_text

    text = metric_table_text(80)
    for spec in REGISTRY.values():
        assert spec.key in text
    for key, _, _ in OTHER:
        assert key in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert main(["metrics", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("| metric | family |")


def test_every_metric_says_how_to_read_it():
    """Direction, range, unit, display name and glossary line for every entry, and for every
    metric key the pinned recommend/search cells and the categorize task produce."""
    import json

    from skewbench.metrics.classification import METRIC_NAMES
    from skewbench.metrics.registry import META, REPORTED, display_name, metric_info
    from tests.pipeline.pinned import PATH

    assert set(META) == set(REGISTRY) | set(REPORTED)
    for name, meta in META.items():
        lo, hi = meta.range
        assert lo < hi and meta.display and meta.glossary, name
        assert meta.better in ("higher", "lower", "neither"), name
    keys = set(METRIC_NAMES) | {"bal_macro_f1", "bal_ece"}
    for cell in json.loads(PATH.read_text()).values():
        keys |= set(cell["metrics"])
    for key in keys:
        assert metric_info(key).meta.display, key
    assert display_name("ndcg@10_tail") == "nDCG@10 (tail)"
    assert display_name("exposure_share[brand=Private]") == "Exposure share [brand=Private]"
    assert metric_info("bal_ece").name == "ece"
    with pytest.raises(KeyError):
        metric_info("ndcg")
