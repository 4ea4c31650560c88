"""Kinematic channels: the quantities running-form faults are defined by, per frame, in a
frame of reference the camera does not decide.

Geometry comes from the gait metrics' own per-frame code (``consumer.gait``): the camera view,
the runner's facing, the sagittal scale that turns image x into y's units, the leg length and
the body's lateral axis in the picture's (x, z) plane. On those:

* lengths are in leg lengths, positions relative to a per-window linear fit of the hip
  midpoint (camera placement and belt drift out; the bounce around the fit kept);
* "forward" is x times the sagittal scale and the facing sign (the runner always runs
  towards +forward); seen from the front, where no sagittal scale exists, x is scaled so that
  the hips are as wide as body proportions make them;
* left and right enter only symmetrically (the more and the less of a pair, or the pair's
  mean, or the leg on the ground against the other): a tracker that swaps the far-side leg
  for a few frames, common in side views, leaves these channels unchanged, and a runner
  filmed from either side gives the same values.

Channels whose faults are read at foot contact or mid-stance (foot pitch, heel ahead of the
hip, knee medial shift) are also given weighted by how close the foot is to the belt, so that
a few frames of a stride carry them instead of being averaged away by swing.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from consumer.gait.body import HIP_WIDTH_OVER_LEG
from consumer.gait.frontal import lateral_axis
from consumer.gait.pose import Pose, smooth
from consumer.gait.view import VIEWS, view_geometry

# How high above its lowest point in the window (leg lengths) a foot still counts as on the
# belt: weight exp(-height / this). A foot lifts ~0.1-0.2 leg lengths in swing.
GROUND_HEIGHT = 0.04
VIEW_COUNT = len(VIEWS)
L_HIP, R_HIP, L_SHOULDER, R_SHOULDER, L_EAR, R_EAR = 23, 24, 11, 12, 7, 8
KNEE, ANKLE, HEEL, TOE, ELBOW, WRIST = 25, 27, 29, 31, 13, 15  # left; +1 for the right


def _pair(name: str) -> tuple[str, str]:
    return (f"left_{name}", f"right_{name}")


# Channel name -> the joints its reconstruction error is attributed to (shared equally).
CHANNELS = MappingProxyType({
    "trunk_lean": (*_pair("shoulder"), *_pair("hip")),
    "neck_lean": ("nose", *_pair("ear")),
    "head_forward": ("nose", *_pair("ear")),
    "pelvis_height": _pair("hip"),
    "knee_flexion_more": _pair("knee"),
    "knee_flexion_less": _pair("knee"),
    "thigh_forward_more": _pair("knee"),
    "thigh_forward_less": _pair("knee"),
    "heel_ahead_lead": _pair("heel"),
    "heel_ahead_trail": _pair("heel"),
    "foot_pitch_lead": _pair("foot_index"),
    "foot_pitch_trail": _pair("foot_index"),
    "ankle_height_more": _pair("ankle"),
    "ankle_height_less": _pair("ankle"),
    "elbow_angle": _pair("elbow"),
    "upper_arm_forward_more": _pair("elbow"),
    "upper_arm_forward_less": _pair("elbow"),
    "wrist_forward_more": _pair("wrist"),
    "wrist_forward_less": _pair("wrist"),
    "wrist_height": _pair("wrist"),
    "knee_medial": _pair("knee"),
    "foot_lateral": _pair("ankle"),
    "wrist_lateral": _pair("wrist"),
    "pelvic_obliquity": _pair("hip"),
    "trunk_side_lean": _pair("shoulder"),
    "foot_pitch_on_ground": (*_pair("heel"), *_pair("foot_index")),
    "heel_ahead_on_ground": _pair("heel"),
    "knee_medial_on_ground": _pair("knee"),
})
CHANNEL_NAMES: tuple[str, ...] = tuple(CHANNELS)


@dataclass(frozen=True)
class KinematicFrame:
    """A batch of windows in the runner's frame, landmark-major (33, N, T), leg lengths."""

    forward: np.ndarray
    up: np.ndarray
    lateral: np.ndarray  # towards the runner's right, from the hip midpoint
    view: np.ndarray  # (N,) int8 index into consumer.gait.view.VIEWS
    leg: np.ndarray  # (N,) leg length in image y units (NaN: no body scale)


def pose_of(points: np.ndarray) -> Pose:
    """The gait metrics' ``Pose`` of gap-filled landmark-major points (33, 4, N, T),
    smoothed as the gait metrics smooth it. Its (N, T, 33) arrays are views of landmark-major
    memory, so that every single-landmark series the gait code reads is contiguous."""
    x, y, z = (smooth(points[:, c], axis=-1).astype(np.float32, copy=False) for c in range(3))
    vis = np.clip(np.nan_to_num(points[:, 3]), 0.0, 1.0)
    times = np.broadcast_to(np.arange(points.shape[-1], dtype=np.float32), points.shape[2:])
    return Pose(x=x.transpose(1, 2, 0), y=y.transpose(1, 2, 0), z=z.transpose(1, 2, 0),
                vis=vis.transpose(1, 2, 0), t=times)


def _linear_fit(values: np.ndarray) -> np.ndarray:
    """(N, T) per-window least-squares line through (N, T) values."""
    t = values.shape[1]
    time = np.arange(t, dtype=values.dtype) - (t - 1) / 2.0
    mean = values.mean(axis=1, keepdims=True)
    slope = ((values - mean) @ time) / float((time**2).sum())
    return mean + slope[:, None] * time


