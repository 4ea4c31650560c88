"""The metrics BarunRun reports: name (part of the JSON contract), unit, and the camera views
in which each is valid. A metric is reported only in its views, with a confidence 0..1."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

ALL = frozenset({"side", "front", "oblique"})
SAGITTAL = frozenset({"side", "oblique"})
FRONTAL = frozenset({"front", "oblique"})

# Below this a metric is left out of a window's report (too little of it was seen).
MIN_CONFIDENCE = 0.25


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str
    views: frozenset[str]
    description: str
    decimals: int = 1


_SPECS = (
    MetricSpec("cadence_spm", "steps/min", ALL, "steps per minute (pelvis low points)"),
    MetricSpec("cadence_drop_rel", "share", ALL,
               "cadence below the runner's usual one (rolling state only)", 3),
    MetricSpec("vertical_oscillation_rel", "leg lengths", ALL,
               "hip midpoint's vertical travel over a stride", 3),
    MetricSpec("step_time_asymmetry", "share", ALL,
               "difference of left and right step times over their mean", 3),
    MetricSpec("elbow_angle_deg", "deg", ALL, "elbow angle, 180 = straight"),
    MetricSpec("trunk_lean_deg", "deg", SAGITTAL, "forward lean of the trunk from vertical"),
    MetricSpec("trunk_lean_change_deg", "deg", SAGITTAL,
               "trunk lean above the runner's usual one (rolling state only)"),
    MetricSpec("head_forward_rel", "leg lengths", SAGITTAL, "ears ahead of the shoulders", 3),
    MetricSpec("overstride_rel", "leg lengths", SAGITTAL,
               "heel ahead of the hip midpoint at contact", 3),
    MetricSpec("overstride_change_rel", "leg lengths", SAGITTAL,
               "overstride above the runner's usual one (rolling state only)", 3),
    MetricSpec("shank_angle_deg", "deg", SAGITTAL,
               "shank from vertical at contact, > 0: ankle ahead of the knee"),
    MetricSpec("foot_strike_deg", "deg", SAGITTAL,
               "foot angle at contact, > 0: toe up (heel first), < 0: forefoot first"),
    MetricSpec("foot_strike_change_deg", "deg", SAGITTAL,
               "foot angle at contact above the runner's usual one (rolling state only)"),
    MetricSpec("knee_flexion_stance_deg", "deg", SAGITTAL, "deepest knee bend in stance"),
    MetricSpec("knee_flexion_swing_deg", "deg", SAGITTAL, "deepest knee bend in swing"),
    MetricSpec("arm_swing_deg", "deg", SAGITTAL, "range of the upper arm's angle"),
    MetricSpec("stance_time_asymmetry", "share", SAGITTAL,
               "difference of left and right stance times over their mean", 3),
    MetricSpec("knee_rom_asymmetry", "share", SAGITTAL,
               "difference of left and right knee ranges of motion over their mean", 3),
    MetricSpec("knee_valgus_rel", "leg lengths", FRONTAL,
               "knee inside the hip-ankle line at mid-stance", 3),
    MetricSpec("pelvic_drop_deg", "deg", FRONTAL,
               "swing-side hip below the stance-side hip at mid-stance"),
    MetricSpec("pelvic_drop_change_deg", "deg", FRONTAL,
               "pelvic drop above the runner's usual one (rolling state only)"),
    MetricSpec("foot_lateral_rel", "leg lengths", FRONTAL,
               "stance foot from the body's midline, < 0: across it (cross-over)", 3),
    MetricSpec("wrist_lateral_rel", "leg lengths", FRONTAL,
               "wrists from the body's midline, < 0: across it", 3),
)


@dataclass(frozen=True)
class UsualSpec:
    change: str  # the reported metric: the averaged value minus the usual one
    hold: float  # a rise beyond this stops the usual level from following


# Metrics the rolling state keeps a runner's usual level of (consumer/gait/rolling.py); their
# order is part of its stored format. Each hold sits below its cue's change threshold
# (cues.toml), so that a fault never becomes usual.
USUAL: Mapping[str, UsualSpec] = MappingProxyType({
    "trunk_lean_deg": UsualSpec("trunk_lean_change_deg", 3.0),
    "overstride_rel": UsualSpec("overstride_change_rel", 0.05),
    "foot_strike_deg": UsualSpec("foot_strike_change_deg", 3.0),
    "pelvic_drop_deg": UsualSpec("pelvic_drop_change_deg", 1.5),
})

METRICS: Mapping[str, MetricSpec] = MappingProxyType({s.name: s for s in _SPECS})
METRIC_NAMES: tuple[str, ...] = tuple(METRICS)


def valid_in(view: str) -> tuple[str, ...]:
    """The metrics reported for a view, in catalogue order."""
    return tuple(name for name, spec in METRICS.items() if view in spec.views)


def foot_strike_label(foot_strike_deg: float) -> str:
    """heel / midfoot / forefoot from the foot angle at contact (+-5 deg: flat, midfoot)."""
    if foot_strike_deg > 5.0:
        return "heel"
    if foot_strike_deg < -5.0:
        return "forefoot"
    return "midfoot"
