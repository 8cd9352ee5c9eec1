import numpy as np
import torch
import torch.nn.functional as F

from skewbench.treatments.losses import (
    focal_loss,
    log_prior,
    logit_adjusted_loss,
    posthoc_logit_adjust,
    softmax,
    weighted_cross_entropy,
)


def _data(seed=0, n=50, k=5):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g, dtype=torch.float64) * 3, torch.randint(
        0, k, (n,), generator=g
    )


def test_focal_gamma_zero_is_cross_entropy():
    z, y = _data()
    assert torch.equal(focal_loss(z, y, gamma=0.0), F.cross_entropy(z, y))


def test_focal_gamma_zero_with_alpha_is_weighted_cross_entropy():
    z, y = _data(1)
    a = torch.tensor([1.0, 2.0, 0.5, 3.0, 1.5], dtype=torch.float64)
    assert torch.equal(focal_loss(z, y, gamma=0.0, alpha=a), weighted_cross_entropy(z, y, a))


def test_focal_hand_computed():
    z = torch.tensor([[0.0, np.log(3.0)]], dtype=torch.float64)  # p = (1/4, 3/4)
    y = torch.tensor([1])
    expected = -((1 - 0.75) ** 2) * np.log(0.75)
    np.testing.assert_allclose(focal_loss(z, y, gamma=2.0).item(), expected, rtol=1e-14)


def test_weighted_ce_is_weighted_mean():
    z, y = _data(2)
    w = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)
    per = F.cross_entropy(z, y, reduction="none")
    torch.testing.assert_close(weighted_cross_entropy(z, y, w), (w[y] * per).sum() / w[y].sum())


def test_logit_adjusted_loss_adds_tau_log_prior():
    z, y = _data(3)
    lp = torch.as_tensor(log_prior(np.array([50, 20, 10, 5, 1])))
    torch.testing.assert_close(
        logit_adjusted_loss(z, y, lp, tau=1.5), F.cross_entropy(z + 1.5 * lp, y)
    )
    torch.testing.assert_close(logit_adjusted_loss(z, y, lp, tau=0.0), F.cross_entropy(z, y))


def test_posthoc_tau_zero_changes_nothing():
    z = np.random.default_rng(0).normal(size=(40, 6))
    lp = log_prior(np.array([100, 50, 20, 10, 5, 1]))
    adj = posthoc_logit_adjust(z, lp, 0.0)
    np.testing.assert_array_equal(adj, z)
    np.testing.assert_array_equal(softmax(adj), softmax(z))
    np.testing.assert_array_equal(adj.argmax(1), z.argmax(1))


def test_posthoc_moves_predictions_to_rare_classes():
    z = np.zeros((1, 2))  # a tie broken by the prior: the rare class wins after adjustment
    lp = log_prior(np.array([90, 10]))
    p = softmax(posthoc_logit_adjust(z, lp, 1.0))
    np.testing.assert_allclose(p, [[0.1, 0.9]])
