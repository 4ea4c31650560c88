"""Frames of one runner's session, for any frame range, the same whichever way it is cut.

Every quantity is a closed-form function of the frame number: the gait phase integrates the
cadence analytically (wobble and fault ramps included), and random noise comes from streams
keyed by (seed, block of frames). ``chunk(0, 600)`` equals ``chunk(0, 300)`` followed by
``chunk(300, 300)``, which is what streaming needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from producer_sim.effects import fault_changes
from producer_sim.faults import RAMP_FRAMES, FaultPlan
from producer_sim.gait import WOBBLE, Series, build_series
from producer_sim.noise import TrackedFrames, TrackerNoise, track, visibility_of
from producer_sim.occlusion import occlusion
from producer_sim.pelvis import contact_at, duty, progress
from producer_sim.profile import RunnerProfile
from producer_sim.signals import Wobble, ramp, ramp_integral
from producer_sim.skeleton import Pose3D, measured_truth, pose_3d
from producer_sim.upper import rotation

STREAM_GAIT = 1
_CADENCE = list(WOBBLE).index("cadence_spm")


@dataclass(frozen=True)
class Rendered:
    """Frames [start, start+T) with everything behind them."""

    frames: np.ndarray  # (T,) int64
    landmarks: np.ndarray  # (T, 132) float32, NaN rows where the tracker lost the person
    clean: np.ndarray  # (T, 132) float32, projected landmarks before tracker noise
    world: np.ndarray  # (T, 33, 3) metres, world frame
    pose: Pose3D
    series: Series
    truth: dict[str, np.ndarray]


class SessionSimulator:
    """A runner with faults, rendered deterministically for any chunk of frames."""

    def __init__(
        self, profile: RunnerProfile, faults: Sequence[FaultPlan] = (), seed: int = 0,
        *, tracker_noise: bool = True,
    ) -> None:
        self.profile = profile
        self.faults = tuple(faults)
        self.seed = seed
        self.tracker_noise = tracker_noise
        rng = np.random.default_rng([seed, STREAM_GAIT])
        self._wobble = Wobble(rng, len(WOBBLE))
        self._drift = Wobble(rng, 3, f_lo=0.01, f_hi=0.06)
        self._phase0 = float(rng.uniform())
        self._ramp_frames = max(1, round(RAMP_FRAMES * profile.fps / 30.0))
        self._changes = [
            fault_changes(plan.fault, plan.severity, profile.body, profile.gait)
            for plan in self.faults
        ]

    def chunk(self, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame numbers and landmarks (count, 132) float32; NaN rows are dropouts."""
        rendered = self.render(start, count)
        return rendered.frames, rendered.landmarks

    def _weights(self, frames: np.ndarray) -> list[np.ndarray]:
        return [ramp(frames, p.onset_frame, p.end_frame, self._ramp_frames) for p in self.faults]

    def stride_phase(self, frames: np.ndarray) -> np.ndarray:
        """Strides run since an arbitrary origin (cumulative, not wrapped), per frame."""
        fps, cadence = self.profile.fps, self.profile.gait.cadence_spm
        t = frames / fps
        size = WOBBLE["cadence_spm"][1]
        steps_x60 = cadence * (t + size * self._wobble.integral(t)[:, _CADENCE])
        for plan, changes in zip(self.faults, self._changes, strict=True):
            if "cadence_spm" in changes:
                area = ramp_integral(frames, plan.onset_frame, plan.end_frame, self._ramp_frames)
                change = float(np.asarray(changes["cadence_spm"]))
                steps_x60 = steps_x60 + change * area / fps
        return self._phase0 + steps_x60 / 120.0

    def _to_world(self, points: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Runner frame -> world: slow drift along and across the belt, and heading wobble."""
        p = self.profile
        drift = self._drift.value(t)
        heading = rotation(1, np.radians(p.heading_wobble_deg) * drift[:, 2])
        offset = np.column_stack([
            p.drift_m * drift[:, 0], np.zeros_like(t), p.lateral_drift_m * drift[:, 1]
        ])
        flat = points.reshape(points.shape[0], -1, 3)
        turned = np.einsum("tij,tnj->tni", heading, flat)
        return (turned + offset[:, None, :]).reshape(points.shape)

    def render(self, start: int, count: int) -> Rendered:
        p = self.profile
        frames = np.arange(start, start + count, dtype=np.int64)
        t = frames / p.fps
        weights = self._weights(frames)
        series = build_series(
            p.gait, count, self._wobble.value(t), list(zip(weights, self._changes, strict=True))
        )
        strides = self.stride_phase(frames)
        q = np.mod(strides, 1.0)
        pose = pose_3d(q, series, p.body)
        world = self._to_world(pose.points, t)
        hip_mid = self._to_world(pose.legs.centre[:, None, :], t)[:, 0]
        cam = p.camera
        proj = cam.project(world, hip_mid)
        hidden = occlusion(proj, (cam.image_width, cam.image_height))
        tracked: TrackedFrames = track(
            proj.xy, proj.z, hidden, (cam.image_width, cam.image_height),
            p.noise if self.tracker_noise else _quiet(p.noise), self.seed, start, p.fps,
            swaps_possible=p.view != "front",
        )
        clean = np.concatenate(
            [proj.xy, proj.z[..., None], visibility_of(hidden, p.noise)[..., None]], axis=-1)
        truth = measured_truth(pose, p.body)
        truth.update(self._phase_truth(frames, strides, series))
        truth["hip_depth_m"] = proj.hip_depth_m
        truth["tracked"] = tracked.tracked
        truth["swapped"] = tracked.swapped
        for plan, weight in zip(self.faults, weights, strict=True):
            truth[f"fault_weight_{plan.fault}"] = weight
        return Rendered(
            frames=frames,
            landmarks=tracked.landmarks.reshape(count, -1).astype(np.float32),
            clean=clean.reshape(count, -1).astype(np.float32),
            world=world, pose=pose, series=series, truth=truth,
        )

    def _phase_truth(
        self, frames: np.ndarray, strides: np.ndarray, series: Series
    ) -> dict[str, np.ndarray]:
        starts, duties = contact_at(series), duty(series)
        now = progress(np.mod(strides, 1.0), starts, duties)
        before = progress(np.mod(self.stride_phase(frames - 1), 1.0), starts, duties)
        contact = now.phi < before.phi  # the leg's phase wrapped: its foot just landed
        # Stance duration in force, exact rather than counted in whole frames: at 30 fps a
        # stance is 6-9 frames, and counting them quantises the asymmetry of a normal runner
        # to 0 or 12 %.
        stance_s = duties * (120.0 / series["cadence_spm"])[:, None]
        return {
            "stride_phase": strides,
            "cadence_spm": series["cadence_spm"],
            "contact_left": contact[:, 0],
            "contact_right": contact[:, 1],
            "stance_left": now.stance[:, 0],
            "stance_right": now.stance[:, 1],
            "stance_time_left_s": stance_s[:, 0],
            "stance_time_right_s": stance_s[:, 1],
        }


def _quiet(noise: TrackerNoise) -> TrackerNoise:
    """The same visibility model without randomness: what a perfect tracker would give."""
    return replace(noise, jitter=0.0, visibility_noise=0.0, dropouts_per_min=0.0,
                   swaps_per_min=0.0)
