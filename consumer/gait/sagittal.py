"""Metrics of the sagittal plane (side and oblique views): posture, leg and arm angles.

Coordinates: ``forward`` is x times the window's sagittal scale and running direction (y
units, positive ahead of the runner), ``up`` is -y. Angles are taken in that plane, so they
are true angles in a side view and close to them in an oblique one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from consumer.gait.events import FootEvents, Peaks
from consumer.gait.pose import Pose
from consumer.gait.reduce import masked_max, nan_mean, weighted_mean
from consumer.gait.view import ViewGeometry

HIP, KNEE, ANKLE, HEEL, TOE = 23, 25, 27, 29, 31  # left side; +1 for the right
SHOULDER, ELBOW, WRIST = 11, 13, 15


@dataclass(frozen=True)
class Plane:
    forward: np.ndarray  # (N, T, 33)
    up: np.ndarray  # (N, T, 33)


def sagittal_plane(pose: Pose, geometry: ViewGeometry) -> Plane:
    scale = (geometry.facing * geometry.sagittal_scale)[:, None, None]
    return Plane(forward=pose.x * scale, up=-pose.y)


def _angle_deg(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Angle between 2D vectors a and b, degrees."""
    cross = ax * by - ay * bx
    dot = ax * bx + ay * by
    return np.degrees(np.abs(np.arctan2(cross, dot)))


def joint_angle(plane: Plane, a: int, b: int, c: int) -> np.ndarray:
    """(N, T) angle at b between b->a and b->c, degrees (180 = straight)."""
    f, u = plane.forward, plane.up
    return _angle_deg(f[..., a] - f[..., b], u[..., a] - u[..., b],
                      f[..., c] - f[..., b], u[..., c] - u[..., b])


def at_events(values: np.ndarray, peaks: Peaks, times: np.ndarray) -> np.ndarray:
    """(N, T) ``values`` linearly interpolated at each event's refined time; NaN elsewhere."""
    shift = np.nan_to_num(peaks.time - times)
    after = np.roll(values, -1, axis=-1)
    before = np.roll(values, 1, axis=-1)
    value = np.where(shift >= 0, values + shift * (after - values),
                     values - shift * (before - values))
    return np.where(peaks.mask, value, np.nan)


