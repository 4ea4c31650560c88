"""Body-centred geometry: the frame of reference, and joint and segment angles.

All functions take whole batches of landmark positions, landmark-major (33, C, N, T) with
C >= 2 (x, y first, y growing downwards as in image coordinates), already gap-filled.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from consumer.landmarks import LANDMARK_INDEX

_L = LANDMARK_INDEX


def mirror_name(name: str) -> str:
    """The landmark's counterpart on the other side of the body (itself on the midline)."""
    if "left" in name:
        return name.replace("left", "right")
    if "right" in name:
        return name.replace("right", "left")
    return name


# MIRROR[i]: the landmark that plays i's role in the mirror image of the body.
MIRROR: tuple[int, ...] = tuple(_L[mirror_name(n)] for n in LANDMARK_INDEX)
SHOULDERS = (_L["left_shoulder"], _L["right_shoulder"])
HIPS = (_L["left_hip"], _L["right_hip"])
# Needed for every body-normalised window: they define its origin and scale.
REFERENCE_JOINTS: tuple[int, ...] = (*SHOULDERS, *HIPS)
_HEELS = (_L["left_heel"], _L["right_heel"])
_TOES = (_L["left_foot_index"], _L["right_foot_index"])

# A body smaller than this (in image units) is no person: the window is rejected.
MIN_BODY_SIZE = 1e-3
# The runner faces -x when toes are behind heels by more than this many body widths; below
# it (a front view, where feet point at the camera) the window is left unmirrored so that
# tracker jitter cannot flip it from one window to the next.
FACING_DEAD_ZONE = 0.08

# Unsigned 2D angle at the middle landmark, in [0, pi].
JOINT_ANGLES = MappingProxyType({
    "left_knee": ("left_hip", "left_knee", "left_ankle"),
    "right_knee": ("right_hip", "right_knee", "right_ankle"),
    "left_hip": ("left_shoulder", "left_hip", "left_knee"),
    "right_hip": ("right_shoulder", "right_hip", "right_knee"),
    "left_elbow": ("left_shoulder", "left_elbow", "left_wrist"),
    "right_elbow": ("right_shoulder", "right_elbow", "right_wrist"),
    "left_ankle": ("left_knee", "left_ankle", "left_foot_index"),
    "right_ankle": ("right_knee", "right_ankle", "right_foot_index"),
})


@dataclass(frozen=True)
class Segment:
    start: tuple[str, ...]  # landmarks averaged to the segment's start point
    end: tuple[str, ...]
    joints: tuple[str, ...]  # which joints its error is attributed to
    upward: bool = False  # measured from vertical-up (trunk, head) instead of vertical-down


# Signed angle from vertical, positive towards the running direction.
SEGMENTS = MappingProxyType({
    "trunk": Segment(("left_hip", "right_hip"), ("left_shoulder", "right_shoulder"),
                     ("left_shoulder", "right_shoulder"), upward=True),
    "head": Segment(("left_shoulder", "right_shoulder"), ("nose",), ("nose",), upward=True),
    "left_thigh": Segment(("left_hip",), ("left_knee",), ("left_knee",)),
    "right_thigh": Segment(("right_hip",), ("right_knee",), ("right_knee",)),
    "left_shank": Segment(("left_knee",), ("left_ankle",), ("left_ankle",)),
    "right_shank": Segment(("right_knee",), ("right_ankle",), ("right_ankle",)),
    "left_foot": Segment(("left_heel",), ("left_foot_index",), ("left_foot_index",)),
    "right_foot": Segment(("right_heel",), ("right_foot_index",), ("right_foot_index",)),
    "left_upper_arm": Segment(("left_shoulder",), ("left_elbow",), ("left_elbow",)),
    "right_upper_arm": Segment(("right_shoulder",), ("right_elbow",), ("right_elbow",)),
    "left_forearm": Segment(("left_elbow",), ("left_wrist",), ("left_wrist",)),
    "right_forearm": Segment(("right_elbow",), ("right_wrist",), ("right_wrist",)),
})


def segment_landmarks(segment: Segment) -> tuple[str, ...]:
    return (*segment.start, *segment.end)


@dataclass(frozen=True)
class BodyFrame:
    origin: np.ndarray  # (2, N, T): per-window linear fit of the hip midpoint over time
    # Body size in the picture, per axis, because x is normalised to the image width and y to
    # its height: a portrait phone and a landscape one see the same runner with x scaled
    # differently relative to y (by up to 3x between 9:16 and 16:9).
    width: np.ndarray  # (N,): median shoulder width + hip width, in x's units (uses z)
    height: np.ndarray  # (N,): median vertical torso length, in y's units
    # (N,): +1, or -1 where the window is mirrored. A runner seen from their left side and
    # facing -x is, mirrored, a runner seen from their right facing +x *with left and right
    # swapped*: callers swap the labels too (MIRROR), so both side views look the same.
    direction: np.ndarray


