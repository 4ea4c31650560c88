"""The demo's grading of windows against the simulator's truth."""

from __future__ import annotations

import pytest

from consumer.demo.tally import DemoTally

RAMP = 45


def _tally() -> DemoTally:
    return DemoTally.from_stream_summary({"users": {
        "runner-000": {"view": "side", "fault": None, "onset_frame": None},
        "runner-001": {"view": "side", "fault": "overstriding", "onset_frame": 200},
    }}, ramp_frames=RAMP)


def _record(user: str, end: int, anomaly: bool, ratio: float = 0.5) -> dict:
    return {
        "window_id": f"{user}:s:{end}", "user_id": user, "window_start_frame": end - 29,
        "window_end_frame": end, "window_end_ts_ms": 1000, "scored_at_ms": 1100,
        "score": ratio, "threshold": 1.0, "anomaly": anomaly, "valid": True,
    }


def test_windows_are_graded_around_the_onset_and_its_ramp() -> None:
    """
    frames:   ...150......199 | 200 ... 244 | 245 ...
              normal windows  | ramp (mixed)| faulty windows
    """
    tally = _tally()
    tally.add_score_record(_record("runner-001", 199, anomaly=False))  # ends before onset
    tally.add_score_record(_record("runner-001", 230, anomaly=True))  # straddles the ramp
    tally.add_score_record(_record("runner-001", 274, anomaly=True))  # starts at 245
    tally.add_score_record(_record("runner-001", 284, anomaly=False))
    runner = tally.runners["runner-001"]
    assert (runner.normal_windows, runner.faulty_windows, runner.windows) == (1, 2, 4)
    assert runner.faulty_flagged == 1
    assert runner.detected is True  # half of the faulty windows flagged
    summary = tally.summary()
    assert summary["window_detection_rate"] == pytest.approx(0.5)
    assert summary["false_alarm_rate"] == 0.0


def test_replayed_windows_and_events_count_once() -> None:
    tally = _tally()
    record = _record("runner-000", 99, anomaly=True)
    tally.add_score_record(record)
    tally.add_score_record(record)
    event = {"event_id": record["window_id"], "user_id": "runner-000",
             "top_joints": [{"joint": "left_knee", "share": 0.5}], "cues": [{"id": "limp"}]}
    tally.add_anomaly_event(event)
    tally.add_anomaly_event(event)
    summary = tally.summary()
    assert summary["windows_scored"] == 1
    assert summary["anomaly_events"] == 1
    assert summary["false_alarm_rate"] == 1.0
    assert summary["normal_runners_with_false_alarms"] == 1
    assert summary["runners"]["runner-000"]["top_joint"] == "left_knee"
    assert summary["runners"]["runner-000"]["cues"] == ["limp"]


def test_unscored_windows_and_unknown_users_are_not_graded() -> None:
    tally = _tally()
    unscored = {**_record("runner-000", 50, anomaly=False), "valid": False, "score": None}
    tally.add_score_record(unscored)
    tally.add_score_record(_record("someone-else", 50, anomaly=True))
    summary = tally.summary()
    assert summary["windows_scored"] == 0
    assert summary["windows_not_scored"] == 1
    assert tally.runners["runner-001"].detected is False  # no faulty window seen yet
    assert summary["latency_p99_ms"] is None
