"""Hot model reload on a running consumer: a valid new model is swapped in, a corrupt refused.

Deployment re-points a ``current`` symlink at a new model directory; the consumer notices,
loads the model off the hot path and swaps it in between batches. The "new" model is the
session's model under another version (what is being tested is the swap, not training).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from producer_sim.publish import stream_runners

pytestmark = pytest.mark.integration


def copy_model(source: Path, target: Path, version: str | None = None) -> Path:
    shutil.copytree(source, target)
    if version is not None:
        manifest_path = target / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["version"] = version
        manifest_path.write_text(json.dumps(manifest, indent=2))
    return target


def point(link: Path, target: Path) -> None:
    """Re-point a symlink atomically, as a deployment would."""
    tmp = link.with_name(link.name + ".new")
    tmp.symlink_to(target, target_is_directory=True)
    os.replace(tmp, link)


def test_valid_model_swapped_in_corrupt_one_refused(
    model_dir, tmp_path, settings_factory, consumers, reader, serve_kit
) -> None:
    v1 = copy_model(Path(model_dir), tmp_path / "v1")
    current = tmp_path / "current"
    current.symlink_to(v1, target_is_directory=True)
    settings = settings_factory(partitions=1, model={"dir": str(current),
                                                     "reload_interval_s": 0.2})
    running = consumers(settings)
    old_version = running.service.reloader.current.version
    new_version = old_version + "-hot"
    scores = reader(settings, settings.topics.scores)

    def versions_scored() -> set[str]:
        return {s["model_version"] for s in scores.values()}

    point(current, copy_model(Path(model_dir), tmp_path / "v2", new_version))
    info = "barunrun_model_info"
    serve_kit.wait_for(
        lambda: running.value(info, {"version": new_version}) == 1, 60, "the new model"
    )
    assert running.value(info, {"version": old_version}) == 0
    stream_runners(settings, runners=1, duration_s=2, fault_rate=0.0, realtime=False, seed=51,
                   user_prefix="hot")
    serve_kit.wait_for(lambda: new_version in versions_scored(), 60, "scores by the new model")
    assert running.value("barunrun_model_reloads_total", {"result": "loaded"}) == 1

    broken = copy_model(Path(model_dir), tmp_path / "v3", old_version + "-broken")
    model_file = json.loads((broken / "manifest.json").read_text())["model_file"]
    with (broken / model_file).open("r+b") as handle:  # truncated, as by a failed copy
        handle.truncate(100)
    point(current, broken)
    serve_kit.wait_for(
        lambda: running.value("barunrun_model_reload_refused") == 1, 60, "the refusal"
    )
    assert running.value("barunrun_model_reloads_total", {"result": "refused"}) == 1
    seen = len(scores.values())
    stream_runners(settings, runners=1, duration_s=2, fault_rate=0.0, realtime=False, seed=52,
                   user_prefix="hot2")
    serve_kit.wait_for(lambda: len(scores.values()) > seen, 60, "scores after the refusal")
    assert {s["model_version"] for s in scores.values()[seen:]} == {new_version}
    assert running.value(info, {"version": new_version}) == 1
    assert not running.errors
