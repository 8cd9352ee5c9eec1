"""Sharded evaluation (skewbench.pipeline.sharded) equals the unsharded one: per-unit values
bit for bit, the exposure and diversity metrics from merged per-item sums to rounding — in one
process and over Ray tasks."""

from __future__ import annotations

import numpy as np
import pytest

from skewbench.data.synthetic import zipf_matrix
from skewbench.metrics.diversity import diversity_metrics
from skewbench.metrics.exposure import exposure_metrics, position_weights
from skewbench.models.recommend import ItemKNN
from skewbench.pipeline.sharded import evaluate_shard, evaluate_sharded, ray_map, shard_units

METRICS, CUTOFFS, K = ["ndcg", "recall", "mrr"], [5, 10], 10


@pytest.fixture(scope="module")
def setup():
    train, test = zipf_matrix(np.random.default_rng(3), 400, 150, 6000, activity_a=0.5,
                              test_frac=0.2)  # fmt: skip
    model = ItemKNN(neighbours=20).fit(train, seed=0)
    units = np.flatnonzero(np.diff(test.indptr) > 0)
    whole = evaluate_shard(units, model, train, test, K, METRICS, CUTOFFS, position_weights(K))
    return model, train, test, units, whole


def _same(got, whole, n_items):
    np.testing.assert_array_equal(got.units, whole.units)
    for key, values in whole.per_unit.items():
        np.testing.assert_array_equal(got.per_unit[key], values)
    np.testing.assert_array_equal(got.stats.counts, whole.stats.counts)
    assert got.stats.n_lists == whole.stats.n_lists
    pop = np.arange(n_items, dtype=float)[::-1]
    tail = pop < n_items / 2
    lists = np.full((whole.units.size, K), -1)  # its shape only: the sums come from ``stats``
    a = exposure_metrics(lists, n_items, pop, tail=tail, stats=got.stats)
    b = exposure_metrics(lists, n_items, pop, tail=tail, stats=whole.stats)
    a |= diversity_metrics(lists, n_items, pop, stats=got.stats)
    b |= diversity_metrics(lists, n_items, pop, stats=whole.stats)
    assert a.keys() == b.keys() and len(a) > 8
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-15, nan_ok=True), key


def test_shards_partition_the_units():
    parts = shard_units(np.arange(10), 4)
    assert [p.tolist() for p in parts] == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]
    assert len(shard_units(np.arange(2), 5)) == 2


def test_sharded_equals_whole_in_one_process(setup):
    model, train, test, units, whole = setup
    got = evaluate_sharded(model, train, test, units, 7, K, METRICS, CUTOFFS, position_weights(K))
    _same(got, whole, train.shape[1])


@pytest.mark.slow  # starting Ray takes tens of seconds
def test_sharded_equals_whole_over_ray_tasks(setup):
    ray = pytest.importorskip("ray", reason="Ray is the optional extra skewbench[ray]")
    model, train, test, units, whole = setup
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        got = evaluate_sharded(model, train, test, units, 3, K, METRICS, CUTOFFS,
                               position_weights(K), map_fn=ray_map)  # fmt: skip
    finally:
        ray.shutdown()
    _same(got, whole, train.shape[1])
