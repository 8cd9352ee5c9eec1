"""PDA and MACR: identities of their parts and the direction of their inference knobs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skewbench.errors import ConfigError
from skewbench.metrics.topk import topk
from skewbench.models.recommend.causal import CausalMF, elu_prime


def _clustered(seed=0, n_users=120, n_items=60, clusters=4, per_user=10):
    """Users prefer their cluster's items; within and across clusters items are Zipf-popular,
    so a model can trade cluster match against popularity."""
    rng = np.random.default_rng(seed)
    item_cluster = np.arange(n_items) % clusters
    pop = (np.arange(n_items) + 1.0) ** -1.0
    rows, cols = [], []
    for u in range(n_users):
        w = pop * np.where(item_cluster == u % clusters, 4.0, 1.0)
        picks = rng.choice(n_items, size=per_user, replace=False, p=w / w.sum())
        rows += [u] * per_user
        cols += picks.tolist()
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_users, n_items))


def _arp(model, X, k=5):
    top = topk(model.score(np.arange(X.shape[0])), k, exclude=X)
    pop = np.asarray(X.sum(axis=0)).ravel()
    return float(pop[top].mean())


def test_elu_prime():
    x = torch.tensor([-2.0, 0.0, 1.5])
    np.testing.assert_allclose(elu_prime(x).numpy(), [np.exp(-2.0), 1.0, 2.5], rtol=1e-6)


def test_pda_infer_gamma_reinjects_popularity():
    X = _clustered()
    m = CausalMF("pda", factors=8, epochs=15, lr=0.02, batch_size=256).fit(X, seed=0)
    arps = []
    for g in (0.0, 0.5, 1.0):
        m.infer_gamma = g
        arps.append(_arp(m, X))
    assert arps[0] < arps[1] < arps[2]
    assert m.history_[-1] < m.history_[0]
    # PD (γ̃ = 0) ranks exactly by the matching score f = ⟨P_u, Q_i⟩ (ELU' is monotone)
    m.infer_gamma = 0.0
    f = m.P_[:5] @ m.Q_.T
    np.testing.assert_array_equal(topk(m.score(np.arange(5)), 10), topk(f.astype(np.float32), 10))


def test_macr_counterfactual_demotes_popular_items():
    X = _clustered(seed=1)
    m = CausalMF("macr", factors=8, epochs=15, lr=0.02, batch_size=256).fit(X, seed=0)
    factual = _arp(m, X)
    m.c = 0.9
    assert _arp(m, X) < factual
    # the item gate learns popularity: it correlates with the training counts
    counts = np.asarray(X.sum(axis=0)).ravel()
    assert np.corrcoef(m.item_gate_, counts)[0, 1] > 0.5


def test_deterministic_and_validated():
    X = _clustered()
    a = CausalMF("macr", factors=4, epochs=2, batch_size=256).fit(X, seed=5).score(np.arange(4))
    b = CausalMF("macr", factors=4, epochs=2, batch_size=256).fit(X, seed=5).score(np.arange(4))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match="pda"):
        CausalMF("ipw")
    with pytest.raises(ConfigError, match=r"params\.c"):
        CausalMF("macr", c=2.0)
