"""Legs on a treadmill: stance (``stance.py``) joined to swing, and knees placed by IK.

Swing is given as thigh and knee angles (Hermite curves joined to stance with matching values
and slopes at toe-off and contact), so hip and knee ranges stay anatomical; the pelvis arcs
through the flight between the stance heights. Vertical oscillation, thigh angles at contact
and toe-off, and the shank angle at contact all follow from the stance and swing parameters,
as they do in a runner. Knees are placed by two-link inverse kinematics from hip and ankle,
which keeps thigh and shank lengths exact; knee valgus rotates the knee about the hip-ankle
line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from producer_sim.body import Body
from producer_sim.gait import Series
from producer_sim.pelvis import (
    SIDE_Z,
    PelvisPose,
    contact_at,
    duty,
    hermite,
    pelvis_pose,
    smoothstep,
)
from producer_sim.stance import StanceState, stance_state

SWING_KNEE_PEAK_AT = 0.45  # share of swing with the most knee flexion
SWING_HIP_PEAK_AT = 0.8  # share of swing with the thigh furthest forward
DELTA_U = 1e-3


@dataclass(frozen=True)
class Keyframes:
    """Each leg's stance state at its toe-off and its contact, with slopes per stride phase."""

    toeoff: list[StanceState]
    contact: list[StanceState]
    toeoff_slope: list[StanceState]
    contact_slope: list[StanceState]


def _slope(after: StanceState, before: StanceState, dq: np.ndarray) -> StanceState:
    return StanceState(*(
        (getattr(after, f) - getattr(before, f)) / (dq[:, None] if getattr(after, f).ndim == 2
                                                    else dq)
        for f in ("centre_x", "centre_y", "hip", "ankle", "knee_flex", "thigh", "pitch")
    ))


def keyframes(series: Series, body: Body) -> Keyframes:
    starts, duties = contact_at(series), duty(series)
    count = starts.shape[0]
    toeoff, contact, toeoff_slope, contact_slope = [], [], [], []
    for leg in (0, 1):
        one, zero = np.ones(count), np.zeros(count)
        q_to, q_c = starts[:, leg] + duties[:, leg], starts[:, leg]
        dq = DELTA_U * duties[:, leg]
        at_to = stance_state(one, q_to, series, body, leg)
        before_to = stance_state(one - DELTA_U, q_to - dq, series, body, leg)
        at_c = stance_state(zero, q_c, series, body, leg)
        after_c = stance_state(zero + DELTA_U, q_c + dq, series, body, leg)
        toeoff.append(at_to)
        contact.append(at_c)
        toeoff_slope.append(_slope(at_to, before_to, dq))
        contact_slope.append(_slope(after_c, at_c, dq))
    return Keyframes(toeoff, contact, toeoff_slope, contact_slope)


def pelvis_height(q: np.ndarray, series: Series, body: Body, keys: Keyframes) -> np.ndarray:
    """Pelvis centre height: from the stance leg, or an arc through the flight."""
    pose = pelvis_pose(q, series)
    prog = pose.progress
    starts, duties = contact_at(series), duty(series)
    height = np.zeros_like(q)
    for leg in (0, 1):
        state = stance_state(prog.u[:, leg], q, series, body, leg)
        height = np.where(prog.stance[:, leg], state.centre_y, height)
        # Flight after this leg's toe-off, until the other leg's contact.
        other = 1 - leg
        q_to = starts[:, leg] + duties[:, leg]
        q_next = starts[:, other] + (1.0 if leg == 1 else 0.0)
        span = q_next - q_to
        s = np.mod(q - q_to, 1.0) / span
        in_flight = (s < 1.0) & ~prog.stance.any(axis=1)
        arc = hermite(
            np.clip(s, 0.0, 1.0),
            keys.toeoff[leg].centre_y, keys.toeoff_slope[leg].centre_y * span,
            keys.contact[other].centre_y, keys.contact_slope[other].centre_y * span,
        )
        height = np.where(in_flight, arc, height)
    return height


