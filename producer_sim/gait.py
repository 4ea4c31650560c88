"""A runner's normal gait as parameters, and their per-frame series (wobble and faults added).

Reference ranges (running-form.md and the literature it summarises): cadence 160-185
steps/min; trunk lean 2-10 deg; knee flexion about 40-45 deg at mid-stance and 90-130 deg in
swing; elbows bent 80-100 deg; ground contact 0.2-0.3 s at easy-to-moderate treadmill speeds
(shorter when faster: contact time ~ speed^-0.6 fits Weyand et al. 2000 and Nummela 2007);
pelvic drop of a few degrees, pelvis and thorax rotating a few degrees opposite to each other
(Novacheck 1998, "The biomechanics of running", Gait & Posture 7:77-95). Vertical
oscillation (5-10 cm) is not a parameter: it follows from the stance knee flexion, the foot
roll and the flight time, as it does in a runner.

Angles are in degrees, lengths in metres, ``*_at`` in shares of the stance phase.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import numpy as np

from producer_sim.body import Body

# Parameters that may differ between the left and the right leg: series of shape (T, 2).
PER_LEG = frozenset({
    "contact_time_s", "contact_shift_m", "strike_pitch_deg", "knee_contact_deg",
    "knee_stance_deg", "knee_toeoff_deg", "knee_swing_deg", "hip_swing_deg",
    "toeoff_pitch_deg", "flat_at", "heel_off_at", "toe_out_deg", "pelvic_drop_deg",
    "valgus_deg", "trunk_side_lean_deg", "foot_lateral_m",
})

# name -> (kind, size) of the slow stride-to-stride wobble: "rel" scales, "abs" adds.
WOBBLE = {
    "cadence_spm": ("rel", 0.008),  # stride-time CV of trained runners is about 1-2 %
    "contact_shift_m": ("abs", 0.012),
    "knee_stance_deg": ("abs", 1.5),
    "knee_swing_deg": ("abs", 3.0),
    "trunk_lean_deg": ("abs", 0.8),
    "shoulder_swing_deg": ("rel", 0.06),
    "elbow_flex_deg": ("abs", 2.0),
}

Series = dict[str, np.ndarray]


@dataclass(frozen=True)
class GaitParams:
    """One runner's normal running form (both legs alike; faults make them differ)."""

    cadence_spm: float
    speed_mps: float
    contact_time_s: float
    # Foot placement at contact beyond the balanced one (where the hip is as high at contact as
    # at toe-off, as in a spring-mass runner); overstriding moves it forward.
    contact_shift_m: float
    strike_pitch_deg: float  # foot to ground at contact; > 0 toe up (heel first)
    flat_at: float
    heel_off_at: float
    toeoff_pitch_deg: float
    knee_contact_deg: float
    knee_stance_deg: float
    knee_toeoff_deg: float
    knee_swing_deg: float
    hip_swing_deg: float  # thigh's largest forward angle from vertical in swing
    toe_out_deg: float
    foot_lateral_m: float  # foot placement from the midline, outwards
    pelvic_drop_deg: float  # the swing-side hip's drop during single-leg stance
    valgus_deg: float  # knee rotated medially about the hip-ankle line, peak in stance
    trunk_side_lean_deg: float  # towards the stance side
    pelvis_yaw_deg: float
    thorax_yaw_deg: float
    lateral_sway_m: float
    surge_m: float
    trunk_lean_deg: float
    trunk_bob_deg: float  # extra forward lean at mid-stance
    neck_forward_deg: float
    head_pitch_deg: float
    shoulder_protraction_m: float
    shoulder_flex_deg: float
    shoulder_swing_deg: float
    elbow_flex_deg: float  # 180 - elbow angle
    elbow_swing_deg: float
    arm_abduction_deg: float
    forearm_medial_deg: float  # forearm's turn towards the midline
    arm_lag: float  # arm swing lag behind the legs, share of a stride
    right_contact_at: float  # right foot's contact in the stride (0.5 when symmetric)

    @classmethod
    def random(cls, rng: np.random.Generator, body: Body) -> GaitParams:
        """A normal runner; speed scales with sqrt(leg length) (equal Froude number)."""
        u = rng.uniform
        # Equal Froude number: speed and contact time scale with sqrt(leg length).
        size = np.sqrt(body.leg_m / 0.92)
        speed = float(u(2.7, 3.8) * size)
        return cls(
            cadence_spm=u(160.0, 185.0),
            speed_mps=speed,
            contact_time_s=0.25 * (3.0 * size / speed) ** 0.6 * size * u(0.94, 1.06),
            contact_shift_m=u(-0.03, 0.03) * body.leg_m,
            strike_pitch_deg=u(-8.0, 4.0),  # forefoot to midfoot
            flat_at=u(0.12, 0.2),
            heel_off_at=u(0.4, 0.5),
            toeoff_pitch_deg=u(-55.0, -42.0),
            knee_contact_deg=u(12.0, 22.0),
            knee_stance_deg=u(40.0, 45.0),  # running-form.md: 40-45
            knee_toeoff_deg=u(12.0, 20.0),
            knee_swing_deg=u(95.0, 125.0),
            hip_swing_deg=u(32.0, 44.0),
            toe_out_deg=u(2.0, 10.0),
            foot_lateral_m=u(0.01, 0.05),
            pelvic_drop_deg=u(2.0, 5.0),
            valgus_deg=u(0.0, 3.0),
            trunk_side_lean_deg=0.0,
            pelvis_yaw_deg=u(4.0, 9.0),
            thorax_yaw_deg=u(6.0, 12.0),
            lateral_sway_m=u(0.01, 0.025),
            surge_m=u(0.005, 0.015),
            trunk_lean_deg=u(3.0, 9.0),
            trunk_bob_deg=u(1.0, 2.5),
            neck_forward_deg=u(0.0, 8.0),
            head_pitch_deg=u(0.0, 10.0),
            shoulder_protraction_m=0.0,
            shoulder_flex_deg=u(-10.0, 5.0),
            shoulder_swing_deg=u(20.0, 35.0),
            elbow_flex_deg=u(80.0, 100.0),
            elbow_swing_deg=u(6.0, 15.0),
            arm_abduction_deg=u(8.0, 18.0),
            forearm_medial_deg=u(10.0, 25.0),
            arm_lag=u(0.0, 0.05),
            right_contact_at=0.5,
        )

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 5) for k, v in asdict(self).items()}


