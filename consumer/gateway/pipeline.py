"""The bounded produce buffer between the sockets and the one Kafka producer of the process.

The event loop accepts frames into the buffer only while it has room; a producer thread hands
them to kafka-python (whose ``send`` may block, never on the loop), and the broker's
acknowledgements come back to the loop in batches, to the owner of each frame (a WebSocket
session or an HTTP batch), which acknowledges them to the client.

Invariants:

* memory is bounded: at most ``capacity`` frames are accepted and not yet acknowledged;
* a frame is acknowledged to its owner only after the broker acknowledged it (acks=all);
* an accepted frame is never dropped: kafka-python retries it (idempotently, in order) for up
  to ``delivery_timeout_ms``, and if it still fails its owner is told, so the client resends.

Every method except the producer thread's is called on the event loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError

from consumer.errors import BrokerUnavailable
from consumer.gateway.metrics import GatewayMetrics
from consumer.settings import Settings

log = logging.getLogger(__name__)

BUFFER_FULL = "buffer_full"
BROKER_UNAVAILABLE = "broker_unavailable"
# Larger batches than kafka-python's 16 KiB: a busy gateway sends tens of frames of ~2 KB per
# partition per linger; fewer, larger requests cost less CPU on both sides.
BATCH_SIZE_BYTES = 131072


class Producer(Protocol):
    def send(self, topic: str, value: bytes, key: bytes) -> Any: ...

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


class PendingFrame:
    """One accepted frame on its way to the broker."""

    __slots__ = ("done", "frame", "key", "on_done", "submitted", "value")

    def __init__(
        self, frame: int, key: bytes, value: bytes,
        on_done: Callable[[PendingFrame, BaseException | None], None],
    ) -> None:
        self.frame = frame
        self.key = key
        self.value = value
        self.on_done = on_done
        self.submitted = 0.0
        self.done = False


def connect_producer(settings: Settings, startup_timeout_s: float) -> KafkaProducer:
    k = settings.kafka
    try:
        return KafkaProducer(
            acks="all" if k.acks == "all" else int(k.acks),
            enable_idempotence=k.acks == "all",  # retries keep order and add no duplicates
            linger_ms=settings.gateway.linger_ms,
            batch_size=BATCH_SIZE_BYTES,
            max_block_ms=k.request_timeout_ms,
            delivery_timeout_ms=max(
                settings.gateway.delivery_timeout_ms,
                k.request_timeout_ms + settings.gateway.linger_ms,
            ),
            bootstrap_timeout_ms=int(startup_timeout_s * 1000),
            allow_auto_create_topics=False,
            **{**k.client_options(), "client_id": f"{k.client_id}-gateway"},
        )
    except KafkaError as exc:
        raise BrokerUnavailable(
            f"kafka at {k.bootstrap} did not answer within {startup_timeout_s:g} s ({exc})"
        ) from exc


class ProducePipeline:
    def __init__(
        self, producer: Producer, topic: str, capacity: int, stall_after_s: float,
        metrics: GatewayMetrics, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._capacity = capacity
        self._stall_after_s = stall_after_s
        self._metrics = metrics
        self._clock = clock
        self._in_flight = 0
        self._order: deque[PendingFrame] = deque()  # submission order, for the oldest's age
        self._outgoing: deque[PendingFrame] = deque()  # loop -> producer thread
        self._wake = threading.Event()
        self._finished: list[tuple[PendingFrame, BaseException | None]] = []
        self._finished_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._send_forever, name="gateway-producer",
                                        daemon=True)
        metrics.watch_buffer(lambda: self._in_flight, capacity)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def capacity(self) -> int:
        return self._capacity

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread.start()

    def refusal(self, frames: int = 1) -> str | None:
        """Why ``frames`` more cannot be accepted now (None: they can)."""
        if self._order and self._clock() - self._order[0].submitted > self._stall_after_s:
            self._metrics.broker_up.set(0)
            return BROKER_UNAVAILABLE
        if self._in_flight + frames > self._capacity:
            return BUFFER_FULL
        return None

    def submit(self, frame: PendingFrame) -> None:
        """Accept one frame (the caller checked ``refusal`` first)."""
        frame.submitted = self._clock()
        self._in_flight += 1
        self._order.append(frame)
        self._outgoing.append(frame)
        self._wake.set()

    def close(self, timeout_s: float) -> None:
        """Deliver what was accepted (bounded by ``timeout_s``), then stop the producer."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaError as exc:
            log.warning("producer flush at shutdown failed error=%s", exc)
        left = self._in_flight - len(self._finished)
        if left > 0:
            log.warning("stopping with frames unacknowledged frames=%d (clients resend)", left)
        self._producer.close(timeout=5)

    def alive(self) -> bool:
        return self._thread.is_alive()

    # --- producer thread -------------------------------------------------------------------

    def _send_forever(self) -> None:
        while not self._stopping.is_set() or self._outgoing:
            self._wake.wait(0.5)
            self._wake.clear()
            while self._outgoing:
                frame = self._outgoing.popleft()
                try:
                    future = self._producer.send(self._topic, value=frame.value, key=frame.key)
                except KafkaError as exc:  # metadata or buffer wait timed out
                    self._finish(frame, exc)
                    continue
                future.add_callback(self._acked, frame).add_errback(self._failed, frame)

    def _acked(self, frame: PendingFrame, _metadata: object) -> None:
        self._finish(frame, None)

    def _failed(self, frame: PendingFrame, exc: BaseException) -> None:
        self._finish(frame, exc)

    def _finish(self, frame: PendingFrame, error: BaseException | None) -> None:
        # Called on kafka-python's IO thread: one loop wake-up per burst of acks.
        with self._finished_lock:
            self._finished.append((frame, error))
            first = len(self._finished) == 1
        if first and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed at shutdown
                self._loop.call_soon_threadsafe(self._drain)

    # --- back on the loop ------------------------------------------------------------------

    def _drain(self) -> None:
        with self._finished_lock:
            finished, self._finished = self._finished, []
        now = self._clock()
        acked = failed = 0
        for frame, error in finished:
            self._in_flight -= 1
            frame.done = True
            if error is None:
                acked += 1
                self._metrics.produce_seconds.observe(now - frame.submitted)
            else:
                failed += 1
                log.warning("frame not delivered frame=%d error=%s", frame.frame, error)
            try:
                frame.on_done(frame, error)
            except Exception:  # one owner's bug must not stop the acks of the others
                log.exception("ack callback failed")
        while self._order and self._order[0].done:
            self._order.popleft()
        if acked:
            self._metrics.frames_acked.inc(acked)
            self._metrics.broker_up.set(1)
        if failed:
            self._metrics.delivery_failures.inc(failed)
