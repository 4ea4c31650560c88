"""The runner's body: segment lengths and widths from height and anthropometric ratios.

Segment lengths as fractions of standing height H come from Drillis & Contini, as tabulated
in Winter, *Biomechanics and Motor Control of Human Movement* (4th ed., fig. 4.1): thigh
0.245 H, shank 0.246 H, upper arm 0.186 H, forearm 0.146 H, foot length 0.152 H, ankle height
0.039 H, hip joint at 0.530 H and shoulder joint at 0.818 H. Between people these ratios vary by
a few percent (coefficient of variation about 3 %), which is what lets a detector meet runners
with proportions it never saw. Shoulder and hip *landmark* separations are MediaPipe's, not
anatomical widths: its hip landmarks sit near the hip joints, about two thirds of the shoulder
landmark separation apart (to be calibrated on real tracker output, issue 11).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEIGHT_RANGE_M = (1.50, 1.95)
RATIO_CV = 0.03

# name -> fraction of standing height
SEGMENT_RATIOS = {
    "thigh_m": 0.245,
    "shank_m": 0.246,
    "upper_arm_m": 0.186,
    "forearm_m": 0.146,
    "hand_m": 0.108,
    "foot_m": 0.152,
    "ankle_height_m": 0.039,
    "trunk_m": 0.818 - 0.530,  # hip joint to shoulder joint height
    "neck_m": 0.105,  # shoulder joint to ear height (ears at about 0.92 H)
    "shoulder_width_m": 0.200,
    "hip_width_m": 0.120,
}

# The heel landmark sits behind the ankle, the foot-index landmark near the toe tip.
HEEL_SHARE_OF_FOOT = 0.22

# Face landmarks in a head frame at the ear midpoint (x forward, y up, z to the right), metres
# for a 1.75 m adult (head size scales weakly with height: factor (H / 1.75) ** 0.5).
FACE_OFFSETS_M = {
    "nose": (0.105, -0.005, 0.0),
    "left_eye_inner": (0.088, 0.030, -0.016),
    "left_eye": (0.085, 0.032, -0.032),
    "left_eye_outer": (0.076, 0.031, -0.046),
    "right_eye_inner": (0.088, 0.030, 0.016),
    "right_eye": (0.085, 0.032, 0.032),
    "right_eye_outer": (0.076, 0.031, 0.046),
    "left_ear": (0.0, 0.0, -0.075),
    "right_ear": (0.0, 0.0, 0.075),
    "mouth_left": (0.090, -0.045, -0.024),
    "mouth_right": (0.090, -0.045, 0.024),
}


@dataclass(frozen=True)
class Body:
    """Lengths in metres of one runner; constant for a session."""

    height_m: float
    thigh_m: float
    shank_m: float
    upper_arm_m: float
    forearm_m: float
    hand_m: float
    foot_m: float
    ankle_height_m: float
    trunk_m: float
    neck_m: float
    shoulder_width_m: float
    hip_width_m: float

    @property
    def leg_m(self) -> float:
        """Standing hip-joint height: the length that running metrics are normalised by."""
        return self.thigh_m + self.shank_m + self.ankle_height_m

    @property
    def heel_back_m(self) -> float:
        return HEEL_SHARE_OF_FOOT * self.foot_m

    @property
    def toe_front_m(self) -> float:
        return (1 - HEEL_SHARE_OF_FOOT) * self.foot_m

    @property
    def head_scale(self) -> float:
        return float(np.sqrt(self.height_m / 1.75))

    @classmethod
    def average(cls, height_m: float = 1.75) -> Body:
        return cls(height_m=height_m, **{k: r * height_m for k, r in SEGMENT_RATIOS.items()})

    @classmethod
    def random(cls, rng: np.random.Generator, height_m: float | None = None) -> Body:
        """A body from the adult range, each ratio varied independently (clipped at 2.5 sd)."""
        if height_m is None:
            height_m = float(np.clip(rng.normal(1.72, 0.09), *HEIGHT_RANGE_M))
        factors = np.clip(rng.normal(0.0, 1.0, size=len(SEGMENT_RATIOS)), -2.5, 2.5)
        lengths = {
            name: float(ratio * height_m * (1 + RATIO_CV * f))
            for (name, ratio), f in zip(SEGMENT_RATIOS.items(), factors, strict=True)
        }
        return cls(height_m=float(height_m), **lengths)
