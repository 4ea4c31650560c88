"""Scenario 3: Redis stalls (SIGSTOP, then SIGCONT), and separately Redis restarts empty.

Each test runs its own password-protected redis-server (``requirepass``: credentials exercised
end to end, the password handed over by environment in one test and by file in the other, and
never shown in the consumer's log, /metrics or health answers).

* Stall: the consumer must not crash or drop frames: it reports not-ready, backs off, and after
  SIGCONT scores every window the frames imply; no window state is lost.
* Restart: window states are gone. Every runner's windows must be those of the rules started
  afresh once, at one frame after the restart (nothing else missing, nothing invented), and the
  consumer counts it in ``barunrun_window_restarts_total{reason="state_lost"}``. A runner
  whose frames were in a batch between its state load and save when Redis went down keeps its
  state (the retried save writes it to the new server), so two "sleeper" runners make the loss
  certain: they pause before the restart, once their state is in Redis, and resume after it
  (the gap limit is raised so that the pause alone would not restart their windows).
"""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest
import redis

from consumer.windows.codec import decode_state
from consumer.windows.redis_store import state_key
from tests.support.reliability.audit import collect, explain_restarts
from tests.support.reliability.load import PoseLoad, render_pool
from tests.support.reliability.sizes import suite_size
from tests.support.reliability.streams import BackgroundStream, now_ms
from tests.support.serving import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(suite_size().seconds_budget)]

SECRET = "rel-redis-pw-7f3c9a1e"  # test-only; looked for in everything the consumer exposes
CONSUMED = "barunrun_frames_consumed_total"
RESTARTS = "barunrun_window_restarts_total"
RECOVERY_BOUND_S = 60.0
RESTART_DOWNTIME_S = 3.0
SLEEPERS = 2
SLEEPER_RUN_S = 4.0
SLEEPER_GAP_LIMIT_MS = 120_000  # a sleeper's pause must not restart its window by itself


def test_a_redis_stall_mid_stream_loses_nothing(
    settings_factory, model_dir, serve_process, own_redis, scenario, size
) -> None:
    result = scenario("redis_stall", f"Redis SIGSTOP {size.stall_s:.0f} s mid-stream, "
                                     f"{size.stall_runners} runners")
    server = own_redis(password=SECRET)
    settings = settings_factory(partitions=2, redis={"url": server.url, "socket_timeout_s": 1})
    consumer = serve_process(settings, model_dir, "redis-stall",
                             {"BARUNRUN_REDIS_PASSWORD": SECRET}).start().wait_ready()
    stream = BackgroundStream(settings, runners=size.stall_runners,
                              duration_s=size.stall_stream_s, seed=41, user_prefix="rstall").start()
    wait_for(lambda: consumer.value(CONSUMED) > 0, 120, "frames flowing")
    wait_for(lambda: now_ms() >= stream.started_ms + size.stall_stream_s * 250, 60,
             "a quarter of the stream")

    server.proc.signal(signal.SIGSTOP)
    try:
        wait_for(lambda: consumer.get("/readyz")[0] == 503, 30, "not ready while Redis stalls")
        readiness = json.loads(consumer.get("/readyz")[1])
        assert readiness["dependencies"]["redis"] is False and readiness["live"] is True
        time.sleep(size.stall_s)  # the fault itself: Redis stays stopped this long
    finally:
        server.proc.signal(signal.SIGCONT)
    resumed_ms = now_ms()

    summary = stream.join()
    result.messages_sent = summary.frames_sent
    audit = collect(settings, summary.frames_sent)
    audit.fill(result)
    result.recovery_s = round(audit.catch_up_s(resumed_ms), 1)
    wait_for(lambda: consumer.get("/readyz")[0] == 200, 30, "ready again")
    failures = consumer.value("barunrun_dependency_failures_total", dependency="redis")
    result.extra.update(redis_failures_retried=failures,
                        state_lost=consumer.value(RESTARTS, reason="state_lost"))

    assert audit.problems() == []
    assert consumer.alive() and failures >= 1
    assert consumer.value(CONSUMED) >= summary.frames_sent  # nothing dropped
    assert consumer.value(RESTARTS, reason="state_lost") == 0
    assert result.recovery_s <= RECOVERY_BOUND_S
    assert SECRET not in consumer.exposed_text()


def test_a_redis_restart_restarts_windows_cleanly_and_counts_it(
    settings_factory, model_dir, serve_process, own_redis, scenario, size, tmp_path
) -> None:
    result = scenario("redis_restart", f"Redis restarted empty mid-stream "
                                       f"({RESTART_DOWNTIME_S:.0f} s down), "
                                       f"{size.stall_runners} runners + {SLEEPERS} sleepers")
    server = own_redis(password=SECRET)
    secret_file = tmp_path / "redis-password"
    secret_file.write_text(SECRET + "\n")
    settings = settings_factory(partitions=2, redis={"url": server.url, "socket_timeout_s": 1},
                                window={"max_gap_ms": SLEEPER_GAP_LIMIT_MS})
    consumer = serve_process(settings, model_dir, "redis-restart",
                             {"BARUNRUN_REDIS_PASSWORD_FILE": str(secret_file)}
                             ).start().wait_ready()
    stream = BackgroundStream(settings, runners=size.stall_runners,
                              duration_s=size.stall_stream_s, seed=43, user_prefix="rrst").start()
    sleepers = PoseLoad(settings, render_pool(seed=43), SLEEPERS, "sleeper")
    try:
        sleepers.run(SLEEPER_RUN_S, threading.Event())
        wait_for(lambda: all(_kept(server, settings, user) >= sleepers.last_frame(i)
                             for i, user in enumerate(sleepers.user_ids)), 60,
                 "the sleepers' states saved")
        server.proc.stop()  # window states, scripts and connections gone
        time.sleep(RESTART_DOWNTIME_S)  # the fault itself: Redis stays down this long
        own_redis(password=SECRET, port=server.port)  # a new, empty server on the same port
        restarted_ms = now_ms()
        sleepers.run(SLEEPER_RUN_S, threading.Event())
    finally:
        sleepers.close()
    summary = stream.join()
    sent = summary.frames_sent + sleepers.acked
    result.messages_sent = sent
    audit = collect(settings, sent)
    unexplained = explain_restarts(audit)
    audit.fill(result)
    result.recovery_s = round(audit.catch_up_s(restarted_ms), 1)
    state_lost = consumer.value(RESTARTS, reason="state_lost")
    result.extra.update(state_lost_counted=state_lost,
                        redis_failures_retried=consumer.value(
                            "barunrun_dependency_failures_total", dependency="redis"))

    assert unexplained == []
    assert audit.problems() == []
    # The sleepers lost their states for sure; any runner that did restarted cleanly, once,
    # and every loss was counted.
    assert {(user, "soak") for user in sleepers.user_ids} <= set(audit.restarts)
    assert len(audit.restarts) <= state_lost <= size.stall_runners + SLEEPERS
    assert consumer.alive()
    assert consumer.value(CONSUMED) >= sent
    assert result.recovery_s <= RECOVERY_BOUND_S
    assert SECRET not in consumer.exposed_text()


def _kept(server, settings, user: str) -> int:
    """The last frame number of a user's window state in Redis (-1 when absent)."""
    client = redis.Redis.from_url(server.url, password=SECRET)
    try:
        value = client.get(state_key(settings.redis.key_prefix, (user, "soak")))
    finally:
        client.close()
    return -1 if value is None else decode_state(value).window.last_frame
