"""What the episode tracker keeps of one scored window: a ``WindowVerdict``.

Built from the ``ScoredWindow`` the batch processor made (its gait cues, when the window was
flagged and the gait stage ran, ride in ``extras["cues"]``), and stored in the tracker's
state for the windows that may still join an episode, so it is small and JSON-friendly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consumer.serve.events import ScoredWindow

SEVERITIES = ("mild", "moderate", "severe")


def severity_level(name: object) -> int:
    return SEVERITIES.index(name) if name in SEVERITIES else 0


@dataclass(frozen=True, slots=True)
class WindowVerdict:
    start_frame: int
    end_frame: int
    start_ts_ms: int
    end_ts_ms: int
    scored: bool
    anomalous: bool
    ratio: float | None  # score / threshold; None when not scored
    top_joints: tuple[tuple[str, float], ...] = ()
    cues: tuple[tuple[str, int], ...] = ()  # (cue id, severity level) raised on the window
    model_version: str = ""

    def to_json(self) -> list[Any]:
        return [self.start_frame, self.end_frame, self.start_ts_ms, self.end_ts_ms, self.scored,
                self.anomalous, self.ratio, [list(j) for j in self.top_joints],
                [list(c) for c in self.cues], self.model_version]

    @classmethod
    def from_json(cls, row: Sequence[Any]) -> WindowVerdict:
        start, end, start_ts, end_ts, scored, anomalous, ratio, joints, cues, version = row
        return cls(int(start), int(end), int(start_ts), int(end_ts), bool(scored),
                   bool(anomalous), None if ratio is None else float(ratio),
                   tuple((str(j), float(s)) for j, s in joints),
                   tuple((str(c), int(level)) for c, level in cues), str(version))


def _cues(extras: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    raised = extras.get("cues") or ()
    return tuple(
        (str(cue["id"]), severity_level(cue.get("severity")))
        for cue in raised if isinstance(cue, Mapping) and "id" in cue
    )


def verdict_of(window: ScoredWindow) -> WindowVerdict:
    ratio = window.score_ratio
    return WindowVerdict(
        start_frame=window.start_frame,
        end_frame=window.end_frame,
        start_ts_ms=window.start_ts_ms,
        end_ts_ms=window.end_ts_ms,
        scored=window.score is not None,
        anomalous=window.anomaly,
        # Rounded so that the stored state and every message built from it stay short.
        ratio=None if ratio is None else round(ratio, 4),
        top_joints=tuple((j, round(s, 4)) for j, s in window.top_joints) if window.anomaly
        else (),
        cues=_cues(window.extras) if window.anomaly else (),
        model_version=window.model_version,
    )
