"""How hidden each landmark is from the camera: behind its body part, or behind a near limb.

Two cues, both geometric, turned into visibility by the tracker-noise model: ``behind`` is
the landmark's depth beyond the centre of its body part (the head for face landmarks, the
torso for the rest) in units of that part's half-thickness; ``covered`` is 1 where a
landmark lies, in the picture, on the torso or on a nearer limb that is in front of it, and
falls to 0 at the occluder's edge. A segment does not cover its own end points: a near knee
is not hidden by the near thigh it ends (before issue 11 it was, whenever the thigh's middle
was nearer than the knee, which gave near-side knees a visibility MediaPipe never shows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from consumer.landmarks import LANDMARK_INDEX
from producer_sim.camera import Projection

FACE = slice(0, 11)
HEAD_HALF_DEPTH_M = 0.08
TORSO_HALF_DEPTH_M = 0.12
# (first, second) landmark of an occluding segment, and its half-thickness in metres.
TORSO_HALF_WIDTH_M = 0.14
LIMB_HALF_WIDTHS_M = {("hip", "knee"): 0.07, ("knee", "ankle"): 0.05,
                      ("shoulder", "elbow"): 0.05, ("elbow", "wrist"): 0.04}


@dataclass(frozen=True)
class Occlusion:
    behind: np.ndarray  # (T, 33) >= 0
    covered: np.ndarray  # (T, 33) 0..1
    outside: np.ndarray  # (T, 33) how far outside the picture, share of the image side
    far_side_right: np.ndarray  # (T,) bool: the runner's right side is the far one


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points (T, N, 2) to segments a-b (T, 2)."""
    px, py = points[..., 0] - a[:, None, 0], points[..., 1] - a[:, None, 1]
    dx, dy = (b[:, 0] - a[:, 0])[:, None], (b[:, 1] - a[:, 1])[:, None]
    t = np.clip((px * dx + py * dy) / np.maximum(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
    return np.hypot(px - t * dx, py - t * dy)


def occlusion(proj: Projection, image_size: tuple[int, int]) -> Occlusion:
    idx = LANDMARK_INDEX
    depth = proj.depth_m
    behind = np.empty_like(depth)
    ears = (depth[:, idx["left_ear"]] + depth[:, idx["right_ear"]]) / 2
    behind[:, FACE] = (depth[:, FACE] - ears[:, None]) / HEAD_HALF_DEPTH_M
    torso_ids = [idx[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    torso = depth[:, torso_ids].mean(axis=1)
    behind[:, 11:] = (depth[:, 11:] - torso[:, None]) / TORSO_HALF_DEPTH_M
    behind = np.maximum(behind, 0.0)

    # Work in metres at the hip's depth so that thicknesses apply in any view and distance.
    width, height = image_size
    scale = np.array([width, height]) / proj.pixels_per_m[:, None]
    pts = proj.xy * scale[:, None, :]
    left_depth = depth[:, [idx["left_shoulder"], idx["left_hip"]]].mean(axis=1)
    right_depth = depth[:, [idx["right_shoulder"], idx["right_hip"]]].mean(axis=1)
    far_right = right_depth > left_depth
    covered = np.zeros_like(depth)
    shoulders = (pts[:, idx["left_shoulder"]] + pts[:, idx["right_shoulder"]]) / 2
    hips = (pts[:, idx["left_hip"]] + pts[:, idx["right_hip"]]) / 2
    body = slice(11, None)  # the face is judged by ``behind`` alone
    count = depth.shape[0]
    # A segment never covers its own end points (a knee is not hidden by its own thigh).
    torso_own = np.zeros((count, 33), dtype=bool)
    torso_own[:, torso_ids] = True
    occluders = [(shoulders, hips, torso, TORSO_HALF_WIDTH_M, torso_own)]
    rows = np.arange(count)
    for (first, second), half in LIMB_HALF_WIDTHS_M.items():
        near = [np.where(far_right[:, None], pts[:, idx[f"left_{n}"]], pts[:, idx[f"right_{n}"]])
                for n in (first, second)]
        near_depth = np.where(
            far_right, depth[:, [idx[f"left_{first}"], idx[f"left_{second}"]]].mean(axis=1),
            depth[:, [idx[f"right_{first}"], idx[f"right_{second}"]]].mean(axis=1))
        own = np.zeros((count, 33), dtype=bool)
        for n in (first, second):
            own[rows, np.where(far_right, idx[f"left_{n}"], idx[f"right_{n}"])] = True
        occluders.append((near[0], near[1], near_depth, half, own))
    for a, b, occluder_depth, half, own in occluders:
        overlap = np.clip(1 - _segment_distance(pts[:, body], a, b) / half, 0.0, 1.0)
        hidden_by = (depth[:, body] > occluder_depth[:, None] + 0.03) & ~own[:, body]
        covered[:, body] = np.maximum(covered[:, body], np.where(hidden_by, overlap, 0.0))
    outside = np.maximum(np.maximum(-proj.xy, proj.xy - 1).max(axis=-1), 0.0)
    return Occlusion(behind=behind, covered=covered, outside=outside, far_side_right=far_right)
