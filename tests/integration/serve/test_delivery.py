"""The commit invariant on the real stack: a crash between flush and state save, then replay.

The first consumer publishes a batch's records (acknowledged by the broker) and dies before
it saves the window states and commits. A second consumer in the same group replays those
frames against the old states: it must publish the same windows with the same ids (no window
lost, duplicates only as the same id), then carry on to the end of the stream.
"""

from __future__ import annotations

from collections import Counter

import pytest

from producer_sim.publish import stream_runners

pytestmark = pytest.mark.integration


class Crash(Exception):
    """Stands for kill -9 between the broker's acknowledgement and the state save."""


class CrashOnSave:
    """Wraps the Redis store; the ``crash_at``-th save that has updates dies first."""

    def __init__(self, inner, crash_at: int) -> None:
        self._inner = inner
        self._left = crash_at

    def load(self, keys):
        return self._inner.load(keys)

    def save(self, updates):
        if updates:
            self._left -= 1
            if self._left == 0:
                raise Crash("between flush and state save")
        return self._inner.save(updates)

    def ping(self) -> None:
        self._inner.ping()


def same_event(a: dict, b: dict) -> bool:
    # The model may batch a replayed window with other windows: the last float bits of its
    # score and shares can differ, nothing else.
    exact = set(a) - {"emitted_at_ms", "score", "top_joints"}
    return (
        all(a[k] == b[k] for k in exact) and set(a) == set(b)
        and a["score"] == pytest.approx(b["score"], rel=1e-4)
        and [j["joint"] for j in a["top_joints"]] == [j["joint"] for j in b["top_joints"]]
    )


def test_replay_after_a_crash_between_flush_and_save_republishes_the_same_ids(
    settings_factory, consumers, reader, all_windows_scored
) -> None:
    # Small batches: the crash leaves most of the stream for the second consumer.
    settings = settings_factory(partitions=2, kafka={"max_poll_records": 200})
    summary = stream_runners(
        settings, runners=6, duration_s=10, fault_rate=0.5, realtime=False, seed=31,
        faults=("trunk_lean", "overstriding"), user_prefix="crash",
    )
    first = consumers(settings, wrap_store=lambda store: CrashOnSave(store, crash_at=4))
    first.thread.join(120)
    assert first.errors and isinstance(first.errors[0], Crash)

    scores = reader(settings, settings.topics.scores)
    events = reader(settings, settings.topics.anomalies)
    before_scores = Counter(s["window_id"] for s in scores.values())
    before_events = {e["event_id"]: e for e in events.values()}
    assert before_scores, "the crashed consumer published nothing before it died"

    second = consumers(settings)
    expected = all_windows_scored(settings, summary.frames_sent).expected
    after_scores = Counter(s["window_id"] for s in scores.values())
    assert set(after_scores) == expected  # no window lost, none invented
    replayed = {i for i, n in after_scores.items() if n > before_scores.get(i, 0) > 0}
    # The crashed batch's windows were acknowledged, then published again, same ids.
    assert replayed and replayed <= set(before_scores)
    after_events = {}
    for event in events.values():
        after_events.setdefault(event["event_id"], []).append(event)
    for event_id, first_copy in before_events.items():
        copies = after_events[event_id]
        for copy in copies:  # the same event but for its emission time (and float noise)
            assert same_event(copy, first_copy)
        if event_id in replayed:  # from the crashed batch: published again
            assert len(copies) >= 2
    assert not second.errors
