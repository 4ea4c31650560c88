"""Gait metrics of a whole recording: cut into windows by the serving rules, measured, the
rolling state folded over the windows in order, cues raised, and a per-recording summary.

This is what ``barunrun metrics`` and ``barunrun report`` show, and what the evaluation
measures: the same functions the consumer runs per window, in the same order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from consumer.errors import DataError
from consumer.gait.cues import CueFlags, RaisedCue, RulesDetector
from consumer.gait.rolling import RollingGait
from consumer.gait.specs import METRICS, foot_strike_label
from consumer.gait.stateful import assess
from consumer.gait.view import VIEWS
from consumer.gait.window import WindowMetrics, compute_window_metrics
from consumer.windows.rules import WindowConfig, sliding_windows

DEFAULT_WINDOW = WindowConfig(size=30, hop=10, max_gap_frames=5, max_gap_ms=1000)
# A recording's cue is one raised on at least this share of its windows (and 3 of them):
# a coach wants what persists, not one noisy second.
RECORDING_CUE_SHARE = 0.2
RECORDING_CUE_MIN_WINDOWS = 3


@dataclass(frozen=True)
class RecordingMetrics:
    window_frames: np.ndarray  # (W, T) frame numbers of each window
    windows: WindowMetrics
    rolling: list[RollingGait]  # state after each window
    values: dict[str, np.ndarray]  # (W,) per metric, rolling state put in
    confidence: dict[str, np.ndarray]
    flags: CueFlags

    def __len__(self) -> int:
        return int(self.window_frames.shape[0])

    @property
    def view(self) -> str:
        """The most common view of the windows."""
        counts = Counter(self.windows.view.tolist())
        return VIEWS[counts.most_common(1)[0][0]] if counts else "unknown"

    def medians(self) -> dict[str, float]:
        """Median of each metric over the windows that report it (in the recording's view)."""
        out = {}
        in_view = np.asarray(VIEWS)[self.windows.view] == self.view
        for name, values in self.values.items():
            chosen = values[in_view & np.isfinite(values)]
            if len(chosen) and self.view in METRICS[name].views:
                out[name] = round(float(np.median(chosen)), METRICS[name].decimals)
        return out

    def recording_cues(self) -> list[tuple[RaisedCue, float]]:
        """Cues raised on enough of the windows, with the share of windows; the severity and
        value shown are those of the window where the cue's metric was most extreme."""
        total = len(self)
        out = []
        for c, rule in enumerate(self.flags.rules):
            fired = np.flatnonzero(self.flags.fired[:, c])
            share = len(fired) / total if total else 0.0
            if len(fired) < RECORDING_CUE_MIN_WINDOWS or share < RECORDING_CUE_SHARE:
                continue
            cues = [next(q for q in self.flags.cues(int(i)) if q.id == rule.id) for i in fired]
            worst = max(cues, key=lambda q: q.beyond)
            out.append((worst, share))
        return sorted(out, key=lambda pair: -pair[1])

    def summary(self, path: str = "", language: str = "en") -> dict[str, Any]:
        """The ``barunrun metrics --json`` entry of this recording."""
        medians = self.medians()
        entry: dict[str, Any] = {"path": path, "view": self.view, "windows": len(self),
                                 "metrics": medians}
        if "foot_strike_deg" in medians:
            entry["foot_strike"] = foot_strike_label(medians["foot_strike_deg"])
        entry["cues"] = [
            {**cue.to_json(language), "share_of_windows": round(share, 3)}
            for cue, share in self.recording_cues()
        ]
        return entry


def compute_recording_metrics(
    frames: np.ndarray,
    landmarks: np.ndarray,
    window: WindowConfig = DEFAULT_WINDOW,
    detector: RulesDetector | None = None,
) -> RecordingMetrics:
    """Metrics, rolling state and cues of every window of one recording (frames (T,), landmarks
    (T, 132), rows with NaN already dropped as ``load_recording`` does)."""
    windows, window_frames = sliding_windows(frames, landmarks, window)
    if not len(windows):
        raise DataError(f"recording of {len(frames)} frames holds no {window.size}-frame window")
    metrics = compute_window_metrics(windows, window_frames)
    done = assess(metrics, window_frames, [(None, len(window_frames))],
                  detector or RulesDetector())
    return RecordingMetrics(window_frames, metrics, done.states, done.values, done.confidence,
                            done.flags)
