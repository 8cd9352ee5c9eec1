"""Encoders by name, folder or cached hub id, on ``device: auto``; the CUDA path exercised
through a monkeypatched ``torch.cuda``; bad devices, precisions and folders refused in one line
before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from skewbench.cli import main
from skewbench.encoders.device import autocast, placement, resolve_device
from skewbench.encoders.models import encoder_key, encoder_path, model_folder, model_identity
from skewbench.errors import ConfigError
from skewbench.runner.config import load_config
from skewbench.runner.run import run_config, store_path
from skewbench.runner.store import ResultStore
from tests.data.test_table_tasks import shop  # noqa: F401 - the tiny data files fixture


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)


def test_auto_is_the_cpu_here_and_cuda_where_torch_sees_a_gpu(monkeypatch, two_gpus):
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(ConfigError, match=r"sees 2 GPU\(s\)"):
        resolve_device("cuda:2")
    assert placement("auto", "fp16") == ("cuda", "fp16")  # fp16 is fine on a GPU
    ctx = autocast("cuda:1", "bf16")
    assert isinstance(ctx, torch.autocast) and ctx.device == "cuda"
    assert ctx.fast_dtype == torch.bfloat16

    from skewbench.models.categorize.minilm_frozen import encode_settings

    assert encode_settings({"device": "auto", "dtype": "bf16"})["device"] == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") in ("cpu", "mps")


@pytest.mark.parametrize(
    ("device", "dtype", "needle"),
    [
        ("cuda", "fp32", "torch sees no CUDA GPU"),
        ("cuda:0", "fp32", "download.pytorch.org/whl/cu"),
        ("cpu", "fp16", "fp16 needs a GPU"),
        ("gpu", "fp32", "expected auto, cpu, cuda, cuda:N or mps"),
    ],
)
def test_a_device_that_is_not_there_is_refused(monkeypatch, device, dtype, needle):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        placement(device, dtype)


def test_encoder_folders_and_hub_ids(tmp_path, monkeypatch):
    folder = encoder_path("minilm")
    assert model_folder(folder, "encoder") == str(Path(folder).resolve())
    assert encoder_key(folder).endswith(model_identity(folder))
    assert encoder_key("minilm").split("-")[-1] == model_identity(folder)  # same model
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no model: it lacks config.json and weights"):
        model_folder(str(tmp_path / "empty"), "encoder")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ConfigError, match="not in the local Hugging Face cache.*never downloads"):
        model_folder("BAAI/bge-small-en-v1.5", "encoder")
    with pytest.raises(ConfigError, match="is not a registered name"):
        model_folder("bert", "encoder")


def _cat_config(root: Path, **model) -> Path:
    data = root / "data" / "reviews.csv"
    exp = {
        "task": "categorize",
        "datasets": [
            {"name": "table", "path": str(data), "label": "category", "text": "review"}
            | {"min_class_count": 5}
        ],
        "models": [{"name": "minilm_frozen", **model}],
    }
    cfg = root / "enc.yaml"
    cfg.write_text(yaml.safe_dump({"name": "enc", "seeds": 1, "experiments": [exp]}))
    return cfg


def test_a_local_encoder_folder_on_device_auto_validates(shop, capsys):  # noqa: F811
    folder = encoder_path("minilm")  # the installed MiniLM package's folder
    cfg = _cat_config(shop, encoder=folder, device="auto", dtype="fp32")
    assert main(["validate", str(cfg)]) == 0
    assert "valid; 1 cells" in capsys.readouterr().out


@pytest.mark.slow
def test_a_local_encoder_folder_on_device_auto_runs(shop, capsys):  # noqa: F811
    folder = encoder_path("minilm")  # the installed MiniLM package's folder
    cfg = _cat_config(shop, encoder=folder, device="auto", max_epochs=30)
    assert main(["validate", str(cfg)]) == 0
    run_config(load_config(cfg), shop / "out", progress=False)
    with ResultStore(store_path(shop / "out")) as store:
        table = store.table()
    assert len(table) == 1
    info = table["info"].iloc[0]
    assert info["placement"]["device"] == resolve_device("auto")
    assert info["placement"]["encoder"] == encoder_key(folder)
    assert table["balanced_accuracy"].iloc[0] > 0.5


@pytest.mark.parametrize(
    ("model", "needles"),
    [
        ({"device": "cuda"}, ["model.params.device", "no CUDA GPU"]),
        ({"device": "cpu", "dtype": "fp16"}, ["fp16 needs a GPU"]),
        ({"encoder": "/nonexistent/model"}, ["model.params.encoder", "is not a registered"]),
        ({"encoder": "org/not-cached-model"}, ["not in the local Hugging Face cache"]),
    ],
)
def test_bad_encoder_or_device_is_one_line(shop, capsys, monkeypatch, model, needles):  # noqa: F811
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = _cat_config(shop, **model)
    assert main(["validate", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("skewbench: error: ") and "\n" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)


def test_device_enters_neither_the_key_nor_a_random_stream():
    from skewbench.runner.cell import Cell, Component

    def cell(**params):
        return Cell(
            "categorize",
            Component("clothing"),
            Component("minilm_frozen", params),
            Component("none"),
            10.0,
            0,
        )

    a, b, c = cell(), cell(device="cuda"), cell(dtype="bf16")
    assert a.key == b.key and a.key != c.key
    assert a.seed_int("model") == b.seed_int("model")
    assert b.to_dict()["model"]["params"] == {"device": "cuda"}  # the config keeps it
    assert np.isfinite(a.seed_int("model"))


def _gguf(path: Path, template: str | None) -> Path:
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), "llama")
    if template is not None:
        writer.add_chat_template(template)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_llm_models_need_files_and_a_chat_template(tmp_path):
    from skewbench.encoders.models import chat_model_errors

    pytest.importorskip("gguf")
    chat = _gguf(tmp_path / "chat.gguf", "{% for m in messages %}{{ m.content }}{% endfor %}")
    plain = _gguf(tmp_path / "plain.gguf", None)
    assert chat_model_errors(str(chat), "smollm2-135m") == []
    (err,) = chat_model_errors(str(plain), "smollm2-135m")
    assert "no tokenizer.chat_template" in err and "instruct / chat model" in err
    (err,) = chat_model_errors(str(tmp_path / "none.gguf"), "smollm2-135m")
    assert "does not exist" in err
    folder = tmp_path / "lm"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"0")
    (folder / "tokenizer_config.json").write_text('{"eos_token": "</s>"}')
    (err,) = chat_model_errors(str(folder), "smollm2-135m")
    assert "has no chat template" in err
    (folder / "chat_template.jinja").write_text("{{ messages }}")
    assert chat_model_errors(str(folder), "smollm2-135m") == []


def test_an_llm_model_without_a_chat_template_is_refused_by_validate(tmp_path, capsys):
    pytest.importorskip("gguf")
    plain = _gguf(tmp_path / "plain.gguf", None)
    exp = {
        "task": "recommend",
        "datasets": ["movielens100k"],
        "models": [{"name": "llm_rerank", "model": str(plain)}],
        "options": {"cutoffs": [10]},
    }
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"name": "llm", "experiments": [exp]}))
    assert main(["validate", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert "model.params.model" in err and "chat_template" in err and "\n" not in err


def test_gpus_per_cell_is_for_ray_and_for_gpus_the_cluster_has(tmp_path, capsys):
    from skewbench.runner.executors import check_ray_gpus

    class Cluster:  # what ray.cluster_resources() reports
        def __init__(self, gpus: float):
            self.gpus = gpus

        def cluster_resources(self) -> dict[str, float]:
            return {"CPU": 8.0, **({"GPU": self.gpus} if self.gpus else {})}

    check_ray_gpus(Cluster(2), 0.5)
    check_ray_gpus(Cluster(0), 0)
    with pytest.raises(ConfigError, match=r"1 GPU\(s\) per cell, but the Ray cluster has 0"):
        check_ray_gpus(Cluster(0), 1)
    exp = {"task": "recommend", "datasets": ["movielens100k"], "models": ["popularity"]}
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {"name": "g", "gpus_per_cell": 1, "experiments": [exp | {"options": {"cutoffs": [10]}}]}
        )
    )
    assert main(["run", str(cfg), "--output", str(tmp_path / "o"), "--quiet"]) == 2
    assert "gpus_per_cell: only with executor ray" in capsys.readouterr().err
