"""Gait metrics, the rolling state and the rules for runners' windows in time order: the one
sequence the consumer, the recording tools and the evaluation all run.

Per runner, window after window: the rolling state takes the window's events; the window's
shown metrics are its own with the state's put in (``combined.py``); the rules test them; a
cue is raised when its condition also held on the runner's previous window
(``CONFIRM_WINDOWS``): windows overlap by two thirds, so this costs a third of a second, and
it halves the false alarms that one window's noise causes (docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from consumer.gait.combined import combined_values
from consumer.gait.cues import CueFlags, RulesDetector
from consumer.gait.rolling import RollingGait, update_from_window
from consumer.gait.view import VIEWS
from consumer.gait.window import WindowMetrics

# A cue's condition must hold on this many of the runner's windows in a row (1 or 2).
CONFIRM_WINDOWS = 2


@dataclass(frozen=True)
class Assessed:
    values: dict[str, np.ndarray]  # (N,) per metric, shown values
    confidence: dict[str, np.ndarray]
    flags: CueFlags  # confirmed cues
    states: list[RollingGait]  # the runner's state after each window
    final: list[RollingGait | None]  # per group, its state after its last window


def _bits(row: np.ndarray) -> int:
    return int(sum(1 << int(c) for c in np.flatnonzero(row)))


def assess(
    metrics: WindowMetrics,
    window_frames: np.ndarray,
    groups: Sequence[tuple[RollingGait | None, int]],
    detector: RulesDetector,
) -> Assessed:
    """Windows of ``metrics`` grouped by runner in order: ``groups`` gives each runner's
    state before its first window and how many windows follow (in time order)."""
    states: list[RollingGait] = []
    previous_raised = np.zeros((len(metrics), len(detector.rules)), dtype=bool)
    i = 0
    spans = []
    for before, count in groups:
        spans.append((i, count, before))
        state = before
        for _ in range(count):
            state = update_from_window(state, metrics, i, window_frames[i])
            states.append(state)
            i += 1
    values, confidence = combined_values(metrics, states)
    raw = detector.detect(values, confidence, np.asarray(VIEWS)[metrics.view])
    bit_rows = np.arange(len(detector.rules))
    final: list[RollingGait | None] = []
    for start, count, before in spans:
        carried = 0 if before is None else before.raised
        for j in range(start, start + count):
            previous_raised[j] = (carried >> bit_rows) & 1 == 1
            carried = _bits(raw.fired[j])
            states[j] = replace(states[j], raised=carried)
        final.append(states[start + count - 1] if count else before)
    confirmed = raw.fired & previous_raised if CONFIRM_WINDOWS > 1 else raw.fired
    flags = replace(raw, fired=confirmed, severe=raw.severe & confirmed)
    return Assessed(values, confidence, flags, states, final)