def swing_angles(
    w: np.ndarray, series: Series, keys: Keyframes, leg: int
) -> tuple[np.ndarray, np.ndarray]:
    """Thigh angle and knee flexion (rad) over swing share ``w``, joined to stance smoothly."""
    span = 1 - duty(series)[:, leg]  # stride phase per unit of swing
    start, end = keys.toeoff[leg], keys.contact[leg]
    start_slope, end_slope = keys.toeoff_slope[leg], keys.contact_slope[leg]
    hip_peak = np.maximum.reduce([
        np.radians(series["hip_swing_deg"][:, leg]), end.thigh + 0.07, start.thigh + 0.35,
    ])
    knee_peak = np.radians(series["knee_swing_deg"][:, leg])
    a, b = SWING_HIP_PEAK_AT, SWING_KNEE_PEAK_AT
    zero = np.zeros_like(w)
    thigh = np.where(
        w < a,
        hermite(w / a, start.thigh, start_slope.thigh * span * a, hip_peak, zero),
        hermite((w - a) / (1 - a), hip_peak, zero, end.thigh, end_slope.thigh * span * (1 - a)),
    )
    knee = np.where(
        w < b,
        hermite(w / b, start.knee_flex, start_slope.knee_flex * span * b, knee_peak, zero),
        hermite((w - b) / (1 - b), knee_peak, zero, end.knee_flex,
                end_slope.knee_flex * span * (1 - b)),
    )
    return thigh, knee


def place_knee(
    hip: np.ndarray, ankle: np.ndarray, body: Body, valgus: np.ndarray
) -> np.ndarray:
    """(T, 3) knee from hip and ankle: bent forwards, rotated by ``valgus`` (rad, +Z positive)."""
    a, b = body.thigh_m, body.shank_m
    span = ankle - hip
    dist = np.clip(np.linalg.norm(span, axis=1), abs(a - b) + 1e-6, (a + b) * (1 - 1e-9))
    axis = span / np.linalg.norm(span, axis=1, keepdims=True)
    along = (a * a - b * b + dist**2) / (2 * dist)
    out = np.sqrt(np.maximum(a * a - along**2, 0.0))
    forward = np.array([1.0, 0.0, 0.0]) - axis[:, :1] * axis
    forward /= np.linalg.norm(forward, axis=1, keepdims=True)
    # Rodrigues about the hip-ankle axis (forward is perpendicular to it).
    side = np.cross(axis, forward)
    bend = forward * np.cos(valgus)[:, None] + side * np.sin(valgus)[:, None]
    return hip + axis * along[:, None] + bend * out[:, None]


@dataclass(frozen=True)
class Legs:
    centre: np.ndarray  # (T, 3) pelvis centre (hip midpoint)
    pose: PelvisPose
    hip: np.ndarray  # (T, 2, 3) left, right
    knee: np.ndarray
    ankle: np.ndarray
    heel: np.ndarray
    toe: np.ndarray
    pitch: np.ndarray  # (T, 2) foot pitch, rad
    # At the instant of contact, with each frame's parameters (frames miss the instant):
    # heel ahead of the hip midpoint (m), shank from vertical (> 0: ankle ahead of the knee),
    # knee flexion and foot pitch (deg); (T, 2) each.
    at_contact: dict[str, np.ndarray]


def legs(q: np.ndarray, series: Series, body: Body) -> Legs:
    """Pelvis and both legs at stride phases ``q`` (runner frame)."""
    keys = keyframes(series, body)
    pose = pelvis_pose(q, series)
    prog = pose.progress
    centre = np.column_stack([pose.surge, pelvis_height(q, series, body, keys), pose.sway])
    hips = centre[:, None, :] + pose.hip_offsets(body)
    parts: dict[str, list[np.ndarray]] = {"knee": [], "ankle": [], "heel": [], "toe": []}
    pitches = []
    at_contact: dict[str, list[np.ndarray]] = {
        "heel_ahead_m": [], "shank_deg": [], "knee_flexion_deg": [], "foot_pitch_deg": []}
    for leg in (0, 1):
        landing = keys.contact[leg]
        heel_at_contact, _ = foot_points(landing.ankle, landing.pitch,
                                         np.radians(series["toe_out_deg"][:, leg]), body, leg)
        at_contact["heel_ahead_m"].append(heel_at_contact[:, 0] - landing.centre_x)
        at_contact["shank_deg"].append(np.degrees(landing.thigh - landing.knee_flex))
        at_contact["knee_flexion_deg"].append(np.degrees(landing.knee_flex))
        at_contact["foot_pitch_deg"].append(np.degrees(landing.pitch))
        stance = prog.stance[:, leg]
        planted = stance_state(prog.u[:, leg], q, series, body, leg)
        thigh, knee_flex = swing_angles(prog.w[:, leg], series, keys, leg)
        swing_ankle = _swing_ankle(hips[:, leg], thigh, knee_flex, planted.ankle[:, 2], body)
        ankle = np.where(stance[:, None], planted.ankle, swing_ankle)
        valgus = -SIDE_Z[leg] * np.radians(series["valgus_deg"][:, leg]) * prog.bump[:, leg]
        knee = place_knee(hips[:, leg], ankle, body, valgus)
        shank = np.arctan2(ankle[:, 0] - knee[:, 0], knee[:, 1] - ankle[:, 1])
        plantar = _swing_plantarflexion(prog.w[:, leg], keys, leg)
        pitch = np.where(stance, planted.pitch, _clear_ground(shank - plantar, ankle[:, 1], body))
        heel, toe = foot_points(ankle, pitch, np.radians(series["toe_out_deg"][:, leg]),
                                body, leg)
        for name, value in (("knee", knee), ("ankle", ankle), ("heel", heel), ("toe", toe)):
            parts[name].append(value)
        pitches.append(pitch)
    stacked = {name: np.stack(values, axis=1) for name, values in parts.items()}
    return Legs(centre=centre, pose=pose, hip=hips, pitch=np.stack(pitches, axis=1),
                at_contact={k: np.stack(v, axis=1) for k, v in at_contact.items()}, **stacked)


