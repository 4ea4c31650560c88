"""Scenario 2: two consumer processes in one group; one is stopped mid-stream and started again.

SIGTERM makes the stopped member finish its batch, commit and leave: its partitions move to
the other member, which must continue those runners' windows from Redis (no state lost, no
window restarted). Started again at once, it rejoins and takes partitions back.

Then the other member stalls (SIGSTOP for longer than the group session timeout, as a long
pause or a frozen VM would): the group evicts it and its partitions move, possibly in the
middle of one of its batches. On SIGCONT it wakes up as a zombie: it finishes that batch
(duplicate records, a state save the compare-and-set may refuse, a commit the group refuses)
and rejoins. The stream runs on until every phase is over. The audit expects every window the
frames imply, duplicates only as copies of the same window.
"""

from __future__ import annotations

import time

import pytest

from tests.support.reliability.audit import collect
from tests.support.reliability.sizes import suite_size
from tests.support.reliability.streams import BackgroundStream, now_ms
from tests.support.serving import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(suite_size().seconds_budget)]

SEED = 20261126
CONSUMED = "barunrun_frames_consumed_total"
STATE_LOST = "barunrun_window_restarts_total"
CONFLICTS = "barunrun_window_state_conflicts_total"
RECOVERY_BOUND_S = 120.0


def test_a_member_leaving_and_rejoining_mid_stream_loses_no_window(
    settings_factory, model_dir, serve_process, scenario, size
) -> None:
    result = scenario("rebalance", f"2 consumers: one SIGTERM'd mid-stream and restarted, then "
                                   f"the other SIGSTOP'd {size.stall_s:.0f} s (evicted, wakes "
                                   f"as a zombie); {size.rebalance_runners} runners")
    settings = settings_factory(partitions=4, kafka={"max_poll_records": 500})
    first = serve_process(settings, model_dir, "first").start()
    second = serve_process(settings, model_dir, "second").start()
    first.wait_ready()
    second.wait_ready()
    stream = BackgroundStream(
        settings, runners=size.rebalance_runners, duration_s=size.rebalance_stream_s * 5,
        seed=SEED,
        fault_rate=0.3, faults=("trunk_lean", "overstriding"), user_prefix="reb",
    ).start()
    wait_for(lambda: first.value(CONSUMED) > 0 and second.value(CONSUMED) > 0, 120,
             "both members to get partitions and frames")

    # Leave a quarter into the stream (or at once, if start-up took longer than that).
    wait_for(lambda: stream.seconds() >= size.rebalance_stream_s / 4, size.rebalance_stream_s,
             "a quarter of the stream")
    left_ms = now_ms()
    assert first.terminate() == 0, first.tail()
    assert "consumer loop stopped" in first.current_log()
    taken_over_at = second.value(CONSUMED)
    wait_for(lambda: second.value(CONSUMED) > taken_over_at, 60, "the other member to go on")

    first.start().wait_ready()
    rejoined_ms = now_ms()
    wait_for(lambda: first.value(CONSUMED) > 0, 120, "the restarted member to consume")

    stalled_at = second.value(CONSUMED)
    caught_busy = second.pause()
    try:
        time.sleep(size.stall_s)  # the fault itself: longer than the group session timeout
    finally:
        second.resume()
    woke_ms = now_ms()
    wait_for(lambda: second.value(CONSUMED) > stalled_at, 120, "the stalled member to go on")
    stream.end_at_least(size.rebalance_stream_s)
    summary = stream.join()
    result.messages_sent = summary.frames_sent
    audit = collect(settings, summary.frames_sent)
    audit.fill(result)
    result.recovery_s = round(max(audit.catch_up_s(at) for at in (left_ms, rejoined_ms, woke_ms)),
                              1)
    lost = [member.value(STATE_LOST, reason="state_lost") for member in (first, second)]
    conflicts = sum(member.value(CONFLICTS) for member in (first, second))
    result.extra.update(state_lost=sum(lost), state_conflicts=conflicts,
                        stall_s=size.stall_s, stalled_mid_batch=caught_busy)

    assert audit.problems() == []
    assert len(audit.expected) >= size.rebalance_runners * size.rebalance_stream_s * 3 / 2
    # Windows moved with their partitions through Redis: none started over.
    assert lost == [0, 0]
    assert first.alive() and second.alive()
    assert result.recovery_s <= RECOVERY_BOUND_S
