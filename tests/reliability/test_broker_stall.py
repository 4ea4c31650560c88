"""Scenario 4: the broker stalls (SIGSTOP for 10 s, then SIGCONT) in the middle of a stream.

The test runs its own broker (the session's is shared). While it is stopped, fetches, the
consumer's publishes and commits, and the simulator's sends all hang; the consumer's group
session expires on the broker. After SIGCONT the consumer must recover unaided: rejoin, retry
or replay what was not committed, and score every window the frames imply.
"""

from __future__ import annotations

import signal
import time

import pytest

from consumer.stack import create_topics
from tests.support.reliability.audit import collect
from tests.support.reliability.sizes import suite_size
from tests.support.reliability.streams import BackgroundStream, now_ms
from tests.support.serving import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(suite_size().seconds_budget)]

CONSUMED = "barunrun_frames_consumed_total"
RECOVERY_BOUND_S = 90.0


def test_the_consumer_recovers_unaided_from_a_broker_stall(
    settings_factory, model_dir, serve_process, own_broker, scenario, size
) -> None:
    result = scenario("broker_stall", f"broker SIGSTOP {size.stall_s:.0f} s mid-stream, "
                                      f"{size.stall_runners} runners")
    settings = settings_factory(partitions=2).with_overrides(
        kafka={"bootstrap": own_broker.bootstrap}
    )
    t = settings.topics
    create_topics(own_broker.bootstrap, [t.frames, t.anomalies, t.dlq, t.scores], 2)
    consumer = serve_process(settings, model_dir, "broker-stall").start().wait_ready()
    stream = BackgroundStream(settings, runners=size.stall_runners,
                              duration_s=size.stall_stream_s, seed=47, user_prefix="bstall").start()
    wait_for(lambda: consumer.value(CONSUMED) > 0, 120, "frames flowing")
    wait_for(lambda: now_ms() >= stream.started_ms + size.stall_stream_s * 250, 60,
             "a quarter of the stream")
    consumed_before = consumer.value(CONSUMED)

    own_broker.proc.signal(signal.SIGSTOP)
    try:
        time.sleep(size.stall_s)  # the fault itself: the broker stays stopped this long
    finally:
        own_broker.proc.signal(signal.SIGCONT)
    resumed_ms = now_ms()

    summary = stream.join()
    result.messages_sent = summary.frames_sent
    audit = collect(settings, summary.frames_sent)
    audit.fill(result)
    result.recovery_s = round(audit.catch_up_s(resumed_ms), 1)
    result.extra["kafka_failures_retried"] = consumer.value(
        "barunrun_dependency_failures_total", dependency="kafka")

    assert audit.problems() == []
    assert consumer.alive()
    assert consumer.value(CONSUMED) > consumed_before
    wait_for(lambda: consumer.get("/readyz")[0] == 200, 60, "ready again")
    assert result.recovery_s <= RECOVERY_BOUND_S
