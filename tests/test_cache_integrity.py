"""Every cache entry carries a checksum of its content and its key's inputs, checked on read:
a shard of wrong vectors, a pickle-carrying shard, an edited tuning record, an edited LLM answer
and an edited file of the assembled model folder are each named on one line, moved aside and
recomputed — never a silent result. ``skewbench cache verify`` / ``clear`` walk them all."""

from __future__ import annotations

import json
import logging
import sqlite3

import numpy as np
import pytest

from skewbench.cli import main
from skewbench.encoders import EmbeddingStore, encode, load_encoder, text_key
from skewbench.encoders import cache as embedding_cache

TEXTS = ["Lovely summer dress, fits true to size.", "These jeans are too tight at the waist."]


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "skewbench.cache"]


@pytest.fixture(scope="module")
def minilm():
    return load_encoder("minilm")


def test_a_poisoned_embedding_shard_is_named_and_recomputed(minilm, tmp_path, caplog, monkeypatch):
    truth = encode(TEXTS, cache_dir=tmp_path, encoder=minilm, precision="fp32")
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    keys = np.asarray([text_key(t) for t in TEXTS], dtype="S40")
    wrong = np.random.default_rng(0).normal(size=truth.shape).astype(np.float32)
    # a shard read before the true one: no checksum; one with a checksum of other vectors;
    # one carrying pickled objects
    np.savez(folder / "shard-0-a.npz", keys=keys, vectors=wrong)
    np.savez(folder / "shard-0-b.npz", keys=keys, vectors=wrong, check=np.bytes_("0" * 32))
    np.savez(folder / "shard-0-c.npz", keys=np.array([object()], dtype=object), vectors=wrong)
    monkeypatch.setattr(embedding_cache, "_STORES", {})  # a new process: nothing in memory
    with caplog.at_level(logging.WARNING, logger="skewbench.cache"):
        again = encode(TEXTS, cache_dir=tmp_path, encoder=minilm, precision="fp32")
    np.testing.assert_array_equal(again, truth)
    lines = _warnings(caplog)
    assert len(lines) == 3
    assert "shard-0-a.npz carries no checksum" in lines[0] and "moved aside" in lines[0]
    assert "shard-0-b.npz does not match its checksum" in lines[1]
    assert "shard-0-c.npz cannot be read" in lines[2] and "allow_pickle" in lines[2]
    assert sorted(p.name for p in folder.glob("shard-0-*")) == [
        "shard-0-a.npz.mismatch",
        "shard-0-b.npz.mismatch",
        "shard-0-c.npz.mismatch",
    ]
    # a shard copied from another encoder setting does not match here either
    other = tmp_path / "mpnet-fp32-len384"
    other.mkdir()
    for shard in folder.glob("shard-1*.npz"):
        (other / shard.name).write_bytes(shard.read_bytes())
    assert len(EmbeddingStore(other)) == 0


def test_an_edited_tuning_record_is_recomputed(tmp_path, caplog, monkeypatch):
    from skewbench import tuning_memo

    monkeypatch.setenv("SKEWBENCH_CACHE", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return {"l2": 10.0}, {"score": 0.5}

    assert tuning_memo.memoised("k1", compute) == ({"l2": 10.0}, {"score": 0.5})
    tuning_memo._PROCESS.clear()
    assert tuning_memo.memoised("k1", compute) == ({"l2": 10.0}, {"score": 0.5})
    assert len(calls) == 1  # read back from disk, checksum matching
    path = tmp_path / "tuning" / "k1.json"
    rec = json.loads(path.read_text())
    rec["chosen"]["l2"] = 1000.0
    path.write_text(json.dumps(rec))
    tuning_memo._PROCESS.clear()
    with caplog.at_level(logging.WARNING, logger="skewbench.cache"):
        assert tuning_memo.memoised("k1", compute) == ({"l2": 10.0}, {"score": 0.5})
    assert len(calls) == 2
    (line,) = _warnings(caplog)
    assert "k1.json does not match its checksum" in line


def test_an_edited_llm_answer_is_recomputed(tmp_path, caplog):
    from skewbench.models.llm.scorer import PromptCache

    path = tmp_path / "m.sqlite"
    cache = PromptCache(path)
    cache.put_many({"a": 1.5, "b": [1, 2]})
    assert cache.get_many(["a", "b"]) == {"a": 1.5, "b": [1, 2]}
    with sqlite3.connect(path) as con:
        con.execute("UPDATE out SET value = '9.0' WHERE key = 'a'")
    with caplog.at_level(logging.WARNING, logger="skewbench.cache"):
        assert PromptCache(path).get_many(["a", "b"]) == {"b": [1, 2]}  # 'a' asked again
    (line,) = _warnings(caplog)
    assert str(path) in line and "1 answer(s) do not match" in line


def test_an_edited_file_of_the_assembled_model_is_reassembled(tmp_path, caplog):
    from skewbench.encoders.models import assemble_split_zip
    from tests.categorize.test_mpnet import _split_zip

    pieces = _split_zip(tmp_path)
    dest = tmp_path / "models"
    final = assemble_split_zip(pieces, dest, "m")
    weights = (final / "weights.bin").read_bytes()
    (final / "weights.bin").write_bytes(b"\0" * len(weights))  # same size, other bytes
    with caplog.at_level(logging.WARNING, logger="skewbench.cache"):
        final = assemble_split_zip(pieces, dest, "m")
    assert (final / "weights.bin").read_bytes() == weights
    (line,) = _warnings(caplog)
    assert "does not match its stamp" in line and (dest / "m.mismatch").is_dir()


def test_cache_verify_and_clear(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKEWBENCH_CACHE", str(tmp_path))
    store = EmbeddingStore(tmp_path / "embeddings" / "minilm-fp32-lendefault")
    store.put([text_key("x")], np.ones((1, 3), np.float32))
    bad = store.folder / "shard-9-planted.npz"
    np.savez(bad, keys=np.asarray([text_key("y")], dtype="S40"), vectors=np.ones((1, 3)))
    assert main(["cache", "verify"]) == 0
    out = capsys.readouterr().out
    assert "embedding shards: 2 checked, 1 did not match and were moved aside" in out
    assert "tuning records: 0 checked, all match" in out
    assert not bad.exists() and bad.with_name(bad.name + ".mismatch").exists()
    (tmp_path / "keep.txt").write_text("not ours")
    assert main(["cache", "clear"]) == 0
    assert "removed" in capsys.readouterr().out
    assert not (tmp_path / "embeddings").exists() and (tmp_path / "keep.txt").exists()
