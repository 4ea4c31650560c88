"""Scenario 1: kill -9 the consumer at random moments of a real-time stream, restart it each time.

Each kill lands a seeded random time after the running process has started consuming (so it
hits batches mid-flight: between poll, publish, flush, state save and commit). The stream
runs at least its planned length and on until the last restarted process consumes again, so
every kill lands mid-stream however long start-up takes. The audit then
expects every window the frames imply on the scores topic, duplicates only as copies of the
same window, and exactly one event id per anomalous window.
"""

from __future__ import annotations

import random
import time

import pytest

from tests.support.reliability.audit import collect
from tests.support.reliability.processes import ServeProcess
from tests.support.reliability.sizes import suite_size
from tests.support.reliability.streams import BackgroundStream, now_ms
from tests.support.serving import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(suite_size().seconds_budget)]

SEED = 20261125
# A kill waits this long (seeded uniform) after the current process first consumed frames.
KILL_AFTER_CONSUMING_S = (0.2, 4.0)
# Start-up with TensorFlow takes ~6-20 s on a busy 2-core machine; catch-up comes on top.
RECOVERY_BOUND_S = 120.0


def test_kill_9_at_random_moments_loses_no_window(
    settings_factory, model_dir, serve_process, scenario, size
) -> None:
    result = scenario("crash", f"kill -9 x{size.crash_kills} during a {size.crash_stream_s:.0f} s "
                               f"real-time stream of {size.crash_runners} runners")
    settings = settings_factory(partitions=3, kafka={"max_poll_records": 500})
    consumer = serve_process(settings, model_dir, "crash").start().wait_ready()
    rng = random.Random(SEED)
    stream = BackgroundStream(
        settings, runners=size.crash_runners, duration_s=size.crash_stream_s * 5, seed=SEED,
        fault_rate=0.3, faults=("trunk_lean", "overstriding"), user_prefix="crash",
    ).start()
    restarts_ms: list[int] = []
    consumed_at_kill: list[float] = []
    for _ in range(size.crash_kills):
        _wait_consuming(consumer)
        time.sleep(rng.uniform(*KILL_AFTER_CONSUMING_S))  # the random moment itself
        consumed_at_kill.append(consumer.value("barunrun_frames_consumed_total"))
        consumer.kill9()
        restarts_ms.append(now_ms())
        consumer.start()
    _wait_consuming(consumer)
    stream.end_at_least(size.crash_stream_s)
    summary = stream.join()
    result.messages_sent = summary.frames_sent

    audit = collect(settings, summary.frames_sent)
    audit.fill(result)
    recovery = max(audit.catch_up_s(at) for at in restarts_ms)
    result.recovery_s = round(recovery, 1)
    result.extra["kills"] = len(restarts_ms)
    result.extra["frames_consumed_by_killed_processes"] = [int(n) for n in consumed_at_kill]

    assert audit.problems() == []
    # About one window per runner per 10 frames; at least half of them (tracker dropouts).
    assert len(audit.expected) >= size.crash_runners * size.crash_stream_s * 3 / 2
    assert all(n > 0 for n in consumed_at_kill)  # every kill hit a consuming process
    assert consumer.alive()
    assert recovery <= RECOVERY_BOUND_S


def _wait_consuming(consumer: ServeProcess) -> None:
    consumer.wait_ready()
    wait_for(lambda: consumer.value("barunrun_frames_consumed_total") > 0, 120,
             "the consumer to consume frames")
