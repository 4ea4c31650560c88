"""The gait stage of the streaming consumer: metrics, the per-runner rolling state kept
beside the window (the store's ``extra`` bytes), and the ``rules`` detector, for a whole
poll batch at once.

``GaitStage.assess`` takes the batch's completed windows (the same array the autoencoder
scores) grouped by (user, session) in arrival order with each group's stored state, and
returns which windows the rules flag, the fields their events gain (``view``, ``metrics``,
``metric_confidence``, ``cues``) and each group's new state bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from consumer.errors import ConfigError, DataError
from consumer.gait.cues import DETECTOR as RULES
from consumer.gait.cues import CueFlags, RulesDetector
from consumer.gait.rolling import RollingGait
from consumer.gait.specs import METRICS
from consumer.gait.state_codec import MAGICS, decode, encode
from consumer.gait.stateful import assess
from consumer.gait.window import WindowMetrics, compute_window_metrics
from consumer.windows.codec import GAIT_SECTION, CorruptState, unpack_extra

log = logging.getLogger(__name__)

AUTOENCODER = "autoencoder"
# The supervised classifier (consumer/classifier/; served by consumer/serve/detectors.py).
CLASSIFIER = "classifier"
DETECTORS: tuple[str, ...] = (AUTOENCODER, RULES, CLASSIFIER)
# For settings objects without a ``[detectors]`` section (tests' stand-ins): the calibrated
# model alone, as the shipped config has it; ``barunrun demo`` adds the rules (docs/metrics.md
# compares them).
DEFAULT_DETECTORS: tuple[str, ...] = (AUTOENCODER,)


def check_detectors(names: Iterable[str]) -> tuple[str, ...]:
    """The enabled detectors, validated: a non-empty subset of ``DETECTORS``."""
    chosen = tuple(dict.fromkeys(names))
    unknown = sorted(set(chosen) - set(DETECTORS))
    if unknown or not chosen:
        raise ConfigError(f"detectors: {', '.join(unknown) or 'none enabled'}; choose from "
                          f"{', '.join(DETECTORS)}")
    return chosen


def enabled_detectors(settings: object) -> tuple[str, ...]:
    """``settings.detectors.enabled`` (``[detectors] enabled = [...]`` in the TOML), or
    ``DEFAULT_DETECTORS`` while the settings have no such section."""
    section = getattr(settings, "detectors", None)
    if section is None:
        return DEFAULT_DETECTORS
    return check_detectors(section.enabled)


@dataclass(frozen=True)
class GroupState:
    """One (user, session) of the batch: its key, stored extra bytes, windows completed."""

    key: Hashable
    extra: bytes
    windows: int


@dataclass(frozen=True)
class GaitAssessment:
    metrics: WindowMetrics
    values: dict[str, np.ndarray]
    confidence: dict[str, np.ndarray]
    flags: CueFlags
    states: dict[Hashable, bytes]  # new extra bytes per group key

    @property
    def flagged(self) -> np.ndarray:
        """(N,) the rules raised a cue on the window."""
        return self.flags.flagged

    def event_fields(self, i: int, language: str = "en") -> dict[str, Any]:
        """What window ``i``'s anomaly event gains."""
        metrics, confidence = {}, {}
        for name, column in self.values.items():
            value = float(column[i])
            if np.isfinite(value):
                metrics[name] = round(value, METRICS[name].decimals)
                confidence[name] = round(float(self.confidence[name][i]), 2)
        return {
            "view": self.metrics.view_name(i),
            "metrics": metrics,
            "metric_confidence": confidence,
            "cues": [cue.to_json(language) for cue in self.flags.cues(i)],
        }


def load_state(extra: bytes) -> RollingGait | None:
    """The rolling state in a window's extra bytes; None when absent or not ours."""
    # The extra bytes may be the sectioned container (consumer/windows/codec.py): ours is its
    # gait section; bare gait bytes read as that section too.
    try:
        extra = unpack_extra(extra).get(GAIT_SECTION, b"")
    except CorruptState:
        extra = b""
    if extra[:4] not in MAGICS:
        return None
    try:
        return decode(extra)
    except DataError:
        log.warning("gait state unreadable; starting afresh")
        return None


class GaitStage:
    def __init__(self, detector: RulesDetector | None = None) -> None:
        self.detector = detector or RulesDetector()

    def assess(
        self, windows: np.ndarray, window_frames: np.ndarray, groups: Sequence[GroupState]
    ) -> GaitAssessment:
        """``windows`` (N, T, 132) and their frame numbers (N, T), ordered group by group as
        ``groups`` lists them (each group's windows in time order)."""
        metrics = compute_window_metrics(windows, window_frames)
        done = assess(metrics, window_frames,
                      [(load_state(g.extra), g.windows) for g in groups], self.detector)
        new_extra = {g.key: encode(state)
                     for g, state in zip(groups, done.final, strict=True) if state is not None}
        return GaitAssessment(metrics, done.values, done.confidence, done.flags, new_extra)
