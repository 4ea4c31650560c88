"""The simulated runner moves like a runner: rigid limbs, the configured cadence, gait phases,
and normal runners inside the normal ranges of running-form.md."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from consumer.landmarks import LANDMARK_INDEX as IDX
from producer_sim import VIEWS, RunnerProfile, simulate_session

LIMBS = {  # name -> (left start, left end); the right side is +1 on both
    "thigh_m": (IDX["left_hip"], IDX["left_knee"]),
    "shank_m": (IDX["left_knee"], IDX["left_ankle"]),
    "upper_arm_m": (IDX["left_shoulder"], IDX["left_elbow"]),
    "forearm_m": (IDX["left_elbow"], IDX["left_wrist"]),
}


def _runner(seed: int, view: str) -> RunnerProfile:
    return RunnerProfile.random(np.random.default_rng(seed), f"t{seed}", view=view)


@pytest.fixture(scope="module")
def sessions():
    """Two runners per view, 20 s each, with tracker noise."""
    return [simulate_session(_runner(seed, view), 600, seed=seed)
            for view in VIEWS for seed in (1, 2)]


def test_limbs_are_rigid_in_3d_before_projection(sessions):
    for session in sessions:
        world, body = session.truth["world_landmarks"], session.runner.body
        for name, (a, b) in LIMBS.items():
            for side in (0, 1):
                length = np.linalg.norm(world[:, a + side] - world[:, b + side], axis=1)
                np.testing.assert_allclose(length, getattr(body, name), rtol=1e-9)


def test_projection_keeps_limb_lengths_when_unprojected(sessions, measures):
    """x, y and z (MediaPipe's scale) with the camera intrinsics give back the 3D pose."""
    for session in sessions:
        points = measures.unproject(session.truth["clean_landmarks"], session.runner.camera,
                                    session.truth["hip_depth_m"])
        for name, (a, b) in LIMBS.items():
            for side in (0, 1):
                length = np.linalg.norm(points[:, a + side] - points[:, b + side], axis=1)
                np.testing.assert_allclose(length, getattr(session.runner.body, name),
                                           rtol=2e-3)


def test_limb_lengths_stay_within_5_percent_under_tracker_jitter(sessions, measures):
    for session in sessions:
        body, truth = session.runner.body, session.truth
        points = measures.unproject(session.landmarks, session.runner.camera,
                                    truth["hip_depth_m"])
        visible = session.landmarks.reshape(-1, 33, 4)[..., 3] > 0.5
        usable = truth["tracked"] & ~truth["swapped"]
        for name, (a, b) in LIMBS.items():
            for side in (0, 1):
                seen = usable & visible[:, a + side] & visible[:, b + side]
                if seen.sum() < 30:
                    # A far-side arm is rarely rated visible side-on (as MediaPipe rates it:
                    # docs/realism.md); a median of a few frames says nothing.
                    continue
                length = np.linalg.norm(points[seen, a + side] - points[seen, b + side], axis=1)
                assert abs(np.median(length) / getattr(body, name) - 1) < 0.05, (
                    session.runner.view, name, side)


def test_in_plane_limbs_keep_their_length_frame_by_frame_in_side_views(sessions, measures):
    """Near-side legs swing in the picture's plane: their 2D lengths barely change (arms are
    abducted and forearms turn towards the midline, so theirs do)."""
    for session in sessions:
        if session.runner.view != "side":
            continue
        px = measures.pixels(session.landmarks, session.runner.camera)
        near = 0 if session.runner.camera.azimuth_deg > 0 else 1  # camera at the left: left
        ok = session.truth["tracked"] & ~session.truth["swapped"]
        for name in ("thigh_m", "shank_m"):
            a, b = LIMBS[name]
            length = np.linalg.norm(px[ok, a + near, :2] - px[ok, b + near, :2], axis=1)
            deviation = np.abs(length / np.median(length) - 1)
            assert np.median(deviation) < 0.05, name


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("seed", [3, 4, 5])
def test_cadence_measured_from_the_ankles_matches_the_configured_one(view, seed, measures):
    runner = _runner(seed, view)
    session = simulate_session(runner, 900, seed=seed)
    measured = measures.cadence_from_ankles(session.landmarks)
    assert measured == pytest.approx(runner.gait.cadence_spm, rel=0.03)


def test_gait_phases(sessions):
    for session in sessions:
        truth = session.truth
        left, right = truth["stance_left"], truth["stance_right"]
        assert not np.any(left & right), "running has no double support"
        assert np.mean(~left & ~right) > 0.1, "running has flight phases"
        for stance in (left, right):
            assert 0.27 < stance.mean() < 0.42  # stance share of a stride
        contacts = np.flatnonzero(truth["contact_left"])
        # Right contacts fall half a stride after left ones.
        for a, b in pairwise(contacts):
            between = np.flatnonzero(truth["contact_right"][a:b])
            assert len(between) == 1
            assert 0.4 < between[0] / (b - a) < 0.6


def test_two_pelvis_bounces_per_stride_and_arms_opposite_to_legs(sessions):
    for session in sessions:
        truth, world = session.truth, session.truth["world_landmarks"]
        height = truth["pelvis_height_m"]
        lows = np.flatnonzero((height[1:-1] < height[:-2]) & (height[1:-1] <= height[2:])) + 1
        strides = np.ptp(truth["stride_phase"])
        assert len(lows) == pytest.approx(2 * strides, abs=2)
        # The left arm swings forward when the right leg does.
        hip_x = world[:, [IDX["left_hip"], IDX["right_hip"]], 0].mean(axis=1)
        left_wrist = world[:, IDX["left_wrist"], 0] - hip_x
        right_ankle = world[:, IDX["right_ankle"], 0] - hip_x
        left_ankle = world[:, IDX["left_ankle"], 0] - hip_x
        assert np.corrcoef(left_wrist, right_ankle)[0, 1] > 0.5
        assert np.corrcoef(left_wrist, left_ankle)[0, 1] < -0.5


def test_normal_runners_stay_in_the_normal_ranges():
    rng = np.random.default_rng(2024)
    summaries, runners = [], []
    for i in range(30):
        runner = RunnerProfile.random(rng, f"n{i}")
        runners.append(runner)
        summaries.append(simulate_session(runner, 240, seed=i).truth_summary())
    for runner, summary in zip(runners, summaries, strict=True):
        assert 1.5 <= runner.body.height_m <= 1.95
        assert 160 * 0.97 <= summary["cadence_spm"] <= 185 * 1.03  # with stride wobble
        assert 2 <= summary["trunk_lean_deg"] <= 11
        assert 38 <= summary["knee_flexion_stance_deg"] <= 50
        assert 90 <= summary["knee_flexion_swing_deg"] <= 130
        assert 78 <= summary["elbow_angle_deg"] <= 102
        assert 0.03 <= summary["vertical_oscillation_m"] <= 0.13
        assert summary["heel_ahead_at_contact_rel"] < 0.25  # lands close under the hips
        assert summary["foot_pitch_at_contact_deg"] < 8  # midfoot or forefoot
        assert summary["foot_lateral_at_contact_rel"] > 0  # each foot on its own side
        assert summary["wrist_lateral_rel"] > 0
    vo = [s["vertical_oscillation_m"] for s in summaries]
    assert np.percentile(vo, 10) >= 0.04 and np.percentile(vo, 90) <= 0.11


def test_landing_close_under_the_hips_with_the_shank_near_vertical(sessions):
    for session in sessions:
        truth, leg = session.truth, session.runner.body.leg_m
        for side in ("left", "right"):
            at = truth[f"contact_{side}"]
            assert np.all(np.abs(truth[f"shank_at_contact_{side}_deg"][at]) < 12)
            assert np.all(truth[f"knee_flexion_at_contact_{side}_deg"][at] > 8)
            assert np.all(truth[f"heel_ahead_at_contact_{side}_m"][at] < 0.3 * leg)
        # The frames just after a contact agree with the contact-instant truth.
        world = truth["world_landmarks"]
        at = truth["contact_left"]
        shank = world[at, IDX["left_ankle"]] - world[at, IDX["left_knee"]]
        tilt = np.degrees(np.arctan2(shank[:, 0], -shank[:, 1]))
        assert np.median(tilt) == pytest.approx(
            np.median(truth["shank_at_contact_left_deg"][at]), abs=12)


def test_far_side_is_less_visible_in_side_views(sessions):
    for session in sessions:
        if session.runner.view != "side":
            continue
        vis = session.landmarks.reshape(-1, 33, 4)[..., 3]
        near_left = session.runner.camera.azimuth_deg > 0
        left, right = np.nanmean(vis[:, 11::2]), np.nanmean(vis[:, 12::2])
        near, far = (left, right) if near_left else (right, left)
        assert near > far + 0.05