def _swing_ankle(
    hip: np.ndarray, thigh: np.ndarray, knee_flex: np.ndarray, lateral: np.ndarray, body: Body
) -> np.ndarray:
    """Ankle from thigh angle and knee flexion, the leg's plane tilted to reach ``lateral``.

    The sagittal part is shortened so that the hip-ankle distance stays the one the knee
    flexion gives, whatever the foot's lateral offset: IK then returns exactly that flexion.
    """
    x = body.thigh_m * np.sin(thigh) + body.shank_m * np.sin(thigh - knee_flex)
    y = -body.thigh_m * np.cos(thigh) - body.shank_m * np.cos(thigh - knee_flex)
    length = np.hypot(x, y)
    dz = lateral - hip[:, 2]
    scale = np.sqrt(np.maximum(length**2 - dz**2, 0.0)) / length
    return np.column_stack([hip[:, 0] + x * scale, hip[:, 1] + y * scale, lateral])


def _swing_plantarflexion(w: np.ndarray, keys: Keyframes, leg: int) -> np.ndarray:
    """Ankle plantarflexion (rad) in swing: from toe-off, dorsiflexed mid-swing, to contact."""
    start, end = keys.toeoff[leg], keys.contact[leg]
    at_toeoff = start.thigh - start.knee_flex - start.pitch
    at_contact = end.thigh - end.knee_flex - end.pitch
    dorsiflexed = np.radians(-8.0)  # the foot is pulled up to clear the ground
    first = at_toeoff + (dorsiflexed - at_toeoff) * smoothstep(w / 0.4)
    last = dorsiflexed + (at_contact - dorsiflexed) * smoothstep((w - 0.75) / 0.25)
    return np.where(w < 0.4, first, last)


def _clear_ground(pitch: np.ndarray, ankle_y: np.ndarray, body: Body) -> np.ndarray:
    """Pitch limited so that neither toe nor heel dips below the belt in swing."""
    hb, tf, ha = body.heel_back_m, body.toe_front_m, body.ankle_height_m
    # toe height = ankle_y + r sin(p - a) >= 0  and  heel height = ankle_y - r' sin(p + b) >= 0
    r_toe, a = np.hypot(tf, ha), np.arctan2(ha, tf)
    r_heel, b = np.hypot(hb, ha), np.arctan2(ha, hb)
    lowest = np.where(
        ankle_y < r_toe, a + np.arcsin(np.clip(-ankle_y / r_toe, -1.0, 1.0)), -np.inf)
    highest = np.where(
        ankle_y < r_heel, np.arcsin(np.clip(ankle_y / r_heel, -1.0, 1.0)) - b, np.inf)
    return np.clip(pitch, lowest, np.maximum(highest, lowest))


def foot_points(
    ankle: np.ndarray, pitch: np.ndarray, toe_out: np.ndarray, body: Body, leg: int
) -> tuple[np.ndarray, np.ndarray]:
    """Heel and toe landmarks: the foot pitched, and turned outwards by ``toe_out``."""
    outward = SIDE_Z[leg]
    cos_p, sin_p = np.cos(pitch), np.sin(pitch)
    cos_t, sin_t = np.cos(toe_out), np.sin(toe_out)
    along = np.column_stack([cos_p * cos_t, sin_p, outward * cos_p * sin_t])
    up = np.column_stack([-sin_p * cos_t, cos_p, -outward * sin_p * sin_t])
    drop = body.ankle_height_m * up
    heel = ankle - body.heel_back_m * along - drop
    toe = ankle + body.toe_front_m * along - drop
    return heel, toe
