"""``WindowScorer``: raw windows -> features -> reconstruction error -> score, flag, top joints.

The one scoring path for serving, calibration and evaluation. numpy only; the reconstructor
(Keras or PCA) is injected, so this module never imports TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from consumer.features import ChannelScaler, FeatureBatch, FeaturePipeline
from consumer.features.runner_level import RunnerLevels, Runs, relative_inputs
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
    # runner_relative models: each run's levels after its last window (``Runs`` order)
    runner_levels: tuple[RunnerLevels, ...] = ()


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
        level_scaling: ChannelScaler | None = None,
    ) -> None:
        if scaler.channels != pipeline.num_channels:
            raise ValueError(
                f"scaler has {scaler.channels} channels, pipeline {pipeline.num_channels}"
            )
        if pipeline.spec.runner_relative and (
                level_scaling is None or level_scaling.channels != pipeline.runner_channels):
            raise ValueError("a runner_relative model needs the spread of window levels "
                             "(level_scaling) for its channels and gait channels")
        self.pipeline = pipeline
        self.scaler = scaler
        self.reconstructor = reconstructor
        self._threshold = float(threshold)
        self._version = version
        self.kind = kind
        self.top_count = top_count
        self.scoring = scoring or ErrorScoring()
        # runner_relative: the per-view spread of window levels among the training runners,
        # in which runner levels hold still and level changes are measured.
        self.level_scaling = level_scaling

    @property
    def runner_relative(self) -> bool:
        """Scores depend on the runner's earlier windows: pass ``Runs`` to ``score``."""
        return self.pipeline.spec.runner_relative

    @property
    def runner_channels(self) -> int:
        """Channels of the runner levels this model keeps (``RunnerLevels.decode``)."""
        return self.pipeline.runner_channels

    @property
    def num_scored_channels(self) -> int:
        return self.pipeline.num_scored_channels

    @property
    def attribution(self) -> np.ndarray:
        """(scored channels, joints): a level or spread change goes to its channel's joints,
        a gait channel's change to the joints that metric reads."""
        matrix = self.pipeline.attribution
        if not self.runner_relative:
            return matrix
        return np.vstack([matrix] * 3 + [self.pipeline.gait_attribution])

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
            self.top_count, self.scoring, self.level_scaling,
        )

    def with_scoring(self, scoring: ErrorScoring) -> WindowScorer:
        """The same model scoring its errors another way (fitted right after training)."""
        return WindowScorer(
            self.pipeline, self.scaler, self.reconstructor, self._threshold, self._version,
            self.kind, self.top_count, scoring, self.level_scaling,
        )

    def reconstruction_errors(
        self, windows: np.ndarray, runs: Runs | None = None
    ) -> tuple[FeatureBatch, np.ndarray, tuple[RunnerLevels, ...]]:
        """The feature batch, (N, scored channels) raw errors (NaN rows where not valid) and,
        for runner_relative models, each run's levels after it (``runs`` says whose windows
        these are, in time order; without it every window is read against its own level)."""
        batch = self.pipeline.transform(windows)
        n = batch.valid.shape[0]
        errors = np.full((n, self.num_scored_channels), np.nan, np.float32)
        features, levels = batch.features, ()
        channels = self.pipeline.num_channels
        if self.runner_relative and n:
            assert self.level_scaling is not None  # the constructor checks it
            relative = relative_inputs(batch.features, batch.valid, batch.view, runs,
                                       self.level_scaling.std, batch.gait)
            features, levels = relative.features, relative.levels
            errors[:, channels:] = relative.deviations
        rows = np.flatnonzero(batch.valid)
        if rows.size:
            scaled = self.scaler.transform(features[rows], batch.view[rows])
            errors[rows, :channels] = self.reconstructor.channel_errors(scaled)
        errors[~batch.valid] = np.nan
        return batch, errors, levels

    def analyse(self, windows: np.ndarray, runs: Runs | None = None) -> WindowAnalysis:
        batch, errors, levels = self.reconstruction_errors(windows, runs)
        n = batch.valid.shape[0]
        scores = np.full(n, np.nan, dtype=np.float32)
        rows = np.flatnonzero(batch.valid)
        if rows.size:
            errors[rows] = self.scoring.channel_scores(errors[rows], batch.view[rows])
            scores[rows] = self.scoring.aggregate(errors[rows])
        return WindowAnalysis(batch, errors, scores, levels)

    def score(self, windows: np.ndarray, runs: Runs | None = None) -> ScoreResult:
        """Score raw windows (N, window_size, 132); N may be any size, including 0."""
        analysis = self.analyse(windows, runs)
        valid = analysis.batch.valid
        with np.errstate(invalid="ignore"):
            is_anomaly = valid & (analysis.scores > self._threshold)
        joints: list[tuple[tuple[str, float], ...]] = [()] * len(valid)
        rows = np.flatnonzero(valid)
        if rows.size:
            shares = self.pipeline.real_joint_shares(
                joint_shares(analysis.channel_errors[rows], self.attribution),
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
            runner_levels=analysis.runner_levels,
        )
