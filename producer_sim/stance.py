"""The stance leg on a treadmill belt, solved forwards so the foot never slides or sinks.

The foot rolls on the belt (heel or forefoot first, flat, then heel-off onto the toes) while
the belt carries it back at running speed; the knee follows a flexion profile (contact ->
deepest at 40 % of stance -> toe-off); the hip height is whatever that leg geometry gives.
The pelvis therefore falls and rises in stance by itself, as in a runner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from producer_sim.body import Body
from producer_sim.gait import Series
from producer_sim.pelvis import SIDE_Z, cos_ease, pelvis_pose, smoothstep

KNEE_PEAK_AT = 0.4  # share of stance with the deepest knee flexion


def reach(body: Body, knee_flex: np.ndarray) -> np.ndarray:
    """Hip-to-ankle distance for a knee flexion (radians)."""
    a, b = body.thigh_m, body.shank_m
    return np.sqrt(a * a + b * b + 2 * a * b * np.cos(knee_flex))


def stance_pitch(u: np.ndarray, series: Series, leg: int) -> np.ndarray:
    """Foot pitch (rad, > 0 toe up) over stance: strike -> flat -> heel-off -> toe-off."""
    strike = np.radians(series["strike_pitch_deg"][:, leg])
    toeoff = np.radians(series["toeoff_pitch_deg"][:, leg])
    flat_at = series["flat_at"][:, leg]
    heel_off = series["heel_off_at"][:, leg]
    # A forefoot lands and its heel drops at once (fastest at contact); a heel lands and the
    # foot is lowered under control (the shin muscles brake it), its angular speed peaking
    # between contact and foot-flat. The heel rises slowly at first, then quickly towards
    # toe-off.
    lowered = np.clip(u / flat_at, 0.0, 1.0)
    early = strike * np.where(strike > 0, 1 - smoothstep(lowered), (1 - lowered) ** 2)
    late = toeoff * np.clip((u - heel_off) / (1 - heel_off), 0.0, 1.0) ** 1.5
    return early + late


def stance_knee(u: np.ndarray, series: Series, leg: int) -> np.ndarray:
    """Knee flexion (rad) over stance, deepest at ``KNEE_PEAK_AT``.

    The knee flexes fastest right at contact (it absorbs the landing) and extends smoothly
    towards toe-off: a quarter sine, then a half cosine.
    """
    k_td, k_ms, k_to = (
        np.radians(series[name][:, leg])
        for name in ("knee_contact_deg", "knee_stance_deg", "knee_toeoff_deg")
    )
    first = k_td + (k_ms - k_td) * np.sin(np.pi / 2 * np.clip(u / KNEE_PEAK_AT, 0.0, 1.0))
    second = k_ms + (k_to - k_ms) * cos_ease((u - KNEE_PEAK_AT) / (1 - KNEE_PEAK_AT))
    return np.where(u < KNEE_PEAK_AT, first, second)


def _roll_offsets(pitch: np.ndarray, body: Body) -> tuple[np.ndarray, np.ndarray]:
    """Ankle position (x, y) over its ground point for a foot pitched on its heel or toe."""
    hb, tf, ha = body.heel_back_m, body.toe_front_m, body.ankle_height_m
    cos_p, sin_p = np.cos(pitch), np.sin(pitch)
    heel_first = pitch >= 0
    x = np.where(heel_first, hb * cos_p - hb, tf - tf * cos_p) - ha * sin_p
    y = np.where(heel_first, hb * sin_p, -tf * sin_p) + ha * cos_p
    return x, y


def foot_on_ground(
    u: np.ndarray, pitch: np.ndarray, series: Series, body: Body, leg: int
) -> np.ndarray:
    """(T, 3) ankle in stance: the foot pivots on its heel (toe up) or toe (toe down)."""
    travel = series["speed_mps"] * series["contact_time_s"][:, leg]  # belt under the foot
    ground = series["contact_offset_m"][:, leg] - travel * u
    x, y = _roll_offsets(pitch, body)
    z = SIDE_Z[leg] * series["foot_lateral_m"][:, leg]
    return np.column_stack([ground + x, y, z])


def with_balanced_contact(series: Series, body: Body) -> Series:
    """Add ``contact_offset_m``: where each foot lands, ahead of the pelvis centre.

    The balanced landing puts the hip as high at contact as at toe-off (spring-mass running);
    ``contact_shift_m`` moves the landing from there (overstriding: forwards). Solved by
    bisection, since both heights are square roots of the landing point.
    """
    offsets = np.empty_like(series["contact_shift_m"])
    for leg in (0, 1):
        travel = series["speed_mps"] * series["contact_time_s"][:, leg]
        x_td, y_td = _roll_offsets(np.radians(series["strike_pitch_deg"][:, leg]), body)
        x_to, y_to = _roll_offsets(np.radians(series["toeoff_pitch_deg"][:, leg]), body)
        dz2 = (body.hip_width_m / 2 - series["foot_lateral_m"][:, leg]) ** 2
        reach_td = reach(body, np.radians(series["knee_contact_deg"][:, leg])) ** 2 - dz2
        reach_to = reach(body, np.radians(series["knee_toeoff_deg"][:, leg])) ** 2 - dz2
        low, high = np.full_like(travel, -0.2 * body.leg_m), travel.copy()
        for _ in range(20):  # to a few micrometres
            mid = (low + high) / 2
            at_contact = y_td + np.sqrt(np.maximum(reach_td - (mid + x_td) ** 2, 0.0))
            at_toeoff = y_to + np.sqrt(np.maximum(reach_to - (mid - travel + x_to) ** 2, 0.0))
            contact_higher = at_contact > at_toeoff
            low = np.where(contact_higher, mid, low)
            high = np.where(contact_higher, high, mid)
        offsets[:, leg] = (low + high) / 2 + series["contact_shift_m"][:, leg]
    return {**series, "contact_offset_m": offsets}


@dataclass(frozen=True)
class StanceState:
    centre_x: np.ndarray  # (T,) pelvis centre, along the running direction
    centre_y: np.ndarray  # (T,) pelvis centre height
    hip: np.ndarray  # (T, 3)
    ankle: np.ndarray  # (T, 3)
    knee_flex: np.ndarray  # (T,) rad
    thigh: np.ndarray  # (T,) rad from vertical, > 0 forward
    pitch: np.ndarray  # (T,) rad


def stance_state(
    u: np.ndarray, q: np.ndarray, series: Series, body: Body, leg: int
) -> StanceState:
    """The stance leg at share ``u`` of its stance and stride phase ``q`` (per frame)."""
    pose = pelvis_pose(q, series)
    offset = pose.hip_offsets(body)[:, leg]
    pitch = stance_pitch(u, series, leg)
    ankle = foot_on_ground(u, pitch, series, body, leg)
    knee_flex = stance_knee(u, series, leg)
    length = reach(body, knee_flex)
    dx = ankle[:, 0] - (pose.surge + offset[:, 0])
    dz = ankle[:, 2] - (pose.sway + offset[:, 2])
    dy = np.sqrt(np.maximum(length**2 - dx**2 - dz**2, (0.3 * length) ** 2))
    hip = np.column_stack([pose.surge + offset[:, 0], ankle[:, 1] + dy, pose.sway + offset[:, 2]])
    inner = np.arccos(np.clip(
        (body.thigh_m**2 + length**2 - body.shank_m**2) / (2 * body.thigh_m * length), -1, 1
    ))
    thigh = np.arctan2(dx, dy) + inner
    return StanceState(pose.surge, hip[:, 1] - offset[:, 1], hip, ankle, knee_flex, thigh, pitch)
