"""Reading ``topics.alerts`` for the example subscribers (``barunrun alerts tail|webhook``).

``connect_alert_consumer`` joins a consumer group (manual commits) or, without one, assigns
every partition and starts at the end (or the beginning); ``RebalanceFlag`` tells a
subscriber busy retrying one record that its partitions moved on.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError

from consumer.errors import BrokerUnavailable, ConfigError
from consumer.settings import Settings

log = logging.getLogger(__name__)

START_AT = ("latest", "earliest")


class RebalanceFlag(ConsumerRebalanceListener):
    """Set when partitions are revoked or lost (kafka-python calls it on its IO thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._moved = False

    def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            with self._lock:
                self._moved = True

    def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("alert partitions assigned partitions=%s",
                 sorted(tp.partition for tp in assigned))

    def on_partitions_lost(self, lost: Any) -> None:
        with self._lock:
            self._moved = True

    def take(self) -> bool:
        with self._lock:
            moved, self._moved = self._moved, False
        return moved


def connect_alert_consumer(
    settings: Settings, *, group_id: str | None, start: str = "latest",
    listener: RebalanceFlag | None = None, timeout_s: float = 15.0,
) -> KafkaConsumer:
    """A consumer of the alerts topic; raises BrokerUnavailable / ConfigError in one line."""
    k, topic = settings.kafka, settings.topics.alerts
    try:
        consumer = KafkaConsumer(
            group_id=group_id, enable_auto_commit=False, auto_offset_reset=start,
            session_timeout_ms=k.session_timeout_ms,
            heartbeat_interval_ms=k.heartbeat_interval_ms,
            max_poll_interval_ms=k.max_poll_interval_ms,
            bootstrap_timeout_ms=int(timeout_s * 1000), **k.client_options(),
        )
    except KafkaError as exc:
        raise BrokerUnavailable(
            f"kafka at {k.bootstrap} did not answer within {timeout_s:g} s ({exc})") from exc
    try:
        partitions = _partitions(consumer, topic, timeout_s)
        if group_id is not None:
            consumer.subscribe([topic], listener=listener or RebalanceFlag())
        else:
            assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(assigned)
            (consumer.seek_to_end if start == "latest" else consumer.seek_to_beginning)(
                *assigned)
    except BaseException:
        consumer.close(autocommit=False)
        raise
    return consumer


def _partitions(consumer: KafkaConsumer, topic: str, timeout_s: float) -> set[int]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            found = consumer.partitions_for_topic(topic)
        except KafkaError as exc:
            raise BrokerUnavailable(f"kafka did not list topic {topic}: {exc}") from exc
        if found:
            return set(found)
        if time.monotonic() >= deadline:
            raise ConfigError(f"topic {topic} does not exist (the deployment's topic job "
                              "or `barunrun dev` creates it)")
        time.sleep(0.5)
