"""Hot model reload with a test loader: swap between batches, refuse what cannot serve."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from consumer.errors import ModelArtifactError
from consumer.serve.metrics import ConsumerMetrics
from consumer.serve.reload import ModelReloader, load_checked


def write_model(folder: Path, version: str, window_size: int = 4, **extra: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"version": version, "window_size": window_size, **extra}
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest))
    # Make the change visible even on file systems with coarse timestamps.
    stamp = path.stat().st_mtime_ns + 10_000_000
    os.utime(path, ns=(stamp, stamp))


@pytest.fixture
def loader(kit):
    def load(folder: Path):
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
        except (OSError, ValueError) as exc:
            raise ModelArtifactError(f"unreadable manifest: {exc}") from exc
        scorer = kit.StepScorer(manifest["window_size"], version=manifest["version"])
        if manifest.get("explode"):
            scorer.score = lambda windows: 1 / 0  # type: ignore[method-assign]
        return scorer

    return load


@pytest.fixture
def setup(tmp_path: Path, loader):
    folder = tmp_path / "model"
    write_model(folder, "v1")
    registry = CollectorRegistry()
    metrics = ConsumerMetrics.create(registry)
    reloader = ModelReloader(folder, load_checked(folder, loader, 4), 4, 5.0, metrics, loader)
    return folder, registry, reloader


def test_a_new_valid_model_is_swapped_in_between_batches(setup) -> None:
    folder, registry, reloader = setup
    write_model(folder, "v2")
    reloader.check_now()
    assert reloader.current.version == "v1"  # loaded, waiting for the loop
    assert reloader.swap().version == "v2"
    assert registry.get_sample_value("barunrun_model_info", {"version": "v2"}) == 1
    assert registry.get_sample_value("barunrun_model_info", {"version": "v1"}) is None
    assert registry.get_sample_value("barunrun_model_reloads_total", {"result": "loaded"}) == 1


@pytest.mark.parametrize(
    "breakage",
    [
        lambda folder: (folder / "manifest.json").write_text("{truncated"),
        lambda folder: write_model(folder, "v3", window_size=30),
        lambda folder: write_model(folder, "v4", explode=True),
    ],
    ids=["corrupt", "wrong-window-size", "fails-trial-score"],
)
def test_an_invalid_model_is_refused_and_the_old_one_keeps_serving(setup, breakage) -> None:
    folder, registry, reloader = setup
    breakage(folder)
    reloader.check_now()
    assert reloader.swap().version == "v1"
    assert registry.get_sample_value("barunrun_model_reloads_total", {"result": "refused"}) == 1
    assert registry.get_sample_value("barunrun_model_reload_refused") == 1
    assert registry.get_sample_value("barunrun_model_info", {"version": "v1"}) == 1
    write_model(folder, "v5")  # a good one clears the alert
    reloader.check_now()
    assert reloader.swap().version == "v5"
    assert registry.get_sample_value("barunrun_model_reload_refused") == 0


def test_nothing_changed_nothing_loaded(setup) -> None:
    _, registry, reloader = setup
    reloader.check_now()
    reloader.check_now()
    assert registry.get_sample_value("barunrun_model_reloads_total", {"result": "loaded"}) == 0


def test_missing_directory_fails_fast(tmp_path: Path, loader) -> None:
    with pytest.raises(ModelArtifactError, match="does not exist"):
        load_checked(tmp_path / "nowhere", loader, 4)


def test_the_watcher_thread_finds_a_new_model(setup) -> None:
    folder, _, reloader = setup
    reloader._interval_s = 0.01
    reloader.start()
    try:
        write_model(folder, "v9")
        for _ in range(500):
            if reloader.swap().version == "v9":
                break
            import time

            time.sleep(0.01)
        assert reloader.current.version == "v9"
    finally:
        reloader.stop()
