"""Frame-to-score latency with runners streaming in real time, as phones do.

``runners`` live runners send one frame each per 30 fps tick (spread over the tick), with the
wall clock at send as ``ts_ms``, to the frames topic a running consumer serves. A reader on
the scores topic notes when each window's score record arrives. A window's latency is that
arrival time minus its last frame's ``ts_ms``: capture clock to a subscriber holding the
result (the producer's linger, the broker, the consumer's poll, decode, windows, scoring,
publish and acks, and one fetch of the subscriber). Score records and anomaly events of a
window are published in the same batch and flushed together, so an event arrives when the
window's score record does. The consumer's own part, ``scored_at_ms - window_end_ts_ms``, is
reported beside it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import orjson
from kafka import KafkaConsumer, TopicPartition

from consumer.bench.frames import BenchFrames, live_value, make_producer
from consumer.settings import Settings
from producer_sim.profile import FPS

LIVE_PREFIX = "live-"
SLOTS_PER_TICK = 4  # runners are spread over the tick: phones are not synchronised
WARMUP_S = 2.0  # windows ending in the first seconds are left out (the first windows fill)


@dataclass(frozen=True)
class LatencyResult:
    runners: int
    offered_fps: float
    sent_fps: float
    windows: int
    expected_windows: int
    e2e_ms: dict[str, float]  # p50 / p95 / p99 / max, ts_ms -> score record received
    consumer_ms: dict[str, float]  # p50 / p95 / p99 / max, ts_ms -> scored (inside serve)


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    values = np.asarray(samples, dtype=np.float64)
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(values.max())}


class _ScoreReader(threading.Thread):
    """Reads the scores topic from its current end; keeps (arrival, end ts, scored at)."""

    def __init__(self, settings: Settings, topic: str) -> None:
        super().__init__(name="bench-score-reader", daemon=True)
        self._consumer = KafkaConsumer(
            enable_auto_commit=False, fetch_max_wait_ms=50, **settings.kafka.client_options()
        )
        partitions = [TopicPartition(topic, p)
                      for p in sorted(self._consumer.partitions_for_topic(topic) or ())]
        self._consumer.assign(partitions)
        self._consumer.seek_to_end()
        for partition in partitions:  # resolve the end now, before the first live frame
            self._consumer.position(partition)
        self.stop = threading.Event()
        self.samples: list[tuple[int, int, int]] = []
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                batches = self._consumer.poll(timeout_ms=20, max_records=5000)
                arrived = time.time_ns() // 1_000_000
                found = []
                for records in batches.values():
                    for record in records:
                        if not record.key or not record.key.startswith(LIVE_PREFIX.encode()):
                            continue
                        score = orjson.loads(record.value)
                        found.append((arrived, score["window_end_ts_ms"], score["scored_at_ms"]))
                with self._lock:
                    self.samples.extend(found)
        finally:
            self._consumer.close(autocommit=False)

    def count(self) -> int:
        with self._lock:
            return len(self.samples)


def measure_latency(
    settings: Settings, frames: BenchFrames, runners: int, seconds: float,
    window_size: int, hop: int, drain_timeout_s: float = 20.0,
) -> LatencyResult:
    """Stream ``runners`` live runners for ``seconds`` to ``settings.topics.frames`` (a
    consumer must be serving it) and time their windows' score records."""
    reader = _ScoreReader(settings, settings.topics.scores)
    reader.start()
    producer = make_producer(settings.kafka.client_options(), settings.kafka.linger_ms)
    ticks = max(window_size, round(seconds * FPS))
    stamp = time.strftime("%H%M%S")
    live = [(f"{LIVE_PREFIX}{j:04d}", f"bench-{stamp}", frames.runners[j % len(frames.runners)])
            for j in range(runners)]
    slots = [live[i::SLOTS_PER_TICK] for i in range(SLOTS_PER_TICK)]
    started_ms = time.time_ns() // 1_000_000
    started = time.monotonic()
    sent = 0
    try:
        for tick in range(ticks):
            for slot, group in enumerate(slots):
                due = started + (tick + slot / SLOTS_PER_TICK) / FPS
                time.sleep(max(0.0, due - time.monotonic()))
                for user_id, session_id, source in group:
                    parts = source.landmarks_json
                    value = live_value(user_id, session_id, tick, time.time_ns() // 1_000_000,
                                       parts[tick % len(parts)])
                    producer.send(settings.topics.frames, key=user_id.encode(), value=value)
                    sent += 1
        producer.flush(timeout=30)
        send_seconds = time.monotonic() - started
    finally:
        producer.close(timeout=10)
    expected = runners * ((ticks - window_size) // hop + 1)
    deadline = time.monotonic() + drain_timeout_s
    while reader.count() < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    reader.stop.set()
    reader.join(10)
    warm_ms = started_ms + min(WARMUP_S, seconds / 3) * 1000
    kept = [s for s in reader.samples if s[1] >= warm_ms]
    return LatencyResult(
        runners=runners,
        offered_fps=runners * FPS,
        sent_fps=sent / max(send_seconds, 1e-9),
        windows=len(reader.samples),
        expected_windows=expected,
        e2e_ms=percentiles([float(arrived - end) for arrived, end, _ in kept]),
        consumer_ms=percentiles([float(scored - end) for _, end, scored in kept]),
    )