Delta = float | tuple[float, float]


def build_series(
    gait: GaitParams,
    count: int,
    wobble: np.ndarray,
    weighted_deltas: list[tuple[np.ndarray, Mapping[str, Delta]]],
) -> Series:
    """Per-frame parameters: the runner's values, plus wobble, plus each fault's weighted change.

    ``wobble`` is (count, len(WOBBLE)) unit-RMS noise; ``weighted_deltas`` pairs a fault's
    weight per frame (0..1) with its full change of parameters (a pair for left/right).
    """
    series: Series = {}
    for field in fields(gait):
        value = float(getattr(gait, field.name))
        shape = (count, 2) if field.name in PER_LEG else (count,)
        series[field.name] = np.full(shape, value)
    for column, (name, (kind, size)) in enumerate(WOBBLE.items()):
        noise = wobble[:, column] * size
        base = series[name]
        change = noise * np.abs(float(getattr(gait, name))) if kind == "rel" else noise
        series[name] = base + (change[:, None] if base.ndim == 2 else change)
    for weight, deltas in weighted_deltas:
        for name, delta in deltas.items():
            base = series[name]
            step = np.asarray(delta, dtype=np.float64)
            if base.ndim == 2:
                series[name] = base + weight[:, None] * np.broadcast_to(step, (2,))
            else:
                series[name] = base + weight * float(step)
    return series
