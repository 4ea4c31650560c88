"""The benchmark's frames: simulated runners rendered once, encoded once, produced once.

Every variant reads these same messages. Timestamps are frame time (30 fps) ending a little
before now, so the consumer's age and gap rules accept them as a real backlog; the live
(latency) stream reuses the same landmarks with the wall clock as ``ts_ms``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from kafka import KafkaProducer

from consumer.frames import encode_frame
from producer_sim.profile import FPS
from producer_sim.publish import plan_simulated

# Frame time of the backlog ends this long before "now": well inside max_age_ms, never future.
BACKLOG_END_AGO_MS = 5_000
_LANDMARKS_FIELD = b'"landmarks":'


@dataclass(frozen=True)
class RunnerFrames:
    user_id: str
    session_id: str
    frames: np.ndarray  # (m,) frame numbers actually sent (tracker dropouts are not)
    landmarks_json: tuple[bytes, ...]  # per sent frame: the encoded landmarks value


@dataclass(frozen=True)
class BenchFrames:
    """The messages (key, value) in send order, tick by tick, and each runner's frames."""

    messages: list[tuple[bytes, bytes]]
    runners: list[RunnerFrames]
    seconds: float

    @property
    def total(self) -> int:
        return len(self.messages)

    @property
    def mean_bytes(self) -> float:
        return float(np.mean([len(v) for _, v in self.messages])) if self.messages else 0.0


def simulate(runners: int, seconds: float, seed: int = 1, fault_rate: float = 0.34) -> BenchFrames:
    """Render ``runners`` simulated runners for ``seconds`` of 30 fps frames (a third faulty,
    as in the demo), interleaved tick by tick as phones would send them."""
    ticks = max(1, round(seconds * FPS))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    planned = plan_simulated(runners, ticks, fault_rate, seed, None, "bench", stamp)
    start_ms = time.time_ns() // 1_000_000 - BACKLOG_END_AGO_MS - round(ticks * 1000 / FPS)
    messages: list[tuple[bytes, bytes]] = []
    sent: list[tuple[list[int], list[bytes]]] = [([], []) for _ in planned]
    for tick in range(ticks):
        ts_ms = start_ms + round(tick * 1000 / FPS)
        for (record, source), (frames, parts) in zip(planned, sent, strict=True):
            row = source.frame(tick)
            if row is None:
                continue
            frame, landmarks = row
            value = encode_frame(record.user_id, frame, ts_ms, landmarks,
                                 session_id=record.session_id)
            messages.append((record.user_id.encode(), value))
            frames.append(frame)
            parts.append(value[value.index(_LANDMARKS_FIELD) + len(_LANDMARKS_FIELD):-1])
    runner_frames = [
        RunnerFrames(record.user_id, record.session_id, np.asarray(frames, dtype=np.int64),
                     tuple(parts))
        for (record, _), (frames, parts) in zip(planned, sent, strict=True)
    ]
    return BenchFrames(messages, runner_frames, ticks / FPS)


def live_value(user_id: str, session_id: str, frame: int, ts_ms: int, landmarks: bytes) -> bytes:
    """A frame message with the landmarks already encoded (what ``encode_frame`` writes):
    the live stream pays a few bytes of formatting per frame, not a JSON encode."""
    head = (f'{{"schema":1,"user_id":"{user_id}","session_id":"{session_id}",'
            f'"frame":{frame},"ts_ms":{ts_ms},"landmarks":')
    return head.encode() + landmarks + b"}"


def make_producer(client_options: dict[str, object], linger_ms: int) -> KafkaProducer:
    return KafkaProducer(
        acks="all", linger_ms=linger_ms, batch_size=256 * 1024, max_block_ms=30000,
        **client_options,
    )


def produce(
    client_options: dict[str, object], topic: str, messages: list[tuple[bytes, bytes]],
    on_progress: Callable[[int], None] | None = None,
) -> float:
    """Send every message (acks=all) and wait for them; returns messages per second."""
    producer = make_producer(client_options, linger_ms=20)
    started = time.perf_counter()
    try:
        for i, (key, value) in enumerate(messages, 1):
            producer.send(topic, key=key, value=value)
            if on_progress is not None and i % 10000 == 0:
                on_progress(i)
        producer.flush(timeout=120)
    finally:
        producer.close(timeout=10)
    return len(messages) / max(time.perf_counter() - started, 1e-9)


def sample_windows(frames: BenchFrames, size: int, hop: int, limit: int) -> np.ndarray:
    """Up to ``limit`` real (N, size, 132) windows of the benchmark's runners, at ``hop``."""
    import orjson  # noqa: PLC0415 - only the scoring step needs the values back

    windows: list[np.ndarray] = []
    for runner in frames.runners:
        if len(runner.landmarks_json) < size:
            continue
        values = np.array([orjson.loads(part) for part in runner.landmarks_json],
                          dtype=np.float32).reshape(len(runner.landmarks_json), -1)
        for end in range(size, len(values) + 1, hop):
            windows.append(values[end - size:end])
            if len(windows) >= limit:
                return np.stack(windows)
    if not windows:
        raise ValueError(f"no runner has {size} frames: simulate more seconds")
    return np.stack(windows)
