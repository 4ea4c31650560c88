"""Events back to the sockets: one Kafka consumer per gateway process, routed by key.

``EventFeed`` reads the event topics (``pose.anomalies``, and ``pose.alerts`` once it exists)
from their latest offsets with manual assignment: no consumer group, so every gateway process
sees every event and keeps those of the users connected to it; never a consumer per socket.
``Subscribers`` routes one event to the open sessions of the user the record is keyed by, and
only when the event's own ``user_id`` agrees with the key: a user hears only their own events.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from consumer.gateway import protocol
from consumer.gateway.outbox import Outbox

log = logging.getLogger(__name__)

RoutedEvent = tuple[str, str, Any]  # (event type, user_id, parsed event)
_ERROR_BACKOFF_S = 1.0


class Subscribers:
    """user_id -> {outbox: event types it wants}; used on the event loop only."""

    def __init__(self) -> None:
        self._by_user: dict[str, dict[Outbox, frozenset[str]]] = {}

    def add(self, user_id: str, outbox: Outbox, kinds: Iterable[str]) -> None:
        self._by_user.setdefault(user_id, {})[outbox] = frozenset(kinds)

    def remove(self, user_id: str, outbox: Outbox) -> None:
        boxes = self._by_user.get(user_id)
        if boxes is None:
            return
        boxes.pop(outbox, None)
        if not boxes:
            del self._by_user[user_id]

    def wanted(self, user_id: str, kind: str) -> list[Outbox]:
        return [box for box, kinds in self._by_user.get(user_id, {}).items() if kind in kinds]

    def users(self) -> int:
        return len(self._by_user)

    def deliver(self, user_id: str, kind: str, payload: Any) -> tuple[int, int]:
        """Queue one event for the user's sessions that want its type (serialized only when
        some do): (sessions reached, older events dropped to make room)."""
        boxes = self.wanted(user_id, kind)
        if not boxes:
            return 0, 0
        message = protocol.event(kind, payload)
        dropped = sum(not box.event(message) for box in boxes)
        return len(boxes), dropped


def route(kind: str, key: bytes | None, value: bytes | None) -> RoutedEvent | None:
    """The routed event of one record, or None when it cannot be attributed safely."""
    if not key or value is None:
        return None
    try:
        user_id = key.decode()
        payload = orjson.loads(value)
    except (UnicodeDecodeError, orjson.JSONDecodeError):
        return None
    if type(payload) is not dict or payload.get("user_id") != user_id:
        return None
    return kind, user_id, payload


def connect_event_consumer(options: Mapping[str, Any]) -> KafkaConsumer:
    return KafkaConsumer(
        enable_auto_commit=False, auto_offset_reset="latest", group_id=None, **options
    )


class EventFeed:
    """The event topics' records, read on a thread, handed to the loop in batches."""

    def __init__(
        self, consumer: KafkaConsumer, topics: Mapping[str, str], recheck_s: float,
    ) -> None:
        self._consumer = consumer
        self._topics = dict(topics)  # topic -> event type
        self._recheck_s = recheck_s
        self._assigned: set[TopicPartition] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway-events", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handler: Callable[[list[RoutedEvent]], None] | None = None
        self.unattributed = 0

    def assign_existing(self) -> list[str]:
        """Assign every partition of the topics that exist, at their end; the missing ones."""
        missing: list[str] = []
        partitions: set[TopicPartition] = set()
        for topic in self._topics:
            found = self._consumer.partitions_for_topic(topic)
            if found:
                partitions.update(TopicPartition(topic, p) for p in found)
            else:
                missing.append(topic)
        new = partitions - self._assigned
        if new:
            self._consumer.assign(sorted(partitions))
            self._consumer.seek_to_end(*sorted(new))
            self._assigned = partitions
            log.info("event topics assigned partitions=%d", len(partitions))
        return missing

    def start(
        self, loop: asyncio.AbstractEventLoop, handler: Callable[[list[RoutedEvent]], None]
    ) -> None:
        self._loop = loop
        self._handler = handler
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        try:
            self._consumer.close(autocommit=False)
        except KafkaError as exc:
            log.warning("event consumer close failed error=%s", exc)

    def _run(self) -> None:
        next_check = time.monotonic() + self._recheck_s
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self._recheck_s
                    self.assign_existing()
                if not self._assigned:
                    self._stop.wait(min(self._recheck_s, 1.0))
                    continue
                polled = self._consumer.poll(timeout_ms=200)
            except KafkaError as exc:
                log.warning("event topics unreadable, retrying error=%s", exc)
                self._stop.wait(_ERROR_BACKOFF_S)
                continue
            batch: list[RoutedEvent] = []
            for tp, records in polled.items():
                kind = self._topics[tp.topic]
                for record in records:
                    routed = route(kind, record.key, record.value)
                    if routed is None:
                        self.unattributed += 1
                        continue
                    batch.append(routed)
            if batch and self._loop is not None and self._handler is not None:
                try:
                    self._loop.call_soon_threadsafe(self._handler, batch)
                except RuntimeError:  # the loop closed at shutdown
                    return
