"""A whole simulated session: landmarks, labels and ground truth.

Ground truth (``SimulatedSession.truth``), one value per frame, measured on the 3D pose before
projection (runner frame: X forward, Y up, Z right; metres and degrees):

- ``stride_phase``: strides since an arbitrary origin; ``cadence_spm``: the cadence in force.
- ``contact_left`` / ``contact_right``: True on the first frame of each foot's stance;
  ``stance_left`` / ``stance_right``: the foot is on the belt; ``stance_time_{side}_s``: the
  duration of a stance in force at that frame (exact, not counted in whole frames).
- ``knee_flexion_{side}_deg`` (0 = straight), ``elbow_angle_{side}_deg`` (180 = straight),
  ``foot_pitch_{side}_deg`` (> 0 toe up), ``ankle_height_{side}_m``.
- ``heel_ahead_{side}_m``: heel ahead of the hip midpoint.
- At the instant of each contact (which falls between frames; read them on contact frames):
  ``heel_ahead_at_contact_{side}_m`` (overstride), ``shank_at_contact_{side}_deg`` (> 0: ankle
  ahead of the knee), ``knee_flexion_at_contact_{side}_deg``, ``foot_pitch_at_contact_{side}_deg``.
- ``foot_lateral_{side}_m``, ``wrist_lateral_{side}_m``: from the midline, > 0 on their own
  side (< 0: crossed over); ``knee_medial_{side}_m``: knee inside the hip-ankle line.
- ``trunk_lean_deg`` (forward, sagittal), ``head_forward_m`` (ears ahead of shoulders),
  ``pelvis_height_m`` (hip midpoint), ``pelvic_obliquity_deg`` (> 0: left hip lower).
- ``hip_depth_m``: camera depth of the hip midpoint (with the camera, un-projects x, y, z).
- ``tracked``: False where the tracker lost the person (NaN rows); ``swapped``: far-side legs
  swapped left/right; ``fault_weight_<fault>``: 0..1 for each planned fault.
- ``label``: ``normal`` or the fault in force (weight > 0 from its onset; end inclusive).
``world_landmarks`` (T, 33, 3) and ``clean_landmarks`` (T, 132, before tracker noise) come
along for checks of projections and metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from consumer.recording import NORMAL, LabelRange
from producer_sim.faults import FaultPlan
from producer_sim.profile import RunnerProfile
from producer_sim.simulator import SessionSimulator


@dataclass(frozen=True)
class SimulatedSession:
    runner: RunnerProfile
    session_id: str
    frames: np.ndarray  # (T,) int64
    landmarks: np.ndarray  # (T, 132) float32, NaN rows where the tracker lost the person
    labels: list[LabelRange]
    truth: dict[str, np.ndarray]
    faults: tuple[FaultPlan, ...] = ()

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    def truth_summary(self, mask: np.ndarray | None = None) -> dict[str, float]:
        """Session-level ground truth over frames ``mask`` (default all): the fault measures."""
        return summarise_truth(self.truth, self.runner, mask)


def _contact_values(
    truth: dict[str, np.ndarray], key: str, unit: str, mask: np.ndarray
) -> np.ndarray:
    values = [truth[f"{key}_{side}_{unit}"][truth[f"contact_{side}"] & mask]
              for side in ("left", "right")]
    return np.concatenate(values)


def _vertical_oscillation(height: np.ndarray, contacts: np.ndarray) -> float:
    """Mean peak-to-peak of the pelvis height per stride (between left contacts)."""
    starts = np.flatnonzero(contacts)
    spans = [height[a:b] for a, b in pairwise(starts)]
    return float(np.mean([s.max() - s.min() for s in spans])) if spans else float("nan")


def summarise_truth(
    truth: dict[str, np.ndarray], runner: RunnerProfile, mask: np.ndarray | None = None
) -> dict[str, float]:
    """The quantity each fault moves (FaultSpec.measure), and a few more, as session means."""
    count = truth["trunk_lean_deg"].shape[0]
    mask = np.ones(count, dtype=bool) if mask is None else mask
    leg = runner.body.leg_m
    both = ("left", "right")
    stance = {side: truth[f"stance_{side}"] & mask for side in both}
    stance_s = np.array([np.mean(truth[f"stance_time_{s}_s"][mask]) for s in both])
    # Signed drop of the swing-side hip: the left hip during right stance, and vice versa.
    drop = np.where(stance["right"], truth["pelvic_obliquity_deg"],
                    np.where(stance["left"], -truth["pelvic_obliquity_deg"], np.nan))
    masked_height = np.where(mask, truth["pelvis_height_m"], np.nan)
    return {
        "cadence_spm": float(np.mean(truth["cadence_spm"][mask])),
        "heel_ahead_at_contact_rel": float(np.mean(
            _contact_values(truth, "heel_ahead_at_contact", "m", mask))) / leg,
        "foot_pitch_at_contact_deg": float(np.mean(
            _contact_values(truth, "foot_pitch_at_contact", "deg", mask))),
        "foot_lateral_at_contact_rel": float(np.mean(
            _contact_values(truth, "foot_lateral", "m", mask))) / leg,
        "vertical_oscillation_m": _vertical_oscillation(
            masked_height, truth["contact_left"] & mask),
        "vertical_oscillation_rel": _vertical_oscillation(
            masked_height, truth["contact_left"] & mask) / leg,
        "trunk_lean_deg": float(np.mean(truth["trunk_lean_deg"][mask])),
        "head_forward_rel": float(np.mean(truth["head_forward_m"][mask])) / leg,
        "knee_medial_rel": float(np.mean(np.concatenate(
            [truth[f"knee_medial_{s}_m"][stance[s]] for s in both]))) / leg,
        "knee_flexion_stance_deg": float(np.mean([
            np.percentile(truth[f"knee_flexion_{s}_deg"][stance[s]], 95) for s in both])),
        "knee_flexion_swing_deg": float(np.mean([
            np.percentile(truth[f"knee_flexion_{s}_deg"][~truth[f"stance_{s}"] & mask], 98)
            for s in both])),
        "pelvic_drop_deg": float(np.nanpercentile(drop[mask], 90)),
        "stance_asymmetry": float(abs(stance_s[0] - stance_s[1]) / stance_s.mean()),
        "elbow_angle_deg": float(np.mean([truth[f"elbow_angle_{s}_deg"][mask] for s in both])),
        "wrist_lateral_rel": float(np.mean([
            np.percentile(truth[f"wrist_lateral_{s}_m"][mask], 5) for s in both])) / leg,
    }


def label_ranges(
    frames: np.ndarray, faults: Sequence[FaultPlan], runner: RunnerProfile, session_id: str,
    file: str = "",
) -> list[LabelRange]:
    """Contiguous frame ranges labelled ``normal`` or with the fault in force (later wins)."""
    labels = np.full(frames.shape[0], NORMAL, dtype=object)
    severity = np.full(frames.shape[0], np.nan)
    for plan in faults:
        active = frames >= plan.onset_frame
        if plan.end_frame is not None:
            active &= frames <= plan.end_frame
        labels[active] = plan.fault
        severity[active] = plan.severity
    ranges: list[LabelRange] = []
    edges = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    for a, b in zip(np.r_[0, edges], np.r_[edges, len(frames)], strict=True):
        if b <= a:
            continue
        ranges.append(LabelRange(
            file=file, start_frame=int(frames[a]), end_frame=int(frames[b - 1]),
            label=str(labels[a]), user_id=runner.runner_id, session_id=session_id,
            view=runner.view, severity=None if np.isnan(severity[a]) else float(severity[a]),
        ))
    return ranges


def simulate_session(
    profile: RunnerProfile, n_frames: int, faults: Sequence[FaultPlan] = (), seed: int = 0,
    session_id: str = "s1", start_frame: int = 0,
) -> SimulatedSession:
    """Simulate frames [start_frame, start_frame + n_frames) of a runner with ``faults``."""
    rendered = SessionSimulator(profile, faults, seed).render(start_frame, n_frames)
    truth = dict(rendered.truth)
    ranges = label_ranges(rendered.frames, faults, profile, session_id)
    label = np.full(n_frames, NORMAL, dtype=object)
    for r in ranges:
        label[(rendered.frames >= r.start_frame) & (rendered.frames <= r.end_frame)] = r.label
    truth["label"] = label.astype(str)
    truth["world_landmarks"] = rendered.world
    truth["clean_landmarks"] = rendered.clean
    return SimulatedSession(
        runner=profile, session_id=session_id, frames=rendered.frames,
        landmarks=rendered.landmarks, labels=ranges, truth=truth, faults=tuple(faults),
    )
