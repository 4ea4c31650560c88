"""Metrics of the frontal plane (front and oblique views): knees, pelvis, feet and hands
relative to the body's midline, and the elbow angle where the arms swing in depth.

They are read around mid-stance (two frames either side of each step event, the stance foot
being the lower one in the picture). Lateral distances are measured in units of the hip
landmarks' separation in the same picture, which cancels the image's aspect ratio and the
foreshortening of an oblique camera, and turned into leg lengths by body proportions
(``body.HIP_WIDTH_OVER_LEG``). Seen obliquely, forward motion leaks into the picture's x; it
leaks with opposite signs into the two legs' medial directions, so the metrics average both
legs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from consumer.gait.body import FOREARM_OVER_LEG, HIP_WIDTH_OVER_LEG
from consumer.gait.events import FOOT_POINTS, Peaks
from consumer.gait.pose import Pose
from consumer.gait.reduce import nan_mean, weighted_mean
from consumer.gait.view import ViewGeometry

MID_STANCE_FRAMES = 2  # frames either side of a step event read as mid-stance


@dataclass(frozen=True)
class FrontalMetrics:
    knee_valgus: np.ndarray  # (N,) knee inside the hip-ankle line, leg lengths
    pelvic_drop: np.ndarray  # (N,) deg, the swing-side hip below the stance-side hip
    foot_lateral: np.ndarray  # (N,) stance foot from the midline, leg lengths (< 0: crossed)
    wrist_lateral: np.ndarray  # (N,) wrists from the midline, leg lengths (< 0: crossed)
    mid_stance_frames: np.ndarray  # (N,) frames read
    leg_weight: np.ndarray  # (N,)
    arm_weight: np.ndarray  # (N,)


def mid_stance_side(steps: Peaks, stance_side: np.ndarray) -> np.ndarray:
    """(N, T) int8: the stance foot (0 left, 1 right) near each step event, -1 elsewhere."""
    out = np.full(stance_side.shape, -1, dtype=np.int8)
    t = stance_side.shape[1]
    for shift in range(-MID_STANCE_FRAMES, MID_STANCE_FRAMES + 1):
        moved = np.full_like(out, -1)
        if shift >= 0:
            moved[:, shift:] = stance_side[:, : t - shift]
        else:
            moved[:, :shift] = stance_side[:, -shift:]
        out = np.where(out >= 0, out, moved)
    return out


@dataclass(frozen=True)
class LateralAxis:
    """The runner's left-right axis in the picture's (x, z) plane, from the hip landmarks."""

    ux: np.ndarray  # (N, 1) x share of the unit axis pointing to the runner's right
    uz: np.ndarray  # (N, 1) z share
    to_leg: np.ndarray  # (N, 1) from (x, z) units to leg lengths

    def lateral(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """(N, T) sideways part (leg lengths, towards the runner's right) of (x, z) offsets."""
        return (x * self.ux + z * self.uz) * self.to_leg


def lateral_axis(pose: Pose) -> LateralAxis:
    """Seen obliquely, a sideways shift shows partly in x and partly in MediaPipe's depth z
    (on x's scale), and so does a forward one; projecting (x, z) on the hips' direction keeps
    only the sideways part. From the front the axis is x itself."""
    dx = np.median(pose.x[..., 24] - pose.x[..., 23], axis=1)
    dz = np.median(pose.z[..., 24] - pose.z[..., 23], axis=1)
    width = np.maximum(np.hypot(dx, dz), 1e-4)
    return LateralAxis(ux=(dx / width)[:, None], uz=(dz / width)[:, None],
                       to_leg=(HIP_WIDTH_OVER_LEG / width)[:, None])


def _foot(pose: Pose, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, z) of a foot: ankle, heel and toe weighted by visibility (ankles often hide)."""
    ids = [i + side for i in FOOT_POINTS]
    w = pose.vis[..., ids] + 1e-3
    total = np.sum(w, axis=-1)
    return (np.sum(pose.x[..., ids] * w, axis=-1) / total,
            np.sum(pose.z[..., ids] * w, axis=-1) / total)


def frontal_metrics(
    pose: Pose, geometry: ViewGeometry, steps: Peaks, stance_side: np.ndarray
) -> FrontalMetrics:
    axis = lateral_axis(pose)
    x, y, z = pose.x, pose.y, pose.z
    hip_x, hip_z = (x[..., 23] + x[..., 24]) / 2, (z[..., 23] + z[..., 24]) / 2
    side_of = mid_stance_side(steps, stance_side)
    shape = x.shape[:2]
    valgus, drop, foot = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    leg_w = np.zeros(shape)
    hip_width_y = (HIP_WIDTH_OVER_LEG * geometry.leg)[:, None]
    for side in (0, 1):
        here = side_of == side
        hip, knee, ankle, other_hip = 23 + side, 25 + side, 27 + side, 24 - side
        outward = 1.0 if side == 1 else -1.0  # this leg's own side on the right-pointing axis
        span = y[..., ankle] - y[..., hip]
        along = (y[..., knee] - y[..., hip]) / np.where(np.abs(span) > 1e-6, span, 1e-6)
        line_x = x[..., hip] + (x[..., ankle] - x[..., hip]) * along
        line_z = z[..., hip] + (z[..., ankle] - z[..., hip]) * along
        medial = -outward * axis.lateral(x[..., knee] - line_x, z[..., knee] - line_z)
        valgus = np.where(here, medial, valgus)
        swing_low = y[..., other_hip] - y[..., hip]
        drop = np.where(here, np.degrees(np.arctan2(swing_low, hip_width_y)), drop)
        foot_x, foot_z = _foot(pose, side)
        foot = np.where(here, outward * axis.lateral(foot_x - hip_x, foot_z - hip_z), foot)
        leg_w = np.where(here, pose.weight(hip, knee, other_hip), leg_w)
    wrists, arm_w = [], []
    for side in (0, 1):
        outward = 1.0 if side == 1 else -1.0
        wrist = 15 + side
        wrists.append(outward * axis.lateral(x[..., wrist] - hip_x, z[..., wrist] - hip_z))
        arm_w.append(pose.weight(11 + side, 13 + side, 15 + side))
    wrist_w = np.stack(arm_w, axis=-1) + 1e-3
    wrist_lateral = weighted_mean(np.stack(wrists, axis=-1), wrist_w, axis=-1)
    return FrontalMetrics(
        knee_valgus=weighted_mean(valgus, leg_w + 1e-3),
        pelvic_drop=weighted_mean(drop, leg_w + 1e-3),
        foot_lateral=weighted_mean(foot, leg_w + 1e-3),
        wrist_lateral=weighted_mean(wrist_lateral, wrist_w.mean(axis=-1)),
        mid_stance_frames=(side_of >= 0).sum(axis=1).astype(np.float64),
        leg_weight=nan_mean(np.where(side_of >= 0, leg_w, np.nan)),
        arm_weight=np.mean(np.stack(arm_w, axis=-1), axis=(1, 2)),
    )


def elbow_angle_from_drop(pose: Pose, geometry: ViewGeometry) -> np.ndarray:
    """(N,) elbow angle (deg) for a camera facing the runner: the forearm swings in depth, so
    its angle is read from how far the wrist hangs below the elbow against the forearm's
    length (from body proportions), with the upper arm taken as hanging on average."""
    forearm_y = (FOREARM_OVER_LEG * geometry.leg)[:, None]
    angles, weights = [], []
    for side in (0, 1):
        hang = (pose.y[..., 15 + side] - pose.y[..., 13 + side]) / forearm_y
        angles.append(90.0 + np.degrees(np.arcsin(np.clip(hang, -1.0, 1.0))))
        weights.append(pose.weight(13 + side, 15 + side) + 1e-3)
    per_frame = weighted_mean(np.stack(angles, -1), np.stack(weights, -1), axis=-1)
    return nan_mean(per_frame)
