"""Windows of landmarks as arrays the metrics read: x, y, z, visibility per landmark.

Every metric takes a ``Pose`` of N windows x T frames, so one call serves a whole poll
batch (serving) or every window of a recording (training, evaluation). x and y stay in
MediaPipe's normalised image units (x by the width, y by the height); the sagittal scale
(``view.py``) turns x into y's units where an angle or a length needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from consumer.errors import DataError
from consumer.gait.body import VISIBILITY_FLOOR, VISIBILITY_FULL
from consumer.landmarks import FRAME_WIDTH, NUM_LANDMARKS, VALUES_PER_LANDMARK

MIN_FRAMES = 12  # under this a window holds less than one step at 160 steps/min


@dataclass(frozen=True)
class Pose:
    x: np.ndarray  # (N, T, 33) image x, share of the width
    y: np.ndarray  # (N, T, 33) image y, share of the height, down
    z: np.ndarray  # (N, T, 33) MediaPipe depth, x's scale
    vis: np.ndarray  # (N, T, 33) visibility 0..1 (0 where a frame was missing)
    t: np.ndarray  # (N, T) frame numbers (float)

    @property
    def windows(self) -> int:
        return int(self.x.shape[0])

    @property
    def frames(self) -> int:
        return int(self.x.shape[1])

    def weight(self, *landmarks: int) -> np.ndarray:
        """(N, T) how far the weakest of ``landmarks`` can be trusted, 0..1."""
        vis = self.vis[..., list(landmarks)].min(axis=-1)
        return np.clip((vis - VISIBILITY_FLOOR) / (VISIBILITY_FULL - VISIBILITY_FLOOR), 0.0, 1.0)

    def mid(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the midpoint of two landmarks, (N, T) each."""
        return (self.x[..., a] + self.x[..., b]) / 2, (self.y[..., a] + self.y[..., b]) / 2

    def sure_mid(self, values: np.ndarray, a: int, b: int) -> np.ndarray:
        """(N, T) the average of ``values`` at a left/right pair, the better-seen one counting
        more (inverse of the tracker's variance, which grows as visibility falls): for
        points the pair shares in the sagittal plane, where the far one is often hidden."""
        wa, wb = (1.0 / (1.0 + 3.0 * (1.0 - self.vis[..., i])) ** 2 for i in (a, b))
        return (values[..., a] * wa + values[..., b] * wb) / (wa + wb)


def _fill_gaps(values: np.ndarray) -> np.ndarray:
    """Interpolate frames holding NaN (lost person) linearly, per window; visibility -> 0."""
    values = values.copy()
    missing = np.isnan(values).any(axis=-1)  # (N, T)
    for n in np.flatnonzero(missing.any(axis=1)):
        bad = missing[n]
        good = np.flatnonzero(~bad)
        if len(good) < 2:
            raise DataError(f"window {n}: fewer than 2 frames with landmarks")
        idx = np.flatnonzero(bad)
        # np.interp per column, done for all 132 columns at once: every column of a frame
        # shares its neighbours, and ends take the nearest observed frame (np.interp clamps).
        right = np.clip(np.searchsorted(good, idx), 1, len(good) - 1)
        lo, hi = good[right - 1], good[right]
        share = np.clip((idx - lo) / (hi - lo), 0.0, 1.0)[:, None]
        values[n, idx] = values[n, lo] * (1.0 - share) + values[n, hi] * share
        values[n, idx, VALUES_PER_LANDMARK - 1 :: VALUES_PER_LANDMARK] = 0.0
    return values


def smooth(values: np.ndarray, axis: int = 1) -> np.ndarray:
    """A 3-tap binomial low-pass along ``axis`` (-3 dB near 5.4 Hz at 30 fps).

    Public tools low-pass keypoints around 6 Hz (running-form.md); this keeps the step
    frequency (about 3 Hz) and takes off most frame-to-frame tracker jitter.
    """
    moved = np.moveaxis(values, axis, -1)
    padded = np.concatenate([moved[..., :1], moved, moved[..., -1:]], axis=-1)
    out = (padded[..., :-2] + 2 * padded[..., 1:-1] + padded[..., 2:]) / 4
    return np.moveaxis(out, -1, axis)


def pose_from_windows(windows: np.ndarray, frames: np.ndarray | None = None) -> Pose:
    """A ``Pose`` from windows (N, T, 132) and, optionally, their frame numbers (N, T)."""
    values = np.asarray(windows, dtype=np.float64)
    if values.ndim == 2:
        values = values[None]
    if values.ndim != 3 or values.shape[-1] != FRAME_WIDTH:
        raise DataError(f"windows must be (N, T, {FRAME_WIDTH}), got {values.shape}")
    if values.shape[1] < MIN_FRAMES:
        raise DataError(f"windows of {values.shape[1]} frames; gait metrics need >= {MIN_FRAMES}")
    if np.isnan(values).any():
        values = _fill_gaps(values)
    n, t = values.shape[:2]
    if frames is None:
        times = np.broadcast_to(np.arange(t, dtype=np.float64), (n, t))
    else:
        times = np.asarray(frames, dtype=np.float64).reshape(n, t)
    points = values.reshape(n, t, NUM_LANDMARKS, VALUES_PER_LANDMARK)
    return Pose(
        x=smooth(points[..., 0]), y=smooth(points[..., 1]), z=smooth(points[..., 2]),
        vis=np.clip(points[..., 3], 0.0, 1.0), t=np.array(times),
    )
