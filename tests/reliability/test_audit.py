"""The suite's own instruments, without a broker: the audit must catch what it looks for.

A lost window, an invented one, a replayed window that differs from the first copy, an event
without its anomalous window (or the reverse), a restart that one state loss cannot explain:
each is planted in fake topic contents and must show in ``Audit.problems()`` or
``explain_restarts``. Results round-trip through their JSON lines and render as table rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson
import pytest

from consumer.frames import FrameLimits, encode_frame
from consumer.windows.rules import WindowConfig
from tests.support.reliability.audit import Audit, explain_restarts
from tests.support.reliability.ledgers import EventLedger, FrameLedger, ScoreLedger
from tests.support.reliability.results import ScenarioResult, append_result, read_results

pytestmark = pytest.mark.reliability

NOW = 1_795_474_459_000
ROW = np.tile(np.array([0.5, 0.4, -0.1, 0.9], dtype=np.float32), 33)
CONFIG = WindowConfig(size=30, hop=10, max_gap_frames=5, max_gap_ms=1000)


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp: int = NOW


def frames_of(user: str, count: int, start: int = 0) -> list[Record]:
    return [Record(0, start + i, user.encode(),
                   encode_frame(user, start + i, NOW + 33 * (start + i), ROW, session_id="s"))
            for i in range(count)]


def score(user: str, end: int, *, score_value: float = 0.1, anomaly: bool = False,
          at: int = NOW + 5000) -> Record:
    value = {"window_id": f"{user}:s:{end}", "user_id": user, "session_id": "s",
             "window_start_frame": end - 29, "window_end_frame": end,
             "window_start_ts_ms": NOW + 33 * (end - 29), "window_end_ts_ms": NOW + 33 * end,
             "score": score_value, "threshold": 0.5, "model_version": "v1",
             "anomaly": anomaly, "valid": True, "invalid_reason": None, "scored_at_ms": at}
    return Record(0, 0, user.encode(), orjson.dumps(value))


def event(user: str, end: int, *, score_value: float = 0.9, shares: float = 0.4) -> Record:
    value = {"schema": 1, "event_id": f"{user}:s:{end}", "user_id": user, "session_id": "s",
             "window_start_frame": end - 29, "window_end_frame": end, "score": score_value,
             "threshold": 0.5, "model_version": "v1",
             "top_joints": [{"joint": "left_knee", "share": shares}], "emitted_at_ms": NOW}
    return Record(0, 0, user.encode(), orjson.dumps(value))


def audit_of(frames: list[Record], scores: list[Record], events: list[Record] = ()) -> Audit:
    ledger = FrameLedger(CONFIG, FrameLimits())
    ledger.add(frames)
    score_ledger, event_ledger = ScoreLedger(), EventLedger()
    score_ledger.add(scores)
    event_ledger.add(events)
    return Audit(ledger, score_ledger, event_ledger, ledger.expected())


ENDS = [29, 39, 49, 59]  # 60 frames, size 30, hop 10


def test_a_complete_audit_with_same_id_replays_has_no_problem() -> None:
    scores = [score("u", e) for e in ENDS] + [score("u", 39, score_value=0.1 + 1e-7)]
    audit = audit_of(frames_of("u", 60), scores)
    assert audit.expected == {f"u:s:{e}" for e in ENDS}
    assert audit.problems() == [] and audit.scores.duplicated == 1


@pytest.mark.parametrize("plant, finding", [
    ("lost", "never scored"),
    ("invented", "do not imply"),
    ("replay_differs", "scored twice as different windows"),
    ("event_without_window", "events without an anomalous score record"),
    ("window_without_event", "anomalous windows without an event"),
    ("event_copy_differs", "published twice with different content"),
])
def test_every_broken_promise_is_found(plant: str, finding: str) -> None:
    scores = [score("u", e) for e in ENDS]
    events = []
    if plant == "lost":
        scores.pop()
    elif plant == "invented":
        scores.append(score("u", 44))
    elif plant == "replay_differs":
        scores.append(score("u", 29, score_value=0.2))
    elif plant == "event_without_window":
        events.append(event("u", 29))
    elif plant == "window_without_event":
        scores[2] = score("u", 49, anomaly=True, score_value=0.9)
    else:
        scores = [score("u", e, anomaly=e == 29, score_value=0.9 if e == 29 else 0.1)
                  for e in ENDS]
        events += [event("u", 29), event("u", 29, shares=0.2)]
    problems = audit_of(frames_of("u", 60), scores, events).problems()
    assert len(problems) == 1 and finding in problems[0], problems


def test_a_restart_after_a_state_loss_is_explained_and_anything_else_is_not() -> None:
    # Lost state before frame 45: windows ending 49, 59 lost; the restart completes 74, 84.
    restarted = [score("u", e) for e in (29, 39, 74, 84)]
    audit = audit_of(frames_of("u", 90), restarted)
    assert explain_restarts(audit) == [] and audit.restarts == {("u", "s"): 45}
    assert audit.problems() == []

    # One window lost in the middle: no single restart loses 49 and keeps 59.
    lost_without_restart = [score("u", e) for e in (29, 39, 59, 69, 79, 89)]
    audit = audit_of(frames_of("u", 90), lost_without_restart)
    unexplained = explain_restarts(audit)
    assert len(unexplained) == 1 and "no single restart" in unexplained[0]


def test_catch_up_counts_windows_finished_before_the_fault_end() -> None:
    fault_end = NOW + 33 * 45
    scores = [score("u", 29, at=NOW + 1_000), score("u", 39, at=fault_end + 7_000),
              score("u", 39, at=fault_end + 9_000), score("u", 49, at=fault_end + 60_000)]
    audit = audit_of(frames_of("u", 50), scores)
    # 49 ended after the fault: not part of the catch-up; 39's first copy counts.
    assert audit.catch_up_s(fault_end) == pytest.approx(7.0)


def test_results_round_trip_as_json_lines(tmp_path) -> None:
    path = tmp_path / "results.jsonl"
    env = {"BARUNRUN_RELIABILITY_RESULTS": str(path)}
    first = ScenarioResult("crash", "ci", missing=1, outcome="failed")
    again = ScenarioResult("crash", "ci", missing=0, outcome="passed", extra={"kills": 3})
    assert append_result(first, env) == path and append_result(again, env) == path
    assert append_result(first, {}) is None
    (row,) = read_results(path)  # the last line of a scenario wins
    assert row.outcome == "passed" and row.extra == {"kills": 3} and row.finished_at
