"""What the serving loop needs from a model, and nothing more: the ``Scorer`` protocol.

The consumer depends on this protocol only; TensorFlow is imported where a Keras model is
loaded (``consumer.model.artifact``), so the streaming core and its tests stay light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class ScoreResult:
    """Scores of a batch of N raw windows (N, size, 132), in input order."""

    scores: np.ndarray  # (N,) float32 reconstruction error; NaN where not valid
    valid: np.ndarray  # (N,) bool: the feature pipeline accepted the window
    invalid_reasons: tuple[str | None, ...]  # why a window was not scored (None when valid)
    is_anomaly: np.ndarray  # (N,) bool: valid and score > threshold
    # Per window: (joint name, share of the error), largest first; empty when not valid.
    top_joints: tuple[tuple[tuple[str, float], ...], ...]
    # Models that read windows against the runner (``runner_relative``): each run's levels
    # after its last window, for the caller to keep (consumer.features.runner_level).
    runner_levels: tuple[Any, ...] = ()

    def __len__(self) -> int:
        return int(self.scores.shape[0])


@runtime_checkable
class Scorer(Protocol):
    """A loaded model that scores raw landmark windows in batches."""

    @property
    def version(self) -> str: ...

    @property
    def threshold(self) -> float: ...

    @property
    def window_size(self) -> int: ...

    def score(self, windows: np.ndarray) -> ScoreResult:
        """Score raw windows (N, window_size, 132) float32; N may be any size, including 0.

        A model that reads windows against the runner's earlier ones says so with a true
        ``runner_relative`` attribute; its ``score`` also takes ``runs``
        (``consumer.features.runner_level.Runs``) and returns each run's levels."""
        ...
