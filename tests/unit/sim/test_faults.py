"""Each fault moves its defining measure the right way, compared with the same runner (same
body, camera and noise) without it: measured on the tracker output in a view that shows it,
and in the ground truth."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np
import pytest

from producer_sim import FAULT_NAMES, FAULTS, FaultPlan, RunnerProfile, simulate_session
from producer_sim.session import SimulatedSession

FRAMES = 600
SETTLED = slice(60, None)  # after the 1.5 s ramp-in


def _px(session: SimulatedSession, measures) -> np.ndarray:
    px = measures.pixels(session.landmarks, session.runner.camera)
    px[~session.truth["tracked"] | session.truth["swapped"]] = np.nan
    px[: SETTLED.start] = np.nan
    return px


def _contacts(session: SimulatedSession) -> list[tuple[np.ndarray, int]]:
    """(contact frames, side) per leg: 0 left, 1 right (landmark index offset)."""
    return [(session.truth[f"contact_{s}"], i) for i, s in enumerate(("left", "right"))]


def _mid(px: np.ndarray, a: int, b: int) -> np.ndarray:
    return (px[:, a] + px[:, b]) / 2


def overstride(s, m):
    px = _px(s, m)
    d, leg = m.run_direction(px), m.leg_px(px)
    hip_x = _mid(px, 23, 24)[:, 0]
    return np.nanmedian(np.concatenate(
        [(px[at, 29 + i, 0] - hip_x[at]) * d / leg for at, i in _contacts(s)]))


def heel_first(s, m):
    px = _px(s, m)
    leg = m.leg_px(px)
    return np.nanmedian(np.concatenate(
        [(px[at, 29 + i, 1] - px[at, 31 + i, 1]) / leg for at, i in _contacts(s)]))


def bounce(s, m):
    px = _px(s, m)
    hip_y = _mid(px, 23, 24)[:, 1] / m.leg_px(px)
    starts = np.flatnonzero(s.truth["contact_left"])
    spans = [np.nanmax(hip_y[a:b]) - np.nanmin(hip_y[a:b])
             for a, b in pairwise(starts) if a >= SETTLED.start]
    return np.median(spans)


def trunk_angle(s, m):
    px = _px(s, m)
    trunk = _mid(px, 11, 12) - _mid(px, 23, 24)
    return np.nanmedian(np.degrees(np.arctan2(trunk[:, 0] * m.run_direction(px), -trunk[:, 1])))


def head_ahead(s, m):
    px = _px(s, m)
    shoulders = _mid(px, 11, 12)
    trunk = np.linalg.norm(shoulders[:, :2] - _mid(px, 23, 24)[:, :2], axis=1)
    return np.nanmedian((_mid(px, 7, 8)[:, 0] - shoulders[:, 0]) * m.run_direction(px) / trunk)


def _hip_width(px):
    return np.nanmedian(np.abs(px[:, 23, 0] - px[:, 24, 0]))


def knee_inward(s, m):
    px = _px(s, m)
    values = []
    for i, side in enumerate(("left", "right")):
        hip, knee, ankle = px[:, 23 + i], px[:, 25 + i], px[:, 27 + i]
        medial = np.sign(px[:, 24 - i, 0] - px[:, 23 + i, 0])
        t = (knee[:, 1] - hip[:, 1]) / (ankle[:, 1] - hip[:, 1])
        line_x = hip[:, 0] + t * (ankle[:, 0] - hip[:, 0])
        stance = s.truth[f"stance_{side}"]
        values.append(((knee[:, 0] - line_x) * medial)[stance])
    return np.nanmedian(np.concatenate(values)) / _hip_width(px)


def foot_outward(s, m):
    px = _px(s, m)
    hip_x = _mid(px, 23, 24)[:, 0]
    values = []
    for at, i in _contacts(s):
        own = np.sign(px[at, 23 + i, 0] - px[at, 24 - i, 0])
        values.append((px[at, 27 + i, 0] - hip_x[at]) * own)
    return np.nanmedian(np.concatenate(values)) / _hip_width(px)


def hip_drop(s, m):
    px = _px(s, m)
    left_stance, right_stance = s.truth["stance_left"], s.truth["stance_right"]
    # y grows downwards: the swing-side hip below the stance-side one is positive.
    drop = np.where(right_stance, px[:, 23, 1] - px[:, 24, 1],
                    np.where(left_stance, px[:, 24, 1] - px[:, 23, 1], np.nan))
    return np.nanpercentile(drop, 90) / _hip_width(px)


def knee_rom_asymmetry(s, m):
    px = _px(s, m)
    roms = []
    for i in (0, 1):
        flexion = 180 - m.angle_deg(px[:, 23 + i], px[:, 25 + i], px[:, 27 + i])
        roms.append(np.nanpercentile(flexion, 95) - np.nanpercentile(flexion, 5))
    return abs(roms[0] - roms[1]) / np.mean(roms)


def elbow_angle(s, m):
    px = _px(s, m)
    return np.nanmedian([m.angle_deg(px[:, 11 + i], px[:, 13 + i], px[:, 15 + i])
                         for i in (0, 1)])


def wrist_outward(s, m):
    px = _px(s, m)
    hip_x = _mid(px, 23, 24)[:, 0]
    shoulders = np.nanmedian(np.abs(px[:, 11, 0] - px[:, 12, 0]))
    values = []
    for i in (0, 1):
        own = np.sign(px[:, 23 + i, 0] - px[:, 24 - i, 0])
        values.append(np.nanpercentile((px[:, 15 + i, 0] - hip_x) * own, 5))
    return np.mean(values) / shoulders


def cadence(s, m):
    return m.cadence_from_ankles(s.landmarks[SETTLED])


# fault -> (view, measure on the tracker output, smallest change that counts)
MEASURES: dict[str, tuple[str, Callable, float]] = {
    "overstriding": ("side", overstride, 0.1),
    "heel_striking": ("side", heel_first, 0.03),
    "vertical_oscillation": ("side", bounce, 0.03),
    "trunk_lean": ("side", trunk_angle, 6.0),
    "hunched_head": ("side", head_ahead, 0.1),
    "knee_valgus": ("front", knee_inward, 0.05),
    "cross_over": ("front", foot_outward, 0.2),
    "pelvic_drop": ("front", hip_drop, 0.05),
    "limp": ("side", knee_rom_asymmetry, 0.1),
    "stiff_arms": ("side", elbow_angle, 20.0),
    "arm_crossing": ("front", wrist_outward, 0.15),
    "low_cadence": ("side", cadence, 12.0),
}


def test_every_fault_has_a_measure():
    assert set(MEASURES) == set(FAULT_NAMES)
    for fault, (view, _, _) in MEASURES.items():
        assert view in FAULTS[fault].visible_views


def _pair(fault: str, view: str, seed: int) -> tuple[SimulatedSession, SimulatedSession]:
    runner = RunnerProfile.random(np.random.default_rng([seed, 77]), f"f{seed}", view=view)
    normal = simulate_session(runner, FRAMES, seed=seed)
    faulty = simulate_session(runner, FRAMES, [FaultPlan.default(fault)], seed=seed)
    return normal, faulty


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("fault", FAULT_NAMES)
def test_fault_moves_its_measure_in_the_picture(fault, seed, measures):
    view, measure, smallest = MEASURES[fault]
    normal, faulty = _pair(fault, view, seed)
    change = measure(faulty, measures) - measure(normal, measures)
    if not FAULTS[fault].increases:
        change = -change
    assert change > smallest, f"{fault}: change {change:.3f} (want > {smallest})"


@pytest.mark.parametrize("fault", FAULT_NAMES)
def test_fault_moves_its_ground_truth_measure(fault):
    spec = FAULTS[fault]
    normal, faulty = _pair(fault, sorted(spec.visible_views)[0], seed=9)
    settled = np.arange(FRAMES) >= SETTLED.start
    before = normal.truth_summary(settled)[spec.measure]
    after = faulty.truth_summary(settled)[spec.measure]
    assert (after > before) if spec.increases else (after < before), (before, after)


def test_vertical_oscillation_shows_from_the_front_too(measures):
    normal, faulty = _pair("vertical_oscillation", "front", 4)
    assert bounce(faulty, measures) > bounce(normal, measures) + 0.03


def test_a_fault_can_start_mid_session_and_end():
    runner = RunnerProfile.random(np.random.default_rng(5), "tiring", view="side")
    plan = FaultPlan("trunk_lean", 0.9, onset_frame=200, end_frame=450)
    session = simulate_session(runner, 600, [plan], seed=5)
    weight = session.truth["fault_weight_trunk_lean"]
    assert weight[:200].max() == 0 and weight[260:400].min() == 1 and weight[451:].max() == 0
    assert weight[200] > 0 and weight[450] > 0  # labelled frames carry the fault
    assert np.all(np.diff(weight[200:260]) >= 0)  # a ramp, not a step
    assert np.all(np.diff(weight[400:460]) <= 0)
    lean = session.truth["trunk_lean_deg"]
    assert lean[300:440].mean() > lean[:190].mean() + 10
    labels = [(r.start_frame, r.end_frame, r.label) for r in session.labels]
    assert labels == [(0, 199, "normal"), (200, 450, "trunk_lean"), (451, 599, "normal")]
    assert list(session.truth["label"][[199, 200, 450, 451]]) == [
        "normal", "trunk_lean", "trunk_lean", "normal"]
