"""``compute_window_metrics``: every gait metric of a batch of windows, in one vectorised pass.

The same function serves the consumer (one call per poll batch), training and evaluation,
so a metric means the same everywhere. Each metric is NaN where its view does not show it or
too little of it was seen (confidence under ``specs.MIN_CONFIDENCE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from consumer.gait.events import foot_events, stance_side_at_steps, step_events
from consumer.gait.frontal import elbow_angle_from_drop, frontal_metrics
from consumer.gait.pose import pose_from_windows
from consumer.gait.reduce import nan_mean, weighted_mean
from consumer.gait.sagittal import (
    arm_metrics,
    head_forward,
    leg_metrics,
    sagittal_plane,
    trunk_lean_deg,
)
from consumer.gait.specs import METRICS, MIN_CONFIDENCE, USUAL
from consumer.gait.timing import step_time_asymmetry, vertical_oscillation, window_cadence
from consumer.gait.view import FRONT, VIEWS, view_geometry


@dataclass(frozen=True)
class WindowMetrics:
    """Metrics of N windows: arrays of shape (N,), NaN where not reported."""

    view: np.ndarray  # (N,) int8 index into view.VIEWS
    view_confidence: np.ndarray
    values: dict[str, np.ndarray]
    confidence: dict[str, np.ndarray]
    step_times: np.ndarray  # (N, T) step events (frame numbers), packed left, NaN after
    step_period: np.ndarray  # (N,) frames per step from the window's autocorrelation
    stance_contact: np.ndarray  # (N, 2, T) contact time of each complete stance (L, R)
    stance_frames: np.ndarray  # (N, 2, T) its duration in frames (NaN: none there)

    def __len__(self) -> int:
        return int(self.view.shape[0])

    def view_name(self, i: int) -> str:
        return VIEWS[int(self.view[i])]

    def window(self, i: int) -> dict[str, Any]:
        """Window ``i`` as JSON-ready data: view, metrics and their confidences."""
        metrics: dict[str, float] = {}
        confidence: dict[str, float] = {}
        for name, values in self.values.items():
            value = float(values[i])
            if np.isfinite(value):
                metrics[name] = round(value, METRICS[name].decimals)
                confidence[name] = round(float(self.confidence[name][i]), 2)
        return {"view": self.view_name(i), "metrics": metrics, "confidence": confidence}


def _stance_asymmetry(stance_frames: np.ndarray) -> np.ndarray:
    """(N,) from the window's own complete stances of both feet (rare in 30 frames; the
    rolling state pools them across windows)."""
    left, right = (nan_mean(stance_frames[:, side]) for side in (0, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(left - right) / ((left + right) / 2)


def _clip01(values: np.ndarray) -> np.ndarray:
    return np.clip(np.nan_to_num(values), 0.0, 1.0)


def compute_window_metrics(
    windows: np.ndarray, frames: np.ndarray | None = None
) -> WindowMetrics:
    """Gait metrics of windows (N, T, 132); ``frames`` (N, T) are their frame numbers (by
    default 0..T-1 in each), which step times and cadence are given in."""
    pose = pose_from_windows(windows, frames)
    geometry = view_geometry(pose)
    steps, period = step_events(pose)
    plane = sagittal_plane(pose, geometry)
    hip_x = (pose.x[..., 23] + pose.x[..., 24]) / 2
    feet = foot_events(pose, geometry.facing, hip_x)
    legs = leg_metrics(plane, pose, feet, steps)
    arms = arm_metrics(plane, pose)
    frontal = frontal_metrics(pose, geometry, steps, stance_side_at_steps(pose, steps))
    lean, lean_w = trunk_lean_deg(plane, pose)
    head, head_w = head_forward(plane, pose)
    leg = geometry.leg
    front = geometry.view == FRONT
    step_count = steps.mask.sum(axis=1)

    values = {
        "cadence_spm": window_cadence(steps, period),
        "cadence_drop_rel": np.full(pose.windows, np.nan),  # the rolling state's
        "vertical_oscillation_rel": vertical_oscillation(pose, leg),
        "step_time_asymmetry": step_time_asymmetry(steps),
        "elbow_angle_deg": np.where(front, elbow_angle_from_drop(pose, geometry), arms.elbow_angle),
        "trunk_lean_deg": weighted_mean(lean, lean_w + 1e-3),
        "head_forward_rel": weighted_mean(head, head_w + 1e-3) / leg,
        "overstride_rel": legs.overstride / leg,
        "shank_angle_deg": legs.shank_at_contact,
        "foot_strike_deg": legs.foot_pitch_at_contact,
        "knee_flexion_stance_deg": legs.knee_stance,
        "knee_flexion_swing_deg": legs.knee_swing,
        "arm_swing_deg": arms.arm_swing,
        "stance_time_asymmetry": _stance_asymmetry(legs.stance_frames),
        "knee_rom_asymmetry": legs.knee_rom_asymmetry,
        "knee_valgus_rel": frontal.knee_valgus,
        "pelvic_drop_deg": frontal.pelvic_drop,
        "foot_lateral_rel": frontal.foot_lateral,
        "wrist_lateral_rel": frontal.wrist_lateral,
    }
    for spec in USUAL.values():  # the rolling state's
        values[spec.change] = np.full(pose.windows, np.nan)
    hips = np.mean(pose.weight(23, 24), axis=1)
    contact_evidence = _clip01(legs.contacts / 2)
    stance_evidence = _clip01(frontal.mid_stance_frames / 8)
    evidence = {
        "cadence_spm": hips * _clip01(step_count / 2 + 0.25 * np.isfinite(period)),
        "cadence_drop_rel": hips,
        "vertical_oscillation_rel": hips * _clip01(step_count / 2),
        "step_time_asymmetry": hips * _clip01((step_count - 2) / 1),
        "elbow_angle_deg": arms.weight,
        "trunk_lean_deg": np.mean(lean_w, axis=1),
        "head_forward_rel": np.mean(head_w, axis=1),
        "overstride_rel": legs.weight * contact_evidence,
        "shank_angle_deg": legs.weight * contact_evidence,
        "foot_strike_deg": legs.weight * contact_evidence,
        "knee_flexion_stance_deg": legs.weight * contact_evidence,
        "knee_flexion_swing_deg": legs.weight,
        "arm_swing_deg": arms.weight,
        "stance_time_asymmetry": legs.weight * contact_evidence,
        "knee_rom_asymmetry": legs.weight,
        "knee_valgus_rel": frontal.leg_weight * stance_evidence,
        "pelvic_drop_deg": frontal.leg_weight * stance_evidence,
        "foot_lateral_rel": frontal.leg_weight * stance_evidence,
        "wrist_lateral_rel": frontal.arm_weight,
    }
    for name, spec in USUAL.items():
        evidence[spec.change] = evidence[name]
    view_factor = 0.5 + 0.5 * geometry.confidence
    view_names = np.asarray(VIEWS)[geometry.view]
    confidence: dict[str, np.ndarray] = {}
    for name, spec in METRICS.items():
        valid_view = np.isin(view_names, list(spec.views))
        conf = np.where(valid_view, _clip01(evidence[name]) * view_factor, 0.0)
        keep = valid_view & (conf >= MIN_CONFIDENCE) & np.isfinite(values[name])
        values[name] = np.where(keep, values[name], np.nan)
        confidence[name] = np.where(keep, conf, 0.0)
    order = np.argsort(~steps.mask, axis=1, kind="stable")
    return WindowMetrics(
        view=geometry.view, view_confidence=geometry.confidence, values=values,
        confidence=confidence, step_times=np.take_along_axis(steps.time, order, axis=1),
        step_period=period, stance_contact=legs.stance_contact, stance_frames=legs.stance_frames,
    )
