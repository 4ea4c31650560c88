"""A broker stalled with SIGSTOP: clients are told to back off (WebSocket ``slow_down``,
HTTP 503 + Retry-After, /readyz 503), and after SIGCONT every frame the gateway acked is on
``pose.frames`` byte for byte as the client sent it.

The broker is this test's own (stalling the session's shared broker would stall other tests).
"""

from __future__ import annotations

import signal
import time
from collections import Counter

import httpx
import numpy as np
import orjson
import pytest

from consumer.frames import encode_frame
from consumer.stack import EmbeddedBroker, create_topics, free_port

pytestmark = pytest.mark.integration

FRAMES = 900
RATE = 100  # frames/s the client streams at (a phone catching up after a tunnel)


@pytest.fixture
def own_broker(tmp_path):
    broker = EmbeddedBroker(free_port(), tmp_path)
    broker.start()
    yield broker
    broker.proc.signal(signal.SIGCONT)
    broker.proc.stop()


def test_stalled_broker_makes_clients_back_off_and_loses_nothing_acked(
    settings_factory, own_broker, gateway, open_client, kit
) -> None:
    settings = settings_factory(partitions=2).with_overrides(
        kafka={"bootstrap": own_broker.bootstrap, "request_timeout_ms": 3000}
    )
    t = settings.topics
    create_topics(own_broker.bootstrap, [t.frames, t.anomalies], 2)
    server = gateway(settings, broker_stall_ms=1000, retry_after_ms=500,
                     rate_frames_per_s=1000, rate_burst_frames=1000)
    user = "stall-runner"
    client = open_client(server, kit.token_for(server, user))
    start_ms = int(time.time() * 1000) - FRAMES * 33
    rng = np.random.default_rng(5)
    for n in range(FRAMES):
        row = rng.uniform(0.05, 0.95, 132).astype(np.float32)
        client.enqueue(n, encode_frame(user, n, start_ms + n * 33, row, "s-stall").decode())

    client.pump(RATE, max_s=30, until=lambda c: len(c.acked) >= 150)
    assert len(client.acked) >= 150

    own_broker.proc.signal(signal.SIGSTOP)
    try:
        client.pump(RATE, max_s=30, until=lambda c: any(
            m["reason"] == "broker_unavailable" for m in c.slow_downs))
        backoff = [m for m in client.slow_downs if m["reason"] == "broker_unavailable"]
        assert backoff, "no slow_down while the broker was stalled"
        assert all(m["retry_after_ms"] == 500 and m["refused"] for m in backoff)
        acked_during_stall = len(client.acked)

        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 503 and ready.headers["Retry-After"] == "1"
        batch = orjson.dumps([orjson.loads(encode_frame(
            "stall-http", 1, int(time.time() * 1000), np.full(132, 0.5, dtype=np.float32)))])
        headers = {"Authorization": f"Bearer {kit.token_for(server, 'stall-http')}"}
        refused = httpx.post(f"{server.url}/v1/frames", content=batch, headers=headers)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        assert refused.json()["error"] == "broker_unavailable"
        # Longer than the producer's request timeout (3 s): its requests time out and are
        # retried, which must neither lose nor duplicate frames.
        client.pump(RATE, max_s=5, until=lambda c: False)
    finally:
        own_broker.proc.signal(signal.SIGCONT)

    client.pump(RATE, max_s=120)  # resends what was refused, streams the rest
    assert client.acked == set(range(FRAMES)), f"{FRAMES - len(client.acked)} never acked"
    assert len(client.acked) > acked_during_stall

    records = kit.read_topic(settings, t.frames, FRAMES, timeout_s=60)
    by_frame: dict[int, list[bytes]] = {}
    for record in records:
        assert record.key == user.encode()
        by_frame.setdefault(orjson.loads(record.value)["frame"], []).append(record.value)
    assert set(by_frame) == client.acked
    for n, values in by_frame.items():
        assert all(v == client.sent(n).encode() for v in values), f"frame {n} altered"
    duplicates = Counter({n: len(v) - 1 for n, v in by_frame.items() if len(v) > 1})
    print(f"\n[stall] frames={FRAMES} slow_downs={len(client.slow_downs)} "
          f"refused={sum(len(m['refused']) for m in client.slow_downs)} "
          f"duplicates={sum(duplicates.values())}")
