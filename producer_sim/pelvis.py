"""Gait phase and the pelvis: which foot is down, and how the pelvis turns, tilts and sways.

Runner frame: X forward (running direction), Y up from the belt, Z to the runner's right
(right-handed). The stride phase ``q`` runs 0..1 from one left-foot contact to the next; the
right foot lands at ``right_contact_at`` (0.5 unless limping).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from producer_sim.body import Body
from producer_sim.gait import Series

SIDE_Z = np.array([-1.0, 1.0])  # left, right: sign of each side along Z
MIN_FLIGHT = 0.03  # share of a stride: running always has a flight phase


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def cos_ease(x: np.ndarray) -> np.ndarray:
    return (1 - np.cos(np.pi * np.clip(x, 0.0, 1.0))) / 2


def hermite(
    s: np.ndarray, y0: np.ndarray, m0: np.ndarray, y1: np.ndarray, m1: np.ndarray
) -> np.ndarray:
    """Cubic Hermite on s in [0, 1] with end values and end slopes (per unit s)."""
    s2, s3 = s * s, s * s * s
    return (
        (2 * s3 - 3 * s2 + 1) * y0 + (s3 - 2 * s2 + s) * m0
        + (-2 * s3 + 3 * s2) * y1 + (s3 - s2) * m1
    )


def contact_at(series: Series) -> np.ndarray:
    """(T, 2) stride phase of each foot's contact."""
    right = np.clip(series["right_contact_at"], 0.3, 0.7)
    return np.column_stack([np.zeros_like(right), right])


def duty(series: Series) -> np.ndarray:
    """(T, 2) stance share of a stride per leg: contact time x stride frequency, with flight."""
    stride_hz = series["cadence_spm"] / 120.0
    share = series["contact_time_s"] * stride_hz[:, None]
    starts = contact_at(series)
    step = np.column_stack([starts[:, 1], 1 - starts[:, 1]])  # time to the other foot's contact
    return np.clip(share, 0.15, step - MIN_FLIGHT)


@dataclass(frozen=True)
class Progress:
    """Where each leg is in its cycle at stride phases ``q``."""

    phi: np.ndarray  # (T, 2) leg phase, 0 at its contact
    stance: np.ndarray  # (T, 2) bool
    u: np.ndarray  # (T, 2) share of stance done (clipped 0..1)
    w: np.ndarray  # (T, 2) share of swing done (clipped 0..1)

    @property
    def bump(self) -> np.ndarray:
        """(T, 2) 0 -> 1 -> 0 over each stance, 0 in swing: loads that peak at mid-stance."""
        return np.where(self.stance, np.sin(np.pi * self.u), 0.0)


def progress(q: np.ndarray, starts: np.ndarray, duties: np.ndarray) -> Progress:
    phi = np.mod(q[:, None] - starts, 1.0)
    stance = phi < duties
    u = np.clip(phi / duties, 0.0, 1.0)
    w = np.clip((phi - duties) / (1 - duties), 0.0, 1.0)
    return Progress(phi=phi, stance=stance, u=u, w=w)


@dataclass(frozen=True)
class PelvisPose:
    """Pelvis centre offsets (runner frame) and rotations at stride phases ``q``."""

    surge: np.ndarray  # (T,) m, along X
    sway: np.ndarray  # (T,) m, along Z
    yaw: np.ndarray  # (T,) rad, > 0 turns the runner to its left
    obliquity: np.ndarray  # (T,) rad, > 0 when the left hip is lower
    progress: Progress

    def hip_offsets(self, body: Body) -> np.ndarray:
        """(T, 2, 3) hip joints from the pelvis centre: obliquity about X, then yaw about Y."""
        half = SIDE_Z * body.hip_width_m / 2  # (2,)
        cos_o, sin_o = np.cos(self.obliquity)[:, None], np.sin(self.obliquity)[:, None]
        cos_y, sin_y = np.cos(self.yaw)[:, None], np.sin(self.yaw)[:, None]
        z1 = half * cos_o
        return np.stack([z1 * sin_y, half * sin_o, z1 * cos_y], axis=-1)


def pelvis_pose(q: np.ndarray, series: Series) -> PelvisPose:
    """Pelvis motion at stride phases ``q`` with the per-frame parameters of ``series``."""
    prog = progress(q, contact_at(series), duty(series))
    bump = prog.bump
    stance_wave = np.where(prog.stance, (1 - np.cos(2 * np.pi * prog.u)) / 2, 0.0)
    # The body lags behind its mean position while braking in early stance, then catches up.
    surge = -series["surge_m"] * stance_wave.sum(axis=1)
    sway = series["lateral_sway_m"] * (bump[:, 1] - bump[:, 0])
    # The pelvis turns the swinging leg's hip forward: left hip leads at the left contact.
    yaw = -np.radians(series["pelvis_yaw_deg"]) * np.cos(2 * np.pi * q)
    # In single-leg stance the unsupported (swing) side drops.
    drop = np.radians(series["pelvic_drop_deg"]) * bump
    obliquity = drop[:, 1] - drop[:, 0]
    return PelvisPose(surge=surge, sway=sway, yaw=yaw, obliquity=obliquity, progress=prog)
