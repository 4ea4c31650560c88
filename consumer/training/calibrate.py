"""After training: error scales and the threshold, from runners the model never trained on.

With normalised scoring the held-out runners are split in two: the first part fits each
channel's error scale, the second the threshold on the scores those scales give. Fitting
both on the same windows would make the calibration scores look tamer than a new runner's
(each scale is a high quantile of exactly those errors) and put the threshold too low.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from consumer.errors import DataError
from consumer.model.calibration import Threshold, ThresholdMethod, calibrate_threshold
from consumer.model.scorer import WindowScorer
from consumer.model.scoring import ErrorScoring
from consumer.training.data import WindowSet, split_groups

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CalibrationPlan:
    scoring: str  # "mean" or "normalized_top_k"
    top_k: int
    error_quantile: float
    threshold_method: ThresholdMethod
    k: float
    quantile: float
    seed: int


@dataclass(frozen=True)
class Calibrated:
    scorer: WindowScorer  # with its scoring and threshold
    threshold: Threshold
    metrics: dict[str, Any]
    scale_runners: list[str]
    threshold_runners: list[str]


def calibrate(
    scorer: WindowScorer, windows: WindowSet, in_training: np.ndarray, held: set[str],
    plan: CalibrationPlan, deviation_scale: np.ndarray | None = None,
) -> Calibrated:
    """Fit the scoring (if normalised) and the threshold; see the module docstring.
    ``deviation_scale`` (runner-relative models): the scales of the level, spread and gait
    changes, fitted on the training runners (``scoring.deviation_scales``)."""
    if held:
        scale_groups, threshold_groups = _halves(held, plan.seed)
        calibration = windows.subset(~in_training)
        source = f"held-out runners: {', '.join(sorted(threshold_groups))}"
    else:
        log.warning("calibrating on the training windows (calibration_split=0, the seed recipe)")
        calibration = windows.subset(in_training)
        scale_groups = threshold_groups = set(windows.groups)
        source = "training windows (seed recipe)"
    groups = calibration.window_groups
    if plan.scoring != "mean":
        part = calibration.subset(np.isin(groups, sorted(scale_groups)))
        batch, errors, _ = scorer.reconstruction_errors(part.windows, part.runs)
        ok = batch.valid
        if ok.sum() < 2:
            raise DataError("fewer than 2 usable windows to fit error scales; add runners")
        scoring = ErrorScoring.fit(errors[ok], batch.view[ok], scorer.pipeline.view_count,
                                   plan.top_k, plan.error_quantile)
        if deviation_scale is not None:
            scoring = scoring.with_deviation_scales(deviation_scale)
        scorer = scorer.with_scoring(scoring)
    part = calibration.subset(np.isin(groups, sorted(threshold_groups)))
    scores = scorer.analyse(part.windows, part.runs).scores
    finite = scores[np.isfinite(scores)]
    if finite.size < 2:
        raise DataError("fewer than 2 usable calibration windows; add normal recordings")
    threshold = calibrate_threshold(finite, plan.threshold_method, plan.k, plan.quantile, source)
    metrics = {
        "calibration_windows": int(finite.size),
        "calibration_rejected": int(scores.size - finite.size),
        "calibration_false_alarm_rate": float(np.mean(finite > threshold.value)),
    }
    return Calibrated(scorer.with_threshold(threshold.value), threshold, metrics,
                      sorted(scale_groups), sorted(threshold_groups))


def _halves(held: set[str], seed: int) -> tuple[set[str], set[str]]:
    """Held-out runners for the error scales and for the threshold (both, with one runner)."""
    if len(held) < 2:
        log.warning("one held-out runner: error scales and threshold share its windows")
        return set(held), set(held)
    threshold_part, scale_part = split_groups(held, 0.5, seed + 1)
    return scale_part, threshold_part
