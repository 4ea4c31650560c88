"""The consumer with the gait stage on a real broker and Redis: rule events for simulated
runners carry view, metrics, cues and detectors; the rolling gait state lives in Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from consumer.gait.serving import load_state
from consumer.model.base import ScoreResult
from consumer.serve import app as serve_app
from consumer.serve.app import ConsumerService
from consumer.settings import Settings
from consumer.windows.redis_store import RedisWindowStore, connect_redis
from producer_sim.publish import stream_runners

pytestmark = pytest.mark.integration

FULLY_FAULTY_AFTER = 45  # frames: the fault's ramp


class QuietScorer:
    """Never flags: every event in these tests is the rules'. (No TensorFlow needed.)"""

    version, threshold, window_size = "quiet-1", 1.0, 30

    def score(self, windows: np.ndarray) -> ScoreResult:
        n = len(windows)
        return ScoreResult(np.zeros(n, np.float32), np.ones(n, bool), (None,) * n,
                           np.zeros(n, bool), ((),) * n)


def _read_all(settings: Settings, topic: str) -> list[dict]:
    consumer = KafkaConsumer(enable_auto_commit=False, auto_offset_reset="earliest",
                             **settings.kafka.client_options())
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        consumer.seek_to_beginning()
        out = []
        for batch in consumer.poll(timeout_ms=1000, max_records=100_000).values():
            out.extend(orjson.loads(r.value) for r in batch)
        return out
    finally:
        consumer.close(autocommit=False)


@pytest.fixture
def serving(settings_factory, monkeypatch) -> Iterator[Settings]:
    # Both detectors, as `[detectors] enabled = ["autoencoder", "rules"]` will select.
    monkeypatch.setattr(serve_app, "enabled_detectors", lambda _: ("autoencoder", "rules"))
    settings = settings_factory(partitions=2)
    service = ConsumerService.build(settings, scorer=QuietScorer(), startup_timeout_s=20)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield settings
    finally:
        stop.set()
        thread.join(30)


def test_rule_events_carry_gait_fields_and_the_state_is_in_redis(serving: Settings) -> None:
    summary = stream_runners(serving, runners=4, duration_s=12, fault_rate=0.5,
                             realtime=False, seed=23, faults=("trunk_lean",),
                             user_prefix="gait")
    runners = {r.user_id: r for r in summary.runners}
    faulty = {u for u, r in runners.items() if r.fault}
    assert faulty
    deadline = time.monotonic() + 90
    events: list[dict] = []
    while time.monotonic() < deadline:
        scores = _read_all(serving, serving.topics.scores)
        events = _read_all(serving, serving.topics.anomalies)
        if len(scores) >= 4 * 30 and {e["user_id"] for e in events} >= faulty:
            break
        time.sleep(0.5)
    late = [e for e in events if e["user_id"] in faulty
            and e["window_start_frame"] >= runners[e["user_id"]].onset_frame + FULLY_FAULTY_AFTER]
    assert late, events
    for event in late:
        assert event["detectors"] == ["rules"]
        assert event["view"] in ("side", "oblique")
        assert {"cadence_spm", "trunk_lean_deg"} <= set(event["metrics"])
        assert {"id", "text", "severity"} <= set(event["cues"][0])
    assert np.mean(["trunk_lean" in [c["id"] for c in e["cues"]] for e in late]) > 0.8
    normal_events = [e for e in events if e["user_id"] not in faulty]
    assert len(normal_events) <= 0.1 * len(scores)

    store = RedisWindowStore(connect_redis(serving.redis), serving.redis.key_prefix,
                             serving.window.idle_ttl_s)
    user = sorted(faulty)[0]
    loaded = store.load([(user, runners[user].session_id)])
    state = load_state(next(iter(loaded.values())).extra)
    assert state is not None and 140 < state.cadence_spm() < 200
