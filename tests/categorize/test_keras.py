"""The source document's Keras model: tokenizer, architecture, treatments, determinism."""

import numpy as np
import pytest

from skewbench.errors import IncompatibleError
from skewbench.models.categorize import KerasEmbedMLP, Treatment
from skewbench.models.categorize.keras_mlp import build_vocabulary, import_keras, to_ids

WORDS = ["dress hem", "jeans denim", "knit wool", "coat hood"]


def _data(seed=0, sizes=(60, 30, 12, 6)):
    rng = np.random.default_rng(seed)
    texts, y = [], []
    for k, n in enumerate(sizes):
        for _ in range(n):
            texts.append(f"{WORDS[k]} " + " ".join(rng.choice(["ok", "fit", "love"], 3)))
            y.append(k)
    return texts, np.array(y)


def _fit(name="none", params=None, **mp):
    texts, y = _data()
    kw = {"epochs": 3, "vocab_size": 40, "max_len": 8, **mp}
    m = KerasEmbedMLP(Treatment.parse(name, params), seed=7, **kw)
    m.fit(texts, y, texts[::4], y[::4], 4)
    return m, m.predict_proba(texts)


def test_tokenizer_vocabulary_and_ids():
    vocab = build_vocabulary(["b a a", "c b a", "d"], vocab_size=4)
    assert vocab == {"a": 2, "b": 3}  # top 2 by count; ids 0 pad, 1 OOV
    ids = to_ids(["A, b! zz a", ""], vocab, 3)
    np.testing.assert_array_equal(ids, [[2, 3, 1], [0, 0, 0]])


def test_architecture_is_the_source_model():
    m, p = _fit()
    layers = [type(layer).__name__ for layer in m.model_.layers]
    assert layers == ["Embedding", "Flatten", "Dense", "Dense"]
    assert m.model_.layers[0].output_dim == 128 and m.model_.layers[2].units == 64
    assert m.model_.layers[3].activation.__name__ == "softmax"
    assert set(m.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in m.history_.values())
    np.testing.assert_allclose(p.sum(1), 1.0)


def test_same_seed_same_numbers():
    a, pa = _fit("class_weight", {"scheme": "inverse"})
    b, pb = _fit("class_weight", {"scheme": "inverse"})
    assert a.history_ == b.history_
    np.testing.assert_array_equal(pa, pb)


def test_keras_losses_match_their_identities():
    keras = import_keras()
    ops = keras.ops
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=6).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 6)]
    m = KerasEmbedMLP(Treatment.parse("logit_adjust_loss", {"tau": 0.0}), seed=0)
    m.log_prior_ = np.log(np.array([0.4, 0.3, 0.2, 0.1]))
    ce = keras.losses.categorical_crossentropy(y, p)
    np.testing.assert_allclose(ops.convert_to_numpy(m._loss(keras)(y, p)), ce, rtol=1e-5)
    # balanced softmax == −log(p_y π_y / Σ p_j π_j)
    m.treatment = Treatment.parse("balanced_softmax")
    pi = np.exp(m.log_prior_)
    hand = -np.log((y * p * pi).sum(1) / (p * pi).sum(1))
    np.testing.assert_allclose(ops.convert_to_numpy(m._loss(keras)(y, p)), hand, rtol=1e-5)
    # keras' focal loss with alpha = 1, gamma = 0 is cross-entropy
    m.treatment = Treatment.parse("focal", {"gamma": 0.0})
    foc = ops.convert_to_numpy(m._loss(keras)(y, p))  # a Loss object: mean over the batch
    np.testing.assert_allclose(foc, ops.convert_to_numpy(ce).mean(), rtol=1e-5)


def test_adaptive_weights_are_set_after_every_epoch():
    m, _ = _fit("adaptive_recall")
    assert len(m.weight_history_) == 3


@pytest.mark.slow
def test_drw_and_resampling():
    m, _ = _fit("drw", {"start": 2, "scheme": "inverse"})
    assert len(m.weight_history_) == 1
    m, _ = _fit("oversample")
    assert m.resample_source_ is not None


def test_refusals():
    for t in ("smote", "ldam", "crt", "tau_norm"):
        with pytest.raises(IncompatibleError):
            KerasEmbedMLP.check(Treatment.parse(t), {})


def test_learning_curve_plot(tmp_path):
    from skewbench.report.plots import learning_curves as plot_learning_curves

    h = {
        "loss": [1.0, 0.5],
        "accuracy": [0.5, 0.8],
        "val_loss": [1.1, 0.9],
        "val_accuracy": [0.4, 0.6],
    }
    out = plot_learning_curves([("none", h), ("none", h), ("drw", h)], tmp_path / "lc.svg", "t")
    assert out == tmp_path / "lc.svg" and "<svg" in out.read_text()  # the page inlines it
    assert out.read_text().count("<path") > 10  # the curves and bands are drawn
    with pytest.raises(ValueError, match="no histories"):
        plot_learning_curves([], tmp_path / "x.svg")
