"""Two consumers in one group split the partitions; when one leaves, the other carries on.

The audit compares the windows recorded on the scores topic with the windows the rules yield
from the frames on the frames topic: a consumer that took over a runner without its window
state from Redis would start that runner's window afresh, and its windows would end on other
frames (ids missing from the recorded set, unexpected ids in it).
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from producer_sim.publish import StreamSummary, stream_runners

pytestmark = pytest.mark.integration


def test_the_remaining_consumer_continues_the_windows_from_redis(
    settings_factory, consumers, all_windows_scored, serve_kit
) -> None:
    settings = settings_factory(partitions=4)
    first, second = consumers(settings), consumers(settings)
    summaries: list[StreamSummary] = []
    streamer = threading.Thread(
        target=lambda: summaries.append(stream_runners(
            settings, runners=8, duration_s=14, fault_rate=0.0, realtime=True, seed=21,
            user_prefix="reb",
        )),
        daemon=True,
    )
    streamer.start()
    consumed = "barunrun_frames_consumed_total"
    serve_kit.wait_for(
        lambda: first.value(consumed) > 200 and second.value(consumed) > 200, 60,
        "both consumers to get partitions and frames",
    )
    first.halt()  # leaves the group mid-stream; its partitions go to the second consumer
    assert not first.thread.is_alive() and not first.errors
    handed_over_at = second.value(consumed)
    streamer.join(60)
    assert summaries, "the stream did not finish"

    audit = all_windows_scored(settings, summaries[0].frames_sent)
    expected, scores = audit.expected, audit.scores
    recorded = [s["window_id"] for s in scores.values()]
    assert set(recorded) == expected  # nothing missing, nothing from a restarted window
    replays = {i: n for i, n in Counter(recorded).items() if n > 1}
    by_id: dict[str, set[tuple]] = {}
    for s in scores.values():
        by_id.setdefault(s["window_id"], set()).add(
            (s["window_start_frame"], s["window_end_frame"], s["score"])
        )
    assert all(len(by_id[i]) == 1 for i in replays)  # a replay is the same window
    total = first.value(consumed) + second.value(consumed)
    assert total >= summaries[0].frames_sent
    assert second.value(consumed) > handed_over_at  # it went on with all partitions
    assert second.value("barunrun_window_restarts_total", {"reason": "state_lost"}) == 0
    assert not second.errors