def kinematic_frame(pose: Pose) -> KinematicFrame:
    geometry = view_geometry(pose)
    x, y, z = (a.transpose(2, 0, 1) for a in (pose.x, pose.y, pose.z))  # (33, N, T)
    hips_x = np.median(np.abs(x[L_HIP] - x[R_HIP]), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        frontal_scale = HIP_WIDTH_OVER_LEG * geometry.leg / hips_x
        scale = np.where(np.isfinite(geometry.sagittal_scale), geometry.sagittal_scale,
                         frontal_scale)
        per_leg = (1.0 / geometry.leg).astype(np.float32)[:, None]
    hip_x, hip_y = (x[L_HIP] + x[R_HIP]) / 2, (y[L_HIP] + y[R_HIP]) / 2
    forward = (x - _linear_fit(hip_x)) * (scale * geometry.facing).astype(np.float32)[:, None]
    up = (_linear_fit(hip_y) - y) * per_leg
    axis = lateral_axis(pose)
    dx, dz = x - hip_x, z - (z[L_HIP] + z[R_HIP]) / 2
    lateral = (dx * axis.ux.astype(np.float32) + dz * axis.uz.astype(np.float32)) * (
        axis.to_leg.astype(np.float32))
    return KinematicFrame(forward * per_leg, up, lateral, geometry.view, geometry.leg)


def _sine_from_vertical(f: KinematicFrame, start: int | np.ndarray, end: int | np.ndarray,
                        ) -> np.ndarray:
    """Sine of the segment start -> end's angle from vertical, > 0 when its end is ahead of
    its start: (N, T) for landmark indices, (2, N, T) for pairs."""
    d_forward, d_up = f.forward[end] - f.forward[start], f.up[end] - f.up[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        return d_forward / np.hypot(d_forward, d_up)


def _angle(f: KinematicFrame, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(2, N, T) angle at b between b->a and b->c in the sagittal plane, radians."""
    ux, uy = f.forward[a] - f.forward[b], f.up[a] - f.up[b]
    vx, vy = f.forward[c] - f.forward[b], f.up[c] - f.up[b]
    return np.abs(np.arctan2(ux * vy - uy * vx, ux * vx + uy * vy))


def _mid(values: np.ndarray, left: int) -> np.ndarray:
    return (values[left] + values[left + 1]) / 2


def _pair(left: int) -> np.ndarray:
    return np.array([left, left + 1])


def kinematic_channels(f: KinematicFrame) -> np.ndarray:
    """(F, N, T) float32 channels, in ``CHANNEL_NAMES`` order."""
    fw, up, lat = f.forward, f.up, f.lateral
    hip_fw, hip_up = _mid(fw, L_HIP), _mid(up, L_HIP)
    own_side = np.array([-1.0, 1.0], dtype=np.float32)[:, None, None]  # lateral: to the right
    hips, knees, ankles = _pair(L_HIP), _pair(KNEE), _pair(ANKLE)
    heels, toes, shoulders = _pair(HEEL), _pair(TOE), _pair(L_SHOULDER)
    elbows, wrists = _pair(ELBOW), _pair(WRIST)

    knee = np.pi - _angle(f, hips, knees, ankles)  # flexion, (2, N, T)
    thigh = _sine_from_vertical(f, hips, knees)
    upper_arm = _sine_from_vertical(f, shoulders, elbows)
    heel_ahead = fw[heels] - hip_fw
    lead = np.argmax(heel_ahead, axis=0)[None]
    pitch = up[toes] - up[heels]
    ankle_height = up[ankles] - hip_up
    wrist_forward = fw[wrists] - _mid(fw, L_SHOULDER)
    elbow = _angle(f, shoulders, elbows, wrists)
    # Knee inside the hip-ankle line, at mid-thigh-and-shank (the knee's place on a straight
    # leg): reading the line's height from y would blow up in swing, when hip and ankle are
    # level in the picture.
    medial = own_side * ((lat[hips] + lat[ankles]) / 2 - lat[knees])
    foot_low = np.minimum(up[heels], up[toes])
    ground = foot_low.min(axis=(0, 2), keepdims=True)
    on_ground = np.exp(-np.maximum(foot_low - ground, 0.0) / GROUND_HEIGHT)
    neck_start = np.stack([_mid(fw, L_SHOULDER), _mid(up, L_SHOULDER)])
    trunk_start = np.stack([hip_fw, hip_up])
    ears = np.stack([_mid(fw, L_EAR), _mid(up, L_EAR)])
    channels = [
        _segment(trunk_start, neck_start),
        _segment(neck_start, ears),
        ears[0] - neck_start[0],
        hip_up,
        knee.max(0), knee.min(0),
        thigh.max(0), thigh.min(0),
        heel_ahead.max(0), heel_ahead.min(0),
        np.take_along_axis(pitch, lead, 0)[0], np.take_along_axis(pitch, 1 - lead, 0)[0],
        ankle_height.max(0), ankle_height.min(0),
        elbow.mean(0),
        upper_arm.max(0), upper_arm.min(0),
        wrist_forward.max(0), wrist_forward.min(0),
        (up[wrists] - neck_start[1]).mean(0),
        medial.mean(0), (own_side * lat[ankles]).mean(0), (own_side * lat[wrists]).mean(0),
        np.abs(up[L_HIP] - up[R_HIP]),
        np.abs(_mid(lat, L_SHOULDER)),
        (pitch * on_ground).max(0),
        (heel_ahead * on_ground).max(0),
        (medial * on_ground).sum(0) / np.maximum(on_ground.sum(0), 1e-3),
    ]
    return np.stack(channels, axis=0).astype(np.float32, copy=False)


def _segment(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """(N, T) sine of a segment's forward tilt from vertical, from (2, N, T) (forward, up)
    end points."""
    d_forward, d_up = end[0] - start[0], end[1] - start[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return d_forward / np.hypot(d_forward, d_up)
