"""MediaPipe Pose landmark order and the named joint sets, shared by every part of BarunRun.

A frame is 33 landmarks x (x, y, z, visibility) = 132 values, flattened landmark-major:
``[x0, y0, z0, v0, x1, y1, ...]``.
"""

from __future__ import annotations

from types import MappingProxyType

NUM_LANDMARKS = 33
VALUES_PER_LANDMARK = 4
FRAME_WIDTH = NUM_LANDMARKS * VALUES_PER_LANDMARK  # 132

LANDMARK_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear",
    "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_pinky", "right_pinky",
    "left_index", "right_index",
    "left_thumb", "right_thumb",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
    "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)
LANDMARK_INDEX = MappingProxyType({name: i for i, name in enumerate(LANDMARK_NAMES)})

# Value offsets inside one landmark's 4 numbers.
X, Y, Z, VISIBILITY = 0, 1, 2, 3

# Bones of the stick figure (also the segments whose lengths stay constant for a runner).
SKELETON: tuple[tuple[int, int], ...] = (
    (11, 12), (11, 23), (12, 24), (23, 24),          # torso
    (11, 13), (13, 15), (12, 14), (14, 16),          # arms
    (15, 17), (15, 19), (15, 21), (17, 19),          # left hand
    (16, 18), (16, 20), (16, 22), (18, 20),          # right hand
    (23, 25), (25, 27), (24, 26), (26, 28),          # legs
    (27, 29), (29, 31), (27, 31),                    # left foot
    (28, 30), (30, 32), (28, 32),                    # right foot
    (0, 7), (0, 8), (7, 11), (8, 12),                # head to shoulders
)


def _indices(*names: str) -> tuple[int, ...]:
    return tuple(LANDMARK_INDEX[n] for n in names)


# Named joint sets for feature selection (the seed's `select_important_joints`).
JOINT_SETS = MappingProxyType({
    "all": tuple(range(NUM_LANDMARKS)),
    "lower_body": _indices(
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    "legs": _indices(
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        "left_heel", "right_heel", "left_foot_index", "right_foot_index",
    ),
    # The body without face and finger detail: what running form is judged on.
    "running": _indices(
        "nose", "left_ear", "right_ear",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        "left_heel", "right_heel", "left_foot_index", "right_foot_index",
    ),
})


def resolve_joints(spec: str | list[str] | tuple[str, ...]) -> tuple[int, ...]:
    """Landmark indices for a joint-set name or a list of landmark names, in MediaPipe order."""
    if isinstance(spec, str):
        if spec not in JOINT_SETS:
            known = ", ".join(sorted(JOINT_SETS))
            raise ValueError(f"unknown joint set {spec!r}; known sets: {known}")
        return JOINT_SETS[spec]
    unknown = [n for n in spec if n not in LANDMARK_INDEX]
    if unknown:
        raise ValueError(f"unknown landmark names: {', '.join(unknown)}")
    return tuple(sorted({LANDMARK_INDEX[n] for n in spec}))
