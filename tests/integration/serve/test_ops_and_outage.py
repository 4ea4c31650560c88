"""The HTTP endpoints of a running consumer, and a Redis stall in the middle of a stream.

While Redis is stopped (SIGSTOP) the consumer must not crash or drop frames: it pauses,
reports not-ready, backs off, and after SIGCONT scores every window the frames imply.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.error
import urllib.request

import pytest

from consumer.stack import EmbeddedRedis, free_port
from producer_sim.publish import StreamSummary, stream_runners

pytestmark = pytest.mark.integration


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture
def own_redis(tmp_path):
    server = EmbeddedRedis(free_port(), tmp_path)
    server.start()
    yield server
    server.proc.stop()


def test_endpoints_and_a_redis_stall_mid_stream(
    own_redis, settings_factory, consumers, all_windows_scored, serve_kit
) -> None:
    settings = settings_factory(partitions=2, redis={"url": own_redis.url, "socket_timeout_s": 1})
    running = consumers(settings)
    port = running.service.port
    assert get(port, "/healthz")[0] == 200
    serve_kit.wait_for(lambda: get(port, "/readyz")[0] == 200, 30, "ready")
    status, body = get(port, "/metrics")
    assert status == 200
    for name in (b"barunrun_frames_consumed_total", b"barunrun_model_info{version=",
                 b"barunrun_active_users", b"barunrun_frame_to_event_seconds_bucket"):
        assert name in body

    summaries: list[StreamSummary] = []
    streamer = threading.Thread(target=lambda: summaries.append(stream_runners(
        settings, runners=4, duration_s=12, fault_rate=0.0, realtime=True, seed=41,
        user_prefix="stall",
    )), daemon=True)
    streamer.start()
    consumed = "barunrun_frames_consumed_total"
    serve_kit.wait_for(lambda: running.value(consumed) > 100, 30, "frames flowing")

    own_redis.proc.signal(signal.SIGSTOP)
    try:
        serve_kit.wait_for(lambda: get(port, "/readyz")[0] == 503, 30, "not ready")
        detail = json.loads(get(port, "/readyz")[1])
        assert detail["dependencies"]["redis"] is False and detail["live"] is True
        time.sleep(3)  # the stall lasts several backoff steps while frames pile up
    finally:
        own_redis.proc.signal(signal.SIGCONT)

    streamer.join(60)
    assert summaries
    all_windows_scored(settings, summaries[0].frames_sent)
    serve_kit.wait_for(lambda: get(port, "/readyz")[0] == 200, 30, "ready again")
    assert running.value("barunrun_dependency_failures_total", {"dependency": "redis"}) >= 1
    assert running.value(consumed) >= summaries[0].frames_sent
    assert not running.errors and running.thread.is_alive()
