"""Runner-relative models: each runner's own channel levels, in training, scoring and state."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from consumer.errors import DataError, ModelArtifactError
from consumer.features.gait_channels import GAIT_CHANNEL_NAMES
from consumer.features.runner_level import (
    RESTART_FRAMES,
    TAU_FRAMES,
    WARMUP_FRAMES,
    RunnerLevels,
    Runs,
    relative_inputs,
)
from consumer.model.artifact import load_manifest, load_scorer
from consumer.recording import LabelRange, load_recording, write_labels, write_recording
from consumer.training.evaluate import evaluate_scorer, load_evaluation_data
from consumer.training.train import TrainOptions, train
from consumer.windows.rules import WindowConfig, sliding_windows

CHANNELS = 3
HOLD = np.ones(CHANNELS)


def _fold(levels: list[float], views: list[int] | None = None, hop: int = 10) -> RunnerLevels:
    state = RunnerLevels.empty(CHANNELS)
    for i, value in enumerate(levels):
        view = 0 if views is None else views[i]
        state = state.follow(np.full(CHANNELS, value), np.zeros(CHANNELS), view,
                             30 + i * hop, HOLD, 30)
    return state


def test_levels_are_the_mean_of_the_first_seconds_then_hold_still_against_a_rise() -> None:
    values = [1.0, 3.0] * 6 + [1.0]
    warm = _fold(values)  # the first window's 30 frames, then 10 new frames each
    assert warm.ready and warm.frames == 30 + 12 * 10 == WARMUP_FRAMES
    weighted = (30 * values[0] + 10 * sum(values[1:])) / warm.frames
    assert warm.level == pytest.approx(np.full(CHANNELS, weighted))
    # A fault far beyond: each window moves the level by share * hold, the share of the
    # level's time constant its new frames are.
    risen = warm.follow(np.full(CHANNELS, 50.0), np.zeros(CHANNELS), 0, warm.last_end + 10,
                        HOLD, 30)
    assert risen.level - warm.level == pytest.approx(10 / TAU_FRAMES * HOLD)


def test_another_view_neither_reads_nor_updates_the_levels_until_it_lasts() -> None:
    warm = _fold([1.0] * 10)
    state = warm
    for i in range(int(RESTART_FRAMES // 10) - 1):  # a view misread for a moment
        state = state.follow(np.full(CHANNELS, 9.0), np.zeros(CHANNELS), 2, 130 + 10 * i,
                             HOLD, 30)
    assert state.view == 0 and np.array_equal(state.level, warm.level)
    state = state.follow(np.full(CHANNELS, 9.0), np.zeros(CHANNELS), 2, 400, HOLD, 30)
    state = state.follow(np.full(CHANNELS, 9.0), np.zeros(CHANNELS), 2, 410, HOLD, 30)
    assert state.view == 2 and not state.ready  # learned afresh in the new view


def test_levels_round_trip_through_bytes_and_refuse_others() -> None:
    state = _fold([1.0, 2.0, 3.0])
    again = RunnerLevels.decode(state.encode(), CHANNELS)
    assert again.view == state.view and again.frames == state.frames
    assert np.allclose(again.level, state.level) and np.allclose(again.spread, state.spread)
    with pytest.raises(DataError):
        RunnerLevels.decode(state.encode(), CHANNELS + 1)  # another model's
    with pytest.raises(DataError):
        RunnerLevels.decode(b"BRG5 not levels", CHANNELS)


def test_a_window_is_read_against_the_runner_once_their_levels_are_ready() -> None:
    rng = np.random.default_rng(0)
    n, steps = 22, 30
    features = rng.normal(0.0, 0.1, (n, steps, CHANNELS)).astype(np.float32)
    features[18:, :, 0] += 2.0  # the runner's first channel rises after 6 s
    valid, views = np.ones(n, dtype=bool), np.zeros(n, dtype=np.int8)
    hold = np.full((1, CHANNELS), 0.5)
    alone = relative_inputs(features, valid, views, None, hold)
    assert np.allclose(alone.deviations, 0.0)  # without history: no level change
    assert np.allclose(alone.features.mean(axis=1), 0.0, atol=1e-5)
    runs = Runs.one(30 + 10 * np.arange(n))
    read = relative_inputs(features, valid, views, runs, hold)
    assert (read.deviations[18:, 0] > 10.0).all()  # (2 / 0.5)^2 = 16
    assert (read.deviations[:18, 0] < 1.0).all()
    assert read.levels[0].ready
    # Streaming: two batches carrying the levels read exactly as one.
    first = relative_inputs(features[:7], valid[:7], views[:7],
                            Runs(((None, 7),), runs.end_frames[:7]), hold)
    second = relative_inputs(features[7:], valid[7:], views[7:],
                             Runs(((first.levels[0], n - 7),), runs.end_frames[7:]), hold)
    assert np.allclose(np.concatenate([first.deviations, second.deviations]), read.deviations)
    assert np.allclose(np.concatenate([first.features, second.features]), read.features)


def test_gait_channels_keep_their_own_levels_and_are_read_from_their_recent_average() -> None:
    n, steps = 30, 30
    features = np.zeros((n, steps, CHANNELS), np.float32)
    gait = np.full((n, 2), 170.0)
    gait[:, 1] = np.nan  # never shown (out of view): never scored, level stays unknown
    gait[3, 0] = np.nan  # one window that does not show it: the level holds
    gait[18:, 0] = 150.0  # the runner's cadence drops after 6 s
    valid, views = np.ones(n, dtype=bool), np.zeros(n, dtype=np.int8)
    hold = np.array([[0.5] * CHANNELS + [10.0, 1.0]])
    read = relative_inputs(features, valid, views, Runs.one(30 + 10 * np.arange(n)), hold,
                           gait)
    assert read.deviations.shape == (n, 2 * CHANNELS + 2)
    assert read.features.shape == features.shape
    gait_change = read.deviations[:, 2 * CHANNELS:]
    # Read from the last second's average: the drop shows at once and grows to its full
    # ((150 - 170) / 10)^2 = 4 as the average takes it in.
    assert gait_change[18, 0] > 0.3 and (np.diff(gait_change[18:, 0]) > 0).all()
    assert gait_change[-1, 0] == pytest.approx(4.0, rel=0.05)
    assert np.allclose(gait_change[:18], 0.0) and np.allclose(gait_change[:, 1], 0.0)
    level = read.levels[0]
    assert level.level.shape == (CHANNELS + 2,) and np.isnan(level.level[-1])
    assert 169.0 < level.level[CHANNELS] < 170.0  # followed the drop by little
    again = RunnerLevels.decode(level.encode(), CHANNELS + 2)
    assert np.allclose(again.level[:-1], level.level[:-1]) and np.isnan(again.level[-1])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, runner) -> Path:
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(1)
    for i in range(6):
        frames = runner(240, cadence=rng.uniform(160, 185), scale=rng.uniform(0.15, 0.35),
                        lean=rng.uniform(0.05, 0.2), noise=0.004, seed=i,
                        start_phase=rng.uniform(0, 6))
        write_recording(root / "normal" / f"runner-{i}.csv", np.arange(240), frames)
    # A runner whose lean, inside the others' range, doubles after 6 s (past the warm-up).
    lean = np.concatenate([runner(180, lean=0.1, noise=0.004, seed=9),
                           runner(120, lean=0.3, noise=0.004, seed=9)])
    write_recording(root / "abnormal" / "leaner.csv", np.arange(300), lean)
    write_labels(root / "labels.csv", [LabelRange("abnormal/leaner.csv", 180, 299, "trunk_lean")])
    return root


@pytest.fixture(scope="module")
def relative_dir(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("relative")
    train([dataset / "normal"], out, TrainOptions(model="pca", hop=5, runner_relative=True))
    return out


def test_a_runner_relative_model_scores_a_stream_as_it_scores_a_recording(
        dataset, relative_dir) -> None:
    manifest = load_manifest(relative_dir)
    assert manifest.feature_spec.runner_relative and manifest.level_scaling is not None
    scorer = load_scorer(relative_dir)
    assert scorer.runner_relative
    recording = load_recording(dataset / "abnormal" / "leaner.csv")
    windows, frames = sliding_windows(recording.frames, recording.landmarks,
                                      WindowConfig(size=30, hop=10))
    whole = scorer.score(windows, Runs.one(frames[:, -1]))
    cut = 9
    first = scorer.score(windows[:cut], Runs.one(frames[:cut, -1]))
    rest = scorer.score(windows[cut:], Runs(((first.runner_levels[0], len(windows) - cut),),
                                            frames[cut:, -1]))
    assert np.allclose(np.concatenate([first.scores, rest.scores]), whole.scores, rtol=1e-4)
    # The lean the normal runners also have, doubled against this runner's own: flagged.
    assert whole.is_anomaly[frames[:, 0] >= 210].mean() > 0.5
    assert whole.is_anomaly[frames[:, -1] < 180].mean() < 0.2
    data = load_evaluation_data([dataset / "normal"], [dataset / "abnormal"],
                                WindowConfig(size=30, hop=5))
    summary = evaluate_scorer(scorer, data).summary
    assert summary["roc_auc"] > 0.9


def test_a_runner_relative_manifest_without_its_level_scaling_is_refused(
        relative_dir, tmp_path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(relative_dir, broken)
    path = broken / "manifest.json"
    data = json.loads(path.read_text())
    del data["level_scaling"]
    path.write_text(json.dumps(data))
    with pytest.raises(ModelArtifactError, match="level_scaling"):
        load_scorer(broken)


def test_a_model_with_gait_channels_scores_each_metric_against_the_runner(
        dataset, tmp_path) -> None:
    out = tmp_path / "gait"
    train([dataset / "normal"], out,
          TrainOptions(model="pca", hop=5, runner_relative=True, gait_channels=True))
    scorer = load_scorer(out)
    channels, gait = scorer.pipeline.num_channels, len(GAIT_CHANNEL_NAMES)
    assert scorer.runner_channels == channels + gait
    assert scorer.num_scored_channels == 3 * channels + gait
    assert scorer.attribution.shape[0] == scorer.num_scored_channels
    assert np.allclose(scorer.attribution.sum(axis=1), 1.0)
    assert load_manifest(out).level_scaling.channels == channels + gait
    recording = load_recording(dataset / "abnormal" / "leaner.csv")
    windows, frames = sliding_windows(recording.frames, recording.landmarks,
                                      WindowConfig(size=30, hop=10))
    result = scorer.score(windows, Runs.one(frames[:, -1]))
    assert result.runner_levels[0].level.shape == (channels + gait,)
    # The lean shows in the trunk lean metric's change too; the warm-up reads as usual.
    assert result.is_anomaly[frames[:, 0] >= 210].mean() > 0.5
    assert result.is_anomaly[frames[:, -1] < 180].mean() < 0.2
    lean = GAIT_CHANNEL_NAMES.index("trunk_lean_deg")
    analysis = scorer.analyse(windows, Runs.one(frames[:, -1]))
    after = analysis.channel_errors[frames[:, 0] >= 210, 3 * channels + lean]
    assert np.median(after) > 1.0  # beyond a normal runner's usual change
