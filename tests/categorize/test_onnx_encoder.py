"""The ONNX Runtime encoder backend: export, mean pooling and int8 quantization of a real
(small, randomly initialised) BERT saved as a sentence-transformers folder, against the same
folder run by sentence-transformers in torch; and the refusals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from skewbench.encoders.cache import namespace  # noqa: E402
from skewbench.encoders.models import encoder_path, resolve_precision, run_encoder  # noqa: E402
from skewbench.encoders.onnx_runtime import (  # noqa: E402
    check_backend,
    export_onnx,
    load_onnx_encoder,
    model_identity,
)
from skewbench.errors import ConfigError  # noqa: E402

TEXTS = [
    "Love this dress, fits perfectly",
    "runs small",
    "",
    "The fabric is thin and the zipper broke after two washes; returning it. " * 6,
    "ok",
]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """A 2-layer, 64-wide BERT with MiniLM's tokenizer, saved as a sentence-transformers folder."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-st")
    minilm = encoder_path("minilm")
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(f"{minilm}/{name}", folder / name)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=128)  # fmt: skip
    BertModel(config).save_pretrained(str(folder))
    word = models.Transformer(str(folder), max_seq_length=32)
    st = SentenceTransformer(modules=[word, models.Pooling(64, pooling_mode="mean")])
    st.save(str(folder))
    return folder


def _torch_vectors(folder) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    return run_encoder(SentenceTransformer(str(folder), device="cpu"), TEXTS, batch_size=2)


def test_onnx_fp32_equals_torch_and_int8_stays_close(tiny_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("SKEWBENCH_CACHE", str(tmp_path))
    ref = _torch_vectors(tiny_folder)
    fp32 = run_encoder(load_onnx_encoder(tiny_folder, "onnx"), TEXTS, batch_size=2)
    np.testing.assert_allclose(fp32, ref, atol=2e-5)  # padding and batching do not leak in
    int8 = run_encoder(load_onnx_encoder(tiny_folder, "onnx_int8"), TEXTS, batch_size=2)
    cos = (int8 * ref).sum(axis=1)
    assert cos.min() > 0.95 and not np.allclose(int8, ref, atol=1e-4)  # quantized, yet close
    exported = sorted(p.name for p in (tmp_path / "models" / "onnx").rglob("*.onnx"))
    assert exported == ["model.onnx", "model_int8.onnx"]


def test_export_is_keyed_by_the_model_and_reused(tiny_folder, tmp_path):
    first = export_onnx(tiny_folder, tmp_path, int8=False)
    stamp = first.stat().st_mtime_ns
    assert export_onnx(tiny_folder, tmp_path, int8=False).stat().st_mtime_ns == stamp
    other = tmp_path / "other"
    shutil.copytree(tiny_folder, other)
    config = json.loads((other / "config.json").read_text())
    config["layer_norm_eps"] = 1e-6
    (other / "config.json").write_text(json.dumps(config))
    assert model_identity(other) != model_identity(tiny_folder)


def test_refusals_name_the_choices(tiny_folder, tmp_path):
    with pytest.raises(ConfigError, match=r"\['torch', 'onnx', 'onnx_int8'\]"):
        check_backend("tensorrt")
    with pytest.raises(ConfigError, match="torch backend"):
        resolve_precision("bf16", "onnx_int8")
    cls = tmp_path / "cls"
    shutil.copytree(tiny_folder, cls)
    pooling = cls / "1_Pooling" / "config.json"
    conf = json.loads(pooling.read_text())
    conf.update(pooling_mode="cls", pooling_mode_mean_tokens=False)
    pooling.write_text(json.dumps(conf))
    with pytest.raises(ConfigError, match="only mean pooling"):
        export_onnx(cls, tmp_path / "cache", int8=False)


def test_the_backend_is_its_own_cache_namespace():
    torch_ns = namespace("minilm", "fp32", None)
    assert torch_ns.endswith("-fp32-lendefault")
    assert namespace("minilm", "fp32", None, "onnx_int8") == f"{torch_ns}-onnx_int8"
    assert resolve_precision("auto", "onnx") == "fp32"


def test_models_take_the_backend_and_refuse_it_off_the_cpu():
    from skewbench.models.categorize.minilm_frozen import encode_settings
    from skewbench.models.search.dense import DenseRetriever
    from skewbench.specs.categorize import MiniLMFrozen
    from skewbench.specs.search import Dense

    settings = encode_settings({"backend": "onnx_int8", "dtype": "auto"})
    assert (settings["backend"], settings["device"], settings["precision"]) == (
        "onnx_int8", "cpu", "fp32"
    )  # fmt: skip
    assert encode_settings({})["backend"] == "torch"
    assert Dense(backend="onnx_int8").backend == "onnx_int8"
    assert DenseRetriever(backend="onnx").backend == "onnx"
    with pytest.raises(ValueError, match="runs its own graph on the CPU"):
        MiniLMFrozen(backend="onnx", device="cuda")
    with pytest.raises(ValueError, match="runs its own graph on the CPU"):
        MiniLMFrozen(backend="onnx_int8", dtype="bf16")