def body_frame(points: np.ndarray) -> BodyFrame:
    """The per-window frame of reference of landmark-major positions (33, 3, N, T).

    The horizontal scale comes from the shoulder and hip widths measured in the x-z plane:
    MediaPipe's z is on x's scale, so sqrt(dx^2 + dz^2) is the same body width whether the
    camera sees the runner from the front (width in x) or the side (width in z).
    """
    hip = points[list(HIPS), :2].mean(axis=0, dtype=np.float64)
    shoulder = points[list(SHOULDERS), :2].mean(axis=0, dtype=np.float64)
    # A linear fit rather than the mean: the runner's drift across the image is camera motion
    # to us, while the bounce around the fit (vertical oscillation) is kept.
    t = points.shape[-1]
    time = np.arange(t, dtype=np.float64) - (t - 1) / 2.0
    mean = hip.mean(axis=-1, keepdims=True)
    slope = ((hip - mean) @ time) / float((time**2).sum())
    origin = mean + slope[..., None] * time
    height = np.median(np.abs(shoulder[1] - hip[1]), axis=-1)
    widths = [
        np.sqrt((points[a, 0] - points[b, 0]) ** 2 + (points[a, 2] - points[b, 2]) ** 2)
        for a, b in (SHOULDERS, HIPS)
    ]
    width = np.median(widths[0] + widths[1], axis=-1).astype(np.float64)
    toes_ahead = (points[list(_TOES), 0] - points[list(_HEELS), 0]).mean(axis=(0, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        facing = np.nan_to_num(toes_ahead / width)
    direction = np.where(facing < -FACING_DEAD_ZONE, -1.0, 1.0)
    return BodyFrame(origin, width, height, direction)


def normalise_positions(points: np.ndarray, frame: BodyFrame) -> np.ndarray:
    """Positions (J, C, N, T) around the hip-midpoint fit, in body units, facing +x.

    x and z are divided by the body width, y by the torso length; z is not moved (MediaPipe
    gives it relative to the hip midpoint already).
    """
    out = points.astype(np.float32, copy=True)
    out[:, :2] -= frame.origin.astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_width = (1.0 / frame.width).astype(np.float32)[:, None]
        out[:, 0] *= per_width * frame.direction.astype(np.float32)[:, None]
        out[:, 1] *= (1.0 / frame.height).astype(np.float32)[:, None]
        if out.shape[1] > 2:
            out[:, 2] *= per_width
    return out


def joint_angles(points: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """(len(names), N, T) unsigned angles in [0, pi] at the named joints (see JOINT_ANGLES)."""
    a, b, c = ([LANDMARK_INDEX[JOINT_ANGLES[name][k]] for name in names] for k in range(3))
    u = points[a, :2] - points[b, :2]
    v = points[c, :2] - points[b, :2]
    cross = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    dot = u[:, 0] * v[:, 0] + u[:, 1] * v[:, 1]
    return np.arctan2(np.abs(cross), dot)


def segment_angles(points: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """(len(names), 2, N, T): sine and cosine of each segment's signed angle from vertical.

    Sine and cosine rather than the angle avoid the jump at +-180 degrees that a crossing arm
    or a fallen runner would otherwise produce.
    """
    vectors = np.empty((len(names), 2, *points.shape[2:]), dtype=points.dtype)
    for k, name in enumerate(names):
        segment = SEGMENTS[name]
        start = points[[LANDMARK_INDEX[n] for n in segment.start], :2].mean(axis=0)
        end = points[[LANDMARK_INDEX[n] for n in segment.end], :2].mean(axis=0)
        vectors[k] = end - start
        if segment.upward:
            vectors[k, 1] *= -1.0
    # (sin, cos) of the angle from vertical = (dx, dy) / length.
    length = np.sqrt((vectors**2).sum(axis=1, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        return vectors / length


def smoothing_matrix(length: int, width: int) -> np.ndarray:
    """(T, T) matrix of a centred moving average whose edges repeat the end values."""
    half = width // 2
    matrix = np.zeros((length, length), dtype=np.float32)
    for t in range(length):  # once per pipeline, not per window
        for k in range(t - half, t + half + 1):
            matrix[min(max(k, 0), length - 1), t] += 1.0 / width
    return matrix


def smooth_time(channels: np.ndarray, matrix: np.ndarray | None) -> np.ndarray:
    """Apply a smoothing matrix over the last (time) axis: one BLAS call for the batch."""
    if matrix is None:
        return channels
    with np.errstate(invalid="ignore"):  # rejected windows may hold NaN; they are zeroed later
        return channels @ matrix
