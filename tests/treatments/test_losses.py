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


def test_balanced_softmax_is_logit_adjusted_loss_with_tau_one():
    from skewbench.treatments.losses import balanced_softmax_loss

    z, y = _data(3)
    lp = torch.as_tensor(log_prior(np.array([50.0, 20.0, 10.0, 5.0, 1.0])), dtype=torch.float64)
    assert torch.equal(balanced_softmax_loss(z, y, lp), logit_adjusted_loss(z, y, lp, tau=1.0))
    # hand formula: −log(π_y e^{z_y} / Σ_j π_j e^{z_j})
    p = lp.exp()
    hand = -torch.log(p[y] * z.exp()[torch.arange(len(y)), y] / (p * z.exp()).sum(1)).mean()
    torch.testing.assert_close(balanced_softmax_loss(z, y, lp), hand)


def test_ldam_zero_margin_is_scaled_cross_entropy_and_margins_follow_n_quarter():
    from skewbench.treatments.losses import ldam_loss, ldam_margins

    z, y = _data(4)
    zero = torch.zeros(5, dtype=torch.float64)
    for s in (1.0, 30.0):
        assert torch.equal(ldam_loss(z, y, zero, scale=s), F.cross_entropy(s * z, y))
    m = ldam_margins(np.array([10000.0, 625.0, 16.0, 1.0]), max_margin=0.5)
    np.testing.assert_allclose(m, [0.05, 0.1, 0.25, 0.5])  # ∝ N^{-1/4}, max 0.5
    # a margin on the true class is a logit penalty: hand-computed on one example
    zz = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    out = ldam_loss(zz, torch.tensor([1]), torch.tensor([0.0, 0.5], dtype=torch.float64), 2.0)
    expected = -np.log(np.exp(3.0) / (np.exp(2.0) + np.exp(3.0)))  # s·(2 − 0.5) = 3 vs s·1 = 2
    np.testing.assert_allclose(out.item(), expected, rtol=1e-14)


def test_tau_normalisation():
    from skewbench.treatments.losses import tau_normalize

    w = np.array([[3.0, 0.0], [4.0, 2.0]])  # classes in columns: norms 5 and 2
    np.testing.assert_array_equal(tau_normalize(w, 0.0, class_axis=1), w)
    np.testing.assert_allclose(tau_normalize(w, 1.0, class_axis=1), [[0.6, 0.0], [0.8, 1.0]])
    np.testing.assert_allclose(tau_normalize(w.T, 0.5, class_axis=0), (w / [5**0.5, 2**0.5]).T)


def test_class_balanced_sample_is_uniform_over_classes():
    from skewbench.treatments.losses import class_balanced_sample

    y = np.array([0] * 900 + [1] * 90 + [2] * 10)
    idx = class_balanced_sample(y, 30000, np.random.default_rng(0))
    share = np.bincount(y[idx]) / idx.size
    np.testing.assert_allclose(share, 1 / 3, atol=0.01)
    assert set(idx[y[idx] == 2]) <= set(range(990, 1000))
