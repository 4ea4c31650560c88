"""Anomaly thresholds from held-out normal scores, and per-joint error attribution.

The threshold is fitted on windows of runners (or sessions) the model never trained on: a
threshold computed on training windows is too tight for new people. numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

ThresholdMethod = Literal["mean_std", "quantile"]
THRESHOLD_METHODS: tuple[str, ...] = ("mean_std", "quantile")
DEFAULT_K = 3.0
DEFAULT_QUANTILE = 0.99


@dataclass(frozen=True)
class Threshold:
    """A calibrated threshold and the numbers it came from (saved in the manifest)."""

    value: float
    method: ThresholdMethod
    k: float | None
    quantile: float | None
    n_windows: int
    score_mean: float
    score_std: float
    score_quantiles: dict[str, float]  # p50, p90, p95, p99 of the calibration scores
    source: str = ""  # what the calibration windows were (e.g. "held-out runners: 6")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Threshold:
        try:
            threshold = cls(
                value=float(data["value"]),
                method=data["method"],
                k=None if data.get("k") is None else float(data["k"]),
                quantile=None if data.get("quantile") is None else float(data["quantile"]),
                n_windows=int(data["n_windows"]),
                score_mean=float(data["score_mean"]),
                score_std=float(data["score_std"]),
                score_quantiles={str(k): float(v) for k, v in data["score_quantiles"].items()},
                source=str(data.get("source", "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"threshold entry is incomplete or malformed ({exc})") from exc
        if threshold.method not in THRESHOLD_METHODS:
            raise ValueError(f"unknown threshold method {threshold.method!r}")
        if not (np.isfinite(threshold.value) and threshold.value > 0):
            raise ValueError(f"threshold must be a positive finite number, got {threshold.value}")
        return threshold


def calibrate_threshold(
    scores: np.ndarray,
    method: ThresholdMethod = "mean_std",
    k: float = DEFAULT_K,
    quantile: float = DEFAULT_QUANTILE,
    source: str = "",
) -> Threshold:
    """Threshold from normal-window scores.

    ``mean_std``: mean + k * std (the seed recipe, k = 3). ``quantile``: the empirical
    ``quantile`` of the scores, i.e. a target false-alarm rate of 1 - quantile on data like
    the calibration set.
    """
    scores = np.asarray(scores, dtype=np.float64)
    scores = scores[np.isfinite(scores)]
    if scores.size < 2:
        raise ValueError(f"need at least 2 finite calibration scores, got {scores.size}")
    if method not in THRESHOLD_METHODS:
        raise ValueError(f"threshold method must be one of {', '.join(THRESHOLD_METHODS)}")
    mean, std = float(scores.mean()), float(scores.std())
    if method == "mean_std":
        if k <= 0:
            raise ValueError(f"k must be > 0, got {k}")
        value = mean + k * std
    else:
        if not 0.0 < quantile < 1.0:
            raise ValueError(f"quantile must be in (0, 1), got {quantile}")
        value = float(np.quantile(scores, quantile))
    # A perfectly reconstructed calibration set would give 0: keep the threshold positive.
    value = max(value, float(np.finfo(np.float32).tiny))
    levels = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
    return Threshold(
        value=float(value),
        method=method,
        k=float(k) if method == "mean_std" else None,
        quantile=float(quantile) if method == "quantile" else None,
        n_windows=int(scores.size),
        score_mean=mean,
        score_std=std,
        score_quantiles={name: float(np.quantile(scores, q)) for name, q in levels.items()},
        source=source,
    )


def joint_shares(channel_errors: np.ndarray, attribution: np.ndarray) -> np.ndarray:
    """(N, J) share of each window's error carried by each joint; rows sum to 1.

    ``channel_errors`` is (N, F) mean squared error per channel; ``attribution`` (F, J) says
    how a channel's error splits over joints (rows sum to 1). A window with no error at all
    gets equal shares.
    """
    per_joint = np.asarray(channel_errors, dtype=np.float64) @ attribution.astype(np.float64)
    per_joint = np.clip(np.nan_to_num(per_joint, nan=0.0, posinf=0.0), 0.0, None)
    total = per_joint.sum(axis=1, keepdims=True)
    joints = attribution.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(total > 0, per_joint / total, 1.0 / max(joints, 1))
    return shares.astype(np.float32)


def top_joints(
    shares: np.ndarray, names: Sequence[str], count: int = 3, decimals: int = 3
) -> tuple[tuple[tuple[str, float], ...], ...]:
    """Per window, the ``count`` joints with the largest shares, largest first."""
    if shares.shape[0] == 0:
        return ()
    count = min(count, shares.shape[1])
    order = np.argsort(-shares, axis=1, kind="stable")[:, :count]
    picked = np.take_along_axis(shares, order, axis=1)
    return tuple(
        tuple((names[j], round(float(s), decimals)) for j, s in zip(row, vals, strict=True))
        for row, vals in zip(order.tolist(), picked.tolist(), strict=True)
    )
