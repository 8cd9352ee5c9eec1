"""Long-tail treatments on the torch heads: identities at model level, schedules, refusals.

The frozen head is fed fixed bag-of-words features (``_embed`` replaced) so the tests pin the
head's training logic in seconds; the encoder itself is pinned in test_encoders.py.
"""

import numpy as np
import pytest

from skewbench.errors import IncompatibleError
from skewbench.models.categorize import MiniLMFinetune, MiniLMFrozen, TfidfLR, Treatment
from skewbench.treatments.weights import class_weights

VOCAB = ["dress", "jeans", "knit", "coat", "swim", "sleep", "fit", "love", "size", "ok"]
SIZES = [80, 40, 20, 10, 6]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    texts, y = [], []
    for k, n in enumerate(SIZES):
        for _ in range(n):
            words = [VOCAB[k]] * 2 + list(rng.choice(VOCAB[5:], 4))
            texts.append(" ".join(words))
            y.append(k)
    return texts, np.array(y)


def _bow(texts):
    return np.array([[t.split().count(w) for w in VOCAB] for t in texts], dtype=np.float32)


@pytest.fixture(autouse=True)
def bow(monkeypatch):
    monkeypatch.setattr(MiniLMFrozen, "_embed", lambda self, texts: _bow(texts))


def _fit(name, params=None, **mp):
    texts, y = _data()
    m = MiniLMFrozen(Treatment.parse(name, params), seed=1, max_epochs=60, **mp)
    m.fit(texts, y, texts[::3], y[::3], len(SIZES))
    return m, m.predict_proba(texts)


def test_identities_at_model_level():
    _, none = _fit("none")
    _, la = _fit("logit_adjust_loss", {"tau": 1.0})
    _, bs = _fit("balanced_softmax")
    np.testing.assert_array_equal(la, bs)  # balanced softmax == logit-adjusted loss, τ = 1
    _, tn = _fit("tau_norm", {"tau": 0.0})
    np.testing.assert_array_equal(none, tn)  # τ = 0 normalisation changes nothing
    _, ld = _fit("ldam", {"max_margin": 0.0, "scale": 1.0})
    np.testing.assert_array_equal(none, ld)  # LDAM with margin 0 and s = 1 is cross-entropy
    _, t1 = _fit("tau_norm", {"tau": 1.0})
    assert not np.array_equal(none, t1)


def test_drw_switches_to_its_weights_at_the_start_epoch():
    m, _ = _fit("drw", {"start": 20, "scheme": "inverse"}, eval_every=5, patience=2)
    assert len(m.weight_history_) == 1
    c = np.array(SIZES, dtype=float)
    w = class_weights(c, "inverse")
    np.testing.assert_allclose(m.weight_history_[0], w * c.sum() / (c @ w), rtol=1e-12)
    assert m.epochs_ >= 20  # early stopping held until the switch


def test_adaptive_recall_moves_weights_within_bounds_toward_poorly_recalled_classes():
    m, _ = _fit("adaptive_recall", {"step": 2.0, "lower": 0.2, "upper": 3.0}, eval_every=5)
    hist = np.array(m.weight_history_)
    assert len(hist) >= 2
    assert hist.min() >= 0.2 - 1e-12 and hist.max() <= 3.0 + 1e-12


def test_crt_trains_on_a_class_balanced_sample_and_runs():
    m, p = _fit("crt")
    np.testing.assert_allclose(p.sum(1), 1.0)
    texts, y = _data()
    assert (p.argmax(1) == y).mean() > 0.8


def test_refusals():
    with pytest.raises(IncompatibleError, match="fixed loss and no epoch schedule"):
        TfidfLR.check(Treatment.parse("ldam"), {})
    with pytest.raises(IncompatibleError, match="raise epochs"):
        MiniLMFinetune.check(Treatment.parse("drw"), {"epochs": 1})
    with pytest.raises(IncompatibleError, match="epochs >= 2"):
        MiniLMFinetune.check(Treatment.parse("adaptive_recall"), {})
    MiniLMFinetune.check(Treatment.parse("drw"), {"epochs": 2})
