"""A group consumer over some topics, for the archiver and the label ingester.

Small on purpose: poll, the current assignment, seek, commit, and the partitions revoked since
the last look. kafka-python 3 runs rebalance listeners on its IO thread, so the listener only
notes what was revoked; the loop acts on it on its own thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from consumer.archive.records import KafkaRecord
from consumer.errors import BrokerUnavailable, ConfigError
from consumer.settings import Settings

log = logging.getLogger(__name__)

TopicPart = tuple[str, int]


class RecordSource(Protocol):
    """What the archive and ingest loops need from Kafka (a fake one in unit tests)."""

    def poll(self, timeout_ms: int, max_records: int) -> list[KafkaRecord]: ...
    def assignment(self) -> set[TopicPart]: ...
    def seek(self, where: TopicPart, offset: int) -> None: ...
    def commit(self, next_offsets: dict[TopicPart, int]) -> None: ...
    def revoked(self) -> set[TopicPart]: ...
    def close(self) -> None: ...


class _RevokedNotes(ConsumerRebalanceListener):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revoked: set[TopicPart] = set()

    def on_partitions_revoked(self, revoked: Any) -> None:
        with self._lock:
            self._revoked.update((tp.topic, tp.partition) for tp in revoked)

    def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("partitions assigned %s", sorted((tp.topic, tp.partition) for tp in assigned))

    def on_partitions_lost(self, lost: Any) -> None:
        self.on_partitions_revoked(lost)

    def take(self) -> set[TopicPart]:
        with self._lock:
            revoked, self._revoked = self._revoked, set()
        return revoked


class KafkaTopicsSource:
    """``RecordSource`` over kafka-python, manual commits, starting at the earliest offset."""

    def __init__(self, consumer: KafkaConsumer, topics: Sequence[str]) -> None:
        self._consumer = consumer
        self._notes = _RevokedNotes()
        consumer.subscribe(list(topics), listener=self._notes)

    @classmethod
    def connect(
        cls, settings: Settings, group_id: str, topics: Sequence[str], startup_timeout_s: float
    ) -> KafkaTopicsSource:
        k = settings.kafka
        try:
            consumer = KafkaConsumer(
                group_id=group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=k.max_poll_records,
                session_timeout_ms=k.session_timeout_ms,
                heartbeat_interval_ms=k.heartbeat_interval_ms,
                max_poll_interval_ms=k.max_poll_interval_ms,
                fetch_max_bytes=k.fetch_max_bytes,
                bootstrap_timeout_ms=int(startup_timeout_s * 1000),
                **k.client_options(),
            )
        except KafkaError as exc:
            raise BrokerUnavailable(
                f"kafka at {k.bootstrap} did not answer within {startup_timeout_s:g} s ({exc})"
            ) from exc
        try:
            missing = [t for t in topics if not consumer.partitions_for_topic(t)]
        except KafkaError as exc:
            consumer.close(autocommit=False, timeout_ms=1000)
            raise BrokerUnavailable(f"kafka at {k.bootstrap}: {exc}") from exc
        if missing:
            consumer.close(autocommit=False, timeout_ms=1000)
            raise ConfigError(
                f"topics {', '.join(missing)} do not exist on {k.bootstrap} "
                "(`barunrun dev` or the deployment's topic job creates them)"
            )
        return cls(consumer, topics)

    def poll(self, timeout_ms: int, max_records: int) -> list[KafkaRecord]:
        try:
            batches = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        except KafkaError as exc:
            raise BrokerUnavailable(f"kafka poll failed: {exc}") from exc
        return [record for records in batches.values() for record in records]

    def assignment(self) -> set[TopicPart]:
        return {(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    def seek(self, where: TopicPart, offset: int) -> None:
        tp = TopicPartition(*where)
        if tp in self._consumer.assignment():
            self._consumer.seek(tp, offset)

    def commit(self, next_offsets: dict[TopicPart, int]) -> None:
        """Best effort: the caller's own record (checkpoint, store) is the truth."""
        owned = self._consumer.assignment()
        offsets = {
            TopicPartition(*where): OffsetAndMetadata(offset, "", -1)
            for where, offset in next_offsets.items()
            if TopicPartition(*where) in owned
        }
        if not offsets:
            return
        try:
            self._consumer.commit(offsets)
        except KafkaError as exc:
            log.warning("offset commit failed (the checkpoint still holds) error=%s", exc)

    def revoked(self) -> set[TopicPart]:
        return self._notes.take()

    def close(self) -> None:
        try:
            self._consumer.close(autocommit=False)
        except KafkaError as exc:
            log.warning("kafka consumer close failed error=%s", exc)
