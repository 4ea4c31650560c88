"""Load for the soak: many users' frames from a small pool of pre-rendered simulated runners.

Rendering runners costs more CPU than sending them (the simulator makes ~1,000 frames/s on a
busy core), and the soak must send thousands of frames per second beside the consumer. So a
few simulated runners are rendered once, and each user replays one of them from its own
offset, frame numbers counting up without end (the pose loops every ``POOL_FRAMES`` frames).
Dropouts in the pool (NaN rows) are not sent, as a phone sends nothing without a person.

* ``backlog(frames)``: as fast as the broker takes them, timestamps 1/30 s apart from now
  (the capacity run drains this);
* ``flood(stop)``: as fast as possible until ``stop`` (to a decoy topic: the CPU a load
  generator costs, beside a consumer whose capacity is being measured);
* ``run(seconds, stop)``: in real time, one frame per user every 1/30 s of the wall clock,
  catching up late ticks rather than drifting.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from kafka import KafkaProducer

from consumer.frames import encode_frame
from consumer.settings import Settings
from producer_sim.profile import FPS, RunnerProfile
from producer_sim.simulator import SessionSimulator

POOL_RUNNERS = 8
POOL_FRAMES = 300
TICK_MS = 1000 / FPS


def render_pool(seed: int) -> list[np.ndarray]:
    pool = []
    for i in range(POOL_RUNNERS):
        rng = np.random.default_rng([seed, i])
        profile = RunnerProfile.random(rng, f"pool-{i}")
        _, rows = SessionSimulator(profile, (), seed + i).chunk(0, POOL_FRAMES)
        pool.append(rows)
    return pool


class PoseLoad:
    """``users`` users named ``{prefix}-{i}``, each replaying a pool runner (module docs)."""

    def __init__(
        self, settings: Settings, pool: list[np.ndarray], users: int, prefix: str,
        topic: str | None = None,
    ) -> None:
        self._topic = topic or settings.topics.frames
        self._pool = pool
        self._users = [f"{prefix}-{i:04d}" for i in range(users)]
        self._tick = 0
        self._lock = threading.Lock()
        self.acked = 0
        self.failed = 0
        self.attempted = 0
        self._last_sent: dict[int, int] = {}
        self._producer = KafkaProducer(acks="all", linger_ms=10, batch_size=256 * 1024,
                                       max_block_ms=30000, **settings.kafka.client_options())

    @property
    def users(self) -> int:
        return len(self._users)

    @property
    def user_ids(self) -> list[str]:
        return list(self._users)

    def last_frame(self, user: int) -> int:
        """The last frame number sent for user number ``user`` (-1 before any)."""
        return self._last_sent.get(user, -1)

    def _on_ack(self, _meta: object) -> None:
        with self._lock:
            self.acked += 1

    def _on_error(self, _exc: BaseException) -> None:
        with self._lock:
            self.failed += 1

    def _send_tick(self, ts_ms: int) -> None:
        tick = self._tick
        for i, user in enumerate(self._users):
            rows = self._pool[i % len(self._pool)]
            row = rows[(tick + 37 * i) % len(rows)]
            if np.isnan(row).any():
                continue
            value = encode_frame(user, tick, ts_ms, row, session_id="soak")
            future = self._producer.send(self._topic, key=user.encode(), value=value)
            future.add_callback(self._on_ack).add_errback(self._on_error)
            self.attempted += 1
            self._last_sent[i] = tick
        self._tick += 1

    def backlog(self, frames: int) -> int:
        """Send about ``frames`` frames at once, 1/30 s apart in frame time; returns acked."""
        start_ms = time.time_ns() // 1_000_000
        first = self._tick
        while self.attempted < frames:
            self._send_tick(start_ms + round((self._tick - first) * TICK_MS))
        self.flush()
        return self.acked

    def flood(self, stop: threading.Event) -> None:
        """Send as fast as possible until ``stop`` is set."""
        start_ms = time.time_ns() // 1_000_000
        first = self._tick
        while not stop.is_set():
            self._send_tick(start_ms + round((self._tick - first) * TICK_MS))
        self.flush()

    def run(self, seconds: float, stop: threading.Event) -> float:
        """Real time for ``seconds``; returns the achieved send rate (frames/s)."""
        started = time.monotonic()
        sent_before = self.attempted
        ticks = round(seconds * FPS)
        for n in range(ticks):
            if stop.wait(max(0.0, started + n / FPS - time.monotonic())):
                break
            self._send_tick(time.time_ns() // 1_000_000)
        self.flush()
        return (self.attempted - sent_before) / max(1e-9, time.monotonic() - started)

    def flush(self) -> None:
        self._producer.flush(timeout=60)
        deadline = time.monotonic() + 10
        while self.acked + self.failed < self.attempted and time.monotonic() < deadline:
            time.sleep(0.01)  # delivery callbacks run on the producer's thread

    def close(self) -> None:
        self._producer.close(timeout=10)
