"""Per-channel normalisation statistics, fitted on training features and saved in the manifest.

Kinematic features are scaled per camera view (``FeatureBatch.view``): a knee's angle seen
from the front is not the one seen from the side, and a channel a view cannot show (a knee's
medial shift, seen from the side) is mostly tracker noise there, which its own view's spread
turns into small numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

ScalingMethod = Literal["none", "standard", "per_view"]
SCALING_METHODS: tuple[str, ...] = ("none", "standard", "per_view")

# A channel that barely moves in normal running (a hip's x after centring) would otherwise be
# divided by a tiny std, so that tracker jitter on it would dominate the error. Its std is
# floored at this fraction of the median channel std.
STD_FLOOR_FRACTION = 0.25
# A view with fewer training windows than this borrows the statistics of all views.
MIN_VIEW_WINDOWS = 20


@dataclass(frozen=True)
class ChannelScaler:
    """``(x - mean) / std`` per channel (and per view for ``per_view``); ``none`` is the
    identity (the seed recipe). ``mean`` and ``std`` are (V, F): one row per view, a single
    row unless ``per_view``."""

    method: ScalingMethod
    mean: np.ndarray  # (V, F) float32
    std: np.ndarray  # (V, F) float32, > 0

    @classmethod
    def identity(cls, channels: int) -> ChannelScaler:
        return cls(
            "none", np.zeros((1, channels), dtype=np.float32),
            np.ones((1, channels), dtype=np.float32),
        )

    @classmethod
    def fit(
        cls, features: np.ndarray, method: ScalingMethod = "standard",
        views: np.ndarray | None = None, view_count: int = 1,
    ) -> ChannelScaler:
        """Fit on (N, T, F) features of valid training windows (and their (N,) views)."""
        channels = features.shape[-1]
        if method == "none":
            return cls.identity(channels)
        if features.size == 0:
            raise ValueError("cannot fit channel statistics on no windows")
        pooled = _statistics(features)
        if method == "standard":
            return cls("standard", pooled[0][None], pooled[1][None])
        views = np.zeros(len(features), dtype=np.int8) if views is None else views
        rows = [_statistics(features[views == v]) if (views == v).sum() >= MIN_VIEW_WINDOWS
                else pooled for v in range(view_count)]
        return cls("per_view", np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]))

    @property
    def channels(self) -> int:
        return int(self.mean.shape[-1])

    @property
    def view_count(self) -> int:
        return int(self.mean.shape[0])

    def transform(self, features: np.ndarray, views: np.ndarray | None = None) -> np.ndarray:
        """Scale (N, T, F) features; ``views`` (N,) picks each window's row (per_view)."""
        if self.method == "none":
            return features.astype(np.float32, copy=False)
        row = np.zeros(len(features), dtype=np.intp) if views is None or self.view_count == 1 \
            else np.clip(views.astype(np.intp), 0, self.view_count - 1)
        return ((features - self.mean[row][:, None]) / self.std[row][:, None]).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        squeeze = self.method != "per_view"
        mean, std = (self.mean[0], self.std[0]) if squeeze else (self.mean, self.std)
        return {"method": self.method, "mean": mean.tolist(), "std": std.tolist()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChannelScaler:
        """Rebuild from ``to_dict`` output; raises ValueError when it is inconsistent."""
        method = data.get("method")
        if method not in SCALING_METHODS:
            raise ValueError(f"unknown scaling method {method!r}")
        mean = np.asarray(data.get("mean", []), dtype=np.float32)
        std = np.asarray(data.get("std", []), dtype=np.float32)
        wanted = 2 if method == "per_view" else 1
        if mean.ndim != wanted or mean.shape != std.shape:
            raise ValueError("scaling mean and std must be arrays of the same shape "
                             f"({'views x channels' if wanted == 2 else 'channels'})")
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise ValueError("scaling statistics must be finite with std > 0")
        return cls(method, np.atleast_2d(mean), np.atleast_2d(std))


def _statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = features.reshape(-1, features.shape[-1]).astype(np.float64)
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    std = np.maximum(std, max(float(np.median(std)) * STD_FLOOR_FRACTION, 1e-6))
    return mean.astype(np.float32), std.astype(np.float32)
