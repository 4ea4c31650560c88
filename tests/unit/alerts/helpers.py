"""Windows for the episode tracker written as a string, one character per window.

``X`` anomalous (score ratio 2.0), ``.`` clean (0.5), ``?`` not scored, ``|`` a pause of 40 s
before the next window (longer than any idle_after the tests use). Windows are hop 10 at
30 fps: window i ends at frame 29 + 10 i.
"""

from __future__ import annotations

from consumer.alerts.verdicts import WindowVerdict

BASE_TS = 1_795_474_459_000
PAUSE_MS = 40_000


def ts_of(frame: int) -> int:
    return BASE_TS + frame * 1000 // 30


def windows(timeline: str, first_index: int = 0) -> list[WindowVerdict]:
    out: list[WindowVerdict] = []
    pause = 0
    index = first_index
    for char in timeline:
        if char == "|":
            pause += PAUSE_MS
            continue
        end = 29 + 10 * index
        anomalous, scored = char == "X", char != "?"
        out.append(WindowVerdict(
            start_frame=end - 29, end_frame=end, start_ts_ms=ts_of(end - 29) + pause,
            end_ts_ms=ts_of(end) + pause, scored=scored, anomalous=anomalous,
            ratio=(2.0 if anomalous else 0.5) if scored else None,
            top_joints=(("nose", 0.6), ("left_ear", 0.4)) if anomalous else (),
            cues=(("hunched_head", 1),) if anomalous else (), model_version="m1",
        ))
        index += 1
    return out
