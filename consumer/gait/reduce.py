"""NaN-aware reductions over frames that never warn (an empty window is a normal case)."""

from __future__ import annotations

import numpy as np


def weighted_mean(values: np.ndarray, weights: np.ndarray, axis: int = 1) -> np.ndarray:
    """Mean over ``axis`` skipping NaN values and zero weights; NaN where nothing is left."""
    ok = np.isfinite(values) & (weights > 0)
    total = np.sum(np.where(ok, weights, 0.0), axis=axis)
    summed = np.sum(np.where(ok, values * weights, 0.0), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, summed / total, np.nan)


def nan_mean(values: np.ndarray, axis: int = 1) -> np.ndarray:
    return weighted_mean(values, np.ones_like(values), axis=axis)


def masked_max(values: np.ndarray, mask: np.ndarray, axis: int = 1) -> np.ndarray:
    """Largest of ``values`` where ``mask`` (and finite); NaN where none."""
    ok = mask & np.isfinite(values)
    best = np.max(np.where(ok, values, -np.inf), axis=axis)
    return np.where(np.any(ok, axis=axis), best, np.nan)


def masked_percentile(values: np.ndarray, mask: np.ndarray, q: float, axis: int = 1) -> np.ndarray:
    """Percentile (linear interpolation, as numpy's default) of ``values`` where ``mask``
    (and finite) along ``axis``; NaN where none. Vectorised: masked-out values sort last."""
    ok = mask & np.isfinite(values)
    ordered = np.sort(np.where(ok, values, np.inf), axis=axis)
    count = ok.sum(axis=axis, keepdims=True)
    position = (q / 100.0) * np.maximum(count - 1, 0)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, np.maximum(count - 1, 0))
    a = np.take_along_axis(ordered, low, axis=axis)
    b = np.take_along_axis(ordered, high, axis=axis)
    with np.errstate(invalid="ignore"):
        out = np.where(np.isfinite(b), a + (position - low) * (b - a), a)
    return np.squeeze(np.where(count > 0, out, np.nan), axis=axis)
