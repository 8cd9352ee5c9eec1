"""What a Ray job carries to its workers (environment), and a local Ray sized by ``workers``.
The parity of Ray's numbers with the inline run is in ``test_resume.py``."""

from __future__ import annotations

import os

import pytest

from skewbench.runner.executors import worker_env


def test_worker_env_sends_an_absolute_cache_and_the_offline_switches(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SKEWBENCH_CACHE", "rel/cache")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    env = worker_env()
    assert env["SKEWBENCH_CACHE"] == str(tmp_path / "rel" / "cache")
    assert env["HF_HUB_OFFLINE"] == "1"
    assert "TRANSFORMERS_OFFLINE" not in env


def test_worker_env_default_cache_is_resolved_here(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SKEWBENCH_CACHE", raising=False)
    assert worker_env()["SKEWBENCH_CACHE"] == str(tmp_path / ".cache" / "skewbench")


@pytest.mark.slow  # starts a local Ray (~10-60 s)
def test_local_ray_has_the_workers_cpus_and_the_drivers_cache(monkeypatch, tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is the optional extra skewbench[ray]")
    from skewbench.runner.executors import connect_ray

    ray.shutdown()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SKEWBENCH_CACHE", "here")
    try:
        connect_ray(None, num_cpus=1)
        assert ray.cluster_resources()["CPU"] == 1
        seen = ray.get(ray.remote(lambda: os.environ.get("SKEWBENCH_CACHE")).remote())
        assert seen == str(tmp_path / "here")
    finally:
        ray.shutdown()
