"""all-mpnet-base-v2 from its five PyPI pieces: assembly (atomic, checked) and offline loading."""

import threading
import zipfile

import numpy as np
import pytest

from skewbench.encoders.models import ST_FILES, assemble_split_zip
from skewbench.errors import ConfigError


def _split_zip(tmp_path, folder="m", n=3, corrupt=False):
    src = tmp_path / "whole.zip"
    with zipfile.ZipFile(src, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in ST_FILES:
            zf.writestr(f"{folder}/{name}", "{}")
        zf.writestr(f"{folder}/weights.bin", bytes(range(256)) * 64)
    data = bytearray(src.read_bytes())
    if corrupt:
        i = data.index(bytes(range(256)))
        data[i + 10] ^= 0xFF  # flip bits inside a member: its CRC no longer matches
    cut = np.linspace(0, len(data), n + 1).astype(int)
    pieces = []
    for j in range(n):
        p = tmp_path / f"whole.zip.{j + 1:03d}"
        p.write_bytes(bytes(data[cut[j] : cut[j + 1]]))
        pieces.append(p)
    return pieces


def test_assembles_once_and_concurrently(tmp_path):
    pieces = _split_zip(tmp_path)
    dest = tmp_path / "models"
    out = []
    threads = [
        threading.Thread(target=lambda: out.append(assemble_split_zip(pieces, dest, "m")))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(out)) == 1 and (out[0] / "weights.bin").read_bytes() == bytes(range(256)) * 64
    assert sorted(p.name for p in dest.iterdir() if not p.name.startswith(".")) == [
        "m",
        "m.complete",
    ]
    mtime = (dest / "m.complete").stat().st_mtime_ns
    assemble_split_zip(pieces, dest, "m")  # stamped: nothing is redone
    assert (dest / "m.complete").stat().st_mtime_ns == mtime


def test_corrupt_or_incomplete_pieces_leave_nothing(tmp_path):
    dest = tmp_path / "models"
    with pytest.raises(ConfigError, match="CRC"):
        assemble_split_zip(_split_zip(tmp_path, corrupt=True), dest, "m")
    assert not (dest / "m").exists() and not (dest / "m.complete").exists()
    assert not [p for p in dest.iterdir() if p.name.startswith(".tmp")]
    pieces = _split_zip(tmp_path)
    with pytest.raises((ConfigError, zipfile.BadZipFile)):
        assemble_split_zip(pieces[:2], dest, "m")  # a missing piece
    assert not (dest / "m.complete").exists()


@pytest.mark.slow
def test_mpnet_loads_offline_and_embeds():
    from skewbench.encoders import load_encoder, run_encoder

    model = load_encoder("mpnet")
    v = run_encoder(model, ["a red summer dress", "warm wool sweater"], precision="fp32")
    assert v.shape == (2, 768)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-6)