def trunk_lean_deg(plane: Plane, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Forward lean of the hip-midpoint -> shoulder-midpoint line from vertical; per frame."""
    f, u = plane.forward, plane.up
    df = pose.sure_mid(f, 11, 12) - pose.sure_mid(f, 23, 24)
    du = pose.sure_mid(u, 11, 12) - pose.sure_mid(u, 23, 24)
    weight = np.maximum(pose.weight(11, 23), pose.weight(12, 24))
    return np.degrees(np.arctan2(df, du)), weight


def head_forward(plane: Plane, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Ears' midpoint ahead of the shoulders' midpoint (y units), per frame."""
    f = plane.forward
    ahead = pose.sure_mid(f, 7, 8) - pose.sure_mid(f, 11, 12)
    return ahead, np.maximum(pose.weight(7, 11), pose.weight(8, 12))


@dataclass(frozen=True)
class LegMetrics:
    knee_stance: np.ndarray  # (N,) deg, the stance knee at mid-stance (pelvis lowest)
    knee_swing: np.ndarray  # (N,) deg, deepest bend of either knee (in swing)
    knee_rom_asymmetry: np.ndarray  # (N,) |L - R| / mean of the knees' ranges
    stance_contact: np.ndarray  # (N, 2, T) contact time of each complete stance, or NaN
    stance_frames: np.ndarray  # (N, 2, T) its duration (frames), on its toe-off's frame
    overstride: np.ndarray  # (N,) heel ahead of the hip midpoint at contact, y units
    shank_at_contact: np.ndarray  # (N,) deg, > 0: ankle ahead of the knee
    foot_pitch_at_contact: np.ndarray  # (N,) deg, > 0: toe up (heel first)
    contacts: np.ndarray  # (N,) contacts seen
    weight: np.ndarray  # (N,) mean visibility weight of the legs


def stance_durations(events: FootEvents, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, T) each complete stance's contact time and duration (frames), on its toe-off's
    frame, NaN elsewhere. A 30-frame window rarely holds a complete stance of both feet, so
    the rolling state pools them (``rolling.py``)."""
    contact_t = events.contact.time[:, side]
    toe_t = events.toe_off.time[:, side]
    # For each toe-off, the latest contact before it.
    last = np.fmax.accumulate(np.where(np.isfinite(contact_t), contact_t, -np.inf), axis=1)
    ok = np.isfinite(toe_t) & np.isfinite(last)
    duration = np.where(ok, toe_t - np.where(ok, last, 0.0), np.nan)
    # A stance is a fraction of a stride (at most about 0.6 s even walking-slow).
    ok &= (duration > 0) & (duration < 18)
    return np.where(ok, last, np.nan), np.where(ok, duration, np.nan)


def _asymmetry(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(left - right) / ((left + right) / 2)


def leg_metrics(plane: Plane, pose: Pose, events: FootEvents, steps: Peaks) -> LegMetrics:
    f, u, t = plane.forward, plane.up, pose.t
    hip_f = pose.sure_mid(f, 23, 24)
    per_side: dict[str, list[np.ndarray]] = {k: [] for k in (
        "at_step", "swing", "rom", "over", "shank", "pitch", "w", "wc", "dur", "stance_at")}
    for side in (0, 1):
        hip, knee, ankle, heel, toe = (i + side for i in (HIP, KNEE, ANKLE, HEEL, TOE))
        flexion = 180.0 - joint_angle(plane, hip, knee, ankle)
        w = pose.weight(hip, knee, ankle)
        per_side["at_step"].append(at_events(flexion, steps, t))
        per_side["swing"].append(masked_max(flexion, w > 0))
        per_side["rom"].append(
            np.percentile(flexion, 95, axis=1) - np.percentile(flexion, 5, axis=1))
        contact = Peaks(events.contact.mask[:, side], events.contact.time[:, side])
        shank = np.degrees(np.arctan2(f[..., ankle] - f[..., knee], u[..., knee] - u[..., ankle]))
        pitch = np.degrees(np.arctan2(u[..., toe] - u[..., heel], f[..., toe] - f[..., heel]))
        wc = np.where(contact.mask, pose.weight(knee, ankle, heel, toe) + 1e-3, 0.0)
        per_side["over"].append(at_events(f[..., heel] - hip_f, contact, t))
        per_side["shank"].append(at_events(shank, contact, t))
        per_side["pitch"].append(at_events(pitch, contact, t))
        per_side["wc"].append(wc)
        per_side["w"].append(np.mean(w, axis=1))
        stance_at, stance_len = stance_durations(events, side)
        per_side["stance_at"].append(stance_at)
        per_side["dur"].append(stance_len)
    leg_w = np.stack(per_side["w"], axis=1)  # (N, 2)

    def both(name: str) -> np.ndarray:
        values = np.stack(per_side[name], axis=1)
        values = np.where(np.isfinite(values), values, np.nan)
        return weighted_mean(values, leg_w + 1e-3, axis=1)

    def at_contacts(name: str) -> np.ndarray:
        values = np.concatenate(per_side[name], axis=1)
        return weighted_mean(values, np.concatenate(per_side["wc"], axis=1), axis=1)

    # The pelvis is lowest at mid-stance, where the stance knee bends deepest; the other
    # knee is then in mid-swing, bent far more: the stance knee is the less bent one.
    at_step = np.stack(per_side["at_step"], axis=-1)
    stance_knee = np.min(np.where(np.isfinite(at_step), at_step, np.inf), axis=-1)
    stance_knee = np.where(np.isfinite(stance_knee), stance_knee, np.nan)
    return LegMetrics(
        knee_stance=nan_mean(stance_knee),
        knee_swing=both("swing"),
        knee_rom_asymmetry=_asymmetry(*per_side["rom"]),
        stance_contact=np.stack(per_side["stance_at"], axis=1),
        stance_frames=np.stack(per_side["dur"], axis=1),
        overstride=at_contacts("over"),
        shank_at_contact=at_contacts("shank"),
        foot_pitch_at_contact=at_contacts("pitch"),
        contacts=events.contact.mask.sum(axis=(1, 2)).astype(np.float64),
        weight=leg_w.mean(axis=1),
    )


@dataclass(frozen=True)
class ArmMetrics:
    elbow_angle: np.ndarray  # (N,) deg, 180 = straight
    arm_swing: np.ndarray  # (N,) deg, range of the upper arm's angle
    weight: np.ndarray  # (N,)


def arm_metrics(plane: Plane, pose: Pose) -> ArmMetrics:
    f, u = plane.forward, plane.up
    elbows, swings, weights = [], [], []
    for side in (0, 1):
        shoulder, elbow, wrist = (i + side for i in (SHOULDER, ELBOW, WRIST))
        w = pose.weight(shoulder, elbow, wrist)
        elbows.append(weighted_mean(joint_angle(plane, shoulder, elbow, wrist), w + 1e-3))
        upper = np.degrees(np.arctan2(f[..., elbow] - f[..., shoulder],
                                      u[..., shoulder] - u[..., elbow]))
        swings.append(np.percentile(upper, 95, axis=1) - np.percentile(upper, 5, axis=1))
        weights.append(np.mean(w, axis=1))
    w = np.stack(weights, axis=1) + 1e-3
    return ArmMetrics(
        elbow_angle=weighted_mean(np.stack(elbows, axis=1), w),
        arm_swing=weighted_mean(np.stack(swings, axis=1), w),
        weight=np.mean(np.stack(weights, axis=1), axis=1),
    )
