"""Same seed, same frames (however the session is cut into chunks); other seeds, other runners."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from consumer.errors import ConfigError
from producer_sim import (
    FAULT_NAMES,
    FAULTS,
    VIEWS,
    FaultPlan,
    RunnerProfile,
    SessionSimulator,
    simulate_session,
)
from producer_sim.faults import views_for


def _runner(seed: int = 3, view: str = "oblique") -> RunnerProfile:
    return RunnerProfile.random(np.random.default_rng(seed), "det", view=view)


def test_catalogue():
    assert FAULT_NAMES == (
        "overstriding", "heel_striking", "vertical_oscillation", "trunk_lean", "hunched_head",
        "knee_valgus", "cross_over", "pelvic_drop", "limp", "stiff_arms", "arm_crossing",
        "low_cadence",
    )
    assert VIEWS == ("side", "front", "oblique")
    for spec in FAULTS.values():
        assert spec.visible_views and spec.visible_views <= set(VIEWS)
        assert 0.5 <= spec.default_severity <= 1.0
    assert views_for("knee_valgus") == ("front", "oblique")
    assert views_for("overstriding") == ("side", "oblique")


def test_same_seed_same_session():
    plan = [FaultPlan("limp", 0.8, 100)]
    a = simulate_session(_runner(), 300, plan, seed=11)
    b = simulate_session(_runner(), 300, plan, seed=11)
    assert np.array_equal(a.landmarks, b.landmarks, equal_nan=True)
    assert a.labels == b.labels
    for key, value in a.truth.items():
        assert np.array_equal(value, b.truth[key], equal_nan=value.dtype.kind == "f"), key


def test_chunks_agree_with_the_whole_session():
    plans = [FaultPlan("low_cadence", 0.8, 130, end_frame=400)]
    simulator = SessionSimulator(_runner(), plans, seed=5)
    frames, whole = simulator.chunk(0, 500)
    parts = [simulator.chunk(start, count) for start, count in ((0, 97), (97, 1), (98, 402))]
    np.testing.assert_array_equal(np.concatenate([f for f, _ in parts]), frames)
    np.testing.assert_allclose(np.concatenate([lm for _, lm in parts]), whole, atol=1e-6)
    assert np.isnan(whole).any(axis=1).sum() == sum(np.isnan(lm).any(axis=1).sum()
                                                   for _, lm in parts)
    late = simulate_session(_runner(), 100, plans, seed=5, start_frame=400)
    np.testing.assert_array_equal(late.frames, np.arange(400, 500))
    np.testing.assert_allclose(late.landmarks, whole[400:], atol=1e-6)


def test_other_seeds_other_runners_and_other_noise():
    profiles = [RunnerProfile.random(np.random.default_rng(s), f"r{s}") for s in range(5)]
    heights = {round(p.body.height_m, 6) for p in profiles}
    cadences = {round(p.gait.cadence_spm, 6) for p in profiles}
    assert len(heights) == 5 and len(cadences) == 5
    a = simulate_session(_runner(), 200, seed=1)
    b = simulate_session(_runner(), 200, seed=2)
    assert not np.allclose(a.landmarks, b.landmarks, equal_nan=True)
    # Without tracker noise a seed changes only the stride-to-stride wobble and phase.
    assert not np.allclose(a.truth["clean_landmarks"], b.truth["clean_landmarks"])


def test_a_perfect_tracker_gives_the_clean_landmarks():
    session = simulate_session(_runner(), 120, seed=4)
    _, quiet = SessionSimulator(_runner(), seed=4, tracker_noise=False).chunk(0, 120)
    np.testing.assert_allclose(quiet, session.truth["clean_landmarks"], atol=1e-6)


def test_tracker_noise_is_bounded_and_landmarks_stay_in_schema_ranges():
    for view in VIEWS:
        session = simulate_session(_runner(7, view), 600, seed=7)
        rows = session.landmarks[session.truth["tracked"]].reshape(-1, 33, 4)
        assert np.isfinite(rows).all()
        assert np.all((rows[..., :2] > -0.2) & (rows[..., :2] < 1.2))
        assert np.all(np.abs(rows[..., 2]) < 2)
        assert np.all((rows[..., 3] >= 0) & (rows[..., 3] <= 1))
        assert np.isnan(session.landmarks[~session.truth["tracked"]]).all()
        jitter = rows[..., :2] - session.truth["clean_landmarks"][
            session.truth["tracked"]].reshape(-1, 33, 4)[..., :2]
        assert 0 < np.median(np.abs(jitter)) < 0.01


def test_invalid_inputs_raise_config_errors():
    with pytest.raises(ConfigError, match="unknown fault"):
        FaultPlan("sloppy_arms", 0.5, 0)
    with pytest.raises(ConfigError, match="severity"):
        FaultPlan("limp", 1.5, 0)
    with pytest.raises(ConfigError, match="end_frame"):
        FaultPlan("limp", 0.5, 100, end_frame=150)
    with pytest.raises(ConfigError, match="unknown view"):
        RunnerProfile.random(np.random.default_rng(1), "x", view="top")
    runner = _runner()
    with pytest.raises(ConfigError, match="camera view"):
        replace(runner, view="side")
