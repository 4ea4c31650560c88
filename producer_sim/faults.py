"""The catalogue of running-form faults: ids, what they look like, where a camera sees them.

The names are ids shared with labels, cues and metrics (issue 12); never rename one. Each
fault has a severity in 0..1: 1 is a caricature, the default is what a careful observer would
call faulty without hesitating. ``measure`` names the ground-truth quantity the fault moves
(keys of ``SimulatedSession.truth_summary()``), and ``increases`` its direction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from consumer.errors import ConfigError

VIEWS: tuple[str, ...] = ("side", "front", "oblique")
ALL_VIEWS = frozenset(VIEWS)
_SAGITTAL = frozenset({"side", "oblique"})
_FRONTAL = frozenset({"front", "oblique"})


@dataclass(frozen=True)
class FaultSpec:
    name: str
    description: str
    visible_views: frozenset[str]
    default_severity: float
    measure: str
    increases: bool = True


_SPECS = (
    FaultSpec("overstriding", "foot lands far ahead of the hips on a nearly straight knee",
              _SAGITTAL, 0.8, "heel_ahead_at_contact_rel"),
    FaultSpec("heel_striking", "heel lands first, toe up, ankle dorsiflexed",
              _SAGITTAL, 0.8, "foot_pitch_at_contact_deg"),
    FaultSpec("vertical_oscillation", "bouncing: large up-and-down travel of the pelvis",
              ALL_VIEWS, 0.8, "vertical_oscillation_rel"),
    FaultSpec("trunk_lean", "trunk leaning far forward from the hips",
              _SAGITTAL, 0.8, "trunk_lean_deg"),
    FaultSpec("hunched_head", "head pushed forward and down, shoulders rounded",
              _SAGITTAL, 0.8, "head_forward_rel"),
    FaultSpec("knee_valgus", "knees collapse inwards during stance",
              _FRONTAL, 0.8, "knee_medial_rel"),
    FaultSpec("cross_over", "feet land across the body's midline",
              _FRONTAL, 0.8, "foot_lateral_at_contact_rel", increases=False),
    FaultSpec("pelvic_drop", "swing-side hip drops during single-leg stance",
              _FRONTAL, 0.8, "pelvic_drop_deg"),
    FaultSpec("limp", "right leg favoured: shorter stance, stiffer knee, lean over it",
              ALL_VIEWS, 0.8, "stance_asymmetry"),
    FaultSpec("stiff_arms", "nearly straight elbows and little arm swing",
              ALL_VIEWS, 0.8, "elbow_angle_deg"),
    FaultSpec("arm_crossing", "hands swing across the body's midline",
              _FRONTAL, 0.8, "wrist_lateral_rel", increases=False),
    FaultSpec("low_cadence", "few, long steps with long flight",
              ALL_VIEWS, 0.8, "cadence_spm", increases=False),
)

FAULTS: Mapping[str, FaultSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})
FAULT_NAMES: tuple[str, ...] = tuple(FAULTS)

# A fault comes on (and goes) over this long: a runner tiring does not change in one frame.
RAMP_S = 1.5
RAMP_FRAMES = round(RAMP_S * 30)  # at the simulator's 30 fps


def check_views(views: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(views)
    unknown = sorted(set(chosen) - ALL_VIEWS)
    if unknown:
        raise ConfigError(f"unknown view(s) {', '.join(unknown)}; known: {', '.join(VIEWS)}")
    if not chosen:
        raise ConfigError("at least one camera view is needed")
    return chosen


def check_faults(names: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(names)
    unknown = sorted(set(chosen) - set(FAULT_NAMES))
    if unknown:
        raise ConfigError(
            f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULT_NAMES)}"
        )
    return chosen


def views_for(fault: str, allowed: Iterable[str] = VIEWS) -> tuple[str, ...]:
    """The views, in catalogue order, where ``fault`` is visible and which are ``allowed``."""
    allowed_set = set(allowed)
    return tuple(v for v in VIEWS if v in FAULTS[fault].visible_views and v in allowed_set)


@dataclass(frozen=True)
class FaultPlan:
    """A fault in one session: ramping in from ``onset_frame``, and out by ``end_frame`` (if
    any); frames from onset to end, inclusive, are the fault's."""

    fault: str
    severity: float
    onset_frame: int
    end_frame: int | None = None

    def __post_init__(self) -> None:
        check_faults([self.fault])
        if not 0.0 <= self.severity <= 1.0:
            raise ConfigError(f"{self.fault}: severity {self.severity} is outside 0..1")
        if self.end_frame is not None and self.end_frame < self.onset_frame + 2 * RAMP_FRAMES:
            raise ConfigError(
                f"{self.fault}: end_frame {self.end_frame} must come at least "
                f"{2 * RAMP_FRAMES} frames after onset {self.onset_frame} (ramp in and out)"
            )

    @classmethod
    def default(cls, fault: str, onset_frame: int = 0, end_frame: int | None = None) -> FaultPlan:
        check_faults([fault])
        return cls(fault, FAULTS[fault].default_severity, onset_frame, end_frame)

    def to_dict(self) -> dict[str, object]:
        return {"fault": self.fault, "severity": round(self.severity, 4),
                "onset_frame": self.onset_frame, "end_frame": self.end_frame}
