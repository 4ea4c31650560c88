"""``WindowScorer``: raw windows -> features -> reconstruction error -> score, flag, top joints.

The one scoring path for serving, calibration and evaluation. numpy only; the reconstructor
(Keras or PCA) is injected, so this module never imports TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from consumer.features import ChannelScaler, FeatureBatch, FeaturePipeline
from consumer.model.base import ScoreResult
from consumer.model.calibration import joint_shares, top_joints
from consumer.model.scoring import ErrorScoring

TOP_JOINTS = 3


class Reconstructor(Protocol):
    def channel_errors(self, features: np.ndarray) -> np.ndarray:
        """(N, T, F) scaled features -> (N, F) mean squared reconstruction error per channel."""
        ...


@dataclass(frozen=True)
class WindowAnalysis:
    """Everything computed for a batch of windows, for evaluation and reports."""

    batch: FeatureBatch
    # (N, F) what each channel adds to the score (its reconstruction error, normalised when
    # the scoring says so); NaN rows where not valid. Joint attribution reads these.
    channel_errors: np.ndarray
    scores: np.ndarray  # (N,) float32, NaN where not valid


class WindowScorer:
    """Implements ``consumer.model.base.Scorer`` for any reconstructor."""

    def __init__(
        self,
        pipeline: FeaturePipeline,
        scaler: ChannelScaler,
        reconstructor: Reconstructor,
        threshold: float,
        version: str,
        kind: str = "",
        top_count: int = TOP_JOINTS,
        scoring: ErrorScoring | None = None,
    ) -> None:
        if scaler.channels != pipeline.num_channels:
            raise ValueError(
                f"scaler has {scaler.channels} channels, pipeline {pipeline.num_channels}"
            )
        self.pipeline = pipeline
        self.scaler = scaler
        self.reconstructor = reconstructor
        self._threshold = float(threshold)
        self._version = version
        self.kind = kind
        self.top_count = top_count
        self.scoring = scoring or ErrorScoring()

    @property
    def version(self) -> str:
        return self._version

    @property
    def threshold(self) -> float:
        return self._threshold

    @property
    def window_size(self) -> int:
        return self.pipeline.spec.window_size

    def with_threshold(self, threshold: float) -> WindowScorer:
        """The same model with another threshold (used once, right after calibration)."""
        return WindowScorer(
            self.pipeline, self.scaler, self.reconstructor, threshold, self._version, self.kind,
            self.top_count, self.scoring,
        )

    def with_scoring(self, scoring: ErrorScoring) -> WindowScorer:
        """The same model scoring its errors another way (fitted right after training)."""
        return WindowScorer(
            self.pipeline, self.scaler, self.reconstructor, self._threshold, self._version,
            self.kind, self.top_count, scoring,
        )

    def reconstruction_errors(self, windows: np.ndarray) -> tuple[FeatureBatch, np.ndarray]:
        """The feature batch and (N, F) raw per-channel errors (NaN rows where not valid)."""
        batch = self.pipeline.transform(windows)
        errors = np.full((batch.valid.shape[0], self.pipeline.num_channels), np.nan, np.float32)
        rows = np.flatnonzero(batch.valid)
        if rows.size:
            scaled = self.scaler.transform(batch.features[rows], batch.view[rows])
            errors[rows] = self.reconstructor.channel_errors(scaled)
        return batch, errors

    def analyse(self, windows: np.ndarray) -> WindowAnalysis:
        batch, errors = self.reconstruction_errors(windows)
        n = batch.valid.shape[0]
        scores = np.full(n, np.nan, dtype=np.float32)
        rows = np.flatnonzero(batch.valid)
        if rows.size:
            errors[rows] = self.scoring.channel_scores(errors[rows], batch.view[rows])
            scores[rows] = self.scoring.aggregate(errors[rows])
        return WindowAnalysis(batch, errors, scores)

    def score(self, windows: np.ndarray) -> ScoreResult:
        """Score raw windows (N, window_size, 132); N may be any size, including 0."""
        analysis = self.analyse(windows)
        valid = analysis.batch.valid
        with np.errstate(invalid="ignore"):
            is_anomaly = valid & (analysis.scores > self._threshold)
        joints: list[tuple[tuple[str, float], ...]] = [()] * len(valid)
        rows = np.flatnonzero(valid)
        if rows.size:
            shares = self.pipeline.real_joint_shares(
                joint_shares(analysis.channel_errors[rows], self.pipeline.attribution),
                analysis.batch.mirrored[rows],
            )
            for row, top in zip(
                rows.tolist(),
                top_joints(shares, self.pipeline.joint_names, self.top_count),
                strict=True,
            ):
                joints[row] = top
        return ScoreResult(
            scores=analysis.scores,
            valid=valid,
            invalid_reasons=analysis.batch.reasons,
            is_anomaly=is_anomaly,
            top_joints=tuple(joints),
        )
