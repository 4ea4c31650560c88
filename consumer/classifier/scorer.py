"""``WindowClassifier``: raw windows -> features -> P(bad form) (and the fault) per window.

It implements ``consumer.model.base.Scorer`` (score = probability, threshold = the decision
threshold), so the consumer's reloader, canary check and batch processor take it as they take
an autoencoder. numpy only: the Keras part is injected (``consumer.classifier.runner``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from consumer.features import ChannelScaler, FeaturePipeline
from consumer.model.base import ScoreResult


class Predictor(Protocol):
    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(N, T, F) scaled features -> (N,) P(bad form), (N, K) fault probabilities or None."""
        ...


@dataclass(frozen=True)
class ClassifierResult(ScoreResult):
    """A ``ScoreResult`` whose scores are probabilities, plus the fault head's guess."""

    faults: tuple[str, ...] = ()
    fault_index: np.ndarray | None = None  # (N,) int64 argmax of the fault head, -1 invalid
    fault_probability: np.ndarray | None = None  # (N,) float32 its probability, NaN invalid

    def fault(self, i: int) -> tuple[str, float] | None:
        """Window ``i``'s most likely fault and its probability; None without a fault head."""
        if self.fault_index is None or self.fault_probability is None:
            return None
        index = int(self.fault_index[i])
        if index < 0:
            return None
        return self.faults[index], float(self.fault_probability[i])


class WindowClassifier:
    """Implements ``consumer.model.base.Scorer`` for a trained classifier."""

    def __init__(
        self,
        pipeline: FeaturePipeline,
        scaler: ChannelScaler,
        predictor: Predictor,
        threshold: float,
        version: str,
        faults: tuple[str, ...] = (),
        kind: str = "classifier",
    ) -> None:
        if scaler.channels != pipeline.num_channels:
            raise ValueError(
                f"scaler has {scaler.channels} channels, pipeline {pipeline.num_channels}"
            )
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"a probability threshold must be in (0, 1), got {threshold}")
        self.pipeline = pipeline
        self.scaler = scaler
        self.predictor = predictor
        self._threshold = float(threshold)
        self._version = version
        self.faults = tuple(faults)
        self.kind = kind

    @property
    def version(self) -> str:
        return self._version

    @property
    def threshold(self) -> float:
        return self._threshold

    @property
    def window_size(self) -> int:
        return self.pipeline.spec.window_size

    def with_threshold(self, threshold: float) -> WindowClassifier:
        """The same model with another decision threshold (chosen right after training)."""
        return WindowClassifier(self.pipeline, self.scaler, self.predictor, threshold,
                                self._version, self.faults, self.kind)

    def score(self, windows: np.ndarray) -> ClassifierResult:
        """Classify raw windows (N, window_size, 132); N may be any size, including 0."""
        batch = self.pipeline.transform(windows)
        n = batch.valid.shape[0]
        probability = np.full(n, np.nan, dtype=np.float32)
        fault_index = np.full(n, -1, dtype=np.int64) if self.faults else None
        fault_probability = np.full(n, np.nan, dtype=np.float32) if self.faults else None
        rows = np.flatnonzero(batch.valid)
        if rows.size:
            scaled = self.scaler.transform(batch.features[rows], batch.view[rows])
            bad_form, fault_probs = self.predictor.predict(scaled)
            probability[rows] = bad_form
            if fault_probs is not None and fault_index is not None \
                    and fault_probability is not None:
                fault_index[rows] = np.argmax(fault_probs, axis=1)
                fault_probability[rows] = fault_probs.max(axis=1)
        with np.errstate(invalid="ignore"):
            is_anomaly = batch.valid & (probability > self._threshold)
        return ClassifierResult(
            scores=probability,
            valid=batch.valid,
            invalid_reasons=batch.reasons,
            is_anomaly=is_anomaly,
            # No error to attribute: a classifier does not say which joints (the autoencoder
            # does, when both are served).
            top_joints=tuple(() for _ in range(n)),
            faults=self.faults,
            fault_index=fault_index,
            fault_probability=fault_probability,
        )
