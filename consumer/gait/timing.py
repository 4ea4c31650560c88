"""Step timing of one window: cadence, step-time asymmetry and vertical oscillation.

A window of 30 frames holds about three steps, so its own cadence is coarse (a tenth of a
frame of timing error is about 1.5 steps/min); ``rolling.py`` pools the step events of
successive windows for the cadence a runner is told.
"""

from __future__ import annotations

import numpy as np

from consumer.gait.body import FPS
from consumer.gait.events import Peaks
from consumer.gait.pose import Pose


def _event_times(steps: Peaks) -> np.ndarray:
    """(N, T) event times packed to the left (NaN after the last), in time order."""
    order = np.argsort(~steps.mask, axis=1, kind="stable")
    return np.take_along_axis(steps.time, order, axis=1)


def window_cadence(steps: Peaks, period: np.ndarray, fps: float = FPS) -> np.ndarray:
    """(N,) steps/min: from the first to the last step event when there are 2 or more, else
    from the autocorrelation period; NaN when neither is known."""
    times = _event_times(steps)
    count = steps.mask.sum(axis=1)
    first = times[:, 0]
    last = np.take_along_axis(times, np.maximum(count - 1, 0)[:, None], axis=1)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        from_events = 60.0 * fps * (count - 1) / (last - first)
        from_period = 60.0 * fps / period
    return np.where(count >= 2, from_events, from_period)


def step_time_asymmetry(steps: Peaks) -> np.ndarray:
    """(N,) |mean of odd - mean of even step intervals| / mean interval; NaN with < 2."""
    times = _event_times(steps)
    gaps = np.diff(times, axis=1)  # NaN past the last event
    ok = np.isfinite(gaps)
    odd = ok & (np.arange(gaps.shape[1]) % 2 == 0)
    even = ok & ~odd
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_odd = np.sum(np.where(odd, gaps, 0.0), axis=1) / odd.sum(axis=1)
        mean_even = np.sum(np.where(even, gaps, 0.0), axis=1) / even.sum(axis=1)
        mean_all = np.sum(np.where(ok, gaps, 0.0), axis=1) / ok.sum(axis=1)
        return np.where(ok.sum(axis=1) >= 2, np.abs(mean_odd - mean_even) / mean_all, np.nan)


def vertical_oscillation(pose: Pose, leg: np.ndarray) -> np.ndarray:
    """(N,) the hip midpoint's vertical travel in the window (2nd to 98th percentile of its
    smoothed image y) in leg lengths; a window holds more than one stride."""
    _, hip_y = pose.mid(23, 24)
    travel = np.percentile(hip_y, 98, axis=1) - np.percentile(hip_y, 2, axis=1)
    return travel / leg
