"""How each fault changes a runner's gait parameters, at full weight, for a severity.

Changes are additive and scale with severity; a fault ramping in or out is weighted per frame
(``gait.build_series``). Sizes are chosen so that the default severity (0.8) clearly leaves the
normal ranges of running-form.md: e.g. trunk lean of 2-10 deg becomes 15-20 deg, cadence
160-185 becomes 144-149 steps/min, elbows bent 80-100 deg open to about 130-140 deg
(docs/simulator.md has each fault's measure against the normal population's range).
Pairs are (left, right); ``limp`` always favours the right leg.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from producer_sim.body import Body
from producer_sim.gait import Delta, GaitParams

Effect = Callable[[float, Body, GaitParams], dict[str, Delta]]

LOW_CADENCE_SPM = 140.0  # low_cadence's cadence at severity 1 (0.8: 144-149 steps/min)


def _overstriding(s: float, body: Body, gait: GaitParams) -> dict[str, Delta]:
    return {
        "contact_shift_m": 0.22 * body.leg_m * s,
        "knee_contact_deg": -12.0 * s,  # lands on a nearly straight knee
        "strike_pitch_deg": (14.0 - gait.strike_pitch_deg) * s,  # and mostly on the heel
        "flat_at": 0.06 * s,
        "contact_time_s": 0.015 * s,  # braking lengthens contact
    }


def _heel_striking(s: float, body: Body, gait: GaitParams) -> dict[str, Delta]:
    return {
        "strike_pitch_deg": (22.0 - gait.strike_pitch_deg) * s,
        "flat_at": 0.1 * s,
        "knee_contact_deg": -5.0 * s,
        "contact_shift_m": 0.04 * body.leg_m * s,
    }


def _vertical_oscillation(s: float, body: Body, gait: GaitParams) -> dict[str, Delta]:
    # Bouncing: a deeper knee bend in stance, a harder push-off and a longer flight. A runner
    # with long ground contacts gets off the ground quicker too, so that bouncing clears the
    # normal range whatever the runner's own oscillation (a fixed cut in contact time left
    # runners with long contacts at 12 cm, inside the normal 5-13).
    return {
        "knee_stance_deg": 16.0 * s,
        "contact_time_s": -(0.035 + 0.5 * max(gait.contact_time_s - 0.2, 0.0)) * s,
        "toeoff_pitch_deg": -8.0 * s,
        "knee_toeoff_deg": -4.0 * s,
        "hip_swing_deg": 5.0 * s,
    }


def _trunk_lean(s: float, body: Body, gait: GaitParams) -> dict[str, Delta]:
    return {"trunk_lean_deg": 16.0 * s}


def _hunched_head(s: float, body: Body, gait: GaitParams) -> dict[str, Delta]:
    return {
        "neck_forward_deg": 35.0 * s,
        "head_pitch_deg": 20.0 * s,
        "shoulder_protraction_m": 0.04 * s,
        "trunk_lean_deg": 2.0 * s,
    }


def _knee_valgus(s: float, body: Body, gait: GaitParams) -> dict[str, Delta]:
    return {"valgus_deg": 40.0 * s, "toe_out_deg": 6.0 * s, "foot_lateral_m": -0.01 * s}


def _cross_over(s: float, body: Body, gait: GaitParams) -> dict[str, Delta]:
    # At 0.8 each foot lands about 4-5 cm past the midline.
    return {"foot_lateral_m": -(gait.foot_lateral_m + 0.07) * s}


def _pelvic_drop(s: float, body: Body, gait: GaitParams) -> dict[str, Delta]:
    return {"pelvic_drop_deg": 10.0 * s, "lateral_sway_m": 0.015 * s}


def _limp(s: float, body: Body, gait: GaitParams) -> dict[str, Delta]:
    # Antalgic: get off the painful right leg quickly, keep its knee stiff, lean over it.
    return {
        "right_contact_at": 0.07 * s,
        "contact_time_s": (0.0, -0.04 * s),
        "knee_stance_deg": (0.0, -14.0 * s),
        "knee_swing_deg": (0.0, -35.0 * s),
        "hip_swing_deg": (0.0, -6.0 * s),
        "pelvic_drop_deg": (0.0, 5.0 * s),
        "trunk_side_lean_deg": (0.0, 8.0 * s),
    }


def _stiff_arms(s: float, body: Body, gait: GaitParams) -> dict[str, Delta]:
    return {
        "elbow_flex_deg": -55.0 * s,
        "shoulder_swing_deg": -0.65 * gait.shoulder_swing_deg * s,
        "elbow_swing_deg": -0.7 * gait.elbow_swing_deg * s,
        "thorax_yaw_deg": -0.4 * gait.thorax_yaw_deg * s,
    }


def _arm_crossing(s: float, body: Body, gait: GaitParams) -> dict[str, Delta]:
    return {
        "forearm_medial_deg": 45.0 * s,
        "arm_abduction_deg": -(gait.arm_abduction_deg + 6.0) * s,
        "thorax_yaw_deg": 6.0 * s,
    }


def _low_cadence(s: float, body: Body, gait: GaitParams) -> dict[str, Delta]:
    # Same speed, fewer steps: longer steps, longer flight, the foot a little further ahead.
    # The cadence moves towards LOW_CADENCE_SPM (reached at severity 1), so that every runner
    # ends up clearly below the normal 160-185 (a cut of 16 % took a 185-spm runner to 161
    # at the default severity, which nobody would call a low cadence).
    return {
        "cadence_spm": -(gait.cadence_spm - LOW_CADENCE_SPM) * s,
        "contact_shift_m": 0.04 * body.leg_m * s,
        "knee_stance_deg": 4.0 * s,
    }


EFFECTS: Mapping[str, Effect] = MappingProxyType({
    "overstriding": _overstriding,
    "heel_striking": _heel_striking,
    "vertical_oscillation": _vertical_oscillation,
    "trunk_lean": _trunk_lean,
    "hunched_head": _hunched_head,
    "knee_valgus": _knee_valgus,
    "cross_over": _cross_over,
    "pelvic_drop": _pelvic_drop,
    "limp": _limp,
    "stiff_arms": _stiff_arms,
    "arm_crossing": _arm_crossing,
    "low_cadence": _low_cadence,
})


def fault_changes(fault: str, severity: float, body: Body, gait: GaitParams) -> dict[str, Delta]:
    """The parameter changes of ``fault`` at ``severity``, at full weight."""
    return EFFECTS[fault](severity, body, gait)
