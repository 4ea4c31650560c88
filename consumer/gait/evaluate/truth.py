"""The simulator's ground truth of each metric over a window's frames, defined as the metric is.

Each function takes the session's per-frame truth (``SimulatedSession.truth``), the leg
length (m) and a window's row indices into it, and returns the value the metric should read
(NaN when the window holds none of what it needs, e.g. no contact).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

Truth = Mapping[str, np.ndarray]
SIDES = ("left", "right")


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of complete True runs (not touching either end of ``mask``)."""
    edges = np.diff(mask.astype(np.int8))
    starts = np.flatnonzero(edges == 1) + 1
    ends = np.flatnonzero(edges == -1) + 1
    return [(a, b) for a in starts for b in ends[ends > a][:1]]


def _asymmetry(left: float, right: float) -> float:
    return float(abs(left - right) / ((left + right) / 2))


def cadence(truth: Truth, leg: float, rows: np.ndarray) -> float:
    return float(np.mean(truth["cadence_spm"][rows]))


def trunk_lean(truth: Truth, leg: float, rows: np.ndarray) -> float:
    return float(np.mean(truth["trunk_lean_deg"][rows]))


def head_forward(truth: Truth, leg: float, rows: np.ndarray) -> float:
    return float(np.mean(truth["head_forward_m"][rows])) / leg


def vertical_oscillation(truth: Truth, leg: float, rows: np.ndarray) -> float:
    height = truth["pelvis_height_m"][rows]
    return float(np.ptp(height)) / leg


def _at_contacts(truth: Truth, key: str, rows: np.ndarray) -> np.ndarray:
    return np.concatenate([
        truth[key.format(side=side)][rows][truth[f"contact_{side}"][rows]] for side in SIDES])


def overstride(truth: Truth, leg: float, rows: np.ndarray) -> float:
    values = _at_contacts(truth, "heel_ahead_at_contact_{side}_m", rows)
    return float(np.mean(values)) / leg if len(values) else float("nan")


def shank_angle(truth: Truth, leg: float, rows: np.ndarray) -> float:
    values = _at_contacts(truth, "shank_at_contact_{side}_deg", rows)
    return float(np.mean(values)) if len(values) else float("nan")


def foot_strike(truth: Truth, leg: float, rows: np.ndarray) -> float:
    values = _at_contacts(truth, "foot_pitch_at_contact_{side}_deg", rows)
    return float(np.mean(values)) if len(values) else float("nan")


def _knee_peak(truth: Truth, rows: np.ndarray, in_stance: bool) -> float:
    peaks = []
    for side in SIDES:
        stance = truth[f"stance_{side}"][rows]
        chosen = stance if in_stance else ~stance
        if chosen.any():
            peaks.append(np.max(truth[f"knee_flexion_{side}_deg"][rows][chosen]))
    return float(np.mean(peaks)) if peaks else float("nan")


def knee_stance(truth: Truth, leg: float, rows: np.ndarray) -> float:
    return _knee_peak(truth, rows, in_stance=True)


def knee_swing(truth: Truth, leg: float, rows: np.ndarray) -> float:
    return _knee_peak(truth, rows, in_stance=False)


def elbow_angle(truth: Truth, leg: float, rows: np.ndarray) -> float:
    return float(np.mean([truth[f"elbow_angle_{s}_deg"][rows] for s in SIDES]))


def arm_swing(truth: Truth, leg: float, rows: np.ndarray) -> float:
    world = truth["world_landmarks"][rows]
    ranges = []
    for shoulder, elbow in ((11, 13), (12, 14)):
        forward = world[:, elbow, 0] - world[:, shoulder, 0]
        down = world[:, shoulder, 1] - world[:, elbow, 1]
        angle = np.degrees(np.arctan2(forward, down))
        ranges.append(np.percentile(angle, 95) - np.percentile(angle, 5))
    return float(np.mean(ranges))


def step_time_asymmetry(truth: Truth, leg: float, rows: np.ndarray) -> float:
    contacts = np.sort(np.concatenate([
        np.flatnonzero(truth[f"contact_{s}"][rows]) for s in SIDES]).astype(float))
    gaps = np.diff(contacts)
    if len(gaps) < 2:
        return float("nan")
    return float(abs(gaps[0::2].mean() - gaps[1::2].mean()) / gaps.mean())


def stance_time_asymmetry(truth: Truth, leg: float, rows: np.ndarray) -> float:
    durations = []
    for side in SIDES:
        runs = _runs(truth[f"stance_{side}"][rows])
        if not runs:
            return float("nan")
        durations.append(np.mean([b - a for a, b in runs]))
    return _asymmetry(*durations)


def knee_rom_asymmetry(truth: Truth, leg: float, rows: np.ndarray) -> float:
    ranges = [np.ptp(truth[f"knee_flexion_{s}_deg"][rows]) for s in SIDES]
    return _asymmetry(*ranges)


def knee_valgus(truth: Truth, leg: float, rows: np.ndarray) -> float:
    values = np.concatenate([
        truth[f"knee_medial_{s}_m"][rows][truth[f"stance_{s}"][rows]] for s in SIDES])
    return float(np.mean(values)) / leg if len(values) else float("nan")


def pelvic_drop(truth: Truth, leg: float, rows: np.ndarray) -> float:
    tilt = truth["pelvic_obliquity_deg"][rows]
    drop = np.where(truth["stance_right"][rows], tilt,
                    np.where(truth["stance_left"][rows], -tilt, np.nan))
    drop = drop[np.isfinite(drop)]
    return float(np.mean(drop)) if len(drop) else float("nan")


def foot_lateral(truth: Truth, leg: float, rows: np.ndarray) -> float:
    values = _at_contacts(truth, "foot_lateral_{side}_m", rows)
    return float(np.mean(values)) / leg if len(values) else float("nan")


def wrist_lateral(truth: Truth, leg: float, rows: np.ndarray) -> float:
    return float(np.mean([truth[f"wrist_lateral_{s}_m"][rows] for s in SIDES])) / leg


TRUTH: Mapping[str, Callable[[Truth, float, np.ndarray], float]] = {
    "cadence_spm": cadence,
    "vertical_oscillation_rel": vertical_oscillation,
    "step_time_asymmetry": step_time_asymmetry,
    "elbow_angle_deg": elbow_angle,
    "trunk_lean_deg": trunk_lean,
    "head_forward_rel": head_forward,
    "overstride_rel": overstride,
    "shank_angle_deg": shank_angle,
    "foot_strike_deg": foot_strike,
    "knee_flexion_stance_deg": knee_stance,
    "knee_flexion_swing_deg": knee_swing,
    "arm_swing_deg": arm_swing,
    "stance_time_asymmetry": stance_time_asymmetry,
    "knee_rom_asymmetry": knee_rom_asymmetry,
    "knee_valgus_rel": knee_valgus,
    "pelvic_drop_deg": pelvic_drop,
    "foot_lateral_rel": foot_lateral,
    "wrist_lateral_rel": wrist_lateral,
}
