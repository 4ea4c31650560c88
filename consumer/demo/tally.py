"""What the demo counts, pure: score records and anomaly events against the simulator's truth.

Windows are graded against each runner's ground truth from the simulator summary:

* a normal runner's windows, and a faulty runner's windows that end before the fault's onset,
  are *normal windows* (a flag there is a false alarm);
* a faulty runner's windows that start after the onset and its ramp are *faulty windows*;
* windows that straddle the ramp are neither (the form is changing under them).

A faulty runner counts as detected when at least half of its faulty windows are flagged.
Records are de-duplicated by window id, since at-least-once delivery may replay a window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DETECTED_SHARE = 0.5


@dataclass
class RunnerTally:
    user_id: str
    view: str
    fault: str | None
    onset_frame: int | None
    ramp_frames: int
    frames_sent: int = 0
    windows: int = 0
    flagged: int = 0
    normal_windows: int = 0
    normal_flagged: int = 0
    faulty_windows: int = 0
    faulty_flagged: int = 0
    last_ratio: float | None = None
    top_joints: Counter[str] = field(default_factory=Counter)
    cues: Counter[str] = field(default_factory=Counter)

    def grade(self, start_frame: int, end_frame: int) -> str:
        """'normal', 'faulty' or 'mixed' for a window of this runner."""
        if self.fault is None or self.onset_frame is None:
            return "normal"
        if end_frame < self.onset_frame:
            return "normal"
        if start_frame >= self.onset_frame + self.ramp_frames:
            return "faulty"
        return "mixed"

    @property
    def detected(self) -> bool | None:
        if self.fault is None:
            return None
        if self.faulty_windows == 0:
            return False
        return self.faulty_flagged / self.faulty_windows >= DETECTED_SHARE

    @property
    def status(self) -> str:
        if self.fault is None:
            return "false alarms" if self.normal_flagged else "ok"
        if self.faulty_windows == 0:
            return "waiting for fault"
        return "DETECTED" if self.detected else "missed"


@dataclass
class DemoTally:
    runners: dict[str, RunnerTally]
    latencies_ms: list[float] = field(default_factory=list)
    seen_windows: set[str] = field(default_factory=set)
    seen_events: set[str] = field(default_factory=set)
    anomaly_events: int = 0
    unscored_windows: int = 0

    @classmethod
    def from_stream_summary(cls, summary: Mapping[str, Any], ramp_frames: int) -> DemoTally:
        runners = {
            user: RunnerTally(
                user_id=user, view=str(info.get("view", "?")), fault=info.get("fault"),
                onset_frame=info.get("onset_frame"), ramp_frames=ramp_frames,
            )
            for user, info in summary["users"].items()
        }
        return cls(runners)

    def add_score_record(self, record: Mapping[str, Any]) -> None:
        window_id = str(record["window_id"])
        runner = self.runners.get(str(record["user_id"]))
        if runner is None or window_id in self.seen_windows:
            return
        self.seen_windows.add(window_id)
        if not record.get("valid", True) or record.get("score") is None:
            self.unscored_windows += 1
            return
        runner.windows += 1
        flagged = bool(record["anomaly"])
        runner.flagged += flagged
        runner.last_ratio = float(record["score"]) / float(record["threshold"])
        grade = runner.grade(int(record["window_start_frame"]), int(record["window_end_frame"]))
        if grade == "normal":
            runner.normal_windows += 1
            runner.normal_flagged += flagged
        elif grade == "faulty":
            runner.faulty_windows += 1
            runner.faulty_flagged += flagged
        scored_at = record.get("scored_at_ms")
        if scored_at is not None:
            self.latencies_ms.append(float(scored_at) - float(record["window_end_ts_ms"]))

    def add_anomaly_event(self, event: Mapping[str, Any]) -> None:
        event_id = str(event["event_id"])
        runner = self.runners.get(str(event["user_id"]))
        if runner is None or event_id in self.seen_events:
            return
        self.seen_events.add(event_id)
        self.anomaly_events += 1
        joints = event.get("top_joints") or []
        if joints:
            runner.top_joints[str(joints[0]["joint"])] += 1
        for cue in event.get("cues") or []:
            runner.cues[str(cue.get("id", cue) if isinstance(cue, Mapping) else cue)] += 1

    def latency_ms(self, quantile: float) -> float | None:
        if not self.latencies_ms:
            return None
        return float(np.quantile(np.asarray(self.latencies_ms), quantile))

    def summary(self) -> dict[str, Any]:
        runners = list(self.runners.values())
        faulty = [r for r in runners if r.fault is not None]
        normal_windows = sum(r.normal_windows for r in runners)
        normal_flagged = sum(r.normal_flagged for r in runners)
        faulty_windows = sum(r.faulty_windows for r in runners)
        faulty_flagged = sum(r.faulty_flagged for r in runners)
        return {
            "windows_scored": sum(r.windows for r in runners),
            "windows_not_scored": self.unscored_windows,
            "anomaly_events": self.anomaly_events,
            "faulty_runners": len(faulty),
            "faulty_runners_detected": sum(bool(r.detected) for r in faulty),
            "normal_runners": len(runners) - len(faulty),
            "normal_runners_with_false_alarms": sum(
                1 for r in runners if r.fault is None and r.normal_flagged
            ),
            "false_alarm_rate": normal_flagged / normal_windows if normal_windows else None,
            "window_detection_rate": faulty_flagged / faulty_windows if faulty_windows else None,
            "latency_p50_ms": self.latency_ms(0.5),
            "latency_p99_ms": self.latency_ms(0.99),
            "runners": {
                r.user_id: {
                    "view": r.view, "fault": r.fault, "onset_frame": r.onset_frame,
                    "windows": r.windows, "flagged": r.flagged,
                    "normal_windows": r.normal_windows, "normal_flagged": r.normal_flagged,
                    "faulty_windows": r.faulty_windows, "faulty_flagged": r.faulty_flagged,
                    "detected": r.detected, "status": r.status,
                    "top_joint": r.top_joints.most_common(1)[0][0] if r.top_joints else None,
                    "cues": [cue for cue, _ in r.cues.most_common(3)],
                }
                for r in runners
            },
        }
