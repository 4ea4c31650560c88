"""The 33 MediaPipe landmarks in 3D, and the ground truth measured on them before projection."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from consumer.landmarks import LANDMARK_INDEX, NUM_LANDMARKS
from producer_sim.body import Body
from producer_sim.gait import Series
from producer_sim.legs import Legs, legs
from producer_sim.pelvis import SIDE_Z
from producer_sim.stance import with_balanced_contact
from producer_sim.upper import Upper, upper_body

_PAIRED = {
    "shoulder": "shoulder", "elbow": "elbow", "wrist": "wrist", "pinky": "pinky",
    "index": "index", "thumb": "thumb", "hip": "hip", "knee": "knee", "ankle": "ankle",
    "heel": "heel", "toe": "foot_index",
}


@dataclass(frozen=True)
class Pose3D:
    points: np.ndarray  # (T, 33, 3) metres, runner frame (X forward, Y up, Z right)
    legs: Legs
    upper: Upper


def pose_3d(q: np.ndarray, series: Series, body: Body) -> Pose3D:
    """The runner at stride phases ``q`` with per-frame parameters ``series``."""
    series = with_balanced_contact(series, body)
    lower = legs(q, series, body)
    top = upper_body(lower.centre, q, lower.pose.progress, series, body)
    points = np.empty((q.shape[0], NUM_LANDMARKS, 3))
    for name, value in top.face.items():
        points[:, LANDMARK_INDEX[name]] = value
    for part, landmark in _PAIRED.items():
        source = getattr(top, part) if hasattr(top, part) else getattr(lower, part)
        for leg, side in enumerate(("left", "right")):
            points[:, LANDMARK_INDEX[f"{side}_{landmark}"]] = source[:, leg]
    return Pose3D(points=points, legs=lower, upper=top)


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees between vectors (..., 3)."""
    cos = np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def measured_truth(pose: Pose3D, body: Body) -> dict[str, np.ndarray]:
    """Ground truth measured on the 3D landmarks (runner frame), per frame.

    Angles in degrees; lengths in metres; ``*_rel`` divided by the runner's leg length.
    """
    p, lower = pose.points, pose.legs
    idx = LANDMARK_INDEX
    truth: dict[str, np.ndarray] = {}
    for leg, side in enumerate(("left", "right")):
        hip, knee, ankle = lower.hip[:, leg], lower.knee[:, leg], lower.ankle[:, leg]
        truth[f"knee_flexion_{side}_deg"] = 180 - _angle(hip - knee, ankle - knee)
        shoulder = p[:, idx[f"{side}_shoulder"]]
        elbow, wrist = p[:, idx[f"{side}_elbow"]], p[:, idx[f"{side}_wrist"]]
        truth[f"elbow_angle_{side}_deg"] = _angle(shoulder - elbow, wrist - elbow)
        truth[f"foot_pitch_{side}_deg"] = np.degrees(lower.pitch[:, leg])
        # Positive while the heel is ahead of the hip midpoint.
        truth[f"heel_ahead_{side}_m"] = lower.heel[:, leg, 0] - lower.centre[:, 0]
        for name, values in lower.at_contact.items():
            stem, unit = name.rsplit("_", 1)
            truth[f"{stem}_at_contact_{side}_{unit}"] = values[:, leg]
        truth[f"ankle_height_{side}_m"] = ankle[:, 1]
        # Foot and wrist positions from the midline, positive on their own side.
        truth[f"foot_lateral_{side}_m"] = SIDE_Z[leg] * (ankle[:, 2] - lower.centre[:, 2])
        truth[f"wrist_lateral_{side}_m"] = SIDE_Z[leg] * (wrist[:, 2] - lower.centre[:, 2])
        # Knee's medial shift from the hip-ankle line (valgus), positive towards the midline.
        line = ankle - hip
        t = np.sum((knee - hip) * line, axis=1) / np.sum(line * line, axis=1)
        off_line = knee - (hip + t[:, None] * line)
        truth[f"knee_medial_{side}_m"] = -SIDE_Z[leg] * off_line[:, 2]
    shoulders = (p[:, idx["left_shoulder"]] + p[:, idx["right_shoulder"]]) / 2
    trunk = shoulders - lower.centre
    truth["trunk_lean_deg"] = np.degrees(np.arctan2(trunk[:, 0], trunk[:, 1]))
    ears = (p[:, idx["left_ear"]] + p[:, idx["right_ear"]]) / 2
    truth["head_forward_m"] = ears[:, 0] - shoulders[:, 0]
    truth["pelvis_height_m"] = lower.centre[:, 1]
    hips = lower.hip
    # Positive when the left hip is lower than the right.
    truth["pelvic_obliquity_deg"] = np.degrees(np.arctan2(
        hips[:, 1, 1] - hips[:, 0, 1], np.linalg.norm(hips[:, 1, [0, 2]] - hips[:, 0, [0, 2]],
                                                      axis=1)))
    return truth
