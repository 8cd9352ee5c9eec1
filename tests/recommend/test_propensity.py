"""IPS weights and popularity-aware negatives."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.errors import ConfigError
from skewbench.models.recommend.bpr import sample_negatives
from skewbench.treatments.propensity import ips_weights, negative_sampling_probs, propensities


def test_ips_weights_follow_the_formula_and_are_clipped():
    pop = np.array([100.0, 25.0, 4.0, 1.0])
    np.testing.assert_allclose(propensities(pop, 0.5), [1.0, 0.5, 0.2, 0.1])
    np.testing.assert_allclose(ips_weights(pop, eta=0.5, clip=100.0), [1.0, 2.0, 5.0, 10.0])
    np.testing.assert_allclose(ips_weights(pop, eta=0.5, clip=4.0), [1.0, 2.0, 4.0, 4.0])
    np.testing.assert_allclose(ips_weights(pop, eta=0.0), 1.0)
    with pytest.raises(ConfigError):
        ips_weights(pop, eta=-1)
    with pytest.raises(ConfigError):
        ips_weights(pop, clip=0.5)


def test_negative_sampling_probabilities_and_sampler():
    pop = np.array([9.0, 1.0, 0.0, 4.0])
    np.testing.assert_allclose(negative_sampling_probs(pop, 0.0), 0.25)
    np.testing.assert_allclose(negative_sampling_probs(pop, 0.5), np.array([3, 1, 1, 2]) / 7)
    # The sampler never returns a user's positive (when it has other items) and follows q.
    X = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 1, 1, 0]], dtype=np.float32))
    rng = np.random.default_rng(0)
    users = np.repeat([0, 1], 20_000)
    q = negative_sampling_probs(pop, 0.5)
    neg = sample_negatives(users, X, q, rng)
    assert not np.any((users == 0) & (neg == 0))
    assert not np.any((users == 1) & np.isin(neg, [1, 2]))
    # User 1 can only get items 0 and 3, in proportion 3 : 2.
    share = (neg[users == 1] == 0).mean()
    assert abs(share - 0.6) < 0.02
