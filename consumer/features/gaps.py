"""Missing and low-visibility landmarks: which cells are observed, and filling short gaps.

Arrays are landmark-major, values (J, C, N, T) and masks (J, N, T), so that every operation
runs over long contiguous rows of a whole batch instead of looping over windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FilledLandmarks:
    values: np.ndarray  # (J, C, N, T) with short gaps interpolated
    observed: np.ndarray  # (J, N, T) bool: visible and finite before filling
    unfilled: np.ndarray  # (J, N) bool: the joint has a gap longer than max_gap (or no data)


def observed_mask(values: np.ndarray, visibility: np.ndarray, threshold: float) -> np.ndarray:
    """(J, N, T) bool: all values finite and, when threshold > 0, visibility >= threshold."""
    finite = np.isfinite(values).all(axis=1) & np.isfinite(visibility)
    if threshold <= 0.0:
        return finite
    with np.errstate(invalid="ignore"):
        return finite & (visibility >= threshold)


def fill_short_gaps(values: np.ndarray, observed: np.ndarray, max_gap: int) -> FilledLandmarks:
    """Linearly interpolate runs of unobserved frames no longer than ``max_gap``.

    A run touching the start or end of the window is held at its nearest observed value (no
    extrapolated motion). Longer runs keep the tracker's values (possibly non-finite) and are
    reported in ``unfilled``.
    """
    unfilled = np.zeros(observed.shape[:2], dtype=bool)
    windows = np.flatnonzero(~observed.all(axis=(0, 2)))
    if windows.size == 0:
        return FilledLandmarks(values, observed, unfilled)
    # Only windows with a missing cell pay for the gap analysis (most have none).
    seen = observed[:, windows]
    t = seen.shape[-1]
    time = np.arange(t, dtype=np.int32)
    prev = np.maximum.accumulate(np.where(seen, time, -1), axis=-1)
    nxt = np.minimum.accumulate(np.where(seen, time, t)[..., ::-1], axis=-1)[..., ::-1]
    # For a missing cell, the length of the run of missing frames it belongs to (the same
    # formula holds at both edges: prev = -1 or nxt = t).
    run = nxt - prev - 1
    no_data = (prev < 0) & (nxt >= t)
    fillable = ~seen & (run <= max_gap) & ~no_data
    unfilled[:, windows] = (~seen & ~fillable).any(axis=-1)
    filled = values.copy()
    filled[:, :, windows] = _interpolate(values[:, :, windows], prev, nxt, fillable, time)
    return FilledLandmarks(filled, observed, unfilled)


def _interpolate(
    values: np.ndarray, prev: np.ndarray, nxt: np.ndarray, fillable: np.ndarray, time: np.ndarray
) -> np.ndarray:
    t = values.shape[-1]
    lo = np.clip(prev, 0, t - 1)[:, None]
    hi = np.clip(nxt, 0, t - 1)[:, None]
    before = np.take_along_axis(values, lo, axis=-1)
    after = np.take_along_axis(values, hi, axis=-1)
    span = np.maximum(nxt - prev, 1).astype(values.dtype)
    weight = ((time - prev).astype(values.dtype) / span)[:, None]
    with np.errstate(invalid="ignore"):
        interpolated = np.where(
            (prev < 0)[:, None],
            after,
            np.where((nxt >= t)[:, None], before, before + weight * (after - before)),
        )
    return np.where(fillable[:, None], interpolated, values).astype(values.dtype, copy=False)
