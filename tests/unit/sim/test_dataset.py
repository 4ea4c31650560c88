"""``write_dataset``: recordings, labels and manifest that agree with each other."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from consumer.errors import ConfigError
from consumer.recording import find_labels, load_labels, load_recording
from producer_sim import FAULT_NAMES, FAULTS, VIEWS, FaultPlan, RunnerProfile, simulate_session
from producer_sim.dataset import write_dataset

FRAMES = 240


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("ds")
    summary = write_dataset(out, normal_runners=3, abnormal_runners=12, frames=FRAMES, seed=5)
    return out, summary


def test_files_labels_and_manifest_agree(dataset):
    out, summary = dataset
    manifest = json.loads((out / "manifest.json").read_text())
    labels = load_labels(out / "labels.csv")
    assert manifest["seed"] == 5 and len(manifest["runners"]) == 15
    assert len(summary.normal_files) == 3 and len(summary.abnormal_files) == 12
    assert summary.faults == dict.fromkeys(FAULT_NAMES, 1)  # every fault represented
    for entry in manifest["runners"]:
        path = out / entry["file"]
        ranges = labels.ranges[entry["file"]]
        view = entry["profile"]["view"]
        assert path.is_file()
        assert {r.view for r in ranges} == {view}
        assert {r.user_id for r in ranges} == {entry["user_id"]}
        assert {r.session_id for r in ranges} == {entry["session_id"]}
        if entry["kind"] == "normal":
            assert entry["file"].startswith("normal/") and not entry["faults"]
            assert [(r.start_frame, r.end_frame, r.label) for r in ranges] == [
                (0, FRAMES - 1, "normal")]
            continue
        (plan,) = entry["faults"]
        onset, fault = plan["onset_frame"], plan["fault"]
        assert entry["file"].startswith("abnormal/")
        assert view in FAULTS[fault].visible_views
        assert FRAMES * 0.25 <= onset <= FRAMES * 0.5
        assert [(r.start_frame, r.end_frame, r.label) for r in ranges] == [
            (0, onset - 1, "normal"), (onset, FRAMES - 1, fault)]
        assert ranges[1].severity == pytest.approx(plan["severity"], abs=1e-3)
        truth, measure = entry["truth"], FAULTS[fault].measure
        if "normal" in truth and "fault" in truth:
            moved = truth["fault"][measure] - truth["normal"][measure]
            assert moved > 0 if FAULTS[fault].increases else moved < 0, (fault, truth)
    normal_views = [e["profile"]["view"] for e in manifest["runners"] if e["kind"] == "normal"]
    assert sorted(normal_views) == sorted(VIEWS)


def test_recordings_reload_with_dropouts_dropped(dataset):
    out, summary = dataset
    total_dropped = 0
    for relative in summary.normal_files + summary.abnormal_files:
        recording = load_recording(out / relative)
        assert len(recording) + recording.dropped_rows == FRAMES
        assert np.all(np.diff(recording.frames) > 0)
        assert recording.landmarks.shape == (len(recording), 132)
        assert np.isfinite(recording.landmarks).all()
        total_dropped += recording.dropped_rows
    assert total_dropped == summary.dropout_frames > 0
    index = find_labels([out / "abnormal"])
    recording = load_recording(out / summary.abnormal_files[0])
    per_frame = index.frame_labels(recording)
    assert set(per_frame) == {"normal", FAULT_NAMES[0]}


def test_manifest_is_enough_to_simulate_a_session_again(dataset):
    out, _ = dataset
    manifest = json.loads((out / "manifest.json").read_text())
    entry = next(e for e in manifest["runners"] if e["faults"])
    runner = RunnerProfile.from_dict(entry["profile"])
    assert runner.to_dict() == entry["profile"]
    plans = [FaultPlan(**plan) for plan in entry["faults"]]
    again = simulate_session(runner, FRAMES, plans, seed=entry["session_seed"])
    recording = load_recording(out / entry["file"])
    np.testing.assert_allclose(recording.landmarks, again.landmarks[again.truth["tracked"]],
                               atol=2e-6)


def test_seeds_never_share_runners_and_repeat_exactly(tmp_path: Path, dataset):
    out, _ = dataset
    again = write_dataset(tmp_path / "again", normal_runners=3, abnormal_runners=12,
                          frames=FRAMES, seed=5)
    for relative in again.normal_files + again.abnormal_files:
        assert (tmp_path / "again" / relative).read_bytes() == (out / relative).read_bytes()
    other = write_dataset(tmp_path / "other", normal_runners=3, abnormal_runners=2,
                          frames=FRAMES, seed=6)
    names = {Path(f).stem for f in again.normal_files + again.abnormal_files}
    other_names = {Path(f).stem for f in other.normal_files + other.abnormal_files}
    assert not names & other_names


def test_fault_and_view_filters(tmp_path: Path):
    summary = write_dataset(tmp_path, normal_runners=2, abnormal_runners=4, frames=90, seed=1,
                            faults=["knee_valgus", "trunk_lean"], views=["oblique"])
    assert summary.faults == {"knee_valgus": 2, "trunk_lean": 2}
    assert summary.views == {"oblique": 6}
    with pytest.raises(ConfigError, match="cannot be seen"):
        write_dataset(tmp_path, normal_runners=0, abnormal_runners=1, faults=["knee_valgus"],
                      views=["side"])
    with pytest.raises(ConfigError, match="unknown fault"):
        write_dataset(tmp_path, normal_runners=0, abnormal_runners=1, faults=["wobbly"])
