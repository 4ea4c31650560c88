"""Gait metrics, the rolling state and the rules for runners' windows in time order: the one
sequence the consumer, the recording tools and the evaluation all run.

Per runner, window after window: the rolling state takes the window's events; the window's
shown metrics are its own with the state's put in (``combined.py``); the rules test them; a
cue is raised when its condition also held on the runner's previous window
(``CONFIRM_WINDOWS``): windows overlap by two thirds, so this costs a third of a second, and
it halves the false alarms that one window's noise causes (docs/metrics.md). Once raised, a
cue stays raised while one of its conditions stays beyond its release level
(``Condition.release``, hysteresis): a fault read near its threshold would otherwise blink
on and off from window to window. One bit per cue carries both across windows (the state's
``raised``): the condition fired, or the cue was shown. A window is shown a cue when that
bit was set on the runner's previous window and the cue is beyond its release level now;
for a condition without a release level that is exactly "fired on both windows".
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


def shown_cues(fired: np.ndarray, held: np.ndarray, carried: int) -> tuple[np.ndarray, list[int]]:
    """One runner's windows in time order: (N, C) conditions fired and beyond their release
    level, and the bits carried from the runner's window before these -> (N, C) cues shown,
    and each window's bits to carry (module docstring)."""
    rows = np.arange(fired.shape[1])
    shown = np.zeros_like(fired)
    bits: list[int] = []
    for j in range(len(fired)):
        shown[j] = held[j] & ((carried >> rows) & 1 == 1)
        if CONFIRM_WINDOWS == 1:
            shown[j] |= fired[j]
        carried = _bits(fired[j] | shown[j])
        bits.append(carried)
    return shown, bits


def assess(
    metrics: WindowMetrics,
    window_frames: np.ndarray,
    groups: Sequence[tuple[RollingGait | None, int]],
    detector: RulesDetector,
) -> Assessed:
    """Windows of ``metrics`` grouped by runner in order: ``groups`` gives each runner's
    state before its first window and how many windows follow (in time order)."""
    states: list[RollingGait] = []
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
    shown = np.zeros_like(raw.fired)
    final: list[RollingGait | None] = []
    for start, count, before in spans:
        end = start + count
        shown[start:end], bits = shown_cues(
            raw.fired[start:end], raw.held[start:end], 0 if before is None else before.raised)
        for j, carried in zip(range(start, end), bits, strict=True):
            states[j] = replace(states[j], raised=carried)
        final.append(states[end - 1] if count else before)
    flags = replace(raw, fired=shown, severe=raw.severe & shown)
    return Assessed(values, confidence, flags, states, final)
