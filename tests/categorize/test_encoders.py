"""Real MiniLM encoder on a handful of texts; the cache is counted through a wrapper."""

import multiprocessing as mp
import subprocess
import sys

import numpy as np
import pytest

from skewbench.encoders import EmbeddingStore, encode, load_encoder, run_encoder, text_key

TEXTS = [
    "Lovely summer dress, fits true to size.",
    "These jeans are too tight at the waist.",
    "Soft cozy sweater, perfect for winter.",
    "Lovely summer dress, fits true to size.",  # duplicate: encoded once
]


class CountingEncoder:
    """Wraps the real model and counts the texts it is asked to encode."""

    def __init__(self, model):
        self.model, self.n_texts, self.n_calls = model, 0, 0

    def encode(self, texts, **kwargs):
        self.n_calls += 1
        self.n_texts += len(texts)
        return self.model.encode(texts, **kwargs)


@pytest.fixture(scope="module")
def model():
    return load_encoder("minilm")


def test_second_call_encodes_nothing(model, tmp_path):
    counter = CountingEncoder(model)
    first = encode(TEXTS, cache_dir=tmp_path, encoder=counter, precision="fp32")
    assert counter.n_texts == 3  # three distinct texts
    assert first.shape == (4, 384) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(first[0], first[3])

    again = CountingEncoder(model)
    second = encode(TEXTS[::-1], cache_dir=tmp_path, encoder=again, precision="fp32")
    assert again.n_calls == 0
    np.testing.assert_array_equal(second, first[::-1])

    # a fresh store (another process, same folder) reads the shards from disk
    fresh = EmbeddingStore(next(tmp_path.iterdir()))
    np.testing.assert_array_equal(fresh.get([text_key(t) for t in TEXTS]), first)

    # only the new text is encoded
    more = CountingEncoder(model)
    encode(
        [*TEXTS, "Great pockets on this jacket."],
        cache_dir=tmp_path,
        encoder=more,
        precision="fp32",
    )
    assert more.n_texts == 1


def test_cached_vectors_equal_direct_encoding(model, tmp_path):
    direct = run_encoder(model, TEXTS[:3], precision="fp32")
    np.testing.assert_allclose(
        encode(TEXTS[:3], cache_dir=tmp_path, precision="fp32"), direct, atol=1e-6
    )
    ref = model.encode(TEXTS[:3], normalize_embeddings=True)
    np.testing.assert_allclose(direct, ref, atol=1e-5)


def test_settings_do_not_share_a_cache(model, tmp_path):
    encode(TEXTS[:1], cache_dir=tmp_path, precision="fp32")
    encode(TEXTS[:1], cache_dir=tmp_path, precision="fp32", max_seq_length=16)
    assert len(list(tmp_path.iterdir())) == 2


def _writer(folder: str, seed: int) -> None:
    store = EmbeddingStore(folder)
    keys = [text_key(f"text {i}") for i in range(200)]
    vecs = np.random.default_rng(seed).random((200, 8), dtype=np.float32)
    for s in range(0, 200, 20):
        store.put(keys[s : s + 20], vecs[s : s + 20])


def test_concurrent_writers_leave_whole_shards(tmp_path):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), s)) for s in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert not list(tmp_path.glob(".tmp-*"))
    store = EmbeddingStore(tmp_path)
    assert len(store) == 200 and len(list(tmp_path.glob("shard-*.npz"))) == 20


FREED_HOLE = """
import numpy as np
from skewbench.encoders.memory import returning_memory

def rss_mb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS")) / 1024

big = np.ones((30 << 20) // 8)
del big  # glibc now serves blocks up to 30 MiB from the heap (its dynamic threshold)

def hole(inside):
    with returning_memory() if inside else open("/dev/null"):
        base = rss_mb()
        a = np.ones((8 << 20) // 8)  # an activation-sized block
        pin = [np.ones(1000) for _ in range(50)]  # small blocks above it keep the heap top
        del a
        return rss_mb() - base, pin

print(round(hole(False)[0]), round(hole(True)[0]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc allocator settings")
def test_returning_memory_gives_a_freed_block_back_to_the_os():
    """Outside the context a freed 8 MiB block below live ones stays resident (the heap
    fragmentation that made encoding grow chunk after chunk); inside, it is unmapped."""
    out = subprocess.run(
        [sys.executable, "-c", FREED_HOLE], capture_output=True, text=True, check=True
    )
    held_outside, held_inside = map(int, out.stdout.split())
    assert held_outside >= 7
    assert held_inside <= 1
