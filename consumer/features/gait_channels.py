"""Gait metrics as scored channels of a runner-relative model (``FeatureSpec.gait_channels``).

Cadence, left/right timing, vertical travel, foot placement across the midline: several
faults live in how the steps go, which one window's joint channels hold only loosely, while
the gait metrics (``consumer.gait.window``, the same functions the consumer's gait events
run) measure them directly. Read against the runner's own usual value, as the other
channels' levels are (``runner_level.py``), each metric's change is scored beside the
reconstruction errors: a low cadence, a limp or a cross-over shows there even where the
posture's shape looks normal (docs/model.md, "Gait channels").

A metric a window cannot show (not in its view, too little of it seen) is NaN: it reads as
the runner's usual value and leaves their level alone.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from consumer.gait.window import compute_window_metrics


def _pair(name: str) -> tuple[str, str]:
    return (f"left_{name}", f"right_{name}")


# Metric -> the joints its change is attributed to (shared equally). The rolling state's
# metrics (``*_change_*``, ``cadence_drop_rel``) are left out: this is their counterpart.
GAIT_CHANNELS = MappingProxyType({
    "cadence_spm": (*_pair("hip"), *_pair("ankle")),
    "vertical_oscillation_rel": _pair("hip"),
    "step_time_asymmetry": _pair("ankle"),
    "elbow_angle_deg": _pair("elbow"),
    "trunk_lean_deg": (*_pair("shoulder"), *_pair("hip")),
    "head_forward_rel": ("nose", *_pair("ear")),
    "overstride_rel": _pair("heel"),
    "shank_angle_deg": (*_pair("knee"), *_pair("ankle")),
    "foot_strike_deg": (*_pair("heel"), *_pair("foot_index")),
    "knee_flexion_stance_deg": _pair("knee"),
    "knee_flexion_swing_deg": _pair("knee"),
    "arm_swing_deg": _pair("elbow"),
    "stance_time_asymmetry": _pair("ankle"),
    "knee_rom_asymmetry": _pair("knee"),
    "knee_valgus_rel": _pair("knee"),
    "pelvic_drop_deg": _pair("hip"),
    "foot_lateral_rel": _pair("ankle"),
    "wrist_lateral_rel": _pair("wrist"),
})
GAIT_CHANNEL_NAMES: tuple[str, ...] = tuple(GAIT_CHANNELS)


def gait_values(windows: np.ndarray) -> np.ndarray:
    """(N, G) float64 gait metrics of raw windows (N, T, 132), NaN where a window does not
    show one (frames taken as consecutive, as the posture model sees a window)."""
    if len(windows) == 0:
        return np.zeros((0, len(GAIT_CHANNEL_NAMES)))
    with np.errstate(invalid="ignore", divide="ignore"):
        metrics = compute_window_metrics(windows)
    return np.stack([metrics.values[name] for name in GAIT_CHANNEL_NAMES], axis=1).astype(
        np.float64)
