"""From a window's per-channel reconstruction errors to one anomaly score. numpy only.

``mean`` is the seed's score: the mean squared error over channels. Summed that way, a fault
that shows in one or two channels (a knee moving inwards, a foot landing toe up) drowns in
the ordinary error of the twenty-odd others, and a channel that new runners reconstruct
badly anyway (the arms' swing, which differs between people) decides the score.
``normalized_top_k`` first divides each channel's error by that channel's usual error on
runners the model never trained on (a high quantile, per camera view), so that 1 means "as
bad as normal running gets on this channel", then averages the ``top_k`` largest: a window
is as anomalous as its few most anomalous channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

ScoringMethod = Literal["mean", "normalized_top_k"]
SCORING_METHODS: tuple[str, ...] = ("mean", "normalized_top_k")
DEFAULT_TOP_K = 3
DEFAULT_ERROR_QUANTILE = 0.99
# A view with fewer calibration windows than this borrows the error scales of all views.
MIN_VIEW_WINDOWS = 50
# A channel reconstructed almost perfectly everywhere must not turn tiny deviations into
# large scores: its scale is floored at this share of the view's median channel scale.
SCALE_FLOOR_FRACTION = 0.05


@dataclass(frozen=True)
class ErrorScoring:
    method: ScoringMethod = "mean"
    top_k: int = DEFAULT_TOP_K
    quantile: float = DEFAULT_ERROR_QUANTILE
    # (V, F) each channel's usual error per view (normalized_top_k only).
    scale: np.ndarray = field(default_factory=lambda: np.ones((1, 1), dtype=np.float32))

    def __post_init__(self) -> None:
        if self.method not in SCORING_METHODS:
            raise ValueError(f"scoring method must be one of {', '.join(SCORING_METHODS)}")
        if self.top_k < 1:
            raise ValueError("top_k must be >= 1")
        if not 0.0 < self.quantile < 1.0:
            raise ValueError("quantile must be in (0, 1)")
        scale = np.atleast_2d(np.asarray(self.scale, dtype=np.float32))
        if not (np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("error scales must be finite and > 0")
        object.__setattr__(self, "scale", scale)

    @classmethod
    def fit(
        cls, errors: np.ndarray, views: np.ndarray, view_count: int,
        top_k: int = DEFAULT_TOP_K, quantile: float = DEFAULT_ERROR_QUANTILE,
    ) -> ErrorScoring:
        """Error scales from (N, F) channel errors of held-out normal windows and their views."""
        errors = np.asarray(errors, dtype=np.float64)
        if len(errors) < 2:
            raise ValueError("need at least 2 windows to fit error scales")
        pooled = np.quantile(errors, quantile, axis=0)
        rows = [np.quantile(errors[views == v], quantile, axis=0)
                if (views == v).sum() >= MIN_VIEW_WINDOWS else pooled for v in range(view_count)]
        scale = np.stack(rows)
        floor = SCALE_FLOOR_FRACTION * np.median(scale, axis=1, keepdims=True)
        scale = np.maximum(scale, np.maximum(floor, 1e-12))
        return cls("normalized_top_k", top_k, quantile, scale.astype(np.float32))

    def with_deviation_scales(self, scale: np.ndarray) -> ErrorScoring:
        """The same scoring with the last channels' scales replaced by ``scale`` (V, D): a
        runner-relative model's level, spread and gait changes, whose usual size does not
        depend on the trained model and is fitted on all training runners
        (``deviation_scales``) rather than on the few held out."""
        if self.method != "normalized_top_k":
            return self
        views, width = scale.shape
        if views != self.scale.shape[0] or width > self.scale.shape[1]:
            raise ValueError(f"deviation scales of shape {scale.shape} for error scales "
                             f"of shape {self.scale.shape}")
        merged = self.scale.copy()
        merged[:, self.scale.shape[1] - width:] = scale
        return ErrorScoring(self.method, self.top_k, self.quantile, merged.astype(np.float32))

    def channel_scores(self, errors: np.ndarray, views: np.ndarray) -> np.ndarray:
        """(N, F) what each channel adds to the score: its error, or its error over its scale."""
        if self.method == "mean":
            return errors.astype(np.float32, copy=False)
        row = np.clip(views.astype(np.intp), 0, self.scale.shape[0] - 1)
        return (errors / self.scale[row]).astype(np.float32)

    def aggregate(self, channel_scores: np.ndarray) -> np.ndarray:
        """(N,) scores from ``channel_scores`` output."""
        if channel_scores.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        if self.method == "mean":
            return channel_scores.mean(axis=1).astype(np.float32)
        k = min(self.top_k, channel_scores.shape[1])
        top = np.partition(channel_scores, channel_scores.shape[1] - k, axis=1)[:, -k:]
        return top.mean(axis=1).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"method": self.method}
        if self.method != "mean":
            data.update(top_k=self.top_k, quantile=self.quantile, scale=self.scale.tolist())
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorScoring:
        method = data.get("method")
        if method == "mean":
            return cls()
        if method != "normalized_top_k":
            raise ValueError(f"unknown scoring method {method!r}")
        return cls(method, int(data["top_k"]), float(data["quantile"]),
                   np.asarray(data["scale"], dtype=np.float32))


def deviation_scales(deviations: np.ndarray, views: np.ndarray, view_count: int) -> np.ndarray:
    """(V, D) the mean of each deviation channel per view over normal windows (N, D): a
    runner's usual squared change against themselves. The mean, not a high quantile: most of
    these windows sit at exactly 0 (warm-up, a metric out of view), so a quantile would
    measure a handful of windows. Floored like the error scales."""
    deviations = np.asarray(deviations, dtype=np.float64)
    pooled = deviations.mean(axis=0)
    rows = [deviations[views == v].mean(axis=0) if (views == v).sum() >= MIN_VIEW_WINDOWS
            else pooled for v in range(view_count)]
    scale = np.stack(rows)
    floor = SCALE_FLOOR_FRACTION * np.median(scale, axis=1, keepdims=True)
    return np.maximum(scale, np.maximum(floor, 1e-12)).astype(np.float32)
